"""The only place that reads the time: SystemClock in production, SimulatedClock in tests.

SpiffWorkflow reads the wall clock in exactly one module (its timer event definitions); we
rebind that module's ``datetime`` to a subclass that asks the installed clock, so timers
follow the engine clock (process-wide, as there is one engine clock per process).
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to (tests, simulation, the demo walkthrough)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)


_installed: dict[str, Clock] = {"clock": SystemClock()}


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        moment = _installed["clock"].now()
        return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)


def install(clock: Clock) -> None:
    """Make `clock` the clock of this process, SpiffWorkflow's timers included."""
    _installed["clock"] = clock
    _spiff_timer.datetime = _ClockedDatetime


def local_today(clock: Clock, tz: str) -> date:
    """Return today's date in the configured time zone."""
    return clock.now().astimezone(ZoneInfo(tz)).date()
