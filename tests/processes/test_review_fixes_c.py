"""A revocation that reaches a 小巨人 tells the enterprise the truth: the province's tiers are
revoked, the 小巨人 is referred to MIIT (第十一条 "由工业和信息化部取消认定") and stays valid
until MIIT decides — after a move out of Jiangxi (P5) and after a 第十二条 incident."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from engine.context import EngineContext
from engine.store import Qualification
from tests import factories as f

REGION = "360100"


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["miit"] = f.user(ctx, client, role="miit", user_id="miit")
    return cast


def holds(ctx: EngineContext, *tiers: str) -> None:
    for tier in tiers:
        f.issue_qualification(
            ctx, uscc_code=f.uscc(REGION, 1), tier=tier, number=f"JX-{tier}", region=REGION
        )


def statuses(ctx: EngineContext) -> dict[str, str]:
    with ctx.reading() as session:
        return {q.tier: q.status for q in session.scalars(select(Qualification))}


def outcome_notice(people: f.People, case_id: str) -> dict[str, Any]:
    items = people["ent"].get("/api/v1/notifications").json["items"]
    found = [n for n in items if n["instance_id"] == case_id and n["kind"] == "outcome"]
    assert len(found) == 1, items
    return found[0]


def outcome(people: f.People, case_id: str) -> str:
    return people["auditor"].get(f"/api/v1/instances/{case_id}").json["outcome"]


def move_out(people: f.People) -> str:
    ent = people["ent"]
    case_id = ent.post("/api/v1/instances", json={"process_key": "major_change"}).json["id"]
    ent.complete(
        "register_change",
        {
            "change_type": "relocation",
            "change_on": "2025-08-25",
            "description": "迁往浙江省",
            "to_region": "outside",
        },
        case_id,
    )
    ent.complete(
        "submit_report", {"statement": "已迁出", "evidence": [ent.upload()["id"]]}, case_id
    )
    return case_id


def incident(people: f.People) -> str:
    province = people["province"]
    case_id = province.post(
        "/api/v1/instances",
        json={"process_key": "article12_incident", "uscc": f.uscc(REGION, 1)},
    ).json["id"]
    province.complete(
        "province_confirm",
        {
            "incident_type": "environmental_accident",
            "occurred_on": "2025-08-20",
            "description": "厂区废水超标排放",
            "evidence": [province.upload()["id"]],
            "decision": "confirm",
        },
        case_id,
    )
    return case_id


MIIT_NOTE = "专精特新“小巨人”企业资格由工业和信息化部认定，是否撤销已报工业和信息化部决定"


def test_moving_out_revokes_the_province_tiers_and_refers_the_little_giant_to_miit(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    holds(ctx, "specialized", "little_giant")
    case_id = move_out(people)
    assert statuses(ctx) == {"specialized": "revoked", "little_giant": "active"}
    assert [t["bpmn_id"] for t in people["miit"].inbox()] == ["miit_revocation_review"]
    notice = outcome_notice(people, case_id)
    assert notice["title"] == "资格已撤销，“小巨人”资格报工业和信息化部决定（第十一条）"
    assert notice["body"].startswith("撤销：专精特新中小企业。" + MIIT_NOTE)
    assert "决定前继续有效" in notice["body"]
    assert "企业迁出江西省" in notice["body"]
    assert outcome(people, case_id) == "revoked"


def test_moving_out_with_only_a_little_giant_is_referred_to_miit_not_revoked(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    holds(ctx, "little_giant")
    case_id = move_out(people)
    assert statuses(ctx) == {"little_giant": "active"}
    notice = outcome_notice(people, case_id)
    assert notice["title"] == "“小巨人”资格撤销已报工业和信息化部决定（第十一条）"
    assert "撤销：" not in notice["body"]
    assert outcome(people, case_id) == "referred_to_miit"
    case = people["auditor"].get(f"/api/v1/instances/{case_id}").json
    assert case["outcome_name"] == "已报工业和信息化部决定"
    people["miit"].complete("miit_revocation_review", {"decision": "revoke", "reason": "已迁出"})
    assert statuses(ctx) == {"little_giant": "revoked"}


def test_an_incident_notice_names_the_tiers_revoked_and_the_little_giant_referred(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    holds(ctx, "innovative", "specialized", "little_giant")
    case_id = incident(people)
    assert statuses(ctx) == {
        "innovative": "revoked",
        "specialized": "revoked",
        "little_giant": "active",
    }
    notice = outcome_notice(people, case_id)
    assert notice["title"] == "资格已撤销，“小巨人”资格报工业和信息化部决定（第十二条）"
    assert notice["body"].startswith("撤销：创新型中小企业、专精特新中小企业。" + MIIT_NOTE)
    assert "撤销全部资格" not in notice["body"]
    assert "2028-09-01 前不得再次申报（第十二条）" in notice["body"]
    assert outcome(people, case_id) == "revoked"


def test_an_incident_against_a_little_giant_alone_is_referred_and_bans(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    holds(ctx, "little_giant")
    case_id = incident(people)
    notice = outcome_notice(people, case_id)
    assert notice["title"] == "“小巨人”资格撤销已报工业和信息化部决定，禁止申请（第十二条）"
    assert outcome(people, case_id) == "referred_to_miit"
    bans = people["province"].get("/api/v1/bans").json["items"]
    assert [b["ends_on"] for b in bans] == ["2028-09-01"]
