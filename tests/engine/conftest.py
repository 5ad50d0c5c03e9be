"""Engine test fixtures: the P1 cast of users, an open round, `tidu` run on the test DB."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from api import cli
from engine import clock as clocks
from engine.clock import SimulatedClock
from engine.context import EngineContext
from tests import factories as f
from tests.fixtures.codec_check import cache_check, codec_check, walk_check  # noqa: F401
from tests.fixtures.connections import private  # noqa: F401 - a fixture

Tidu = Callable[..., Result]


@pytest.fixture
def people(ctx: EngineContext, client: FlaskClient) -> f.People:
    """The P1 cast, with every diagram of processes/ deployed."""
    return f.p1_cast(ctx, client)


@pytest.fixture
def round_id(people: f.People) -> int:
    return f.open_round(people["province"], opens_on=date(2025, 9, 1))["id"]


@pytest.fixture
def p1(ctx: EngineContext, client: FlaskClient) -> f.People:
    """The P1 cast with only P1 (and all rules and forms) deployed: faster, and no other
    diagram's state can break these tests."""
    return f.p1_cast(ctx, client, files=f.process_files())


@pytest.fixture
def p1_round(p1: f.People) -> int:
    """An application round of P1 opening on the clock's first day."""
    return f.open_round(p1["province"], opens_on=date(2025, 9, 1))["id"]


@pytest.fixture
def tidu(db_url: str, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch) -> Tidu:
    """Run `tidu ARGS...` as an operator would, with TIDU_DATABASE_URL set to the test database."""
    built: list[EngineContext] = []
    build = cli._ctx

    def tracked() -> EngineContext:
        built.append(build())
        return built[-1]

    monkeypatch.setattr(cli, "_ctx", tracked)  # only to close the command's pool afterwards

    def run(*args: str) -> Result:
        try:
            return CliRunner().invoke(cli.main, list(args), env={"TIDU_DATABASE_URL": db_url})
        finally:
            for made in built:
                made.db.dispose()
            built.clear()
            clocks.install(clock)  # the command installed a system clock for this process

    return run
