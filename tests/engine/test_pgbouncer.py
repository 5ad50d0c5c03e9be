"""tidu behind PgBouncer in transaction mode (docs/scaling.md, "Behind PgBouncer").

The proxy hands each transaction whichever server connection is free, so nothing a client
leaves on a server connection may outlive its transaction: no prepared statements
(`TIDU_DB_PREPARE_THRESHOLD=off`), no startup parameter it does not know (the lock timeout:
`TIDU_DB_LOCK_TIMEOUT_SECONDS=0`, set on the server instead) and no LISTEN
(`TIDU_DATABASE_LISTEN_URL` points the scheduler's listener past the proxy). The tests that
need the proxy take `--pgbouncer-url` (`TIDU_TEST_PGBOUNCER_URL`): a PgBouncer in transaction
mode in front of the `--db-url` database with fewer server connections than clients (.ci/run
starts one with two).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from bench.common import SME_ALIASES, deploy_sme_eval
from bench.sme_eval import BODIES
from engine import history, instances, scheduler, users
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.settings import Settings
from engine.store import Instance, make_engine
from handlers.uscc import make_uscc
from tests.fixtures.races import at_once
from tests.fixtures.tasks import open_task

ROLES = (("city", "360100"), ("province", None))


@pytest.fixture
def bouncer_url(request: pytest.FixtureRequest, ctx: EngineContext) -> str:
    """The proxy's URL; `ctx` has emptied the database behind it."""
    url = request.config.getoption("--pgbouncer-url")
    if not url:
        pytest.skip("needs --pgbouncer-url: a PgBouncer in transaction mode")
    return str(url)


def _context(url: str, clock: SimulatedClock, **settings: Any) -> EngineContext:
    """Settings for the proxy: prepared statements and the startup lock timeout off."""
    defaults = {"db_prepare_threshold": None, "db_lock_timeout_s": 0}
    return EngineContext(
        Settings(
            database_url=url,
            embedded_scheduler=False,
            lane_aliases=SME_ALIASES,
            **(defaults | settings),
        ),
        clock=clock,
    )


def test_the_proxy_refuses_the_lock_timeout_given_at_connect(bouncer_url: str) -> None:
    """Why behind PgBouncer 1.18 the lock timeout is set on the server instead: it refuses
    the startup parameter that carries it."""
    engine = make_engine(bouncer_url, prepare_threshold=None, lock_timeout_s=5)
    try:
        with pytest.raises(DBAPIError, match="options"), engine.connect():
            pass
    finally:
        engine.dispose()


def test_prepared_statements_of_one_client_reach_the_next_behind_the_proxy(
    bouncer_url: str,
) -> None:
    """Why the setting exists: a statement psycopg prepared on a server connection is still
    there when the proxy hands that connection to another client, which prepares its own
    under the same name."""
    # prepare at the first execution
    engine = make_engine(bouncer_url, prepare_threshold=0, lock_timeout_s=0)
    clients = [engine.connect() for _ in range(3)]

    def take_turns() -> None:
        for i in range(30):
            client = clients[i % 3]
            with client.begin():
                client.execute(text("SELECT CAST(:x AS integer) + 1"), {"x": i})

    try:
        with pytest.raises(DBAPIError, match="prepared statement"):
            take_turns()
    finally:
        for client in clients:
            client.close()
        engine.dispose()


def _run_cases(ctx: EngineContext, uscc: str, count: int) -> None:
    enterprise = Actor(id=f"e-{uscc}", role="enterprise", region="360100", uscc=uscc)
    staff = [Actor(id=role, role=role, region=region) for role, region in ROLES]
    for _ in range(count):
        case = instances.start_instance(ctx, process_key="sme_eval", actor=enterprise)
        for actor, (bpmn_id, body) in zip((enterprise, *staff), BODIES, strict=True):
            task_id = open_task(ctx, case.id, bpmn_id)
            instances.complete_task(ctx, task_id=task_id, actor=actor, data=body)


def test_commands_from_several_threads_run_behind_the_proxy_with_prepares_off(
    bouncer_url: str, clock: SimulatedClock
) -> None:
    """Four threads, more clients than server connections: every transaction may land on
    another server connection. Statements run far more often than psycopg's threshold, and a
    command's writes go pipelined (the default)."""
    bctx = _context(bouncer_url, clock)
    try:
        assert bctx.settings.db_pipeline_writes
        deploy_sme_eval(bctx)
        usccs = [make_uscc(f"91360102MC{i:07d}") for i in range(4)]
        for uscc in usccs:
            users.ensure_enterprise(bctx, uscc=uscc, name=f"企业{uscc[-6:]}", region="360100")
        at_once(len(usccs), lambda i: _run_cases(bctx, usccs[i], 5))  # raises a thread's error
        with bctx.reading() as session:
            done = session.scalar(
                select(func.count()).select_from(Instance).where(Instance.status == "completed")
            )
            assert done == 20
        assert history.verify_all(bctx) == []
    finally:
        bctx.db.dispose()


def _probe_result(sched: scheduler.Scheduler) -> bool | None:
    deadline = time.monotonic() + 10
    while sched.listener_hears is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return sched.listener_hears


def test_the_scheduler_says_when_its_listener_hears_nothing_behind_the_proxy(
    bouncer_url: str,
    clock: SimulatedClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(scheduler, "LISTEN_PROBE_S", 1.0)
    bctx = _context(bouncer_url, clock)
    sched = scheduler.Scheduler(bctx).start()
    try:
        with caplog.at_level(logging.WARNING, logger="tidu.scheduler"):
            assert _probe_result(sched) is False
        assert "TIDU_DATABASE_LISTEN_URL" in caplog.text
    finally:
        sched.shutdown()
        bctx.db.dispose()


def test_a_listen_url_past_the_proxy_hears_other_processes(
    bouncer_url: str, ctx: EngineContext, clock: SimulatedClock
) -> None:
    bctx = _context(bouncer_url, clock, database_listen_url=ctx.settings.database_url)
    sched = scheduler.Scheduler(bctx).start()
    try:
        assert _probe_result(sched) is True
    finally:
        sched.shutdown()
        bctx.db.dispose()


def test_a_listener_on_the_database_itself_hears_its_probe(ctx: EngineContext) -> None:
    if not ctx.is_postgres:
        pytest.skip("LISTEN is PostgreSQL's")
    sched = scheduler.Scheduler(ctx).start()
    try:
        assert _probe_result(sched) is True
    finally:
        sched.shutdown()


@pytest.mark.parametrize(
    ("value", "expected"), [("5", 5), ("0", 0), ("off", None), ("none", None), ("", None)]
)
def test_the_prepare_threshold_is_a_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None
) -> None:
    monkeypatch.setenv("TIDU_DB_PREPARE_THRESHOLD", value)
    assert Settings.from_env().db_prepare_threshold == expected


@pytest.mark.parametrize("value", ["soon", "-1"])
def test_a_prepare_threshold_that_is_no_count_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TIDU_DB_PREPARE_THRESHOLD", value)
    with pytest.raises(ValueError, match="TIDU_DB_PREPARE_THRESHOLD"):
        Settings.from_env()


def test_the_listen_url_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().database_listen_url is None
    monkeypatch.setenv("TIDU_DATABASE_LISTEN_URL", "postgresql+psycopg://db:5432/tidu")
    assert Settings.from_env().database_listen_url == "postgresql+psycopg://db:5432/tidu"


def test_psycopg_connections_take_the_threshold(ctx: EngineContext) -> None:
    if ctx.db.dialect.driver != "psycopg":
        pytest.skip("a psycopg setting")
    for threshold in (None, 3):
        engine = make_engine(ctx.settings.database_url, prepare_threshold=threshold)
        try:
            with engine.connect() as conn:
                assert conn.connection.driver_connection.prepare_threshold == threshold
        finally:
            engine.dispose()
