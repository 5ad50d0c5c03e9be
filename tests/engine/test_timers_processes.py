"""Real `tidu scheduler` processes on PostgreSQL: shared claims, SIGKILL, NOTIFY wake-up."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.clock import SystemClock
from engine.context import EngineContext
from engine.store import Instance, Timer, make_sessionmaker
from tests.fixtures import timer_support as ts

pytestmark = pytest.mark.postgres


def _due_instances(ctx, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    """`count` instances whose PT2S timer came due long ago (simulated clock in 2025)."""
    ts.deploy_fixture(ctx, "timer_wait")
    template = ts.start(ctx, "timer_wait")
    return [template.id, *ts.clone_waiting(ctx, template, count - 1)]


def _open_timers(ctx) -> int:  # type: ignore[no-untyped-def]
    with ctx.transaction() as session:
        return session.scalar(select(func.count()).select_from(Timer))


def test_two_scheduler_processes_fire_2000_timers_exactly_once(
    requires_postgres, ctx, db_url, db_engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ids = _due_instances(ctx, 2000)
    workers = [ts.scheduler_process(db_url, tmp_path, TIDU_TIMER_BATCH="50") for _ in range(2)]
    try:
        assert ts.wait_for(lambda: _open_timers(ctx) == 0, timeout=90, step=0.2)
        counts = ts.fired_counts(ctx)
        assert len(counts) == 2000
        assert set(counts.values()) == {1}
        assert set(counts) == set(ids)
        # A new PT2S timer written by this process wakes the schedulers through NOTIFY.
        real = EngineContext(
            ctx.settings, clock=SystemClock(), db=db_engine, sessions=make_sessionmaker(db_engine)
        )
        row = ts.start(real, "timer_wait")
        assert ts.wait_for(lambda: ts.fired_counts(ctx).get(row.id), timeout=6)
    finally:
        for worker in workers:
            ts.stop(worker)
    with ctx.transaction() as session:
        fired_at = session.get(Instance, row.id).completed_at
        assert fired_at - row.started_at < timedelta(seconds=4)  # due at +2 s, fired within 2 s


def test_a_scheduler_killed_mid_batch_loses_nothing_and_fires_nothing_twice(
    requires_postgres, ctx, db_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    ids = _due_instances(ctx, 600)
    env = {"TIDU_TIMER_BATCH": "100", "TIDU_TIMER_LEASE_S": "2"}
    first = ts.scheduler_process(db_url, tmp_path, **env)
    try:
        assert ts.wait_for(lambda: len(ts.fired_counts(ctx)) >= 50, timeout=30, step=0.01)
    finally:
        ts.stop(first, signal.SIGKILL)
    with ctx.transaction() as session:
        claimed = session.scalar(
            select(func.count()).select_from(Timer).where(Timer.lock_owner.is_not(None))
        )
    assert 0 < len(ts.fired_counts(ctx)) < 600
    assert claimed > 0  # killed in the middle of a batch: claims left behind
    time.sleep(0.1)
    second = ts.scheduler_process(db_url, tmp_path, **env)
    try:
        assert ts.wait_for(lambda: _open_timers(ctx) == 0, timeout=60, step=0.2)
    finally:
        ts.stop(second)
    counts = ts.fired_counts(ctx)
    assert set(counts) == set(ids)
    assert set(counts.values()) == {1}
