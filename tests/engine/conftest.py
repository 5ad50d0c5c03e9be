"""Engine test fixtures: the P1 cast of users, an open round, `tidu` run on the test DB."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from api import cli
from engine import clock as clocks
from engine.clock import SimulatedClock
from engine.context import EngineContext
from tests.fixtures.cast import p1, p1_round, people, round_id  # noqa: F401 - fixtures
from tests.fixtures.codec_check import cache_check, codec_check, walk_check  # noqa: F401
from tests.fixtures.connections import private  # noqa: F401 - a fixture

Tidu = Callable[..., Result]


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
