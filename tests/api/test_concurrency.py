"""Many users completing the same task at once: exactly one wins, the rest get 409, never a 5xx."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.context import EngineContext
from engine.store import HistoryEvent
from tests import factories as f
from tests.fixtures.races import answers_at_once

THREADS = 16


@pytest.mark.postgres
@pytest.mark.usefixtures("requires_postgres")
def test_concurrent_completions_of_one_task_let_exactly_one_win(
    ctx: EngineContext, app: Flask, p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    task_id = p1["city"].task("city_review", instance_id)["id"]
    headers = {"Authorization": f"Bearer {p1['city'].token}"}
    results = answers_at_once(
        THREADS,
        lambda _: app.test_client().post(  # one client per thread, one app
            f"/api/v1/tasks/{task_id}/complete",
            headers=headers,
            json={"data": {"decision": "approve"}},
        ),
    )
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: THREADS - 1}, [b for status, b in results if status != 409]
    codes = {body["type"].rsplit("/", 1)[1] for status, body in results if status == 409}
    assert codes == {"task-not-open"}  # the instance row lock serialises them; no stale writes
    with ctx.transaction() as session:
        completed = session.scalar(
            select(func.count())
            .select_from(HistoryEvent)
            .where(HistoryEvent.kind == "task.completed", HistoryEvent.task_id == task_id)
        )
    assert completed == 1
    assert p1["city"].get(f"/api/v1/tasks/{task_id}").json["state"] == "completed"
