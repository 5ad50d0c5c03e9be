"""Uploads of one year's calendar at once (PostgreSQL): no duplicate key 500; each upload is
applied in turn and recorded once, the first as new and the others as replacing it."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.context import EngineContext
from engine.store import CalendarYear, HistoryEvent
from tests import factories as f
from tests.fixtures.races import answers_at_once

THREADS = 6


@pytest.mark.postgres
@pytest.mark.usefixtures("requires_postgres")
def test_concurrent_uploads_of_one_year_are_serialised(
    ctx: EngineContext, app: Flask, client: Any
) -> None:
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    headers = {"Authorization": f"Bearer {owner.token}"}

    def upload(i: int) -> Any:
        body = {"source": f"国办发明电〔2098〕{i}号", "holidays": {"2099-01-01": "元旦"}}
        return app.test_client().put("/api/v1/calendars/2099", headers=headers, json=body)

    results = answers_at_once(THREADS, upload)
    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {200, 409}, results  # never a 500
    with ctx.transaction() as session:
        rows = session.scalar(select(func.count()).select_from(CalendarYear))
        events = list(
            session.scalars(
                select(HistoryEvent.data).where(HistoryEvent.kind == "calendar.changed")
            )
        )
    assert rows == 1
    assert len(events) == statuses[200]
    assert sorted(e["replaced"] for e in events) == [False] + [True] * (statuses[200] - 1)
    assert statuses[200] == THREADS  # serialised: every upload applied in turn
