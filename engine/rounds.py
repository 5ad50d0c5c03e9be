"""Calendar rounds: each procedure's round schedule (a settings file) opens round rows on time.

`processes/rounds.json` (edited by the process owner, re-read on every scheduler tick) lists one
schedule per process key: the first opening date, the period in calendar months and the window
in days. Openings are computed from the first date (first + k × period months), never by adding
a fixed number of days to the previous one, so they do not drift. A scheduler tick opens the
latest opening that is due and still inside its window, once: a round missed while the system
was down opens on catch-up, an older one whose window has already closed is not resurrected.
Several schedulers may tick at once: `round.schedule_key` is unique.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import history
from engine.context import EngineContext
from engine.errors import InvalidInput
from engine.store import Definition, Round

log = logging.getLogger("tidu.rounds")
SCHEDULE_FILE = "rounds.json"


@dataclass(frozen=True)
class RoundSchedule:
    """When one procedure opens its rounds."""

    process_key: str
    label: str  # template: {year}, {month}, {n} (the n-th opening of that year)
    first_opens_on: date
    every_months: int
    window_days: int
    # settings the regulation leaves open (optional in rounds.json): at most one application
    # per enterprise per period (第六条 每半年集中评价一次; 第七、八条 每年), and how many days
    # after its window a round's cases still run working-day deadlines (公示, 审核)
    one_application_per_period: bool = True
    cases_run_days: int = 120

    def opening(self, k: int) -> date:
        """The k-th opening (k = 0 is the first), clamped to the month's last day."""
        months = self.first_opens_on.month - 1 + k * self.every_months
        year, month = self.first_opens_on.year + months // 12, months % 12 + 1
        day = self.first_opens_on.day
        while True:
            try:
                return date(year, month, day)
            except ValueError:
                day -= 1

    def _index(self, day: date) -> int:
        """Index of the last opening on or before `day` (-1 before the first one)."""
        if day < self.first_opens_on:
            return -1
        months = (day.year - self.first_opens_on.year) * 12 + day.month - self.first_opens_on.month
        k = months // self.every_months + 1
        while self.opening(k) > day:
            k -= 1
        return k

    def latest_on_or_before(self, day: date) -> date | None:
        """The last opening on or before `day` (None before the first one)."""
        k = self._index(day)
        return self.opening(k) if k >= 0 else None

    def next_after(self, day: date) -> date:
        """The first opening strictly after `day`."""
        return self.opening(self._index(day) + 1)

    def period_of(self, day: date) -> tuple[date, date] | None:
        """The period (its first day, the next period's first day) that `day` falls in."""
        k = self._index(day)
        return (self.opening(k), self.opening(k + 1)) if k >= 0 else None

    def label_for(self, opens_on: date) -> str:
        """The round's label; {n} counts this year's openings up to this one."""
        k = self._index(opens_on)
        n = sum(1 for i in range(k + 1) if self.opening(i).year == opens_on.year)
        return self.label.format(year=opens_on.year, month=opens_on.month, n=n)


FIELDS = {
    "process_key": str,
    "label": str,
    "first_opens_on": str,
    "every_months": int,
    "window_days": int,
}
OPTIONAL = {"one_application_per_period": bool, "cases_run_days": int}
PLACEHOLDERS = {"year": 2026, "month": 7, "n": 1}
_PROCESS_ID = re.compile(r"<(?:bpmn:)?process\b[^>]*?\bid=\"([^\"]+)\"")


def _types(item: dict[str, Any], where: str) -> dict[str, list[str]]:
    """Missing fields, fields of the wrong type and unknown fields of one entry."""
    found: dict[str, list[str]] = {}
    for name, kind in FIELDS.items():
        value = item.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            found[f"{where}.{name}"] = ["必填" if name not in item else f"应为 {kind.__name__}"]
    for name, kind in OPTIONAL.items():
        if name in item and (
            not isinstance(item[name], kind) or (kind is int and isinstance(item[name], bool))
        ):
            found[f"{where}.{name}"] = [f"应为 {kind.__name__}"]
    for name in sorted(set(item) - set(FIELDS) - set(OPTIONAL) - {"_comment"}):
        found[f"{where}.{name}"] = [f"未知字段（可用字段：{'、'.join([*FIELDS, *OPTIONAL])}）"]
    return found


def _values(
    item: dict[str, Any], where: str, process_keys: set[str], ok: set[str]
) -> dict[str, list[str]]:
    """Range, procedure and label checks of the fields in `ok` (those of the right type)."""
    found: dict[str, list[str]] = {}
    if "first_opens_on" in ok:
        try:
            date.fromisoformat(item["first_opens_on"])
        except ValueError:
            found[f"{where}.first_opens_on"] = ["应为日期 YYYY-MM-DD"]
    for name, high in (("every_months", 120), ("window_days", 366), ("cases_run_days", 1000)):
        if name in ok and not 1 <= item[name] <= high:
            found[f"{where}.{name}"] = [f"应在 1–{high} 之间"]
    key = item.get("process_key")
    if "process_key" in ok and process_keys and key not in process_keys:
        known = "、".join(sorted(process_keys))
        found[f"{where}.process_key"] = [f"流程 {key} 不存在（流程目录中的流程：{known}）"]
    if "label" in ok:
        try:
            item["label"].format(**PLACEHOLDERS)
        except (KeyError, IndexError, ValueError) as error:
            allowed = "只可使用 {year}、{month}、{n}（字面的花括号写作 {{ }}）"
            found[f"{where}.label"] = [f"无法替换 {error}：{allowed}"]
    return found


def _schedule(
    item: Any, where: str, process_keys: set[str], errors: dict[str, list[str]]
) -> RoundSchedule | None:
    """One schedule entry, or None with its problems added to `errors` (all of them)."""
    if not isinstance(item, dict):
        errors[where] = ["应为对象"]
        return None
    found = _types(item, where)
    names = [*FIELDS, *(name for name in OPTIONAL if name in item)]
    ok = {name for name in names if f"{where}.{name}" not in found}
    found |= _values(item, where, process_keys, ok)
    errors.update(found)
    if found:
        return None
    first = date.fromisoformat(item["first_opens_on"])
    return RoundSchedule(
        item["process_key"],
        item["label"],
        first,
        item["every_months"],
        item["window_days"],
        **{name: item[name] for name in OPTIONAL if name in item},
    )


def _process_keys(directory: Path) -> set[str]:
    """The process ids the diagrams of a processes directory define."""
    keys: set[str] = set()
    for path in directory.rglob("*.bpmn"):
        keys.update(_PROCESS_ID.findall(path.read_text(encoding="utf-8")))
    return keys


_CACHE: dict[Path, tuple[float, list[RoundSchedule]]] = {}


def load_schedules(directory: Path) -> list[RoundSchedule]:
    """Read `rounds.json` of a processes directory (cached until the file changes); a broken
    file is refused naming every bad field of every entry."""
    path = directory / SCHEDULE_FILE
    if not path.is_file():
        return []
    mtime = path.stat().st_mtime
    cached = _CACHE.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{SCHEDULE_FILE} 不是有效的 JSON：{error}") from None
    items = raw.get("rounds") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise InvalidInput(f"{SCHEDULE_FILE} 应包含 rounds 列表", errors={"rounds": ["必填"]})
    schedules, errors = read_entries(items, _process_keys(directory))
    if errors:
        raise InvalidInput(f"申报批次计划 {SCHEDULE_FILE} 有误", errors=errors)
    _CACHE[path] = (mtime, schedules)
    return schedules


def read_entries(
    items: list[Any], process_keys: set[str]
) -> tuple[list[RoundSchedule], dict[str, list[str]]]:
    """The schedules of a `rounds` list and {field: [message]} for every bad field of every entry,
    and for a procedure scheduled twice; `definitions.schedule_errors` uses it at deploy."""
    errors: dict[str, list[str]] = {}
    schedules = [
        _schedule(item, f"rounds[{i}]", process_keys, errors) for i, item in enumerate(items)
    ]
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        key = item.get("process_key") if isinstance(item, dict) else None
        if isinstance(key, str) and key in seen:
            errors.setdefault(f"rounds[{i}].process_key", []).append(
                f"与 rounds[{seen[key]}] 重复：每个流程只能有一个批次计划"
            )
        elif isinstance(key, str):
            seen[key] = i
    return [schedule for schedule in schedules if schedule is not None], errors


def window_state(ctx: EngineContext, row: Round) -> str:
    """Where the round's window stands now: "upcoming", "open" (from 00:00 local time of
    `opens_on` until `closes_at`, 24:00 local time of its last day) or "closed"."""
    if ctx.now() >= row.closes_at:
        return "closed"
    today = ctx.today()
    return "open" if row.opens_on <= today else "upcoming"


def accepts_applications(ctx: EngineContext, row: Round) -> bool:
    """Whether the round's window is open now (applications may start)."""
    return window_state(ctx, row) == "open"


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def overlapping(
    session: Any, process_key: str, opens_on: date, closes_at: datetime, zone: ZoneInfo
) -> Round | None:
    """The first round of the procedure whose window overlaps [opens_on 00:00, closes_at):
    a procedure's windows never overlap, or one enterprise could be evaluated twice at once."""
    candidates = session.scalars(
        select(Round)
        .where(Round.process_key == process_key, Round.opens_on < closes_at.astimezone(zone).date())
        .order_by(Round.opens_on, Round.id)
    )
    start = _start_of(opens_on, zone)
    return next((row for row in candidates if row.closes_at > start), None)


def window_text(row: Round, zone: ZoneInfo) -> str:
    """A round's window as people read it: 2026-11-30 至 2026-12-29 24:00."""
    last = (row.closes_at.astimezone(zone) - timedelta(seconds=1)).date()
    return f"{row.opens_on} 至 {last} 24:00"


def schedule_for(ctx: EngineContext, process_key: str) -> RoundSchedule | None:
    """The procedure's schedule in rounds.json (None: none, or the file is broken)."""
    try:
        found = load_schedules(ctx.settings.processes_dir)
    except InvalidInput:
        log.warning("rounds.json is broken: rules of its schedules are not applied")
        return None
    return next((s for s in found if s.process_key == process_key), None)


def _open_one(
    ctx: EngineContext, schedule: RoundSchedule, opens_on: date, zone: ZoneInfo
) -> Round | None:
    key = f"{schedule.process_key}@{opens_on.isoformat()}"
    closes_at = _start_of(opens_on + timedelta(days=schedule.window_days), zone)
    try:
        with ctx.transaction() as session:
            if (
                session.scalar(
                    select(Definition.id).where(Definition.process_key == schedule.process_key)
                )
                is None
            ):
                return None  # procedure not deployed (yet): nothing to apply to
            if (
                session.scalar(
                    select(Round.id).where(
                        Round.process_key == schedule.process_key, Round.opens_on == opens_on
                    )
                )
                is not None
            ):
                return None  # already open (by a scheduler or by hand)
            other = overlapping(session, schedule.process_key, opens_on, closes_at, zone)
            if other is not None:  # a round opened by hand holds this window
                log.info("scheduled round %s not opened: window overlaps round %s", key, other.id)
                return None
            now = ctx.now()
            row = Round(
                process_key=schedule.process_key,
                label=schedule.label_for(opens_on),
                opens_on=opens_on,
                closes_at=closes_at,
                created_at=now,
                schedule_key=key,
            )
            session.add(row)
            session.flush()
            history.append(
                session,
                stream=f"rounds:{schedule.process_key}",
                kind="round.opened",
                actor="scheduler",
                at=now,
                data={
                    "round_id": row.id,
                    "label": row.label,
                    "opens_on": opens_on,
                    "closes_at": closes_at,
                    "late_s": (now - _start_of(opens_on, zone)).total_seconds(),
                },
            )
            return row
    except IntegrityError:
        return None  # another scheduler opened it at the same moment


def open_due(ctx: EngineContext) -> list[Round]:
    """Open every scheduled round that is due and still within its window (idempotent)."""
    zone = ZoneInfo(ctx.settings.timezone)
    now = ctx.now()
    today = now.astimezone(zone).date()
    opened = []
    for schedule in load_schedules(ctx.settings.processes_dir):
        opens_on = schedule.latest_on_or_before(today)
        if (
            opens_on is None
            or _start_of(opens_on + timedelta(days=schedule.window_days), zone) <= now
        ):
            continue
        row = _open_one(ctx, schedule, opens_on, zone)
        if row is not None:
            log.info("round opened: %s %s", row.process_key, row.label)
            opened.append(row)
    return opened


def next_opening(ctx: EngineContext) -> datetime | None:
    """The next moment (00:00 local of an opening day, in the future) a round is due to open."""
    zone = ZoneInfo(ctx.settings.timezone)
    today = ctx.now().astimezone(zone).date()
    found = [
        _start_of(s.next_after(today), zone) for s in load_schedules(ctx.settings.processes_dir)
    ]
    return min(found) if found else None


def upcoming(ctx: EngineContext, per_procedure: int = 2) -> list[dict[str, Any]]:
    """The next openings of each scheduled procedure (`processes/rounds.json`), soonest first:
    label, opening day and the last day of its window."""
    zone = ZoneInfo(ctx.settings.timezone)
    today = ctx.now().astimezone(zone).date()
    out = []
    for schedule in load_schedules(ctx.settings.processes_dir):
        day = today
        for _ in range(per_procedure):
            day = schedule.next_after(day)
            out.append(
                {
                    "process_key": schedule.process_key,
                    "label": schedule.label_for(day),
                    "opens_on": day,
                    "last_day": day + timedelta(days=schedule.window_days - 1),
                    "window_days": schedule.window_days,
                }
            )
    return sorted(out, key=lambda r: (r["opens_on"], r["process_key"]))
