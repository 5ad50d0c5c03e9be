"""A database connection the server dropped (restart, failover, idle timeout) costs no data:
commands run again once on a new connection; a read that lost its connection is a 503.

Each test works on a private connection pool (its own EngineContext on the suite's database),
so the connections it has the server terminate never reach other tests."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api import create_app
from engine.context import EngineContext
from engine.store import Instance
from tests import factories as f
from tests.fixtures import timer_support as ts
from tests.fixtures.connections import drop_pooled_connection


def test_a_command_on_a_dropped_connection_runs_again_and_is_kept_once(
    private: EngineContext,
) -> None:
    ts.deploy_fixture(private, "timer_wait")
    drop_pooled_connection(private)
    row = ts.start(private, "timer_wait")  # its first connection is dead: run again, once
    with private.reading() as session:
        assert session.scalars(select(Instance.id)).all() == [row.id]


def test_a_read_on_a_dropped_connection_is_a_503_and_the_next_one_works(
    private: EngineContext,
) -> None:
    client = create_app(ctx=private).test_client()
    province = f.user(private, client, role="province", user_id="prov")
    assert province.get("/api/v1/tasks").status_code == 200
    drop_pooled_connection(private)
    lost = province.get("/api/v1/tasks")  # the pool's only connection is dead
    assert lost.status_code == 503
    assert lost.json["type"].endswith("/database-unavailable")
    assert lost.headers["Content-Type"].startswith("application/problem+json")
    assert province.get("/api/v1/tasks").status_code == 200  # the pool was renewed


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False), ("", False)])
def test_pre_ping_is_a_setting(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    from engine.settings import Settings

    monkeypatch.setenv("TIDU_DB_PRE_PING", value)
    assert Settings.from_env().db_pre_ping is expected
