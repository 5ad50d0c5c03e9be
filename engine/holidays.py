"""Holiday calendars uploaded by process owners (table `calendar_year`).

Years the `chinesecalendar` package does not cover need the State Council's holiday notice. A
process owner uploads it once (`PUT /api/v1/calendars/{year}`, the 异常 page); every API and
scheduler process then reads it from the database, so no file has to be copied to each host.
`handlers.workdays` asks here before it looks for `processes/calendars/<year>.json`. Each
process keeps what it read for `TTL_S` seconds; an upload is seen at once by the process that
took it and by the others within that time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

log = logging.getLogger("tidu.holidays")
TTL_S = 30.0


class _Stored:
    """The uploaded years of one database, re-read at most every TTL_S seconds."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self._lock = threading.Lock()
        self._read_at = -TTL_S
        self._years: dict[int, dict[str, Any]] = {}

    def years(self) -> dict[int, dict[str, Any]]:
        with self._lock:
            if time.monotonic() - self._read_at >= TTL_S:
                self._years = self._read()
                self._read_at = time.monotonic()
            return self._years

    def forget(self) -> None:
        with self._lock:
            self._read_at = -TTL_S

    def _read(self) -> dict[int, dict[str, Any]]:
        from sqlalchemy import select
        from sqlalchemy.exc import SQLAlchemyError

        from engine.store import CalendarYear

        try:
            with self.ctx.reading() as session:
                return {
                    row.year: dict(row.data)
                    | {"uploaded_by": row.uploaded_by, "uploaded_at": row.uploaded_at}
                    for row in session.scalars(select(CalendarYear))
                }
        except SQLAlchemyError as error:  # a database not yet upgraded: files and the package only
            orig = getattr(error, "orig", None)
            cause = str(orig).splitlines()[0] if orig is not None else ""
            if cause.startswith("no such table") or getattr(orig, "sqlstate", None) == "42P01":
                log.warning(
                    "uploaded holiday calendars unavailable before tidu db upgrade: %s", cause
                )
            else:  # an unexpected failure: keep its traceback
                log.warning("uploaded holiday calendars unavailable", exc_info=True)
            return {}


_CURRENT: list[_Stored] = []


def install(ctx: Any) -> None:
    """Serve the uploaded calendars of this context's database (the latest context wins)."""
    _CURRENT[:] = [_Stored(ctx)]


def stored_years() -> dict[int, dict[str, Any]]:
    """Uploaded years: {year: {"holidays", "workdays", "source", "uploaded_by", "uploaded_at"}}."""
    return _CURRENT[0].years() if _CURRENT else {}


def coverage(ctx: Any) -> dict[str, Any]:
    """Which years have working-day data today, and the warning of a needed one that lacks it
    (handlers.workdays.coverage with this context's day and TIDU_CALENDAR_WARN_DAYS)."""
    from handlers import workdays

    days = ctx.settings.calendar_warn_days
    zone = ZoneInfo(ctx.settings.timezone)
    return workdays.coverage(ctx.today(), days, zone=zone) | {"warn_days": days}


def put_year(ctx: Any, *, year: int, data: dict[str, Any], actor: Any) -> dict[str, Any]:
    """Store (or replace) a year's calendar after checking every entry; one history event."""
    from engine.errors import InvalidInput
    from handlers import workdays

    if year in workdays.PACKAGE_YEARS or not 2000 <= year <= 2100:
        covered = year in workdays.PACKAGE_YEARS
        why = "chinesecalendar 已含该年，以其为准" if covered else "年份超出范围"
        raise InvalidInput(f"不能上传 {year} 年日历：{why}", errors={"year": [why]})
    problems = workdays.year_data_problems(data, year, f"{year} 年日历")
    if problems:
        raise InvalidInput(
            f"{year} 年工作日历有 {len(problems)} 处错误", errors={"calendar": problems}
        )
    clean = {
        "year": year,
        "source": str(data.get("source") or ""),
        "holidays": dict(data.get("holidays") or {}),
        "workdays": dict(data.get("workdays") or {}),
    }
    checksum = hashlib.sha256(
        json.dumps(clean, ensure_ascii=False, sort_keys=True).encode()
    ).hexdigest()
    from engine import calendar_years  # a command: imports the context, which imports this

    now = calendar_years.store_year(ctx, year=year, clean=clean, checksum=checksum, actor=actor)
    for stored in _CURRENT:
        stored.forget()
    return clean | {"checksum": checksum, "uploaded_at": now, "uploaded_by": actor.id}


def years_without_data(ctx: Any, years: Any) -> list[int]:
    """Those of `years` without usable working-day data (none, or a file with problems)."""
    found = {y["year"]: y for y in coverage(ctx)["years"]}
    return [y for y in years if y not in found or found[y]["problems"]]
