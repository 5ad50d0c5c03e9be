"""A command that waits too long for a lock answers 409 `busy` and keeps nothing.

A row another transaction holds (PostgreSQL: the case row a command locks; SQLite: the one
write lock) is waited for `TIDU_DB_LOCK_TIMEOUT_SECONDS`; then the command is rolled back and
answered as the concurrency conflict it is, not recorded as an incident. Deadlocks and
serialization failures are answered the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from api import create_app
from bench.common import SME_ALIASES, deploy_sme_eval, token_for
from engine import instances, users
from engine.clock import SimulatedClock
from engine.commands import is_busy
from engine.context import Actor, EngineContext
from engine.errors import Busy
from engine.settings import Settings
from engine.store import Incident, make_engine
from handlers.uscc import make_uscc
from tests.fixtures.locks import held
from tests.fixtures.tasks import open_task

USCC = make_uscc("91360102MC0000001")
ENTERPRISE = Actor(id="e-1", role="enterprise", region="360100", uscc=USCC)


@pytest.fixture
def quick(ctx: EngineContext, clock: SimulatedClock) -> Iterator[EngineContext]:
    """A context on the suite's database that waits 0.3 s for a lock (`ctx` emptied it)."""
    settings = Settings(
        database_url=ctx.settings.database_url,
        embedded_scheduler=False,
        lane_aliases=SME_ALIASES,
        db_lock_timeout_s=0.3,
    )
    quick = EngineContext(settings, clock=clock)
    deploy_sme_eval(quick)
    users.ensure_enterprise(quick, uscc=USCC, name="企业甲", region="360100")
    yield quick
    quick.db.dispose()


def _held(ctx: EngineContext, instance_id: str) -> AbstractContextManager[None]:
    """Another transaction holds what a command on the case needs until the block ends."""
    return held(ctx, "SELECT id FROM process_instance WHERE id = :id FOR UPDATE", id=instance_id)


def _incidents(ctx: EngineContext) -> int:
    with ctx.reading() as session:
        return session.scalar(select(func.count()).select_from(Incident)) or 0


def test_a_command_that_waits_too_long_for_a_lock_is_busy_and_keeps_nothing(
    quick: EngineContext,
) -> None:
    case = instances.start_instance(quick, process_key="sme_eval", actor=ENTERPRISE)
    task_id = open_task(quick, case.id)
    with _held(quick, case.id), pytest.raises(Busy) as raised:
        instances.complete_task(quick, task_id=task_id, actor=ENTERPRISE, data={"name": "a"})
    assert raised.value.extra["rule"] == "lock-timeout"
    assert _incidents(quick) == 0  # a conflict to repeat, not a failure to look into
    assert open_task(quick, case.id) == task_id  # nothing of the command was kept
    instances.complete_task(quick, task_id=task_id, actor=ENTERPRISE, data={"name": "a"})
    assert open_task(quick, case.id) != task_id  # repeated once the lock is gone: done


def test_the_api_answers_busy_with_409(quick: EngineContext) -> None:
    client = create_app(ctx=quick).test_client()
    token = token_for(quick, "e-1", "enterprise", "360100", USCC)
    headers = {"Authorization": f"Bearer {token}"}
    case = client.post("/api/v1/instances", headers=headers, json={"process_key": "sme_eval"})
    task_id = open_task(quick, case.json["id"])
    with _held(quick, case.json["id"]):
        answer = client.post(
            f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": {"name": "a"}}
        )
    assert answer.status_code == 409
    assert answer.mimetype == "application/problem+json"
    assert answer.json["type"].endswith("/busy")
    assert answer.json["rule"] == "lock-timeout"


@pytest.mark.parametrize(
    ("error", "busy"),
    [
        (psycopg.errors.LockNotAvailable("lock timeout"), True),
        (psycopg.errors.DeadlockDetected("deadlock"), True),
        (psycopg.errors.SerializationFailure("serialization"), True),
        (psycopg.errors.UndefinedTable("no such table"), False),
    ],
)
def test_which_database_errors_are_busy(error: Exception, busy: bool) -> None:
    assert is_busy(DBAPIError("SELECT 1", {}, error)) is busy


def test_sqlites_lock_not_granted_is_busy(ctx: EngineContext) -> None:
    if ctx.is_postgres:
        pytest.skip("SQLite's write lock")
    import sqlite3

    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorname = "SQLITE_BUSY"  # as sqlite3 sets it on a real one
    assert is_busy(DBAPIError("BEGIN IMMEDIATE", {}, error))


@pytest.mark.parametrize(("value", "expected"), [("10", 10.0), ("0.5", 0.5), ("0", 0.0)])
def test_the_lock_timeout_is_a_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: float
) -> None:
    monkeypatch.setenv("TIDU_DB_LOCK_TIMEOUT_SECONDS", value)
    assert Settings.from_env().db_lock_timeout_s == expected


def test_postgresql_connections_take_the_lock_timeout(ctx: EngineContext) -> None:
    if not ctx.is_postgres:
        pytest.skip("PostgreSQL's lock_timeout")
    found: dict[Any, str] = {}
    for seconds in (10.0, 0.25, 0):
        engine = make_engine(ctx.settings.database_url, lock_timeout_s=seconds)
        try:
            with engine.connect() as conn:
                found[seconds] = conn.execute(text("SHOW lock_timeout")).scalar()
        finally:
            engine.dispose()
    assert found[10.0] == "10s"
    assert found[0.25] == "250ms"
    assert found[0] == "0"  # no limit: the server's default


def test_options_in_the_database_url_are_kept_beside_the_lock_timeout(ctx: EngineContext) -> None:
    if not ctx.is_postgres:
        pytest.skip("PostgreSQL's connection options")
    url = f"{ctx.settings.database_url}?options=-c%20statement_timeout%3D7000"
    engine = make_engine(url, lock_timeout_s=2)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "7s"
            assert conn.execute(text("SHOW lock_timeout")).scalar() == "2s"
    finally:
        engine.dispose()
