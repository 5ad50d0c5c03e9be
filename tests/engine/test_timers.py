"""Timer claims and the scheduler: retries, incidents, catch-up, real-clock firing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine import incidents, queries, registry, timers
from engine.clock import SystemClock
from engine.context import Actor, EngineContext
from engine.scheduler import Scheduler, SchedulerBusy
from engine.store import Incident, Instance, Timer, make_sessionmaker
from tests.fixtures import timer_support as ts

POLICY = timers.TimerPolicy(batch_size=10, lease_s=30, max_attempts=3, backoff_s=60)


def _timer(ctx: EngineContext, instance_id: str) -> Timer | None:
    with ctx.transaction() as session:
        return session.scalars(select(Timer).where(Timer.instance_id == instance_id)).first()


def _status(ctx: EngineContext, instance_id: str) -> str:
    with ctx.transaction() as session:
        return session.get(Instance, instance_id).status


def test_due_timers_are_claimed_in_batches_and_fired_once(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    ts.deploy_fixture(ctx, "timer_wait")
    started = [ts.start(ctx, "timer_wait") for _ in range(25)]
    assert timers.run_due(ctx, owner="a", policy=POLICY).claimed == 0  # not due yet
    clock.advance(timedelta(seconds=3))
    result = timers.run_due(ctx, owner="a", policy=POLICY)
    assert (result.claimed, result.fired, result.failed) == (25, 25, 0)
    assert timers.run_due(ctx, owner="b", policy=POLICY).claimed == 0
    assert ts.fired_counts(ctx) == {row.id: 1 for row in started}
    assert {_status(ctx, row.id) for row in started} == {"completed"}


def test_a_claimed_timer_is_not_claimed_again_until_its_lease_expires(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    ts.deploy_fixture(ctx, "timer_wait")
    row = ts.start(ctx, "timer_wait")
    clock.advance(timedelta(seconds=3))
    assert [c.instance_id for c in timers.claim(ctx, owner="killed", policy=POLICY)] == [row.id]
    assert timers.claim(ctx, owner="other", policy=POLICY) == []
    assert timers.next_wakeup(ctx) == clock.now() + timedelta(seconds=POLICY.lease_s)
    clock.advance(timedelta(seconds=POLICY.lease_s + 1))  # the claimer died: its lease ran out
    assert timers.run_due(ctx, owner="other", policy=POLICY).fired == 1
    assert ts.fired_counts(ctx) == {row.id: 1}


def test_failing_timer_is_retried_with_backoff_then_raises_one_incident(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []

    def flaky(*, case_ref: str) -> dict[str, str]:
        calls.append(case_ref)
        raise ConnectionError("外部系统不可用")

    with registry.override("test.flaky", flaky):
        ts.deploy_fixture(ctx, "timer_flaky")
        row = ts.start(ctx, "timer_flaky")
        clock.advance(timedelta(seconds=2))
        assert timers.run_due(ctx, owner="s", policy=POLICY).failed == 1
        timer = _timer(ctx, row.id)
        assert (timer.attempts, timer.lock_owner) == (1, None)
        assert "外部系统不可用" in timer.last_error
        assert timer.lock_expires_at == clock.now() + timedelta(seconds=60)  # backoff 60 s
        assert timers.run_due(ctx, owner="s", policy=POLICY).claimed == 0  # still backing off
        clock.advance(timedelta(seconds=61))
        assert timers.run_due(ctx, owner="s", policy=POLICY).failed == 1
        assert _timer(ctx, row.id).lock_expires_at == clock.now() + timedelta(
            seconds=120
        )  # doubled
        clock.advance(timedelta(seconds=121))
        assert timers.run_due(ctx, owner="s", policy=POLICY).incidents == 1
        clock.advance(timedelta(days=1))
        assert timers.run_due(ctx, owner="s", policy=POLICY).claimed == 0  # waits for the incident
    assert len(calls) == 3
    [incident] = incidents.list_incidents(ctx)
    assert (incident.command, incident.instance_id, incident.element_id) == (
        "fire_timers",
        row.id,
        "done",
    )
    assert "外部系统不可用" in incident.message
    with registry.override("test.flaky", lambda *, case_ref: {"ok": True}):
        incidents.retry(ctx, incident_id=incident.id, actor=Actor(id="ops", role="system"))
    assert _status(ctx, row.id) == "completed"
    assert ts.fired_counts(ctx) == {row.id: 1}


def test_an_unrelated_save_keeps_attempts_and_backoff(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    with registry.override("test.flaky", lambda *, case_ref: 1 / 0):
        ts.deploy_fixture(ctx, "timer_flaky")
        row = ts.start(ctx, "timer_flaky")
        clock.advance(timedelta(seconds=2))
        timers.run_due(ctx, owner="s", policy=POLICY)
    from engine.instances import load_for_update, save

    with ctx.transaction() as session:  # any command saving the instance re-projects its timers
        save(ctx, session, load_for_update(ctx, session, row.id), Actor.system())
    timer = _timer(ctx, row.id)
    assert (timer.attempts, timer.lock_expires_at) == (1, clock.now() + timedelta(seconds=60))


def test_scheduler_start_fires_everything_overdue_once_and_opens_the_missed_round(
    ctx, clock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "rounds.json").write_text(
        '{"rounds": [{"process_key": "timer_deadline", "label": "{year}年第{n}批测试", '
        '"first_opens_on": "2025-09-10", "every_months": 6, "window_days": 30}]}',
        encoding="utf-8",
    )
    ctx.settings = replace(ctx.settings, processes_dir=tmp_path)
    ts.deploy_fixture(ctx, "timer_deadline")
    started = []
    for _ in range(3):  # three deadlines on three different days (3 working days each)
        started.append(ts.start(ctx, "timer_deadline"))
        clock.advance(timedelta(days=1))
    # The scheduler is down from 2 Sep to 15 Sep: three deadlines and a round opening pass.
    clock.set(datetime(2025, 9, 15, 1, 0, tzinfo=UTC))
    scheduler = Scheduler(ctx, POLICY).start()
    try:
        assert ts.wait_for(lambda: len(ts.fired_counts(ctx)) == 3, timeout=10)
        assert ts.wait_for(lambda: queries.rounds(ctx), timeout=5)
    finally:
        scheduler.shutdown()
    again = Scheduler(ctx, POLICY).start()  # a restart fires nothing twice, opens nothing twice
    again.shutdown()
    assert ts.fired_counts(ctx) == {row.id: 1 for row in started}
    [found] = queries.rounds(ctx)
    assert (str(found["round"].opens_on), found["round"].label) == ("2025-09-10", "2025年第1批测试")


def test_sqlite_allows_one_scheduler_per_database(ctx) -> None:  # type: ignore[no-untyped-def]
    if ctx.is_postgres:
        pytest.skip("the guard is for SQLite")
    first = Scheduler(ctx, POLICY).start()
    try:
        with pytest.raises(SchedulerBusy):
            Scheduler(ctx, POLICY).start()
    finally:
        first.shutdown()


def test_pt2s_timer_fires_within_two_seconds_with_a_running_scheduler(db_engine, ctx) -> None:  # type: ignore[no-untyped-def]
    real = EngineContext(
        ctx.settings, clock=SystemClock(), db=db_engine, sessions=make_sessionmaker(db_engine)
    )
    ts.deploy_fixture(real, "timer_wait")
    scheduler = Scheduler(real, timers.TimerPolicy(idle_recheck_s=30)).start()
    try:
        row = ts.start(real, "timer_wait")
        assert ts.wait_for(lambda: _status(real, row.id) == "completed", timeout=6)
    finally:
        scheduler.shutdown()
    assert scheduler.totals.fired == 1
    assert 0 <= scheduler.totals.lateness_s[0] < 2.0


def test_timers_fire_due_command_fires_and_reports(ctx, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from api import cli_time

    ts.deploy_fixture(ctx, "timer_wait")
    row = ts.start(ctx, "timer_wait")
    clock.advance(timedelta(seconds=3))
    monkeypatch.setattr(cli_time, "_ctx", lambda: ctx)
    result = CliRunner().invoke(cli_time.timers_cmd, ["fire-due"])
    assert result.exit_code == 0, result.output
    assert '"fired": 1' in result.output
    assert ts.fired_counts(ctx) == {row.id: 1}
    with ctx.transaction() as session:
        assert session.scalars(select(Incident)).all() == []


def test_scheduler_logs_a_missing_calendar_year_once_a_day(ctx, clock, caplog) -> None:  # type: ignore[no-untyped-def]
    from handlers import workdays

    last = max(workdays.PACKAGE_YEARS)
    clock.set(datetime(last, 12, 1, 1, 0, tzinfo=UTC))  # next year 31 days away, no data
    caplog.set_level("WARNING", logger="tidu.scheduler")
    scheduler = Scheduler(ctx, POLICY)
    for _ in range(2):
        scheduler._check_calendar()  # runs call this after their work
    clock.advance(timedelta(days=1))
    scheduler._check_calendar()
    warnings = [r.getMessage() for r in caplog.records if r.name == "tidu.scheduler"]
    assert len(warnings) == 2  # once a day
    assert f"{last + 1} 年工作日历数据缺失" in warnings[0]
    caplog.clear()
    clock.set(datetime(last, 9, 1, 1, 0, tzinfo=UTC))  # more than 60 days before: quiet
    scheduler._check_calendar()
    assert not [r for r in caplog.records if r.name == "tidu.scheduler"]
