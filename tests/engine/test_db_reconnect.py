"""A database connection the server dropped (restart, failover, idle timeout) costs no data:
commands run again once on a new connection; a read that lost its connection is a 503."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from engine.context import EngineContext
from engine.store import Instance
from tests.fixtures import timer_support as ts


def _drop_pooled_connections(ctx: EngineContext) -> int:
    """Terminate every server backend of this database except the admin one (on the server)."""
    admin = create_engine(ctx.settings.database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


def _warm_pool(ctx: EngineContext) -> None:
    with ctx.transaction() as session:
        session.execute(select(1))


def test_a_command_on_a_dropped_connection_runs_again_and_is_kept_once(
    ctx: EngineContext, requires_postgres: None
) -> None:
    ts.deploy_fixture(ctx, "timer_wait")
    _warm_pool(ctx)
    assert _drop_pooled_connections(ctx) >= 1
    row = ts.start(ctx, "timer_wait")  # its first connection is dead: run again, once
    with ctx.reading() as session:
        assert session.scalars(select(Instance.id)).all() == [row.id]


def test_a_read_on_a_dropped_connection_is_a_503_and_the_next_one_works(
    ctx: EngineContext, client, requires_postgres: None  # type: ignore[no-untyped-def]
) -> None:
    from tests import factories as f

    province = f.user(ctx, client, role="province", user_id="prov")
    assert province.get("/api/v1/tasks").status_code == 200
    _drop_pooled_connections(ctx)
    lost = province.get("/api/v1/tasks")  # every pooled connection is dead
    assert lost.status_code == 503
    assert lost.json["type"].endswith("/database-unavailable")
    assert lost.headers["Content-Type"].startswith("application/problem+json")
    assert province.get("/api/v1/tasks").status_code == 200  # the pool was renewed


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("0", False), ("", False)])
def test_pre_ping_is_a_setting(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    from engine.settings import Settings

    monkeypatch.setenv("TIDU_DB_PRE_PING", value)
    assert Settings.from_env().db_pre_ping is expected
