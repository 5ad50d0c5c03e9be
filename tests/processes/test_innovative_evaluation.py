"""P1 (第六条) end to end through the task API, on the simulated clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from engine import instances, registry
from tests import factories as f

REGION = "360100"


@pytest.fixture
def people(ctx, client) -> dict[str, f.Api]:  # type: ignore[no-untyped-def]
    f.deploy_processes(ctx)
    return {
        "ent": f.enterprise(ctx, client, 1, region=REGION, name="洪城精密机械有限公司"),
        "city": f.user(ctx, client, role="city", user_id="city-nc", region=REGION),
        "province": f.user(ctx, client, role="province", user_id="prov"),
    }


def apply(ctx, people: dict[str, f.Api], **overrides: Any) -> str:  # type: ignore[no-untyped-def]
    round_ = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    started = people["ent"].post(
        "/api/v1/instances", json={"process_key": "innovative_evaluation", "round_id": round_["id"]}
    )
    assert started.status_code == 201, started.json
    instance_id = started.json["id"]
    evidence = people["ent"].upload()["id"]
    people["ent"].complete(
        "self_evaluation", f.self_evaluation([evidence], **overrides), instance_id
    )
    return instance_id


def pass_spot_check_if_drawn(user: f.Api, bpmn_id: str, instance_id: str) -> None:
    if any(t["bpmn_id"] == bpmn_id for t in user.inbox()):
        user.complete(bpmn_id, {"result": "pass", "findings": "现场核查属实"}, instance_id)


def wait_notice(ctx, clock, days: int = 10) -> None:  # type: ignore[no-untyped-def]
    clock.advance(timedelta(days=days))
    instances.fire_due(ctx)


def to_announcement(ctx, clock, people: dict[str, f.Api], instance_id: str) -> None:  # type: ignore[no-untyped-def]
    """From 市级初审 to 省级公告: approvals, spot checks if drawn, both 公示 periods."""
    city, province = people["city"], people["province"]
    city.complete("city_review", {"decision": "approve"}, instance_id)
    pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
    wait_notice(ctx, clock)
    city.complete("city_report", {"remarks": "同意推荐"}, instance_id)
    province.complete("province_review", {"decision": "approve"}, instance_id)
    pass_spot_check_if_drawn(province, "province_spot_check", instance_id)
    wait_notice(ctx, clock)


def instance(user: f.Api, instance_id: str) -> dict[str, Any]:
    response = user.get(f"/api/v1/instances/{instance_id}")
    assert response.status_code == 200, response.json
    return response.json


def outcome_notes(user: f.Api, instance_id: str) -> list[dict[str, Any]]:
    """The outcome notifications the user (the enterprise) received for the case."""
    items = user.get("/api/v1/notifications").json["items"]
    return [n for n in items if n["instance_id"] == instance_id and n["kind"] == "outcome"]


def test_happy_path_from_round_start_to_qualification(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people)
    city, province = people["city"], people["province"]
    review = city.task("city_review", instance_id)
    detail = city.get(f"/api/v1/tasks/{review['id']}").json
    assert detail["data"]["evaluation"]["passed"] is True
    assert detail["data"]["size"]["size_class"] == "small"  # 120 staff < 300
    assert detail["form"]["properties"]["decision"]
    city.complete("city_review", {"decision": "approve"}, instance_id)
    pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
    assert instance(city, instance_id)["open_tasks"] == []  # 公示 running
    wait_notice(ctx, clock)
    city.complete("city_report", {"remarks": "同意推荐"}, instance_id)
    province.complete("province_review", {"decision": "approve"}, instance_id)
    pass_spot_check_if_drawn(province, "province_spot_check", instance_id)
    wait_notice(ctx, clock)
    province.complete(
        "province_announce", {"announcement_no": "赣工信企业字〔2025〕1号"}, instance_id
    )

    final = instance(province, instance_id)
    assert (final["status"], final["outcome"]) == ("completed", "qualified")
    quals = people["ent"].get("/api/v1/qualifications").json["items"]
    assert [(q["tier"], q["status"]) for q in quals] == [("innovative", "active")]
    issued = date.fromisoformat(quals[0]["issued_on"])
    assert date.fromisoformat(quals[0]["expires_on"]) > issued.replace(year=issued.year + 2)
    [note] = outcome_notes(people["ent"], instance_id)
    assert note["title"] == "创新型中小企业评价结果：评价通过"
    assert "赣工信企业字〔2025〕1号" in note["body"]
    assert quals[0]["number"] in note["body"]
    assert f"有效期 {quals[0]['issued_on']} 至 {quals[0]['expires_on']}" in note["body"]


def test_a_ban_recorded_during_the_evaluation_stops_the_announcement(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    # 第十二条: an enterprise banned since it applied (e.g. a 第十二条 incident during 公示) is not
    # announced; the standing is read again right before the qualification is issued
    instance_id = apply(ctx, people)
    to_announcement(ctx, clock, people, instance_id)
    province = people["province"]
    f.record_ban(ctx, uscc_code=f.uscc(REGION, 1), starts_on=date(2025, 9, 20))
    province.complete(
        "province_announce", {"announcement_no": "赣工信企业字〔2025〕1号"}, instance_id
    )
    final = instance(province, instance_id)
    assert (final["status"], final["outcome"], final["outcome_name"]) == (
        "completed",
        "banned",
        "处于禁止申报期（第十二条）",
    )
    assert people["ent"].get("/api/v1/qualifications").json["total"] == 0
    found = province.get(f"/api/v1/evaluations/{instance_id}").json["decisions"]
    reads = [d for d in found if d["operator"] == "eligibility.standing"]
    assert [r["outputs"]["ok"] for r in reads] == [True, False]  # before 公告, before 颁发
    [note] = outcome_notes(people["ent"], instance_id)
    assert note["title"] == "创新型中小企业评价结果：处于禁止申报期，不予评价通过"
    assert reads[1]["outputs"]["why"] in note["body"]


def test_a_ban_before_the_notice_ends_is_refused_before_the_announcement(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    # 第十二条: the standing is read when the province's 公示 ends, before the province is asked
    # for the announcement number: a banned enterprise is never put on the announcement
    instance_id = apply(ctx, people)
    city, province = people["city"], people["province"]
    city.complete("city_review", {"decision": "approve"}, instance_id)
    pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
    wait_notice(ctx, clock)
    city.complete("city_report", {"remarks": "同意推荐"}, instance_id)
    province.complete("province_review", {"decision": "approve"}, instance_id)
    pass_spot_check_if_drawn(province, "province_spot_check", instance_id)
    f.record_ban(ctx, uscc_code=f.uscc(REGION, 1), starts_on=date(2025, 9, 20))
    wait_notice(ctx, clock)
    final = instance(province, instance_id)
    assert (final["status"], final["outcome"]) == ("completed", "banned")
    assert not any(t["bpmn_id"] == "province_announce" for t in province.inbox())
    history = province.get(f"/api/v1/instances/{instance_id}/history").json
    assert not any(
        e["kind"] == "task.created" and e["bpmn_id"] == "province_announce" for e in history
    )
    [note] = outcome_notes(people["ent"], instance_id)
    assert "不予评价通过" in note["title"]
    assert "禁止申报期" in note["body"]


@pytest.mark.parametrize(
    ("how", "outcome", "title", "said"),
    [
        ("ineligible", "ineligible", "不符合申报条件或评价标准", "经营异常名录"),
        ("city", "rejected_by_city", "市级初审未通过", "不属于创新型"),
        ("lapsed", "lapsed", "逾期终止", "材料不全"),
        ("spot_check", "spot_check_failed", "实地抽查不合格", "生产场地与申报不符"),
        ("objection", "objection_upheld", "公示异议成立", "查实造假"),
        ("province", "rejected_by_province", "省级审核未通过", "研发投入不足"),
    ],
)
def test_every_outcome_is_told_to_the_enterprise(
    ctx, clock, people, how, outcome, title, said
) -> None:  # type: ignore[no-untyped-def]
    city, province = people["city"], people["province"]
    instance_id = apply(ctx, people, on_abnormal_list=(how == "ineligible"))
    if how == "city":
        city.complete("city_review", {"decision": "reject", "reason": "不属于创新型"}, instance_id)
    elif how == "lapsed":
        city.complete(
            "city_review",
            {"decision": "return", "reason": "材料不全", "correction_days": 3},
            instance_id,
        )
        wait_notice(ctx, clock, days=4)
    elif how == "spot_check":
        city.complete(
            "city_review", {"decision": "approve", "flag_for_spot_check": True}, instance_id
        )
        city.complete(
            "city_spot_check", {"result": "fail", "findings": "生产场地与申报不符"}, instance_id
        )
    elif how == "objection":
        city.complete("city_review", {"decision": "approve"}, instance_id)
        pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
        city.post(
            f"/api/v1/instances/{instance_id}/objections",
            json={"submitted_by": "李四", "content": "数据造假"},
        )
        city.complete(
            "city_objection_review", {"decision": "upheld", "reason": "查实造假"}, instance_id
        )
    elif how == "province":
        city.complete("city_review", {"decision": "approve"}, instance_id)
        pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
        wait_notice(ctx, clock)
        city.complete("city_report", {"remarks": "同意推荐"}, instance_id)
        province.complete(
            "province_review", {"decision": "reject", "reason": "研发投入不足"}, instance_id
        )
    assert instance(province, instance_id)["outcome"] == outcome
    [note] = outcome_notes(people["ent"], instance_id)
    assert note["title"] == f"创新型中小企业评价结果：{title}"
    assert said in note["body"]
    assert "李四" not in note["body"]  # the objector stays unnamed


def test_return_for_correction_loops_back_to_evaluation(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people)
    people["city"].complete(
        "city_review",
        {"decision": "return", "reason": "研发费用佐证不全", "correction_days": 7},
        instance_id,
    )
    task = people["ent"].task("correct_application", instance_id)
    assert task["due_at"].startswith("2025-09-09T00:00:00+08:00")
    evidence = people["ent"].upload(b"new audit report", "audit.pdf")["id"]
    people["ent"].complete("correct_application", f.self_evaluation([evidence]), instance_id)
    assert people["city"].task("city_review", instance_id)


def test_correction_lapses_when_its_deadline_passes(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people)
    people["city"].complete(
        "city_review",
        {"decision": "return", "reason": "材料不全", "correction_days": 3},
        instance_id,
    )
    clock.advance(timedelta(days=4))
    instances.fire_due(ctx)
    final = instance(people["city"], instance_id)
    assert (final["status"], final["outcome"]) == ("completed", "lapsed")


def test_ineligible_enterprise_is_rejected_naming_failed_conditions(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people, on_abnormal_list=True, employees=1500, revenue_y1=50000)
    final = instance(people["ent"], instance_id)
    assert (final["status"], final["outcome"]) == ("completed", "ineligible")
    events = people["province"].get(f"/api/v1/instances/{instance_id}/history").json
    decision = next(
        e for e in events if e["kind"] == "handler.decision" and e["bpmn_id"] == "check_eligibility"
    )
    codes = {c["code"] for c in decision["data"]["outputs"]["failed"]}
    assert codes == {"elig_abnormal_list", "elig_sme"}
    assert all(c["name"] for c in decision["data"]["outputs"]["failed"])
    assert decision["data"]["rule_version"]


def test_objection_during_notice_goes_to_review_and_dismissal_resumes(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people)
    city = people["city"]
    city.complete("city_review", {"decision": "approve"}, instance_id)
    pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
    clock.advance(timedelta(days=2))
    response = city.post(
        f"/api/v1/instances/{instance_id}/objections",
        json={"submitted_by": "张三 13800000000", "content": "研发人员数量不实"},
    )
    assert response.status_code == 200, response.json
    city.complete(
        "city_objection_review", {"decision": "dismissed", "reason": "经核查属实"}, instance_id
    )
    assert not any(t["bpmn_id"] == "city_report" for t in city.inbox())  # notice still running
    wait_notice(ctx, clock)
    assert city.task("city_report", instance_id)


def test_upheld_objection_rejects_the_application(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people)
    city = people["city"]
    city.complete("city_review", {"decision": "approve"}, instance_id)
    pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
    city.post(
        f"/api/v1/instances/{instance_id}/objections",
        json={"submitted_by": "李四", "content": "数据造假"},
    )
    city.complete(
        "city_objection_review", {"decision": "upheld", "reason": "查实造假"}, instance_id
    )
    assert instance(city, instance_id)["outcome"] == "objection_upheld"


def test_objection_outside_notice_is_a_conflict(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people)
    response = people["city"].post(
        f"/api/v1/instances/{instance_id}/objections",
        json={"submitted_by": "王五", "content": "异议"},
    )
    assert response.status_code == 409
    assert response.json["type"].endswith("/message-not-expected")
    assert response.json["detail"].startswith("案件当前不接收异议：不在公示期内，或正在审查")


def test_spot_check_draw_is_reproducible_from_its_recorded_seed(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people)
    people["city"].complete(
        "city_review", {"decision": "approve", "flag_for_spot_check": False}, instance_id
    )
    events = people["province"].get(f"/api/v1/instances/{instance_id}/history").json
    draw = next(
        e for e in events if e["kind"] == "handler.decision" and e["bpmn_id"] == "city_draw"
    )["data"]
    assert draw["outputs"]["seed"] == draw["inputs"]["seed"]
    again = registry.get("sampling.draw").fn(**draw["inputs"])
    assert again == draw["outputs"]
    drawn = any(t["bpmn_id"] == "city_spot_check" for t in people["city"].inbox())
    assert drawn == draw["outputs"]["selected"]


def test_flagged_application_is_always_spot_checked(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people)
    people["city"].complete(
        "city_review", {"decision": "approve", "flag_for_spot_check": True}, instance_id
    )
    people["city"].complete(
        "city_spot_check", {"result": "fail", "findings": "研发场地不存在"}, instance_id
    )
    assert instance(people["city"], instance_id)["outcome"] == "spot_check_failed"


def test_notice_spanning_national_day_ends_on_the_right_working_day(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(ctx, people)
    clock.set(datetime(2025, 9, 29, 2, 0, tzinfo=UTC))  # Monday 29 Sep 2025, 10:00 local
    people["city"].complete(
        "city_review", {"decision": "approve", "flag_for_spot_check": False}, instance_id
    )
    pass_spot_check_if_drawn(people["city"], "city_spot_check", instance_id)
    events = people["province"].get(f"/api/v1/instances/{instance_id}/history").json
    notice = next(e for e in events if e["bpmn_id"] == "city_notice_period")["data"]["outputs"]
    # Working days after 29 Sep: 30 Sep, (1-8 Oct off), 9, 10, Sat 11 (make-up), 13 Oct.
    assert notice["ends_on"] == "2025-10-13"
    clock.set(datetime(2025, 10, 13, 15, 0, tzinfo=UTC))  # 23:00 local on the last day
    instances.fire_due(ctx)
    assert not any(t["bpmn_id"] == "city_report" for t in people["city"].inbox())
    clock.set(datetime(2025, 10, 13, 16, 0, 1, tzinfo=UTC))  # just after 24:00 local
    instances.fire_due(ctx)
    assert people["city"].task("city_report", instance_id)


def test_a_certificate_number_another_case_holds_is_an_incident_not_a_lost_qualification(
    ctx, clock, people, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from engine.store import Qualification
    from handlers import qualification

    instance_id = apply(ctx, people)
    to_announcement(ctx, clock, people, instance_id)
    province = people["province"]
    assert len(qualification.number("innovative", "x", "2025-09-30", instance_id)) == 23
    taken = "JX-CX-2025-0123456789AB"
    monkeypatch.setattr(qualification, "number", lambda *_: taken)
    with ctx.transaction() as session:  # another enterprise's certificate has that number
        session.add(
            Qualification(
                number=taken,
                tier="innovative",
                uscc=f.uscc(REGION, 9),
                enterprise_name="另一家企业",
                region=REGION,
                issued_on=date(2025, 9, 30),
                expires_on=date(2028, 9, 29),
                status="active",
                instance_id="another-case",
                created_at=ctx.now(),
            )
        )
    task = province.task("province_announce", instance_id)
    failed = province.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"data": {"announcement_no": "赣工信企业字〔2025〕1号"}},
    )
    assert failed.status_code == 500, failed.json
    incident = province.get("/api/v1/incidents").json[0]
    assert "证书编号 JX-CX-2025-0123456789AB 已属于案件 another-case" in incident["message"]
    assert province.task("province_announce", instance_id)["id"] == task["id"]  # still open
    with ctx.transaction() as session:  # the clash is resolved: the other row is renumbered
        session.get(Qualification, session.query(Qualification.id).scalar()).number = "OLD-1"
    retried = province.post(f"/api/v1/incidents/{incident['id']}/retry")
    assert retried.status_code == 200, retried.json
    assert instance(province, instance_id)["outcome"] == "qualified"
    mine = people["ent"].get("/api/v1/qualifications").json["items"]
    assert [q["number"] for q in mine] == [taken]
