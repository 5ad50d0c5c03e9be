"""P6 complaints (第十三条) via the API: real name, the tier's authority, deadlines, outcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import definitions, instances
from engine.context import Actor, EngineContext
from engine.errors import InvalidDefinition
from engine.store import Ban, Complainant, Instance, Qualification
from tests import factories as f

REGION = "360100"
OWNER = Actor(id="owner", role="process_owner")
PERSON = {"name": "张三", "id_number": "36010219800101123X", "contact": "13800000000"}


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["public"] = f.user(ctx, client, role="public", user_id="zhangsan")
    cast["public2"] = f.user(ctx, client, role="public", user_id="lisi")
    cast["city_gz"] = f.user(ctx, client, role="city", user_id="city-gz", region="360700")
    cast["miit"] = f.user(ctx, client, role="miit", user_id="miit")
    return cast


def register(ctx: EngineContext, uscc: str, tier: str) -> str:
    return f.issue_qualification(ctx, uscc_code=uscc, tier=tier, region=REGION).number


def status(ctx: EngineContext, number: str) -> str:
    with ctx.reading() as session:
        return session.scalars(
            select(Qualification.status).where(Qualification.number == number)
        ).one()


def bans(ctx: EngineContext, uscc: str) -> list[tuple[str, str, str]]:
    with ctx.reading() as session:
        rows = session.execute(
            select(Ban.starts_on, Ban.ends_on, Ban.basis).where(Ban.uscc == uscc)
        ).all()
    return [(start.isoformat(), end.isoformat(), basis) for start, end, basis in rows]


def file(public: f.Api, uscc: str, **overrides: Any) -> Any:
    body = {
        "uscc": uscc,
        "subject": "研发投入不实",
        "content": "该企业申报的研发费用与实际不符",
        "evidence": [public.upload(b"%PDF evidence", "proof.pdf")["id"]],
        "complainant": PERSON,
    }
    return public.post("/api/v1/complaints", json=body | overrides)


def answer_and_decide(
    people: f.People, case_id: str, decision: dict[str, Any], authority: str = "city"
) -> None:
    people[authority].complete(
        f"{authority}_accept", {"decision": "accept", "reason": "属于信息真实性问题"}, case_id
    )
    people["ent"].complete(
        "enterprise_answer", {"statement": "我司研发费用真实，附审计报告"}, case_id
    )
    people[authority].complete(f"{authority}_decide", decision, case_id)


def outcome(people: f.People, case_id: str) -> tuple[str, str]:
    case = people["auditor"].get(f"/api/v1/instances/{case_id}").json
    return case["status"], case["outcome"]


def test_anonymous_or_evidence_free_complaints_are_refused_and_nothing_is_stored(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "innovative")
    public = people["public"]
    response = file(public, uscc, complainant={"name": " "}, evidence=[])
    assert response.status_code == 422
    body = response.json
    assert body["type"].endswith("/complaint-refused")
    assert body["title"] == "投诉不予登记"
    assert set(body["errors"]) == {
        "complainant.name",
        "complainant.id_number",
        "complainant.contact",
        "evidence",
    }
    assert "匿名" in body["errors"]["complainant.name"][0]
    not_listed = file(public, f.uscc(REGION, 2))
    assert not_listed.status_code == 422
    assert "uscc" in not_listed.json["errors"]
    with ctx.reading() as session:
        assert session.scalar(select(func.count()).select_from(Complainant)) == 0
        assert (
            session.scalar(
                select(func.count())
                .select_from(Instance)
                .where(Instance.process_key == "complaint")
            )
            == 0
        )


def test_a_refused_complaint_names_every_bad_field_at_once(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    register(ctx, f.uscc(REGION, 1), "innovative")
    public = people["public"]
    not_listed = file(public, f.uscc(REGION, 2), complainant={"name": "张三"}, content=" ")
    assert not_listed.status_code == 422
    assert set(not_listed.json["errors"]) == {
        "uscc",
        "content",
        "complainant.id_number",
        "complainant.contact",
    }
    assert "不在优质中小企业名单中" in not_listed.json["errors"]["uscc"][0]
    malformed = file(public, "91360100ABC", evidence=[])
    assert set(malformed.json["errors"]) == {"uscc", "evidence"}
    assert "校验位" in malformed.json["errors"]["uscc"][0]
    missing_file = file(public, f.uscc(REGION, 2), evidence=["no-such-file"])
    assert set(missing_file.json["errors"]) == {"uscc", "evidence.0"}


def test_dismissed_complaint_hides_the_complainant_from_the_enterprise(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "innovative")
    filed = file(people["public"], uscc)
    assert filed.status_code == 201, filed.json
    case_id = filed.json["id"]
    assert filed.json["authority"] == "city"
    ent = people["ent"]
    assert not [t for t in ent.inbox() if t["instance_id"] == case_id]  # not yet accepted
    answer_and_decide(
        people,
        case_id,
        {"decision": "dismissed", "severity": "minor", "reason": "经核查研发费用属实"},
    )
    assert outcome(people, case_id) == ("completed", "dismissed")

    # identity: the city (handling authority) and the auditor see it; no one else does
    for who in ("city", "auditor"):
        detail = people[who].get(f"/api/v1/complaints/{case_id}").json
        assert detail["complainant"]["name"] == "张三"
    for who in ("province", "ent", "public2", "city_gz"):
        assert people[who].get(f"/api/v1/complaints/{case_id}").status_code == 404
    seen_by_enterprise = str(ent.get(f"/api/v1/instances/{case_id}/history").json)
    assert "张三" not in seen_by_enterprise
    assert PERSON["id_number"] not in seen_by_enterprise
    assert "13800000000" not in seen_by_enterprise

    # the complainant sees only their own complaints, and is told the outcome
    mine = people["public"].get("/api/v1/complaints").json
    assert [(c["id"], c["outcome"], c["outcome_name"]) for c in mine["items"]] == [
        (case_id, "dismissed", "投诉不成立")
    ]
    assert people["public2"].get("/api/v1/complaints").json["items"] == []
    own = people["public"].get(f"/api/v1/complaints/{case_id}")  # status and outcome only
    assert own.status_code == 200
    assert (own.json["outcome"], own.json["complainant"]) == ("dismissed", None)
    assert filed.json["complainant"] is None
    assert people["public"].get(f"/api/v1/instances/{case_id}").status_code == 404
    notes = people["public"].get("/api/v1/notifications").json["items"]
    assert [n["title"] for n in notes] == ["投诉处理结果：投诉不成立"]
    assert people["public2"].get("/api/v1/notifications").json["items"] == []


def test_no_answer_in_time_leads_to_rectification_and_a_missed_rectification_to_revocation(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    number = register(ctx, uscc, "specialized")
    case_id = file(people["public"], uscc).json["id"]
    city, ent = people["city"], people["ent"]
    city.complete("city_accept", {"decision": "accept", "reason": "受理"}, case_id)
    task = ent.task("enterprise_answer", case_id)
    assert task["due_at"] == "2025-09-16T00:00:00+08:00"  # 10 working days
    clock.advance(timedelta(days=12))  # 13 September: three days before the deadline
    instances.fire_due(ctx)
    assert any(n["kind"] == "reminder" for n in ent.get("/api/v1/notifications").json["items"])
    clock.advance(timedelta(days=3))  # 16 September 09:00: the deadline has passed
    instances.fire_due(ctx)
    assert not [t for t in ent.inbox() if t["bpmn_id"] == "enterprise_answer"]
    city.complete(  # 第十三条: no answer in time → rectification (minor); a dismissal is a 422
        "city_decide",
        {
            "decision": "rectification",
            "severity": "minor",
            "rectification_days_decided": 20,
            "reason": "企业未答复",
        },
        case_id,
    )
    rectify = ent.task("rectify", case_id)  # no answer in time, minor → rectification
    assert rectify["due_at"] == "2025-10-07T00:00:00+08:00"
    clock.advance(timedelta(days=21))
    instances.fire_due(ctx)
    city.complete("city_follow_up", {"result": "failed", "findings": "逾期未提交整改报告"}, case_id)
    assert outcome(people, case_id) == ("completed", "revoked")
    assert status(ctx, number) == "revoked"


def test_rectification_checked_by_the_follow_up_closes_the_complaint(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    number = register(ctx, uscc, "innovative")
    case_id = file(people["public"], uscc).json["id"]
    answer_and_decide(
        people,
        case_id,
        {"decision": "rectification", "severity": "minor", "reason": "部分数据口径有误"},
    )
    ent = people["ent"]
    ent.complete(
        "rectify", {"report": "已更正数据", "rectification_evidence": [ent.upload()["id"]]}, case_id
    )
    people["city"].complete("city_follow_up", {"result": "passed", "findings": "整改到位"}, case_id)
    assert outcome(people, case_id) == ("completed", "rectified")
    assert status(ctx, number) == "active"


def test_little_giant_complaint_is_handled_by_the_province_and_confirmed_fraud_revokes(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    numbers = [register(ctx, uscc, tier) for tier in ("specialized", "little_giant")]
    staff_filed = file(people["city"], uscc)  # a city records a complaint received in person
    assert staff_filed.status_code == 201, staff_filed.json
    case_id = staff_filed.json["id"]
    assert staff_filed.json["authority"] == "province"
    assert not [t for t in people["city"].inbox() if t["instance_id"] == case_id]
    answer_and_decide(
        people,
        case_id,
        {
            "decision": "revocation",
            "fraud_confirmed": True,
            "severity": "serious",
            "reason": "查实数据造假",
        },
        authority="province",
    )
    # the 小巨人 is referred to MIIT (it certified it) and stays valid until MIIT decides
    assert outcome(people, case_id) == ("completed", "referred_to_miit")
    # the complaint concerned the 小巨人 qualification (the highest tier held): only it goes,
    # on the decision of MIIT, which certified it
    assert [status(ctx, n) for n in numbers] == ["active", "active"]
    people["miit"].complete("miit_revocation_review", {"decision": "revoke", "reason": "同意撤销"})
    assert [status(ctx, n) for n in numbers] == ["active", "revoked"]
    # fraud confirmed, and MIIT revoked: the lifecycle records the 第十二条 ban (3 years)
    [(starts, ends, basis)] = bans(ctx, uscc)
    assert basis == "第十二条"
    assert int(ends[:4]) - int(starts[:4]) == 3
    assert (
        people["province"].get(f"/api/v1/complaints/{case_id}").json["complainant"]["name"]
        == "张三"
    )
    assert people["city"].get(f"/api/v1/complaints/{case_id}").status_code == 200  # the filer


def test_a_complaint_about_one_tier_revokes_only_that_qualification(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    innovative, specialized = (register(ctx, uscc, t) for t in ("innovative", "specialized"))
    filed = file(people["public"], uscc, tier="innovative")
    assert filed.status_code == 201, filed.json
    case_id = filed.json["id"]
    assert filed.json["authority"] == "city"
    answer_and_decide(
        people,
        case_id,
        {"decision": "revocation", "severity": "serious", "reason": "创新型评价数据不实"},
    )
    assert outcome(people, case_id) == ("completed", "revoked")
    assert [status(ctx, innovative), status(ctx, specialized)] == ["revoked", "active"]
    assert bans(ctx, uscc) == []  # revoked without fraud confirmed: no 第十二条 ban
    notes = people["public"].get("/api/v1/notifications").json["items"]
    assert innovative in notes[0]["body"]


def test_a_complaint_naming_a_tier_the_enterprise_does_not_hold_is_refused(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "innovative")
    response = file(people["public"], uscc, tier="little_giant")
    assert response.status_code == 422
    assert response.json["type"].endswith("/complaint-refused")
    assert "未持有" in response.json["errors"]["tier"][0]
    assert file(people["public"], uscc, tier="gold").json["errors"]["tier"]
    with ctx.reading() as session:
        assert session.scalar(select(func.count()).select_from(Complainant)) == 0


def test_which_authority_handles_a_tier_is_the_diagrams_handled_by(ctx, client) -> None:  # type: ignore[no-untyped-def]
    handled = 'name="handledBy" value="innovative:city,specialized:city,little_giant:province"'
    moved = handled.replace("specialized:city", "specialized:province")
    people = f.p1_cast(ctx, client)  # every process, then a new version of complaint.bpmn
    edited = f.process_files({"complaint.bpmn": (handled, moved)}, bpmn="complaint.bpmn")
    definitions.deploy(ctx, files=edited, actor=OWNER)
    public = f.user(ctx, client, role="public", user_id="zhangsan")
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "specialized")
    filed = file(public, uscc)
    assert filed.status_code == 201, filed.json
    assert filed.json["authority"] == "province"
    assert people["province"].task("province_accept", filed.json["id"])


@pytest.mark.parametrize("value", ["specialized:miit", "innovative-city", "top:city"])
def test_a_handled_by_naming_an_unknown_tier_or_role_is_refused_at_deploy(ctx, value) -> None:  # type: ignore[no-untyped-def]
    handled = 'value="innovative:city,specialized:city,little_giant:province"'
    edit = {"complaint.bpmn": (handled, f'value="{value}"')}
    with pytest.raises(InvalidDefinition) as raised:
        definitions.deploy(ctx, files=f.process_files(edit, bpmn="complaint.bpmn"), actor=OWNER)
    assert [e["element_id"] for e in raised.value.errors] == ["handledBy"]
    assert raised.value.errors[0]["file"] == "complaint.bpmn"
