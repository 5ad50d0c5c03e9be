"""The timer scheduler: one APScheduler date job, re-armed at the next moment there is work.

Each run claims and fires every due timer (engine.timers) and opens due calendar rounds
(engine.rounds), then re-arms itself for the earliest of: the next timer due time (or the end of
a claim/backoff), the next round opening, and a bounded idle re-check (for work written by
processes this one hears nothing from). There is no fixed polling interval: commits in this
process wake it at once (a session ``after_commit`` hook) and, on PostgreSQL, so do commits of
any other process (``LISTEN tidu_timers``). The first run happens at start: everything overdue
fires once (catch-up).

On SQLite, only one scheduler may run per database file (a file lock next to it). Once a day
(and at start) a run also logs a warning when a year that deadlines are about to reach has no
working-day calendar (handlers.workdays.coverage, TIDU_CALENDAR_WARN_DAYS).
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import event, make_url, text

from engine import compaction, holidays, rounds, timers
from engine.context import Actor, EngineContext
from engine.projections import TIMER_CHANNEL

log = logging.getLogger("tidu.scheduler")
JOB_ID = "tidu-timers"
COMPACT_PER_RUN = 1000  # finished cases compacted in one scheduler run at most
NUDGE = timedelta(milliseconds=5)  # run just after the due time (Spiff fires on due < now)
# a listener checks once per connection that it hears what another connection sends
PROBE_CHANNEL = "tidu_listen_probe"
LISTEN_PROBE_S = 5.0


class SchedulerBusy(RuntimeError):
    """Another scheduler already serves this SQLite database."""

    def __init__(self, database: str, lock_path: Path) -> None:
        super().__init__(f"another scheduler already runs on {database} ({lock_path})")
        self.database = database  # for the CLI's own (Chinese) message
        self.lock_path = lock_path


def work(ctx: EngineContext, *, owner: str, policy: timers.TimerPolicy) -> timers.RunResult:
    """Fire every due timer and open every due round (one scheduler run)."""
    result = timers.run_due(ctx, owner=owner, policy=policy)
    try:
        rounds.open_due(ctx)
    except Exception:
        log.exception("opening scheduled rounds failed")
    return result


def calendar_warning(ctx: EngineContext) -> str | None:
    """The warning of a year without working-day data that deadlines are about to reach."""
    warning = holidays.coverage(ctx)["warning"]
    return str(warning) if warning else None


def next_run(ctx: EngineContext, policy: timers.TimerPolicy) -> datetime:
    """When the scheduler should run next (never later than the idle re-check)."""
    now = ctx.now()
    candidates = [now + timedelta(seconds=policy.idle_recheck_s)]
    for moment in (timers.next_wakeup(ctx), _safe_next_opening(ctx)):
        if moment is not None:
            candidates.append(moment)
    return max(min(candidates), now)


def _safe_next_opening(ctx: EngineContext) -> datetime | None:
    try:
        return rounds.next_opening(ctx)
    except Exception:
        return None


class Scheduler:
    """A running scheduler (embedded in `tidu serve`, or the whole of `tidu scheduler`)."""

    def __init__(self, ctx: EngineContext, policy: timers.TimerPolicy | None = None) -> None:
        self.ctx = ctx
        self.policy = policy or timers.TimerPolicy.from_env()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.totals = timers.RunResult()
        self._aps = BackgroundScheduler(timezone="UTC")
        self._mutex = threading.Lock()
        self._running = False
        self._pending: datetime | None = None
        self._stop = threading.Event()
        self._lock_file: Any = None
        self._job_id: str | None = None
        self._seq = itertools.count(1)
        self._calendar_checked: date | None = None
        self._compacted_on: date | None = None  # the day compaction last found nothing left
        # PostgreSQL: whether the timer listener heard its probe (None: not known yet)
        self.listener_hears: bool | None = None

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> Scheduler:
        """Start: guard SQLite, hook commits, listen on PostgreSQL, and run at once (catch-up)."""
        self._guard_sqlite()
        event.listen(self.ctx.sessions, "after_commit", self._after_commit)
        self._aps.start()
        if self.ctx.is_postgres:
            threading.Thread(target=self._listen, name="tidu-timer-listen", daemon=True).start()
        self._arm(self.ctx.now())
        log.info("scheduler %s started", self.owner)
        return self

    def shutdown(self) -> None:
        self._stop.set()
        if event.contains(self.ctx.sessions, "after_commit", self._after_commit):
            event.remove(self.ctx.sessions, "after_commit", self._after_commit)
        # Pause and clear first: shutting down while the main loop finishes a submitted date job
        # makes APScheduler fail to remove it (a JobLookupError in its thread).
        self._aps.pause()
        self._aps.remove_all_jobs()
        self._aps.shutdown(wait=True)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _guard_sqlite(self) -> None:
        url = self.ctx.db.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return
        path = Path(f"{url.database}.scheduler.lock")
        handle = path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise SchedulerBusy(url.database, path) from None
        self._lock_file = handle

    # -- arming -----------------------------------------------------------------------------
    def _arm(self, at: datetime) -> None:
        """Arm the next run at `at`; an earlier armed run becomes stale and does nothing.

        Each run is a new date job and none is removed by hand: APScheduler removes a date job
        itself after submitting it, and removing or replacing it from another thread races.
        """
        self._job_id = f"{JOB_ID}-{next(self._seq)}"
        self._aps.add_job(
            self._tick,
            "date",
            run_date=at + NUDGE,
            id=self._job_id,
            args=[self._job_id],
            misfire_grace_time=None,
        )

    def wake(self, at: datetime) -> None:
        """Run no later than `at` (a new timer, written here or in another process)."""
        with self._mutex:
            if self._pending is not None and self._pending <= at:
                return
            self._pending = at
            if self._running or self._stop.is_set():
                return  # the current run re-arms with the pending time when it ends
            job = self._aps.get_job(self._job_id) if self._job_id else None
            if job is None or job.next_run_time is None or job.next_run_time > at + NUDGE:
                self._arm(at)

    def _after_commit(self, session: Any) -> None:
        due = session.info.pop("timer_wakeup", None)
        if due is not None and not self._stop.is_set():
            self.wake(due)

    def _tick(self, job_id: str) -> None:
        with self._mutex:
            if self._running or job_id != self._job_id:
                return  # superseded by a later arming, or the run in progress re-arms at its end
            self._running, self._pending = True, None
        try:
            result = work(self.ctx, owner=self.owner, policy=self.policy)
            self._check_calendar()
            self.compact_finished_cases()
            self.totals.add(result)
            if result.claimed:
                log.info("timers: %s", result.summary())
        except Exception:
            log.exception("scheduler run failed")
        finally:
            at = self._next_run_safely()
            with self._mutex:
                self._running = False
                if self._pending is not None:
                    at = min(at, self._pending)
                self._pending = None
                if not self._stop.is_set():
                    self._arm(at)

    def _check_calendar(self) -> None:
        """Log the calendar warning once a day (operators watch the logs; the page shows it)."""
        today = self.ctx.now().date()
        if self._calendar_checked == today:
            return
        self._calendar_checked = today
        try:
            warning = calendar_warning(self.ctx)
        except Exception:
            log.exception("checking the working-day calendar failed")
            return
        if warning:
            log.warning("calendar: %s", warning)

    def compact_finished_cases(self) -> None:
        """With `compact_finished_after_days` set: compact finished cases, at most
        COMPACT_PER_RUN a run (so timers never wait long behind it), until a run finds fewer;
        then not again until the next day."""
        days = self.ctx.settings.compact_finished_after_days
        today = self.ctx.now().date()
        if days is None or self._compacted_on == today:
            return
        try:
            done = compaction.compact_finished(
                self.ctx,
                older_than_days=days,
                actor=Actor.system("scheduler"),
                limit=COMPACT_PER_RUN,
            )
        except Exception:
            log.exception("compacting finished cases failed")
            return
        if done["cases"]:
            log.info(
                "compacted %d finished cases: %d -> %d bytes of state",
                done["cases"],
                done["bytes_before"],
                done["bytes_after"],
            )
        if done["cases"] < COMPACT_PER_RUN:
            self._compacted_on = today

    def _next_run_safely(self) -> datetime:
        try:
            return next_run(self.ctx, self.policy)
        except Exception:
            log.exception("computing the next run failed")
            return self.ctx.now() + timedelta(seconds=self.policy.idle_recheck_s)

    # -- PostgreSQL: hear timers written by other processes --------------------------------------
    def _listen(self) -> None:
        import psycopg

        configured = self.ctx.settings.database_listen_url
        url = make_url(configured) if configured else self.ctx.db.url
        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {TIMER_CHANNEL}")
                    conn.execute(f"LISTEN {PROBE_CHANNEL}")
                    self._probe(conn)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._heard(note)
            except Exception:
                log.warning("timer listener lost its connection; reconnecting", exc_info=True)
                self._stop.wait(2.0)

    def _heard(self, note: Any) -> None:
        if note.channel == TIMER_CHANNEL:
            self.wake(datetime.fromisoformat(note.payload))

    def _probe(self, conn: Any) -> None:
        """Check that the listening connection hears a notification sent on another one.

        Behind a proxy that pools server connections per transaction (PgBouncer's transaction
        mode) LISTEN registers on a server connection the proxy hands to someone else at once,
        and nothing is ever heard: timers that other processes write then wait for the idle
        re-check. That is logged, naming the setting that fixes it."""
        token = uuid.uuid4().hex
        with self.ctx.db.begin() as sender:
            sender.execute(text("SELECT pg_notify(:c, :t)"), {"c": PROBE_CHANNEL, "t": token})
        deadline = time.monotonic() + LISTEN_PROBE_S
        while time.monotonic() < deadline and not self._stop.is_set():
            for note in conn.notifies(timeout=max(0.0, deadline - time.monotonic()), stop_after=1):
                if note.channel == PROBE_CHANNEL and note.payload == token:
                    self.listener_hears = True
                    return
                self._heard(note)
        self.listener_hears = False
        log.warning(
            "the timer listener heard nothing within %.0f s of a notification sent to it: a "
            "proxy that pools connections per transaction (PgBouncer) cannot carry LISTEN. "
            "Timers that other processes write now wait for the idle re-check (%s s); set "
            "TIDU_DATABASE_LISTEN_URL to a direct connection to PostgreSQL",
            LISTEN_PROBE_S,
            self.policy.idle_recheck_s,
        )


def start_background(
    ctx: EngineContext, policy: timers.TimerPolicy | None = None
) -> Scheduler | None:
    """Start the scheduler embedded in `tidu serve` (None if SQLite already has one)."""
    try:
        return Scheduler(ctx, policy).start()
    except SchedulerBusy as busy:
        log.warning("embedded scheduler not started: %s", busy)
        return None


def run_blocking(ctx: EngineContext, policy: timers.TimerPolicy | None = None) -> None:
    """Run a scheduler until SIGTERM/SIGINT (`tidu scheduler`)."""
    scheduler = Scheduler(ctx, policy).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    scheduler.shutdown()
