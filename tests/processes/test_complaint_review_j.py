"""P6 complaints after review: a 小巨人 goes to MIIT, deadlines, no dismissal without an answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import instances
from tests import factories as f
from tests.processes.test_complaint import (
    REGION,
    bans,
    file,
    outcome,
    register,
    status,
)


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["public"] = f.user(ctx, client, role="public", user_id="zhangsan")
    cast["miit"] = f.user(ctx, client, role="miit", user_id="miit")
    return cast


def little_giant_case(ctx, people) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "specialized")
    number = register(ctx, uscc, "little_giant")
    filed = file(people["public"], uscc, tier="little_giant")
    assert filed.status_code == 201, filed.json
    case_id = filed.json["id"]
    people["province"].complete(
        "province_accept", {"decision": "accept", "reason": "受理"}, case_id
    )
    people["ent"].complete("enterprise_answer", {"statement": "数据真实"}, case_id)
    people["province"].complete(
        "province_decide",
        {
            "decision": "revocation",
            "fraud_confirmed": True,
            "severity": "serious",
            "reason": "属实",
        },
        case_id,
    )
    return uscc, number, case_id


def test_a_little_giant_revocation_is_referred_to_miit_without_a_ban(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc, number, case_id = little_giant_case(ctx, people)
    assert outcome(people, case_id) == ("completed", "referred_to_miit")
    assert status(ctx, number) == "active"  # valid until MIIT decides
    assert bans(ctx, uscc) == []  # the case records no ban for a referred 小巨人
    for who in ("public", "ent"):
        note = people[who].get("/api/v1/notifications").json["items"][0]
        assert "已报工业和信息化部决定" in note["title"]
        assert "决定前继续有效" in note["body"]
        assert "已撤销资格" not in note["title"] + note["body"]
        assert "工业和信息化部决定撤销的，同时记录禁止申报期" in note["body"]
    review = people["miit"].task("miit_revocation_review")
    people["miit"].complete(
        "miit_revocation_review", {"decision": "keep", "reason": "证据不足"}, review["instance_id"]
    )
    assert status(ctx, number) == "active"
    assert bans(ctx, uscc) == []


def test_the_revocation_request_names_its_source_case_and_evidence(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    _, _, case_id = little_giant_case(ctx, people)
    review = people["miit"].task("miit_revocation_review")
    data = people["miit"].get(f"/api/v1/tasks/{review['id']}").json["data"]["revocation"]
    case = people["auditor"].get(f"/api/v1/instances/{case_id}").json
    assert data["source_case"] == case_id
    assert data["source_kind"] == "complaint"
    assert data["decided_on"] == clock.now().date().isoformat()
    assert isinstance(data["source_evidence"], list)
    assert data["source_evidence"]
    assert case["id"] == case_id


def test_a_specialized_revocation_for_fraud_still_bans(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    number = register(ctx, uscc, "specialized")
    case_id = file(people["public"], uscc).json["id"]
    people["city"].complete("city_accept", {"decision": "accept", "reason": "受理"}, case_id)
    people["ent"].complete("enterprise_answer", {"statement": "数据真实"}, case_id)
    people["city"].complete(
        "city_decide",
        {
            "decision": "revocation",
            "fraud_confirmed": True,
            "severity": "serious",
            "reason": "属实",
        },
        case_id,
    )
    assert outcome(people, case_id) == ("completed", "revoked")
    assert status(ctx, number) == "revoked"
    assert len(bans(ctx, uscc)) == 1


def test_the_authorities_steps_have_deadlines(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "innovative")
    case_id = file(people["public"], uscc).json["id"]
    city = people["city"]
    accept = city.task("city_accept", case_id)
    assert accept["due_at"]  # accept_days working days
    clock.advance(timedelta(days=30))
    instances.fire_due(ctx)
    assert city.task("city_accept", case_id)["overdue"] is True  # shown overdue, not decided
    city.complete("city_accept", {"decision": "accept", "reason": "受理"}, case_id)
    people["ent"].complete("enterprise_answer", {"statement": "数据真实"}, case_id)
    assert city.task("city_decide", case_id)["due_at"]


def test_no_dismissal_when_the_enterprise_did_not_answer(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "innovative")
    case_id = file(people["public"], uscc).json["id"]
    city = people["city"]
    city.complete("city_accept", {"decision": "accept", "reason": "受理"}, case_id)
    clock.advance(timedelta(days=20))
    instances.fire_due(ctx)
    refused = city.complete(
        "city_decide",
        {"decision": "dismissed", "severity": "minor", "reason": "基本属实"},
        case_id,
        status=422,
    )
    assert "不能作出投诉不成立的决定" in refused["errors"]["decision"][0]
    assert "企业未在期限内答复" in refused["errors"]["decision"][0]
    mismatched = city.complete(
        "city_decide",
        {"decision": "revocation", "severity": "minor", "reason": "x"},
        case_id,
        status=422,
    )
    assert "限期整改" in mismatched["errors"]["decision"][0]
    city.complete(
        "city_decide",
        {"decision": "rectification", "severity": "minor", "reason": "补报真实研发人员名单"},
        case_id,
    )
    notes = people["ent"].get("/api/v1/notifications").json["items"]
    told = next(n for n in notes if "整改" in n["title"])
    assert "企业未在期限内答复" in told["body"]
    assert "补报真实研发人员名单" in told["body"]
    assert people["ent"].task("rectify", case_id)


def test_an_answered_complaint_may_still_be_dismissed(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "innovative")
    case_id = file(people["public"], uscc).json["id"]
    people["city"].complete("city_accept", {"decision": "accept", "reason": "受理"}, case_id)
    people["ent"].complete("enterprise_answer", {"statement": "数据真实"}, case_id)
    people["city"].complete(
        "city_decide", {"decision": "dismissed", "severity": "minor", "reason": "属实"}, case_id
    )
    assert outcome(people, case_id) == ("completed", "dismissed")


def test_article12_confirmation_has_a_deadline_and_the_payload_names_the_case(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "specialized")
    number = register(ctx, uscc, "little_giant")
    prov = people["province"]
    started = prov.post(
        "/api/v1/instances", json={"process_key": "article12_incident", "uscc": uscc}
    )
    assert started.status_code == 201, started.json
    case_id = started.json["id"]
    task = prov.task("province_confirm", case_id)
    assert task["due_at"]
    evidence = prov.upload(b"%PDF x", "a.pdf")["id"]
    prov.complete(
        "province_confirm",
        {
            "incident_type": "data_fraud",
            "occurred_on": "2025-08-01",
            "description": "数据造假",
            "evidence": [evidence],
            "decision": "confirm",
        },
        case_id,
    )
    review = people["miit"].task("miit_revocation_review")
    data = people["miit"].get(f"/api/v1/tasks/{review['id']}").json["data"]["revocation"]
    assert data["source_case"] == case_id
    assert data["source_kind"] == "article12_incident"
    assert data["source_evidence"] == [evidence]
    assert len(data["decided_on"]) == 10
    assert status(ctx, number) == "active"
