"""APScheduler job that fires due timers and re-arms itself at the next due time."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from engine import instances
from engine.context import EngineContext
from engine.store import Timer

log = logging.getLogger("tidu.scheduler")
IDLE_RECHECK = timedelta(seconds=30)  # timers created by other processes are seen at least this often


def next_due(ctx: EngineContext):  # type: ignore[no-untyped-def]
    with ctx.transaction() as session:
        return session.scalar(select(func.min(Timer.due_at)))


def _tick(ctx: EngineContext, scheduler: BackgroundScheduler) -> None:
    try:
        result = instances.fire_due(ctx)
        if result["instances"]:
            log.info("timers: %s", result)
    finally:
        due = next_due(ctx)
        now = ctx.now()
        at = min(due, now + IDLE_RECHECK) if due else now + IDLE_RECHECK
        scheduler.add_job(_tick, "date", run_date=max(at, now) + timedelta(milliseconds=5),
                          args=[ctx, scheduler], id="tidu-timers", replace_existing=True)


def start_background(ctx: EngineContext) -> BackgroundScheduler:
    """Start the embedded scheduler (fires overdue timers at once, then at each due time)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start()
    scheduler.add_job(_tick, "date", args=[ctx, scheduler], id="tidu-timers", replace_existing=True)
    return scheduler


def run_blocking(ctx: EngineContext) -> None:
    scheduler = start_background(ctx)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    scheduler.shutdown()
