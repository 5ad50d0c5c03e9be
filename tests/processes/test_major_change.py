"""P5 major-change reports (第十一条) through the API, on the simulated clock."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import enterprises, instances
from engine.context import EngineContext
from engine.store import Enterprise, HistoryEvent, HumanTask, Instance, Qualification
from tests import factories as f

REGION = "360100"
GANZHOU = "360700"


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["miit"] = f.user(ctx, client, role="miit", user_id="miit")
    cast["city_gz"] = f.user(ctx, client, role="city", user_id="city-gz", region=GANZHOU)
    return cast


def register(
    ctx: EngineContext, tier: str, serial: int = 1, issued_on: date = date(2025, 6, 1)
) -> str:
    return f.issue_qualification(
        ctx, uscc_code=f.uscc(REGION, serial), tier=tier, region=REGION, issued_on=issued_on
    ).number


def qualification(ctx: EngineContext, number: str) -> Qualification:
    with ctx.reading() as session:
        return session.scalars(select(Qualification).where(Qualification.number == number)).one()


NEW_NAMES = {"rename": "洪城精工有限公司", "merger": "洪城精工集团有限公司"}  # 更名、合并 name one


def report(ent: f.Api, change_type: str, change_on: str = "2025-08-15", **extra: Any) -> str:
    started = ent.post("/api/v1/instances", json={"process_key": "major_change"})
    assert started.status_code == 201, started.json
    case_id = started.json["id"]
    named = {"new_name": NEW_NAMES[change_type]} if change_type in NEW_NAMES else {}
    ent.complete(
        "register_change",
        {
            "change_type": change_type,
            "change_on": change_on,
            "description": "企业发生重大变化",
            **named,
            **extra,
        },
        case_id,
    )
    return case_id


def notes(user: f.Api, case_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    """The notifications the user reads for the case (newest first), of one kind if given."""
    items = user.get("/api/v1/notifications").json["items"]
    return [n for n in items if n["instance_id"] == case_id and kind in (None, n["kind"])]


def submit(ent: f.Api, case_id: str) -> None:
    ent.complete(
        "submit_report", {"statement": "变更登记已完成", "evidence": [ent.upload()["id"]]}, case_id
    )


def outcome(people: f.People, case_id: str) -> tuple[str, str]:
    case = people["auditor"].get(f"/api/v1/instances/{case_id}").json
    return case["status"], case["outcome"]


@pytest.mark.parametrize(
    ("change_type", "decision", "final"),
    [
        ("rename", "keep", "active"),
        ("merger", "revoke", "revoked"),
        ("restructuring", "keep", "active"),
        ("overseas_branch", "revoke", "revoked"),
    ],
)
def test_each_change_type_is_checked_by_the_city_and_decided_by_the_province(
    ctx, clock, people, change_type, decision, final
) -> None:  # type: ignore[no-untyped-def]
    number = register(ctx, "specialized")
    case_id = report(people["ent"], change_type, new_name="洪城精工集团有限公司")
    task = people["ent"].task("submit_report", case_id)
    assert task["due_at"] == "2025-11-16T00:00:00+08:00"  # 3 months after 15 August, 24:00
    submit(people["ent"], case_id)
    people["city"].complete(
        "city_check",
        {"meets_standard": "yes" if decision == "keep" else "no", "city_opinion": "已初核"},
        case_id,
    )
    people["province"].complete(
        "province_verify", {"decision": decision, "reason": "经核实"}, case_id
    )
    assert outcome(people, case_id) == ("completed", "kept" if decision == "keep" else "revoked")
    assert qualification(ctx, number).status == final


def test_little_giant_change_is_reported_by_the_province_and_decided_by_miit(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    numbers = [register(ctx, "specialized"), register(ctx, "little_giant")]
    case_id = report(people["ent"], "restructuring")
    submit(people["ent"], case_id)
    people["city"].complete(
        "city_check", {"meets_standard": "no", "city_opinion": "主营业务剥离"}, case_id
    )
    people["province"].complete(
        "province_verify", {"decision": "revoke", "reason": "建议撤销"}, case_id
    )
    assert outcome(people, case_id) == ("running", None)
    people["miit"].complete(
        "miit_decide", {"decision": "revoke", "reason": "不再符合小巨人标准"}, case_id
    )
    assert outcome(people, case_id) == ("completed", "revoked")
    assert [qualification(ctx, n).status for n in numbers] == ["revoked", "revoked"]


def test_relocation_moves_open_tasks_to_the_new_city(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "specialized")  # P5 needs one; a P1 application is for another tier
    ent, city, city_gz = people["ent"], people["city"], people["city_gz"]
    round_ = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    application = f.apply(ent, round_["id"])  # waits for the Nanchang 初审
    open_task = city.task("city_review", application)
    case_id = report(ent, "relocation", to_region=GANZHOU)
    submit(ent, case_id)
    city.complete("city_check", {"meets_standard": "yes", "city_opinion": "仍符合"}, case_id)
    assert city_gz.get(f"/api/v1/tasks/{open_task['id']}").status_code == 404
    people["province"].complete(
        "province_verify", {"decision": "keep", "reason": "迁移属实"}, case_id
    )

    assert outcome(people, case_id) == ("completed", "kept")
    assert city.get(f"/api/v1/tasks/{open_task['id']}").status_code == 404
    assert city.get(f"/api/v1/instances/{application}").status_code == 404
    assert city_gz.get(f"/api/v1/tasks/{open_task['id']}").status_code == 200
    assert city_gz.task("city_review", application)["region"] == GANZHOU
    with ctx.reading() as session:
        assert session.get(Enterprise, f.uscc(REGION, 1)).region == GANZHOU
        moved = session.scalars(
            select(HistoryEvent).where(
                HistoryEvent.stream == f"instance:{application}",
                HistoryEvent.kind == "region.reassigned",
            )
        ).one()
    assert (moved.data["from"], moved.data["to"], moved.actor) == (REGION, GANZHOU, "prov")
    assert moved.data["tasks"] == [open_task["id"]]
    assert moved.data["decided_in"] == case_id
    city_gz.complete("city_review", {"decision": "approve"}, application)  # the new city works it
    # the enterprise and the receiving city are told; the old city's list stays as it was
    assert sorted(n["title"] for n in notes(ent, case_id)) == [
        "已转由赣州市中小企业主管部门负责（第十一条）",
        "资格保留（第十一条）",
    ]
    [arrived] = notes(city_gz, case_id)
    assert arrived["title"] == "企业迁入：洪城精密机械有限公司"
    assert (
        f"（统一社会信用代码 {f.uscc(REGION, 1)}）由南昌市迁入，自 2025-09-01 起" in arrived["body"]
    )
    assert notes(city, case_id) == []


def test_relocation_out_of_jiangxi_ends_eligibility(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    number = register(ctx, "innovative")
    case_id = report(people["ent"], "relocation", to_region="outside")
    submit(people["ent"], case_id)
    assert outcome(people, case_id) == ("completed", "revoked")
    assert "迁出江西省" in qualification(ctx, number).status_reason


def test_an_enterprise_that_moved_out_of_jiangxi_fails_article_4_when_it_applies(  # type: ignore[no-untyped-def]
    ctx, clock, people
) -> None:
    # 第四条 asks for an enterprise registered in Jiangxi; its USCC still says 3601..
    register(ctx, "innovative")
    ent = people["ent"]
    case_id = report(ent, "relocation", to_region="outside")
    submit(ent, case_id)
    assert outcome(people, case_id) == ("completed", "revoked")
    with ctx.reading() as session:
        assert session.get(Enterprise, f.uscc(REGION, 1)).region == enterprises.OUTSIDE_JIANGXI
        moved = session.scalars(
            select(HistoryEvent).where(
                HistoryEvent.stream == f"enterprise:{f.uscc(REGION, 1)}",
                HistoryEvent.kind == "region.reassigned",
            )
        ).one()
    assert (moved.data["from"], moved.data["to"], moved.instance_id) == (
        REGION,
        enterprises.OUTSIDE_JIANGXI,
        case_id,
    )
    # recorded by the diagram's own step, which an auditor sees among the case's decisions
    found = people["auditor"].get(f"/api/v1/evaluations/{case_id}").json["decisions"]
    [move] = [d for d in found if d["operator"] == "enterprise.move_out"]
    assert move["outputs"]["region_move_out"]["uscc"] == f.uscc(REGION, 1)
    assert moved.data["reason"] == move["outputs"]["region_move_out"]["reason"]
    round_ = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    application = f.apply(ent, round_["id"])
    assert outcome(people, application) == ("completed", "ineligible")
    [decision] = [
        d
        for d in people["auditor"].get(f"/api/v1/evaluations/{application}").json["decisions"]
        if d["operator"] == "eligibility.check"
    ]
    assert [(c["code"], c["name"]) for c in decision["outputs"]["failed"]] == [
        ("elig_jiangxi", "未在江西省内注册")
    ]
    assert decision["inputs"]["facts"]["region"] == enterprises.OUTSIDE_JIANGXI
    other = f.apply(people["ent2"], round_["id"])  # registered in Nanchang: passes
    assert outcome(people, other)[0] == "running"


def test_late_report_goes_to_a_province_decision_that_withdraws_renewal_eligibility(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    number = register(ctx, "specialized")
    case_id = report(people["ent"], "rename", change_on="2025-05-01")  # due 1 August
    assert not [t for t in people["ent"].inbox() if t["instance_id"] == case_id]
    people["province"].complete(
        "province_late_decision", {"decision": "lose_renewal", "reason": "逾期一个月报告"}, case_id
    )
    assert outcome(people, case_id) == ("completed", "renewal_withdrawn")
    q = qualification(ctx, number)
    assert (q.status, q.renewal_eligible) == ("renewal_ineligible", False)
    assert "逾期报告" in q.status_reason
    assert "报告期限至 2025-08-01 24:00" in q.status_reason  # 3 months after 1 May, 24:00


def test_report_deadline_passing_after_a_reminder_leads_to_revocation(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    number = register(ctx, "innovative")
    case_id = report(people["ent"], "merger")
    clock.advance(timedelta(days=63))  # 3 November: within 14 days of the 15 November deadline
    instances.fire_due(ctx)
    [reminder] = notes(people["ent"], case_id)
    assert reminder["kind"] == "reminder"
    # due 2025-11-16T00:00+08:00: the last day is 15 November, as P1/P2's reminders word it
    assert reminder["body"].startswith("请在 2025-11-15 24:00 前提交重大变化报告（第十一条）")
    clock.advance(timedelta(days=14))
    instances.fire_due(ctx)
    people["province"].complete(
        "province_late_decision", {"decision": "revoke", "reason": "未报告"}, case_id
    )
    assert outcome(people, case_id) == ("completed", "revoked")
    assert qualification(ctx, number).status == "revoked"
    assert (
        "报告期限 2025-11-15 24:00 已过，企业未提交报告" in qualification(ctx, number).status_reason
    )


def test_a_change_found_without_a_report_is_registered_by_the_province(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    number = register(ctx, "innovative")
    province = people["province"]
    started = province.post(
        "/api/v1/instances", json={"process_key": "major_change", "uscc": f.uscc(REGION, 1)}
    )
    assert started.status_code == 201, started.json
    case_id = started.json["id"]
    province.complete(
        "province_register_found",
        {
            "change_type": "overseas_branch",
            "change_on": "2025-03-01",
            "description": "在越南设立分公司",
            "evidence": [province.upload()["id"]],
        },
        case_id,
    )
    province.complete(
        "province_late_decision", {"decision": "revoke", "reason": "隐瞒不报"}, case_id
    )
    assert outcome(people, case_id) == ("completed", "revoked")
    assert "未报告" in qualification(ctx, number).status_reason


def test_a_change_found_without_a_report_names_the_region_moved_to_from_the_same_list(
    ctx, people
) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "innovative")
    province = people["province"]
    started = province.post(
        "/api/v1/instances", json={"process_key": "major_change", "uscc": f.uscc(REGION, 1)}
    )
    assert started.status_code == 201, started.json
    case_id = started.json["id"]
    task = province.task("province_register_found", case_id)
    field = province.get(f"/api/v1/tasks/{task['id']}").json["form"]["properties"]["to_region"]
    reported = json.loads(
        (f.ROOT_PROCESSES / "forms" / "major_change_register.schema.json").read_text("utf-8")
    )
    assert field["oneOf"] == reported["properties"]["to_region"]["oneOf"]  # both forms alike
    found = {
        "change_type": "relocation",
        "change_on": "2025-03-01",
        "description": "迁往赣州市",
        "evidence": [province.upload()["id"]],
    }
    refused = province.complete(
        "province_register_found", found | {"to_region": "369900"}, case_id, status=422
    )  # no such region
    assert refused["errors"] == {"to_region": ["不是允许的取值"]}
    province.complete("province_register_found", found | {"to_region": GANZHOU}, case_id)
    decision = province.task("province_late_decision", case_id)
    data = province.get(f"/api/v1/tasks/{decision['id']}").json["data"]
    assert data["to_region"] == GANZHOU  # stored as the code, as before


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"change_type": "rename"}, {"new_name": ["必填"]}),
        ({"change_type": "merger", "new_name": "  "}, {"new_name": None}),  # blank
        ({"change_type": "relocation"}, {"to_region": ["必填"]}),
        (
            {"change_type": "overseas_branch", "change_on": "2025-8-15"},
            {"change_on": ["不是有效的日期（格式 YYYY-MM-DD，如 2025-02-28）"]},
        ),
        (  # a date that does not exist: it would stop the case at a later step
            {"change_type": "overseas_branch", "change_on": "2025-02-30"},
            {"change_on": ["不是有效的日期（格式 YYYY-MM-DD，如 2025-02-28）"]},
        ),
    ],
)
def test_a_registration_missing_what_its_change_needs_is_refused_naming_the_field(
    ctx, people, change, errors
) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "innovative")
    ent = people["ent"]
    case_id = ent.post("/api/v1/instances", json={"process_key": "major_change"}).json["id"]
    data = {"change_on": "2025-08-15", "description": "企业发生重大变化"} | change
    refused = ent.complete("register_change", data, case_id, status=422)
    assert list(refused["errors"]) == list(errors)  # the field, by its name
    assert all(refused["errors"][k] == m for k, m in errors.items() if m is not None)
    assert ent.task("register_change", case_id)  # nothing moved


def test_a_change_dated_after_today_is_sent_back_with_the_reason(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "innovative")
    ent = people["ent"]
    case_id = report(ent, "rename", change_on="2025-09-02")  # today is 1 September
    task = ent.task("register_change", case_id)  # to register again: nothing else opened
    assert [t["bpmn_id"] for t in ent.inbox() if t["instance_id"] == case_id] == ["register_change"]
    [note] = notes(ent, case_id)
    assert note["title"] == "重大变化登记有误，请更正后重新提交"
    assert note["body"].startswith("变化发生日期 2025-09-02 晚于今天（2025-09-01）")
    data = ent.get(f"/api/v1/tasks/{task['id']}").json["data"]
    assert (data["change_type"], data["change_on"]) == ("rename", "2025-09-02")  # kept for editing
    ent.complete(
        "register_change",
        {
            "change_type": "rename",
            "change_on": "2025-09-01",
            "new_name": "洪城精工有限公司",
            "description": "已完成更名登记",
        },
        case_id,
    )
    assert ent.task("submit_report", case_id)["due_at"] == "2025-12-02T00:00:00+08:00"


def test_a_relocation_to_the_region_it_is_in_is_sent_back(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "innovative")
    ent = people["ent"]
    case_id = report(ent, "relocation", to_region=REGION)  # already in Nanchang
    assert ent.task("register_change", case_id)
    [note] = notes(ent, case_id)
    assert "迁入地区南昌市就是企业当前所属地区，不属于跨地区迁移" in note["body"]
    ent.complete(
        "register_change",
        {
            "change_type": "relocation",
            "change_on": "2025-08-15",
            "to_region": GANZHOU,
            "description": "迁往赣州",
        },
        case_id,
    )
    assert ent.task("submit_report", case_id)


def test_the_province_registering_a_found_change_is_held_to_the_same_checks(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "innovative")
    province = people["province"]
    case_id = province.post(
        "/api/v1/instances", json={"process_key": "major_change", "uscc": f.uscc(REGION, 1)}
    ).json["id"]
    found = {
        "change_type": "relocation",
        "description": "迁往南昌",
        "evidence": [province.upload()["id"]],
    }
    province.complete(
        "province_register_found", found | {"change_on": "2025-10-01", "to_region": REGION}, case_id
    )
    [note] = notes(province, case_id)
    assert note["title"] == "重大变化登记有误，请更正后重新提交：洪城精密机械有限公司"
    assert "变化发生日期 2025-10-01 晚于今天（2025-09-01）" in note["body"]
    assert "迁入地区南昌市就是企业当前所属地区" in note["body"]
    assert notes(people["ent"], case_id) == []  # the province's own slip
    province.complete(
        "province_register_found",
        found | {"change_on": "2025-03-01", "to_region": GANZHOU},
        case_id,
    )
    assert province.task("province_late_decision", case_id)


# -- per-tier decisions: only the qualifications a decision concerns change ----------------------


def statuses(ctx: EngineContext, *numbers: str) -> list[tuple[str, bool]]:
    return [(q.status, q.renewal_eligible) for q in (qualification(ctx, n) for n in numbers)]


def sent(ctx: EngineContext, case_id: str, name: str) -> list[dict[str, Any]]:
    with ctx.reading() as session:
        return [
            e.data
            for e in session.scalars(
                select(HistoryEvent)
                .where(
                    HistoryEvent.stream == f"instance:{case_id}",
                    HistoryEvent.kind == "message.sent",
                )
                .order_by(HistoryEvent.seq)
            )
            if e.data["name"] == name
        ]


def test_province_revoking_one_named_tier_leaves_the_other_qualification_active(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    innovative, specialized = register(ctx, "innovative"), register(ctx, "specialized")
    case_id = report(people["ent"], "merger")
    submit(people["ent"], case_id)
    people["city"].complete(
        "city_check", {"meets_standard": "no", "city_opinion": "合并后研发投入不足"}, case_id
    )
    people["province"].complete(
        "province_verify",
        {"decision": "revoke", "tiers": ["specialized"], "reason": "不再符合专精特新标准"},
        case_id,
    )
    assert outcome(people, case_id) == ("completed", "revoked")
    assert statuses(ctx, innovative, specialized) == [("active", True), ("revoked", False)]
    assert [m["correlation"] for m in sent(ctx, case_id, "revoke_qualification")] == [
        {"business_key": specialized}
    ]
    note = people["ent"].get("/api/v1/notifications").json["items"][0]
    assert "专精特新中小企业" in note["body"]
    assert "创新型" not in note["body"]

    # 第十二条 still revokes everything the enterprise holds at once
    province = people["province"]
    incident = province.post(
        "/api/v1/instances", json={"process_key": "article12_incident", "uscc": f.uscc(REGION, 1)}
    ).json["id"]
    province.complete(
        "province_confirm",
        {
            "incident_type": "data_fraud",
            "occurred_on": "2025-08-20",
            "description": "申报数据造假",
            "evidence": [province.upload()["id"]],
            "decision": "confirm",
        },
        incident,
    )
    assert statuses(ctx, innovative, specialized) == [("revoked", False), ("revoked", False)]


def test_miit_keeping_the_little_giant_leaves_only_the_province_tiers_revoked(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    specialized, giant = register(ctx, "specialized"), register(ctx, "little_giant")
    case_id = report(people["ent"], "restructuring")
    submit(people["ent"], case_id)
    people["city"].complete("city_check", {"meets_standard": "no", "city_opinion": "重组"}, case_id)
    people["province"].complete(
        "province_verify", {"decision": "revoke", "reason": "均不再符合标准"}, case_id
    )  # no tiers named: every tier held, 小巨人 to MIIT
    people["miit"].complete(
        "miit_decide", {"decision": "keep", "reason": "仍符合小巨人标准"}, case_id
    )
    assert outcome(people, case_id) == ("completed", "revoked")
    assert statuses(ctx, specialized, giant) == [("revoked", False), ("active", True)]
    assert "仍符合小巨人标准" in qualification(ctx, specialized).status_reason


def test_province_keeping_the_little_giant_does_not_ask_miit(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    specialized, giant = register(ctx, "specialized"), register(ctx, "little_giant")
    case_id = report(people["ent"], "rename", new_name="洪城精工集团有限公司")
    submit(people["ent"], case_id)
    people["city"].complete(
        "city_check", {"meets_standard": "yes", "city_opinion": "更名"}, case_id
    )
    people["province"].complete(
        "province_verify", {"decision": "keep", "reason": "仅更名，仍符合标准"}, case_id
    )
    assert outcome(people, case_id) == ("completed", "kept")
    assert not [t for t in people["miit"].inbox() if t["instance_id"] == case_id]
    assert statuses(ctx, specialized, giant) == [("active", True), ("active", True)]
    [kept] = notes(people["ent"], case_id, "outcome")  # a kept qualification is an outcome too
    assert kept["title"] == "资格保留（第十一条）"
    assert kept["body"] == (
        "贵企业的重大变化（更名，发生于 2025-08-15）已办结："
        "经核实仍符合标准，保留资格（省工信厅：仅更名，仍符合标准）。"
    )


def test_late_decision_names_the_tier_whose_renewal_eligibility_is_withdrawn(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    innovative, specialized = register(ctx, "innovative"), register(ctx, "specialized")
    case_id = report(people["ent"], "rename", change_on="2025-05-01")
    people["province"].complete(
        "province_late_decision",
        {"decision": "lose_renewal", "tiers": ["innovative"], "reason": "逾期报告"},
        case_id,
    )
    assert outcome(people, case_id) == ("completed", "renewal_withdrawn")
    assert statuses(ctx, innovative, specialized) == [
        ("renewal_ineligible", False),
        ("active", True),
    ]
    assert [m["correlation"] for m in sent(ctx, case_id, "withdraw_renewal")] == [
        {"business_key": innovative}
    ]
    [note] = people["ent"].get("/api/v1/notifications").json["items"]
    assert note["title"] == "复核资格已取消（第十一条）"
    assert "创新型中小企业" in note["body"]
    assert "专精特新" not in note["body"]


def test_a_tier_the_enterprise_does_not_hold_changes_nothing(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    innovative = register(ctx, "innovative")
    case_id = report(people["ent"], "rename", change_on="2025-05-01")
    people["province"].complete(
        "province_late_decision",
        {"decision": "revoke", "tiers": ["little_giant"], "reason": "逾期报告"},
        case_id,
    )
    assert outcome(people, case_id) == ("completed", "kept")
    assert statuses(ctx, innovative) == [("active", True)]
    assert sent(ctx, case_id, "revoke_qualification") == []
    [kept] = notes(people["ent"], case_id, "outcome")
    assert "无需撤销，资格不变" in kept["body"]


def test_miit_keeping_the_only_tier_in_question_tells_the_enterprise_why(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "little_giant")
    case_id = report(people["ent"], "restructuring")
    submit(people["ent"], case_id)
    people["city"].complete("city_check", {"meets_standard": "no", "city_opinion": "重组"}, case_id)
    people["province"].complete(
        "province_verify", {"decision": "revoke", "reason": "建议撤销"}, case_id
    )
    people["miit"].complete(
        "miit_decide", {"decision": "keep", "reason": "仍符合小巨人标准"}, case_id
    )
    assert outcome(people, case_id) == ("completed", "kept")
    [kept] = notes(people["ent"], case_id, "outcome")
    assert "保留资格（工业和信息化部：仍符合小巨人标准）" in kept["body"]


# -- losing renewal eligibility reaches the lifecycle (第十一条) ----------------------------------

ZONE = ZoneInfo("Asia/Shanghai")


def at(ctx: EngineContext, clock: Any, day: date, hour: int = 9) -> None:
    clock.set(datetime.combine(day, time(hour, 0, 1), ZONE))
    instances.fire_due(ctx)


def lose_renewal(people: f.People, reason: str = "逾期两个月报告") -> str:
    case_id = report(people["ent"], "rename", change_on="2025-05-01")
    people["province"].complete(
        "province_late_decision", {"decision": "lose_renewal", "reason": reason}, case_id
    )
    assert outcome(people, case_id) == ("completed", "renewal_withdrawn")
    return case_id


def lifecycle_events(ctx: EngineContext, number: str, kind: str) -> list[HistoryEvent]:
    q = qualification(ctx, number)
    with ctx.reading() as session:
        return list(
            session.scalars(
                select(HistoryEvent)
                .where(
                    HistoryEvent.stream == f"instance:{q.lifecycle_instance_id}",
                    HistoryEvent.kind == kind,
                )
                .order_by(HistoryEvent.seq)
            )
        )


def test_losing_renewal_eligibility_ends_a_renewal_already_open(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    number = register(ctx, "specialized", issued_on=date(2022, 10, 15))  # valid to 2025-10-14
    province = people["province"]
    review = province.task("province_renewal_review")  # opened 90 days before the expiry
    lose_renewal(people)

    assert not [t for t in province.inbox() if t["bpmn_id"] == "province_renewal_review"]
    with ctx.reading() as session:
        assert session.get(HumanTask, review["id"]).state == "cancelled"
    q = qualification(ctx, number)
    assert (q.status, q.renewal_eligible, q.expires_on) == (
        "renewal_ineligible",
        False,
        date(2025, 10, 14),
    )
    assert q.status_changed_by == "prov"
    assert "逾期两个月报告" in q.status_reason
    assert "不予复核" in q.status_reason
    [cancelled] = lifecycle_events(ctx, number, "task.cancelled")
    assert cancelled.bpmn_id == "province_renewal_review"
    assert lifecycle_events(ctx, number, "qualification.changed")[-1].data["basis"] == "第十一条"
    # the open review can no longer be completed
    response = province.post(
        f"/api/v1/tasks/{review['id']}/complete", json={"data": {"decision": "approve"}}
    )
    assert response.status_code in (404, 409)

    at(ctx, clock, date(2025, 10, 14), hour=23)
    assert qualification(ctx, number).status == "renewal_ineligible"  # valid through its last day
    at(ctx, clock, date(2025, 10, 15), hour=0)
    expired = qualification(ctx, number)
    assert expired.status == "expired"
    assert "复核资格已被取消" in expired.status_reason
    with ctx.reading() as session:
        row = session.get(Instance, expired.lifecycle_instance_id)
    assert (row.status, row.outcome) == ("completed", "expired")


def test_losing_renewal_eligibility_before_the_renewal_opens_means_it_never_opens(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    number = register(ctx, "specialized")  # 2025-06-01 .. 2028-05-31; renewal from 2028-03-02
    lose_renewal(people)
    assert statuses(ctx, number) == [("renewal_ineligible", False)]

    ent, province = people["ent"], people["province"]
    at(ctx, clock, date(2026, 1, 2))
    updates = [t["bpmn_id"] for t in ent.inbox() if t["bpmn_id"].endswith("annual_update")]
    assert updates == ["withdrawn_annual_update"]  # 第十条 still binds; no renewal follows
    at(ctx, clock, date(2028, 3, 3))
    assert not [t for t in province.inbox() if t["bpmn_id"] == "province_renewal_review"]
    at(ctx, clock, date(2028, 6, 1), hour=0)
    expired = qualification(ctx, number)
    assert expired.status == "expired"
    assert "复核资格已被取消" in expired.status_reason


def test_a_qualification_without_renewal_eligibility_can_still_be_revoked(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    number = register(ctx, "specialized")
    lose_renewal(people)
    response = people["province"].post(
        "/api/v1/messages",
        json={
            "name": "revoke_qualification",
            "correlation": {"business_key": number},
            "payload": {"reason": "发生重大质量事故", "basis": "第十二条"},
        },
    )
    assert response.status_code == 201, response.json
    revoked = qualification(ctx, number)
    assert (revoked.status, revoked.status_reason) == ("revoked", "发生重大质量事故")
    with ctx.reading() as session:
        row = session.get(Instance, revoked.lifecycle_instance_id)
    assert (row.status, row.outcome) == ("completed", "revoked")


def test_a_major_change_needs_a_valid_qualification(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    """第十一条 binds enterprises within a qualification's validity: an enterprise holding none
    (or only an expired one) cannot report, nor can the province register one; nothing moves."""
    for who, body in (
        ("ent", {"process_key": "major_change"}),
        ("province", {"process_key": "major_change", "uscc": f.uscc(REGION, 1)}),
    ):
        refused = people[who].post("/api/v1/instances", json=body)
        assert refused.status_code == 409, refused.json
        assert refused.json["rule"] == "major-change-requires-qualification"
        assert "第十一条" in refused.json["detail"]
    register(ctx, "innovative", issued_on=date(2022, 6, 1))  # expired 2025-05-31
    assert (
        people["ent"].post("/api/v1/instances", json={"process_key": "major_change"}).status_code
        == 409
    )
    with ctx.reading() as session:
        assert (
            session.scalars(select(Instance).where(Instance.process_key == "major_change")).all()
            == []
        )
    register(ctx, "specialized")
    assert (
        people["ent"].post("/api/v1/instances", json={"process_key": "major_change"}).status_code
        == 201
    )
