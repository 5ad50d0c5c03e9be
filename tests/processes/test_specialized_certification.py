"""P2 专精特新中小企业认定 (第七条) end to end through the API, on the simulated clock."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine import instances
from engine.store import HistoryEvent, Qualification
from tests import factories as f

REGION = "360100"
KEY = "specialized_certification"


@pytest.fixture
def people(ctx, client) -> dict[str, f.Api]:
    f.deploy_processes(ctx)
    cast = {
        "ent": f.enterprise(ctx, client, 1, region=REGION, name="洪城精密机械有限公司"),
        "newcomer": f.enterprise(ctx, client, 2, region=REGION, name="赣江新材料有限公司"),
        "city": f.user(ctx, client, role="city", user_id="city-nc", region=REGION),
        "province": f.user(ctx, client, role="province", user_id="prov"),
    }
    f.grant_qualification(ctx, uscc_code=f.uscc(REGION, 1), tier="innovative", region=REGION)
    return cast


@pytest.fixture
def round_id(people: dict[str, f.Api]) -> int:
    return f.open_round_of(
        people["province"], KEY, opens_on=date(2025, 9, 1), label="2025年度专精特新中小企业认定"
    )["id"]


def apply(people: dict[str, f.Api], round_id: int, user: str = "ent") -> str:
    started = people[user].post(
        "/api/v1/instances", json={"process_key": KEY, "round_id": round_id}
    )
    assert started.status_code == 201, started.json
    instance_id = started.json["id"]
    evidence = people[user].upload()["id"]
    people[user].complete("self_evaluation", f.specialized_self_evaluation([evidence]), instance_id)
    return instance_id


def to_province_notice(people: dict[str, f.Api], instance_id: str) -> None:
    city, province = people["city"], people["province"]
    city.complete("city_review", {"decision": "approve", "flag_for_spot_check": False}, instance_id)
    f.pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
    city.complete("city_report", {"remarks": "同意推荐"}, instance_id)
    province.complete("province_review", {"decision": "approve"}, instance_id)
    f.pass_spot_check_if_drawn(province, "province_spot_check", instance_id)


def case(user: f.Api, instance_id: str) -> dict[str, Any]:
    response = user.get(f"/api/v1/instances/{instance_id}")
    assert response.status_code == 200, response.json
    return response.json


def outcome_notes(user: f.Api, instance_id: str) -> list[dict[str, Any]]:
    """The outcome notifications the user (the enterprise) received for the case."""
    items = user.get("/api/v1/notifications").json["items"]
    return [n for n in items if n["instance_id"] == instance_id and n["kind"] == "outcome"]


def opened(ctx, instance_id: str, bpmn_id: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether the case ever opened a task of that element."""
    with ctx.reading() as session:
        return (
            session.scalars(
                select(HistoryEvent).where(
                    HistoryEvent.stream == f"instance:{instance_id}",
                    HistoryEvent.kind == "task.created",
                    HistoryEvent.bpmn_id == bpmn_id,
                )
            ).first()
            is not None
        )


def test_applying_without_an_innovative_qualification_is_refused_by_name(people, round_id) -> None:
    response = people["newcomer"].post(
        "/api/v1/instances", json={"process_key": KEY, "round_id": round_id}
    )
    assert response.status_code == 409
    assert response.json["missing_qualification"] == "innovative"
    assert "创新型中小企业" in response.json["detail"]
    assert people["newcomer"].get("/api/v1/instances").json["total"] == 0


def test_an_expired_innovative_qualification_does_not_count(ctx, people, round_id) -> None:
    f.grant_qualification(
        ctx,
        uscc_code=f.uscc(REGION, 2),
        tier="innovative",
        region=REGION,
        issued_on=date(2022, 8, 1),
        expires_on=date(2025, 7, 31),
    )
    response = people["newcomer"].post(
        "/api/v1/instances", json={"process_key": KEY, "round_id": round_id}
    )
    assert response.status_code == 409
    assert response.json["missing_qualification"] == "innovative"


@pytest.mark.parametrize(("status", "accepted"), [("renewal_ineligible", True), ("revoked", False)])
def test_an_innovative_qualification_without_renewal_eligibility_still_counts(
    ctx, people, round_id, status, accepted
) -> None:
    # 第十条 takes away the renewal (取消复核资格), not the qualification: until it expires the
    # enterprise is an innovative SME and may apply (第七条); a revoked one may not
    f.grant_qualification(
        ctx, uscc_code=f.uscc(REGION, 2), tier="innovative", region=REGION, status=status
    )
    response = people["newcomer"].post(
        "/api/v1/instances", json={"process_key": KEY, "round_id": round_id}
    )
    assert response.status_code == (201 if accepted else 409), response.json
    if not accepted:
        assert response.json["rule"] == "requires-qualification"


def test_certification_issues_a_specialized_qualification_for_three_years(
    ctx, clock, people, round_id
) -> None:
    instance_id = apply(people, round_id)
    review = people["city"].task("city_review", instance_id)
    detail = people["city"].get(f"/api/v1/tasks/{review['id']}").json
    assert detail["data"]["evaluation"]["tier"] == "specialized"
    assert detail["data"]["evaluation"]["passed"] is True
    assert detail["data"]["prerequisite"]["tier"] == "innovative"
    to_province_notice(people, instance_id)
    assert (
        case(people["province"], instance_id)["open_tasks"] == []
    )  # 公示 running (shared sub-process)
    clock.advance(timedelta(days=10))
    instances.fire_due(ctx)
    people["province"].complete(
        "province_certify", {"announcement_no": "赣工信企业字〔2025〕9号"}, instance_id
    )
    final = case(people["province"], instance_id)
    assert (final["status"], final["outcome"]) == ("completed", "qualified")
    quals = (
        people["ent"]
        .get("/api/v1/qualifications", query_string={"tier": "specialized"})
        .json["items"]
    )
    assert len(quals) == 1
    assert quals[0]["status"] == "active"
    issued = date.fromisoformat(quals[0]["issued_on"])
    assert (
        quals[0]["expires_on"]
        == (issued.replace(year=issued.year + 3) - timedelta(days=1)).isoformat()
    )
    [note] = outcome_notes(people["ent"], instance_id)  # README: outcomes reach the enterprise
    assert note["title"] == "专精特新中小企业认定结果：认定通过"
    assert quals[0]["number"] in note["body"]
    assert "赣工信企业字〔2025〕9号" in note["body"]
    assert f"有效期 {quals[0]['issued_on']} 至 {quals[0]['expires_on']}" in note["body"]


def test_objection_during_province_notice_is_reviewed_by_the_province(
    ctx, clock, people, round_id
) -> None:
    instance_id = apply(people, round_id)
    to_province_notice(people, instance_id)
    clock.advance(timedelta(days=1))
    sent = people["province"].post(
        f"/api/v1/instances/{instance_id}/objections",
        json={"submitted_by": "张三 13800000000", "content": "特色化指标材料不实"},
    )
    assert sent.status_code == 200, sent.json
    review = people["province"].task("province_objection_review", instance_id)
    assert review["role"] == "province"  # lane of the called diagram
    detail = people["province"].get(f"/api/v1/tasks/{review['id']}").json  # its instructions too
    assert detail["instructions"].startswith("省级公示期间收到异议（提出人与内容见上方")
    people["province"].complete(
        "province_objection_review", {"decision": "dismissed", "reason": "经核查属实"}, instance_id
    )
    assert not any(
        t["bpmn_id"] == "province_certify" for t in people["province"].inbox()
    )  # notice continues
    people["province"].post(
        f"/api/v1/instances/{instance_id}/objections",
        json={"submitted_by": "李四", "content": "研发费用造假"},
    )
    people["province"].complete(
        "province_objection_review", {"decision": "upheld", "reason": "查实造假"}, instance_id
    )
    assert case(people["province"], instance_id)["outcome"] == "objection_upheld"


def test_qualification_expiring_between_application_and_decision_stops_certification(
    ctx, clock, people
) -> None:
    f.grant_qualification(
        ctx,
        uscc_code=f.uscc(REGION, 2),
        tier="innovative",
        region=REGION,
        issued_on=date(2022, 9, 8),
        expires_on=date(2025, 9, 7),
    )
    round_id = f.open_round_of(people["province"], KEY, opens_on=date(2025, 9, 1))["id"]
    instance_id = apply(people, round_id, user="newcomer")  # held on 1 Sep, expires 7 Sep
    to_province_notice(people, instance_id)
    clock.advance(timedelta(days=10))
    instances.fire_due(ctx)  # the notice ends: the standing is read before 省级认定 opens
    final = case(people["province"], instance_id)
    assert (final["status"], final["outcome"]) == ("completed", "prerequisite_expired")
    # the province never fills in an announcement for a case that cannot be certified
    assert not opened(ctx, instance_id, "province_certify")
    [note] = outcome_notes(people["newcomer"], instance_id)
    assert note["title"] == "专精特新中小企业认定结果：前置资格已失效，不予认定"
    assert "已不再持有有效的前置资格" in note["body"]
    assert (
        people["newcomer"]
        .get("/api/v1/qualifications", query_string={"tier": "specialized"})
        .json["total"]
        == 0
    )


def set_status(ctx, number: str, status: str) -> None:  # type: ignore[no-untyped-def]
    with ctx.transaction() as session:
        session.scalars(
            select(Qualification).where(Qualification.number == number)
        ).one().status = status


def change_standing(ctx, change: str) -> None:  # type: ignore[no-untyped-def]
    if change == "revoke_prerequisite":
        set_status(ctx, f"TEST-innovative-{f.uscc(REGION, 1)[-6:]}-2024-01-10", "revoked")
    else:
        f.record_ban(ctx, uscc_code=f.uscc(REGION, 1), starts_on=date(2025, 9, 5))


@pytest.mark.parametrize(
    ("change", "outcome"), [("revoke_prerequisite", "prerequisite_expired"), ("ban", "banned")]
)
def test_a_revocation_or_ban_after_the_application_stops_certification(
    ctx, clock, people, round_id, change, outcome
) -> None:
    # 第七条 asks for an innovative SME and 第十二条 bars a banned one at the decision, not only
    # on the day of the application: the standing is read again when the notice ends, before
    # the province is asked for the announcement number
    instance_id = apply(people, round_id)
    to_province_notice(people, instance_id)
    change_standing(ctx, change)
    clock.advance(timedelta(days=10))
    instances.fire_due(ctx)
    final = case(people["province"], instance_id)
    assert (final["status"], final["outcome"]) == ("completed", outcome)
    assert not opened(ctx, instance_id, "province_certify")
    assert (
        people["ent"]
        .get("/api/v1/qualifications", query_string={"tier": "specialized"})
        .json["total"]
        == 0
    )
    found = people["province"].get(f"/api/v1/evaluations/{instance_id}").json["decisions"]
    decision = [d for d in found if d["operator"] == "eligibility.standing"]
    assert decision[0]["inputs"]["facts"]["held_tiers"] == (
        [] if change == "revoke_prerequisite" else ["innovative"]
    )
    if change == "ban":  # ban_until is the first day it may apply again: the day before ends it
        ban_until = decision[0]["outputs"]["ban_until"]
        assert (
            f"处于禁止申报期（{ban_until} 前不得申报，第十二条）" in decision[0]["outputs"]["why"]
        )
    [note] = outcome_notes(people["ent"], instance_id)
    assert decision[0]["outputs"]["why"] in note["body"]


@pytest.mark.parametrize(
    ("change", "outcome"), [("revoke_prerequisite", "prerequisite_expired"), ("ban", "banned")]
)
def test_a_revocation_or_ban_while_the_announcement_is_open_still_stops_the_issue(
    ctx, clock, people, round_id, change, outcome
) -> None:
    # the standing changes after the province was asked for the announcement number: it is
    # read once more right before 颁发, so nothing is issued
    instance_id = apply(people, round_id)
    to_province_notice(people, instance_id)
    clock.advance(timedelta(days=10))
    instances.fire_due(ctx)
    change_standing(ctx, change)
    people["province"].complete(
        "province_certify", {"announcement_no": "赣工信企业字〔2025〕9号"}, instance_id
    )
    final = case(people["province"], instance_id)
    assert (final["status"], final["outcome"]) == ("completed", outcome)
    assert (
        people["ent"]
        .get("/api/v1/qualifications", query_string={"tier": "specialized"})
        .json["total"]
        == 0
    )
    found = people["province"].get(f"/api/v1/evaluations/{instance_id}").json["decisions"]
    reads = [d for d in found if d["operator"] == "eligibility.standing"]
    assert [r["outputs"]["ok"] for r in reads] == [True, False]  # before 认定, before 颁发


def test_return_for_correction_then_rejection_by_the_city(people, round_id) -> None:
    instance_id = apply(people, round_id)
    people["city"].complete(
        "city_review",
        {"decision": "return", "reason": "特色化佐证不全", "correction_days": 7},
        instance_id,
    )
    assert (
        people["ent"]
        .task("correct_application", instance_id)["due_at"]
        .startswith("2025-09-09T00:00:00+08:00")
    )
    evidence = people["ent"].upload(b"green factory certificate", "green.pdf")["id"]
    people["ent"].complete(
        "correct_application", f.specialized_self_evaluation([evidence]), instance_id
    )
    people["city"].complete(
        "city_review", {"decision": "reject", "reason": "不属于本省重点产业"}, instance_id
    )
    assert case(people["city"], instance_id)["outcome"] == "rejected_by_city"
    [note] = outcome_notes(people["ent"], instance_id)
    assert note["title"] == "专精特新中小企业认定结果：市级初审未通过"
    assert note["body"] == "市级初审不予通过。理由：不属于本省重点产业"


def test_flagged_case_failing_the_city_spot_check_ends_there(people, round_id) -> None:
    instance_id = apply(people, round_id)
    people["city"].complete(
        "city_review", {"decision": "approve", "flag_for_spot_check": True}, instance_id
    )
    people["city"].complete(
        "city_spot_check", {"result": "fail", "findings": "生产场地与申报不符"}, instance_id
    )
    assert case(people["city"], instance_id)["outcome"] == "spot_check_failed"
    [note] = outcome_notes(people["ent"], instance_id)
    assert note["title"] == "专精特新中小企业认定结果：实地抽查不合格"
    assert note["body"] == "市级实地抽查不合格：生产场地与申报不符"


def test_a_correction_not_made_in_time_ends_the_case_and_tells_the_enterprise(
    ctx, clock, people, round_id
) -> None:
    instance_id = apply(people, round_id)
    people["city"].complete(
        "city_review",
        {"decision": "return", "reason": "特色化佐证不全", "correction_days": 7},
        instance_id,
    )
    task = people["ent"].task("correct_application", instance_id)
    instructions = people["ent"].get(f"/api/v1/tasks/{task['id']}").json["instructions"]
    assert "（reason）" not in instructions  # the label, not the field id
    assert "根据退回理由修改申请表" in instructions
    clock.advance(timedelta(days=8))  # due 2025-09-08 24:00
    instances.fire_due(ctx)
    assert case(people["city"], instance_id)["outcome"] == "lapsed"
    [note] = outcome_notes(people["ent"], instance_id)
    assert note["title"] == "专精特新中小企业认定结果：逾期终止"
    assert "补正期限（2025-09-08 24:00）" in note["body"]
    assert "特色化佐证不全" in note["body"]


@pytest.mark.parametrize(
    ("how", "outcome", "title"),
    [
        ("ineligible", "ineligible", "不符合申报条件或认定标准"),
        ("province", "rejected_by_province", "省级审核未通过"),
        ("objection", "objection_upheld", "公示异议成立"),
    ],
)
def test_every_other_outcome_reaches_the_enterprise(
    ctx, clock, people, round_id, how, outcome, title
) -> None:
    started = people["ent"].post(
        "/api/v1/instances", json={"process_key": KEY, "round_id": round_id}
    )
    instance_id = started.json["id"]
    evidence = [people["ent"].upload()["id"]]
    if how == "ineligible":  # on the abnormal list: 第四条
        form = f.specialized_self_evaluation(evidence, on_abnormal_list=True)
        people["ent"].complete("self_evaluation", form, instance_id)
    else:
        people["ent"].complete(
            "self_evaluation", f.specialized_self_evaluation(evidence), instance_id
        )
        if how == "province":
            city = people["city"]
            city.complete("city_review", {"decision": "approve"}, instance_id)
            f.pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
            city.complete("city_report", {"remarks": "同意推荐"}, instance_id)
            people["province"].complete(
                "province_review", {"decision": "reject", "reason": "研发投入不足"}, instance_id
            )
        else:
            to_province_notice(people, instance_id)
            people["province"].post(
                f"/api/v1/instances/{instance_id}/objections",
                json={"submitted_by": "李四", "content": "研发费用造假"},
            )
            people["province"].complete(
                "province_objection_review",
                {"decision": "upheld", "reason": "查实造假"},
                instance_id,
            )
    assert case(people["province"], instance_id)["outcome"] == outcome
    [note] = outcome_notes(people["ent"], instance_id)
    assert note["title"] == f"专精特新中小企业认定结果：{title}"
    assert {"ineligible": "经营异常名录", "province": "研发投入不足", "objection": "查实造假"}[
        how
    ] in note["body"]


@pytest.mark.parametrize("field", ["jx_operations", "jx_product"])
def test_none_with_other_options_is_refused_on_completion_as_in_the_preview(
    people, round_id, field
) -> None:
    # the Jiangxi 特色化 annex: "不属于" is exclusive; with it the other options would still score
    ent = people["ent"]
    started = ent.post("/api/v1/instances", json={"process_key": KEY, "round_id": round_id})
    assert started.status_code == 201, started.json
    other = {"jx_operations": "listed", "jx_product": "special_process"}[field]
    data = f.specialized_self_evaluation([ent.upload()["id"]], **{field: ["none", other]})
    preview = ent.post("/api/v1/evaluations/preview", json={"data": data, "tier": "specialized"})
    refused = ent.complete("self_evaluation", data, started.json["id"], status=422)
    exclusive = {field: ["“不属于”不能与其他选项同时选择"]}
    assert refused["errors"] == preview.json["errors"] == exclusive
    assert refused["detail"] == preview.json["detail"] == "1 个字段未通过校验"
    assert [t["bpmn_id"] for t in case(ent, started.json["id"])["open_tasks"]] == [
        "self_evaluation"
    ]
    ent.complete("self_evaluation", data | {field: ["none"]}, started.json["id"])
