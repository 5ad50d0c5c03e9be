"""Benchmark: fire 10,000 due timers with 1 and with 2 `tidu scheduler` processes on PostgreSQL.

    .venv/bin/python bench/timers.py [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                                     [--timers 10000] [--processes 1 2]

Creates a scratch database (dropped at the end), deploys a one-timer process, writes N waiting
instances whose timers all come due at the same moment a few seconds ahead, starts the
schedulers before that moment, and reports how long it took from the due time until the last
timer fired, the throughput, and the lateness (fired - due) p50/p95 from the `timer.fired`
history rows. Not a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import handlers  # noqa: E402, F401 - fills the operator registry
from engine import migrate  # noqa: E402
from engine.clock import SimulatedClock  # noqa: E402
from engine.context import EngineContext  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.store import HistoryEvent, Timer, make_engine  # noqa: E402
from tests.fixtures import timer_support as ts  # noqa: E402

LEAD = timedelta(seconds=8)  # timers come due this long after they are written


def _admin(url: str, sql: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def _prepare(url: str, count: int) -> tuple[EngineContext, datetime]:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE timer, message_subscription, human_task, history_event, history_stream, "
                "incident, process_instance, definition RESTART IDENTITY CASCADE"
            )
        )
    # Write the template at (due - PT2S) on a simulated clock, so every clone is due at `due`.
    due = datetime.now(UTC) + LEAD  # noqa: TID251 - a benchmark measures the wall clock
    clock = SimulatedClock(due - timedelta(seconds=2))
    ctx = EngineContext(Settings(database_url=url), clock=clock, db=engine)
    ts.deploy_fixture(ctx, "timer_wait")
    template = ts.start(ctx, "timer_wait")
    ts.clone_waiting(ctx, template, count - 1)
    return ctx, due


def _remaining(ctx: EngineContext) -> int:
    with ctx.transaction() as session:
        return session.scalar(select(func.count()).select_from(Timer)) or 0


def _lateness(ctx: EngineContext) -> list[float]:
    with ctx.transaction() as session:
        rows = session.scalars(
            select(HistoryEvent.data).where(HistoryEvent.kind == "timer.fired")
        ).all()
    return sorted(row["lateness_s"] for row in rows)


def run(url: str, count: int, processes: int) -> dict[str, float]:
    ctx, due = _prepare(url, count)
    workdir = Path(tempfile.mkdtemp(prefix="tidu-bench-timers-"))
    workers = [ts.scheduler_process(url, workdir, TIDU_TIMER_BATCH="100") for _ in range(processes)]
    try:
        while _remaining(ctx):
            time.sleep(0.1)
        finished = datetime.now(UTC)  # noqa: TID251
    finally:
        for worker in workers:
            ts.stop(worker)
    lateness = _lateness(ctx)
    assert len(lateness) == count, f"{len(lateness)} timer.fired rows for {count} timers"
    ctx.db.dispose()
    elapsed = (finished - due).total_seconds()
    cuts = statistics.quantiles(lateness, n=100, method="inclusive")
    return {
        "processes": processes,
        "timers": count,
        "seconds": round(elapsed, 2),
        "per_second": round(count / elapsed, 1),
        "lateness_p50_s": round(cuts[49], 2),
        "lateness_p95_s": round(cuts[94], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    name = f"tidu_bench_timers_{int(time.time())}"
    url = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    _admin(args.admin_url, f"CREATE DATABASE {name}")
    try:
        migrate.upgrade(url)
        for n in args.processes:
            result = run(url, args.timers, n)
            print(
                f"{result['processes']} scheduler process(es): {result['timers']} timers fired in "
                f"{result['seconds']} s ({result['per_second']}/s) after their due time; "
                f"lateness p50 {result['lateness_p50_s']} s, p95 {result['lateness_p95_s']} s"
            )
    finally:
        _admin(args.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
