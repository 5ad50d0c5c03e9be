"""Chinese working days: statutory holidays and make-up workdays (调休).

Years covered by the ``chinesecalendar`` package use it; other years need a file
``processes/calendars/<year>.json`` (see docs/rules.md); without one, a ValueError is raised,
never a weekends-only guess.
"""

from __future__ import annotations

import json
from datetime import UTC, date, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path

import chinese_calendar

from engine import holidays

CALENDAR_DIR = Path(__file__).resolve().parents[1] / "processes" / "calendars"
_LABELS = {  # chinese_calendar.Holiday member name -> Chinese name
    "new_years_day": "元旦",
    "spring_festival": "春节",
    "tomb_sweeping_day": "清明节",
    "labour_day": "劳动节",
    "dragon_boat_festival": "端午节",
    "national_day": "国庆节",
    "mid_autumn_festival": "中秋节",
    "anti_fascist_70th_day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
HOLIDAY_LABELS = {h.value: _LABELS.get(h.name, h.value) for h in chinese_calendar.Holiday}
WEEKEND = "周末"
MAX_DAYS = 3660


PACKAGE_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


def _entry_problems(where: str, field: str, key: str, label: object, year: int) -> list[str]:
    try:
        day = date.fromisoformat(key)
    except ValueError:
        return [f"{where} 不是 YYYY-MM-DD 日期"]
    problems = [] if day.year == year else [f"{where} 不在 {year} 年"]
    if not isinstance(label, str):
        problems.append(f"{where} 的名称须为文字")
    if field == "workdays" and day.weekday() < 5:
        problems.append(f"{where} 是周一至周五，本来就是工作日（调休上班日只列周末）")
    return problems


def year_data_problems(data: object, year: int, name: str) -> list[str]:
    """Name every problem of one year's calendar data (empty: usable); `name` labels them."""
    if not isinstance(data, dict):
        return [f"{name}: 内容须为 JSON 对象"]
    problems = []
    if data.get("year", year) != year:
        problems.append(f"{name}: year 为 {data.get('year')!r}，与年份 {year} 不符")
    seen: dict[str, str] = {}
    for field in ("holidays", "workdays"):
        entries = data.get(field, {})
        if not isinstance(entries, dict):
            problems.append(f"{name}: {field} 须为“日期 → 名称”的对象")
            continue
        for key, label in entries.items():
            where = f"{name}: {field}[{key!r}]"
            problems += _entry_problems(where, field, key, label, year)
            if key in seen:
                problems.append(f"{where} 同时列在 {seen[key]} 中")
            seen[key] = field
    if not data.get("holidays"):
        problems.append(f"{name}: holidays 为空：每年至少有元旦、春节等法定节假日")
    return problems


def year_file_problems(path: Path) -> list[str]:
    """Name every problem of a calendar file ``<year>.json`` (empty: the file is usable)."""
    try:
        year = int(path.stem)
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        return [f"{path.name}: 不是有效的 <年份>.json 文件（{error}）"]
    return year_data_problems(data, year, path.name)


def _year_file(directory: Path, year: int) -> tuple[dict[str, str], dict[str, str]] | None:
    """The year's uploaded calendar (engine.holidays), else its file, read again when it
    changes: an owner adds or fixes either without a restart."""
    stored = holidays.stored_years().get(year)
    if stored is not None:
        return dict(stored["holidays"]), dict(stored["workdays"])
    path = directory / f"{year}.json"
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    return _read_year_file(path, year, stamp)


def year_stamp(year: int, directory: Path = CALENDAR_DIR) -> object:
    """What a year's working days are read from, as a value that changes when they do: the
    package's (fixed), an upload's content, a file's modification time, or nothing yet."""
    if year in PACKAGE_YEARS:
        return "chinesecalendar"
    stored = holidays.stored_years().get(year)
    if stored is not None:
        return json.dumps([stored["holidays"], stored["workdays"]], sort_keys=True)
    try:
        return (directory / f"{year}.json").stat().st_mtime_ns
    except FileNotFoundError:
        return None


@lru_cache(maxsize=64)
def _read_year_file(path: Path, year: int, stamp: int) -> tuple[dict[str, str], dict[str, str]]:
    problems = year_file_problems(path)
    if problems:
        raise ValueError(f"{year} 年工作日历文件有误：" + "；".join(problems))
    data = json.loads(path.read_text(encoding="utf-8"))
    return dict(data.get("holidays", {})), dict(data.get("workdays", {}))


def coverage(
    today: date, warn_days: int, directory: Path | None = None, zone: tzinfo = UTC
) -> dict[str, object]:
    """Which years have working-day data, and which needed ones lack it.

    Needed: this year, and the next one once it is ``warn_days`` days away or closer (deadlines
    counted in working days run into it). A bad file is listed with its problems and counts
    as missing. An upload is shown with its day in `zone` (the configured time zone)."""
    directory = directory or CALENDAR_DIR
    years: dict[int, dict[str, object]] = {
        y: {"year": y, "source": "chinesecalendar", "problems": []} for y in PACKAGE_YEARS
    }
    for year, stored in holidays.stored_years().items():  # uploaded: wins over a file
        if year not in years:
            at = stored["uploaded_at"].astimezone(zone)
            years[year] = {
                "year": year,
                "source": f"上传（{stored['uploaded_by']}，{at:%Y-%m-%d}）"
                + (f"：{stored['source']}" if stored.get("source") else ""),
                "problems": [],
            }
    files = sorted(directory.glob("*.json")) if directory.is_dir() else []
    for path in files:  # a file for a year the package covers is not read
        if path.stem.isdigit() and int(path.stem) not in years:
            years[int(path.stem)] = {
                "year": int(path.stem),
                "source": f"processes/calendars/{path.name}",
                "problems": year_file_problems(path),
            }
    needed = [today.year] + (
        [today.year + 1] if (today + timedelta(days=warn_days)).year > today.year else []
    )
    missing = [y for y in needed if y not in years or years[y]["problems"]]
    warning = None
    if missing:
        warning = (
            "、".join(str(y) for y in missing)
            + " 年工作日历数据缺失或有误：按工作日计算的期限（公示、审核等）到该年时将无法计算。"
            "请流程负责人在“异常”页面上传国务院办公厅公布的当年节假日安排"
            "（或添加 processes/calendars/<年份>.json）"
        )
    return {
        "today": today.isoformat(),
        "years": [years[y] for y in sorted(years)],
        "needed": needed,
        "missing": missing,
        "warning": warning,
    }


def _from_file(day: date, directory: Path) -> tuple[bool, str | None]:
    found = _year_file(directory, day.year)
    if found is None:
        raise ValueError(
            f"无 {day.year} 年工作日历数据：chinesecalendar 不含该年，未上传该年日历，"
            f"也未找到 {directory / f'{day.year}.json'}，请流程负责人补充当年节假日安排"
        )
    holidays, workdays = found
    key = day.isoformat()
    if key in workdays:
        return True, workdays[key] or "调休上班"
    if key in holidays:
        return False, holidays[key] or "法定节假日"
    return (False, WEEKEND) if day.weekday() >= 5 else (True, None)


def day_status(day: date, directory: Path = CALENDAR_DIR) -> tuple[bool, str | None]:
    """Return (is working day, reason) — the reason names the holiday, weekend or 调休."""
    try:
        working = chinese_calendar.is_workday(day)
        _, holiday = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return _from_file(day, directory)
    name = HOLIDAY_LABELS.get(holiday, holiday) if holiday else None
    if working:
        return True, (f"{name}调休上班" if name and day.weekday() >= 5 else None)
    return False, name or WEEKEND


def is_working_day(day: date, directory: Path = CALENDAR_DIR) -> bool:
    """Tell whether `day` is a working day in mainland China."""
    return day_status(day, directory)[0]


def working_days_after(start: date, n: int, directory: Path = CALENDAR_DIR) -> list[date]:
    """Return the first `n` working days strictly after `start`."""
    if n < 0:
        raise ValueError(f"number of working days must not be negative: {n}")
    found: list[date] = []
    day = start
    while len(found) < n:
        day += timedelta(days=1)
        if (day - start).days > MAX_DAYS:
            raise ValueError(f"no {n} working days within {MAX_DAYS} days of {start}")
        if is_working_day(day, directory):
            found.append(day)
    return found


def add_working_days(start: date, n: int, directory: Path = CALENDAR_DIR) -> date:
    """Return the n-th working day after `start` (the start day itself is not counted)."""
    days = working_days_after(start, n, directory)
    return days[-1] if days else start
