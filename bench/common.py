"""Shared helpers for the benchmarks: scratch databases, deployments, users, percentiles and
resident memory."""

from __future__ import annotations

import resource
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

import handlers  # noqa: F401 - fills the operator registry
from engine import definitions, migrate, users
from engine.context import Actor, EngineContext
from engine.settings import Settings

BENCH = Path(__file__).resolve().parent
SME_ALIASES = {
    "process_initiator": "enterprise",
    "city_reviewers": "city",
    "province_reviewers": "province",
}


@contextmanager
def scratch_db(pg_url: str | None) -> Iterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL database next to `pg_url` (dropped afterwards)."""
    if not pg_url:
        yield f"sqlite:///{tempfile.mkdtemp(prefix='tidu-bench-')}/bench.db"
        return
    from sqlalchemy import create_engine

    name = f"tidu_bench_{int(time.time() * 1000)}"
    admin = create_engine(pg_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def context(url: str, clock: Any = None, **settings: Any) -> EngineContext:
    migrate.upgrade(url)
    kwargs = {"clock": clock} if clock is not None else {}
    return EngineContext(
        Settings(database_url=url, embedded_scheduler=False, lane_aliases=SME_ALIASES, **settings),
        **kwargs,
    )


def deploy_sme_eval(ctx: EngineContext) -> None:
    definitions.deploy(
        ctx,
        files={"sme_eval.bpmn": (BENCH / "sme_eval.bpmn").read_text()},
        actor=Actor(id="bench", role="process_owner"),
    )


def token_for(
    ctx: EngineContext, user_id: str, role: str, region: str | None = None, uscc: str | None = None
) -> str:
    if uscc:
        users.ensure_enterprise(ctx, uscc=uscc, name=f"企业{uscc[-6:]}", region=region)
    users.ensure_user(
        ctx, user_id=user_id, display_name=user_id, role=role, region=region, uscc=uscc
    )
    return users.issue_token(ctx, user_id)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def mean(values: list[float]) -> float:
    return statistics.mean(values) if values else float("nan")


def timed(fn: Callable[[], Any], sink: list[float]) -> Any:
    t0 = time.perf_counter()
    result = fn()
    sink.append(time.perf_counter() - t0)
    return result


def rss_mb() -> float:
    """The process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 1e6


class Sampler(threading.Thread):
    """Samples the resident memory every 5 ms until stopped, in a thread of its own (a peak
    inside the request, before its first piece, counts too)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = rss_mb()
        self._done = threading.Event()
        self.start()

    def run(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> float:
        self._done.set()
        self.join()
        return max(self.peak, rss_mb())


def timed_instances(workload: Any, n: int) -> float:
    """Seconds `n` calls of `workload.instance()` take."""
    started = time.perf_counter()
    for _ in range(n):
        workload.instance()
    return time.perf_counter() - started


def alternate(ours: Any, theirs: Any, n: int, rounds: int) -> tuple[float, float, list[float]]:
    """`n` instances of each workload in `rounds` alternating rounds (which goes first
    alternates too): (seconds of ours, seconds of theirs, each round's ratio theirs/ours). On a
    shared machine the speed of the whole machine drifts by a third within a minute; timed one
    after the other, the two figures meet different machines. Interleaved, both see the same
    drift, and the rounds' spread shows what the drift left."""
    rounds = max(1, min(rounds, n))
    sizes = [n // rounds + (1 if i < n % rounds else 0) for i in range(rounds)]
    ours_s = theirs_s = 0.0
    ratios = []
    for i, size in enumerate(sizes):
        if i % 2 == 0:
            a, b = timed_instances(ours, size), timed_instances(theirs, size)
        else:
            b, a = timed_instances(theirs, size), timed_instances(ours, size)
        ours_s, theirs_s = ours_s + a, theirs_s + b
        ratios.append(b / a)
    return ours_s, theirs_s, ratios
