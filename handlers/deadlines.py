"""Notice periods and deadlines: the ``calendar.*`` operators."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any

from engine.registry import operator, script_function
from handlers import workdays

CHINA = timezone(timedelta(hours=8))


def end_of_day(day: date) -> str:
    """Return the ISO instant a day ends in China: the next day's 00:00 at +08:00."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA).isoformat()


@operator("calendar.add_working_days")
def add_working_days(*, start_on: str, days: int) -> dict[str, Any]:
    """Compute a period of `days` working days counted from the day after `start_on`."""
    year = int(start_on[:4])
    stamps = tuple(workdays.year_stamp(y) for y in range(year, year + 2 + days // 200))
    return json.loads(_working_period(start_on, days, stamps))  # a fresh copy for each case


@lru_cache(maxsize=4096)
def _working_period(start_on: str, days: int, stamps: tuple[object, ...]) -> str:
    """The period as JSON, cached while the calendars of the years it may span (`stamps`,
    workdays.year_stamp) stay as they are: a fixed or uploaded calendar counts at once."""
    start = date.fromisoformat(start_on)
    counted = workdays.working_days_after(start, days)
    ends_on = counted[-1] if counted else start
    first = counted[0] if counted else workdays.add_working_days(start, 1)
    skipped = []
    day = start + timedelta(days=1)
    while day < ends_on:
        working, reason = workdays.day_status(day)
        if not working:
            skipped.append({"date": day.isoformat(), "reason": reason})
        day += timedelta(days=1)
    makeup = [
        {"date": d.isoformat(), "reason": reason}
        for d in counted
        if (reason := workdays.day_status(d)[1]) is not None
    ]
    return json.dumps(
        {
            "starts_on": first.isoformat(),
            "ends_on": ends_on.isoformat(),
            "ends_at": end_of_day(ends_on),
            "working_days": days,
            "skipped": skipped,
            "makeup_workdays": makeup,
        },
        ensure_ascii=False,
    )


@operator("calendar.add_days")
def add_days(*, start_on: str, days: int) -> dict[str, Any]:
    """Compute a deadline `days` calendar days after `start_on` (the start day not counted)."""
    if days < 0:
        raise ValueError(f"number of days must not be negative: {days}")
    ends_on = date.fromisoformat(start_on) + timedelta(days=days)
    return {"ends_on": ends_on.isoformat(), "ends_at": end_of_day(ends_on)}


# -- functions BPMN timer expressions and scripts may call (dates are arguments, never the clock) --


def _day(value: str) -> date:
    """A date from 'YYYY-MM-DD' or from an ISO instant (its date in China)."""
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo is None else moment.astimezone(CHINA)).date()


@script_function("working_days_end")
def working_days_end(start_on: str, days: int) -> str:
    """Return the instant the `days`-th working day after `start_on` ends (24:00 China time)."""
    return end_of_day(workdays.add_working_days(_day(start_on), int(days)))


@script_function("next_annual_date")
def next_annual_date(after_on: str, month_day: str) -> str:
    """Return 00:00 China time of the next `month_day` ('MM-DD') strictly after `after_on`."""
    after = _day(after_on)
    month, day = (int(part) for part in month_day.split("-"))
    found = date(after.year, month, day)
    if found <= after:
        found = date(after.year + 1, month, day)
    return datetime.combine(found, time(0), tzinfo=CHINA).isoformat()


@script_function("days_before")
def days_before(moment: str, days: int) -> str:
    """Return the ISO instant `days` calendar days before `moment` (e.g. a reminder)."""
    return (datetime.fromisoformat(moment) - timedelta(days=int(days))).isoformat()
