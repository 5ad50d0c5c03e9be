"""A procedure has one round per opening day: a second `POST /rounds` (a double submit, or two
at once) is refused 409 naming the first, and a round opened by hand is recorded as
`round.opened` as the scheduler's are."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.context import EngineContext
from engine.store import HistoryEvent, Round
from tests import factories as f
from tests.fixtures.races import answers_at_once

BODY = {
    "process_key": "innovative_evaluation",
    "label": "2026年第3批",
    "opens_on": "2026-11-30",
    "window_days": 5,
}


def test_a_second_round_on_the_same_day_is_refused_naming_the_first(p1: f.People) -> None:
    province = p1["province"]
    first = province.post("/api/v1/rounds", json=BODY)
    assert first.status_code == 201, first.json
    again = province.post("/api/v1/rounds", json=BODY | {"label": "另一个名称"})
    assert again.status_code == 409, again.json
    assert again.json["round_id"] == first.json["id"]
    assert str(first.json["id"]) in again.json["detail"]
    other_day = province.post("/api/v1/rounds", json=BODY | {"opens_on": "2026-12-30"})
    assert other_day.status_code == 201, other_day.json


def test_a_round_opened_by_hand_is_recorded_as_the_schedulers_are(p1: f.People) -> None:
    province = p1["province"]
    opened = province.post("/api/v1/rounds", json=BODY).json
    events = province.get(
        "/api/v1/audit/events", query_string={"kind": "round.opened", "per_page": 50}
    ).json
    items = events["items"] if isinstance(events, dict) else events
    [event] = [e for e in items if e["data"]["round_id"] == opened["id"]]
    assert event["actor"] == province.user_id
    assert set(event["data"]) == {"round_id", "label", "opens_on", "closes_at", "late_s"}
    assert (event["data"]["label"], event["data"]["opens_on"]) == ("2026年第3批", "2026-11-30")


@pytest.mark.postgres
@pytest.mark.usefixtures("requires_postgres")
def test_two_identical_rounds_posted_at_once_open_one(
    ctx: EngineContext, app: Flask, p1: f.People
) -> None:
    headers = {"Authorization": f"Bearer {p1['province'].token}"}
    threads_n = 4
    results = answers_at_once(
        threads_n, lambda _: app.test_client().post("/api/v1/rounds", headers=headers, json=BODY)
    )
    assert Counter(status for status, _ in results) == {201: 1, 409: threads_n - 1}, results
    with ctx.transaction() as session:
        rounds = session.scalar(
            select(func.count()).select_from(Round).where(Round.label == BODY["label"])
        )
        opened = session.scalar(
            select(func.count())
            .select_from(HistoryEvent)
            .where(HistoryEvent.kind == "round.opened")
        )
    assert (rounds, opened) == (1, 1)
