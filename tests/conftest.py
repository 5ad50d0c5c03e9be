"""Shared fixtures: a real database built by `alembic upgrade head` (SQLite, or PostgreSQL via
--db-url / TIDU_TEST_DATABASE_URL), a simulated clock, an engine context and an API client."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

import handlers  # noqa: F401 - fills the operator registry
from api import create_app
from engine import migrate
from engine.clock import SimulatedClock
from engine.context import EngineContext
from engine.settings import Settings
from engine.store import Base, make_engine, make_sessionmaker

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db-url",
        default=os.environ.get("TIDU_TEST_DATABASE_URL"),
        help="PostgreSQL URL for the suite (default: a temporary SQLite file)",
    )
    parser.addoption(
        "--pgbouncer-url",
        default=os.environ.get("TIDU_TEST_PGBOUNCER_URL"),
        help="a PgBouncer in transaction mode in front of the --db-url database "
        "(tests/engine/test_pgbouncer.py; skipped without it)",
    )


@pytest.fixture(scope="session")
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = (
        request.config.getoption("--db-url")
        or f"sqlite:///{tmp_path_factory.mktemp('db') / 'tidu.db'}"
    )
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def db_engine(db_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def _truncate(engine) -> None:  # type: ignore[no-untyped-def]
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2025, 9, 1, 1, 0, tzinfo=UTC))  # 09:00 in Jiangxi


@pytest.fixture
def ctx(db_engine, db_url: str, clock: SimulatedClock) -> EngineContext:  # type: ignore[no-untyped-def]
    _truncate(db_engine)
    settings = Settings(
        database_url=db_url, processes_dir=ROOT / "processes", embedded_scheduler=False
    )
    return EngineContext(settings, clock=clock, db=db_engine, sessions=make_sessionmaker(db_engine))


@pytest.fixture
def app(ctx: EngineContext):  # type: ignore[no-untyped-def]
    return create_app(ctx=ctx)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def requires_postgres(ctx: EngineContext) -> None:
    if not ctx.is_postgres:
        pytest.skip("needs PostgreSQL: run with --db-url=postgresql+psycopg://...")
