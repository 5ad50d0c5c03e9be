"""Reminders before deadlines as notifications for their addressee; overdue tasks in the inbox."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine import instances
from tests import factories as f

REGION = "360100"


@pytest.fixture
def people(ctx, client) -> dict[str, f.Api]:  # type: ignore[no-untyped-def]
    f.deploy_processes(ctx)
    return {
        "ent": f.enterprise(ctx, client, 1, region=REGION),
        "other": f.enterprise(ctx, client, 2, region=REGION),
        "city": f.user(ctx, client, role="city", user_id="city-nc", region=REGION),
        "province": f.user(ctx, client, role="province", user_id="prov"),
    }


def _returned_for_correction(ctx, people, days: int = 7) -> str:  # type: ignore[no-untyped-def]
    round_ = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    started = people["ent"].post(
        "/api/v1/instances", json={"process_key": "innovative_evaluation", "round_id": round_["id"]}
    )
    instance_id = started.json["id"]
    evidence = people["ent"].upload()["id"]
    people["ent"].complete("self_evaluation", f.self_evaluation([evidence]), instance_id)
    people["city"].complete(
        "city_review",
        {"decision": "return", "reason": "研发费用佐证不全", "correction_days": days},
        instance_id,
    )
    return instance_id


def _mine(user: f.Api, **params: object) -> list[dict]:  # type: ignore[type-arg]
    response = user.get("/api/v1/notifications", query_string=params)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_enterprise_is_reminded_before_its_correction_deadline(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = _returned_for_correction(ctx, people, days=7)  # due 2025-09-09 00:00 local
    clock.advance(timedelta(days=3))
    instances.fire_due(ctx)
    assert _mine(people["ent"]) == []  # reminder 3 days before the deadline: 6 Sep 00:00
    clock.advance(timedelta(days=2))
    instances.fire_due(ctx)
    [note] = _mine(people["ent"])
    assert (note["kind"], note["title"], note["instance_id"]) == (
        "reminder",
        "补正材料即将逾期",
        instance_id,
    )
    assert note["due_at"] == "2025-09-09T00:00:00+08:00"
    assert "2025-09-08" in note["body"]
    assert note["read_at"] is None
    assert _mine(people["other"]) == []
    assert _mine(people["city"]) == []
    assert people["other"].post(f"/api/v1/notifications/{note['id']}/read").status_code == 404
    read = people["ent"].post(f"/api/v1/notifications/{note['id']}/read")
    assert read.status_code == 200
    assert read.json["read_by"] == "ent-1"
    assert _mine(people["ent"], unread=True) == []
    assert people["ent"].task("correct_application", instance_id)  # the reminder did not interrupt


def test_overdue_tasks_come_first_in_the_inbox_and_are_flagged(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    _returned_for_correction(ctx, people, days=3)
    # a second task of another procedure (one application of a procedure at a time, 第六条)
    f.grant_qualification(ctx, uscc_code=f.uscc(REGION, 1), region=REGION)
    round_ = f.open_round_of(
        people["province"], "specialized_certification", opens_on=date(2025, 8, 31)
    )
    started = people["ent"].post(
        "/api/v1/instances",
        json={"process_key": "specialized_certification", "round_id": round_["id"]},
    )
    assert started.status_code == 201, started.json
    clock.advance(timedelta(days=3, hours=20))  # past the correction deadline, timer not yet fired
    inbox = people["ent"].inbox()
    assert [(t["bpmn_id"], t["overdue"]) for t in inbox] == [
        ("correct_application", True),
        ("self_evaluation", False),
    ]
