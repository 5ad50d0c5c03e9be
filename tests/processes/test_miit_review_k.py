"""MIIT review fixes (k): MIIT's decision on a 小巨人 revocation is told to the enterprise, its
city and the province (第十一、十二、十三条); a 小巨人 renewal opens without an outcome and the
enterprise is told who reviews it (第九条)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from engine import definitions, instances
from engine.context import Actor, EngineContext
from tests import factories as f

REGION = "360100"
USCC = f.uscc(REGION, 1)


@pytest.fixture
def people(ctx: EngineContext, client: Any) -> dict[str, f.Api]:
    definitions.deploy(
        ctx,
        files=f.process_files(bpmn="qualification_lifecycle.bpmn"),
        actor=Actor(id="owner", role="process_owner"),
    )
    return {
        "ent": f.enterprise(ctx, client, 1, region=REGION, name="洪城精密机械有限公司"),
        "city": f.user(ctx, client, role="city", user_id="city-nc", region=REGION),
        "province": f.user(ctx, client, role="province", user_id="prov"),
        "miit": f.user(ctx, client, role="miit", user_id="miit"),
    }


def notes(api: f.Api) -> list[tuple[str, str]]:
    return [(n["title"], n["body"]) for n in api.get("/api/v1/notifications").json["items"]]


def ask_miit(people: dict[str, f.Api], ctx: EngineContext, payload: dict[str, Any]) -> str:
    f.issue_qualification(ctx, uscc_code=USCC, tier="little_giant", number="XJR-1")
    body = {
        "name": "revoke_qualification",
        "correlation": {"business_key": "XJR-1"},
        "payload": {"reason": "投诉查实：研发投入数据造假", "basis": "第十三条", **payload},
    }
    response = people["province"].post("/api/v1/messages", json=body)
    assert response.status_code in (200, 201, 202), response.json
    [task] = people["miit"].inbox()
    assert task["bpmn_id"] == "miit_revocation_review"
    return task["instance_id"]


@pytest.mark.parametrize(
    ("decision", "title", "status"),
    [
        ("revoke", "工业和信息化部决定撤销“小巨人”资格", "revoked"),
        ("keep", "工业和信息化部决定保留“小巨人”资格", "active"),
    ],
)
def test_miits_decision_is_told_to_the_enterprise_city_and_province(
    people: dict[str, f.Api], ctx: EngineContext, decision: str, title: str, status: str
) -> None:
    case = ask_miit(people, ctx, {"source_case": "c-123", "source_kind": "complaint"})
    people["miit"].complete(
        "miit_revocation_review", {"decision": decision, "reason": "经核实情况属实"}, case
    )
    for who in ("ent", "city", "province"):
        [(_, body)] = [n for n in notes(people[who]) if n[0] == title]
        assert "XJR-1" in body
        assert "经核实情况属实" in body  # MIIT's reason
        assert "研发投入数据造假" in body  # the request decided
        assert "投诉案件 c-123" in body  # where the request came from
    [row] = people["province"].get("/api/v1/qualifications").json["items"]
    assert row["status"] == status


def test_a_little_giant_renewal_opens_pending_and_the_enterprise_is_told_miit_reviews(
    people: dict[str, f.Api], ctx: EngineContext, clock: Any
) -> None:
    f.issue_qualification(
        ctx, uscc_code=USCC, tier="little_giant", number="XJR-9", issued_on=date(2023, 3, 1)
    )
    clock.advance(timedelta(days=91))
    instances.fire_due(ctx)
    [task] = people["miit"].inbox()
    assert task["bpmn_id"] == "miit_renewal_review"
    data = people["miit"].get(f"/api/v1/tasks/{task['id']}").json["data"]
    assert data.get("renewal_result") != "rejected"
    [(_, body)] = [n for n in notes(people["ent"]) if n[0] == "资格复核已开启"]
    assert "XJR-9" in body
    assert "工业和信息化部组织复核" in body
    people["miit"].complete(
        "miit_renewal_review", {"decision": "reject", "reason": "主导产品市场占有率下降"}, None
    )
    assert any(t == "资格复核未通过" for t, _ in notes(people["ent"]))
