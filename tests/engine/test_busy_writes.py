"""Writes that are not case commands (an upload, opening a round, closing an incident by hand)
answer a lock not granted in time as 409 `busy`, as commands do, never a 500."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import date

import pytest

from engine import incidents, queries
from engine.context import Actor, EngineContext
from engine.errors import Busy
from engine.store import Incident
from tests.engine.test_busy import quick  # noqa: F401 - a fixture: 0.3 s lock timeout
from tests.fixtures.locks import held

PROVINCE = Actor(id="p-1", role="province", region="360000")


def _held(ctx: EngineContext, table: str) -> AbstractContextManager[None]:
    """Another transaction holds `table` (PostgreSQL) or the write lock (SQLite)."""
    return held(ctx, f"LOCK TABLE {table} IN EXCLUSIVE MODE")


def test_an_upload_that_waits_too_long_is_busy(quick: EngineContext) -> None:  # noqa: F811
    with _held(quick, "evidence_file"), pytest.raises(Busy):
        queries.store_file(
            quick, PROVINCE, filename="a.pdf", content_type="application/pdf", content=b"abc"
        )


def test_opening_a_round_that_waits_too_long_is_busy(quick: EngineContext) -> None:  # noqa: F811
    with _held(quick, "round"), pytest.raises(Busy):
        queries.open_round(
            quick,
            process_key="sme_eval",
            label="第1批",
            opens_on=date(2026, 12, 1),
            window_days=10,
            actor=PROVINCE,
        )
    with quick.reading() as session:
        assert session.query(Incident).count() == 0  # a conflict, not an incident


def test_a_hand_close_that_waits_too_long_is_busy(quick: EngineContext) -> None:  # noqa: F811
    with quick.transaction() as session:
        row = Incident(
            command="fire_timers",
            args={},
            error_type="RuntimeError",
            message="x",
            status="open",
            attempts=1,
            created_at=quick.now(),
        )
        session.add(row)
        session.flush()
        incident_id = row.id
    with _held(quick, "incident"), pytest.raises(Busy):
        incidents.resolve(quick, incident_id=incident_id, actor=PROVINCE, note="x")
