"""Chinese working days: statutory holidays and make-up workdays (调休).

Years covered by the ``chinesecalendar`` package use it; other years need a file
``processes/calendars/<year>.json`` (see docs/rules.md); without one, a ValueError is raised,
never a weekends-only guess.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar

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


@lru_cache(maxsize=64)
def _year_file(directory: Path, year: int) -> tuple[dict[str, str], dict[str, str]] | None:
    path = directory / f"{year}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return dict(data.get("holidays", {})), dict(data.get("workdays", {}))


def _from_file(day: date, directory: Path) -> tuple[bool, str | None]:
    found = _year_file(directory, day.year)
    if found is None:
        raise ValueError(
            f"无 {day.year} 年工作日历数据：chinesecalendar 不含该年，"
            f"且未找到 {directory / f'{day.year}.json'}，请流程负责人补充当年节假日安排"
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
