"""Closing one incident from several requests at once: exactly one closes it, the rest get 409
and no second `incident.resolved` is written (PostgreSQL: READ COMMITTED lets concurrent
transactions read the same open row)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine import incidents as engine_incidents
from engine.context import Actor, EngineContext
from engine.store import HistoryEvent
from tests import factories as f
from tests.engine import test_incidents as base
from tests.fixtures.races import answers_at_once

case = base.case  # the fixture: a 南昌 application waiting for 市级初审

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("requires_postgres")]
THREADS = 3


def resolved_events(ctx: EngineContext, incident_id: str) -> int:
    with ctx.transaction() as session:
        return session.scalar(
            select(func.count())
            .select_from(HistoryEvent)
            .where(
                HistoryEvent.kind == "incident.resolved",
                HistoryEvent.data["incident_id"].as_string() == incident_id,
            )
        )


def test_concurrent_hand_closes_let_exactly_one_win(
    ctx: EngineContext, app: Flask, p1: f.People, case: dict[str, Any]
) -> None:
    incident_id = base.fail_city_review(ctx, p1, case)
    headers = {"Authorization": f"Bearer {p1['province'].token}"}
    results = answers_at_once(
        THREADS,
        lambda i: app.test_client().post(
            f"/api/v1/incidents/{incident_id}/resolve", headers=headers, json={"note": str(i)}
        ),
    )
    assert Counter(status for status, _ in results) == {200: 1, 409: THREADS - 1}, results
    assert all(body["title"] for status, body in results if status == 409)
    assert resolved_events(ctx, incident_id) == 1


def test_a_retry_racing_a_hand_close_keeps_nothing(
    ctx: EngineContext, p1: f.People, case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hand-close commits after the retry found the incident open but before its command
    ran: the retry must not complete the task as well, nor write a second `incident.resolved`."""
    incident_id = base.fail_city_review(ctx, p1, case)
    restore, closed = engine_incidents.restore_args, []

    def close_by_hand_meanwhile(args: dict[str, Any]) -> dict[str, Any]:
        closed.append(True)  # another owner closes it now, in a transaction of their own
        engine_incidents.resolve(
            ctx, incident_id=incident_id, actor=Actor("other-owner", "province"), note="x"
        )
        return restore(args)

    monkeypatch.setattr(engine_incidents, "restore_args", close_by_hand_meanwhile)
    retried = p1["province"].post(f"/api/v1/incidents/{incident_id}/retry")
    monkeypatch.undo()
    assert closed
    assert retried.status_code == 409, retried.json
    assert base.task_state(ctx, case["task_id"]) == "open"  # the retry kept nothing
    [resolved] = base.incidents(p1["province"], "resolved")
    assert resolved["resolved_by"] == "other-owner"
    assert resolved_events(ctx, incident_id) == 1
