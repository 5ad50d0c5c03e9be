"""API test fixtures: the P1 cast of users (all diagrams, or P1 alone deployed), an open round."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from engine.context import EngineContext
from tests import factories as f


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
