"""P4 qualification lifecycle (第九条、第十条、第十二条) through the API, on the simulated clock."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import definitions, instances
from engine.context import Actor, EngineContext
from engine.store import HistoryEvent, HumanTask, Instance, Notification, Qualification
from tests import factories as f

REGION = "360100"
ZONE = ZoneInfo("Asia/Shanghai")
UPDATE = {
    "employees": 130,
    "revenue_y1": 9000,
    "rd_expense_y1": 520,
    "assets_y1": 6500,
    "major_change": False,
}


@pytest.fixture
def people(ctx, client) -> dict[str, f.Api]:  # type: ignore[no-untyped-def]
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


def register(
    ctx: EngineContext,
    *,
    tier: str = "specialized",
    issued_on: date = date(2025, 9, 1),
    number: str | None = None,
    serial: int = 1,
) -> Qualification:
    """A qualification as issued by its certification case, with its lifecycle started."""
    return f.issue_qualification(
        ctx,
        uscc_code=f.uscc(REGION, serial),
        tier=tier,
        number=number or f"JX-T-{tier}-{issued_on.isoformat()}",
        region=REGION,
        issued_on=issued_on,
    )


def at(ctx: EngineContext, clock: Any, day: date, hour: int = 9) -> None:
    """Move the clock to just after `hour` o'clock in Jiangxi on `day` and fire what is due."""
    clock.set(datetime.combine(day, time(hour, 0, 1), ZONE))
    instances.fire_due(ctx)


def qualification(ctx: EngineContext, number: str) -> Qualification:
    with ctx.reading() as session:
        return session.scalars(select(Qualification).where(Qualification.number == number)).one()


def lifecycle_of(ctx: EngineContext, q: Qualification) -> Instance:
    with ctx.reading() as session:
        return session.get(Instance, q.lifecycle_instance_id)


def has_task(user: f.Api, bpmn_id: str) -> bool:
    return any(t["bpmn_id"] == bpmn_id for t in user.inbox(per_page=200))


def update_for(ctx, clock, ent: f.Api, year: int, instance_id: str) -> None:  # type: ignore[no-untyped-def]
    at(ctx, clock, date(year, 1, 1))
    task = ent.task("annual_update", instance_id)
    assert task["due_at"] == f"{year}-05-01T00:00:00+08:00"
    at(ctx, clock, date(year, 3, 10))
    ent.complete("annual_update", UPDATE, instance_id)


def pass_spot_check_if_drawn(user: f.Api, bpmn_id: str) -> None:
    if has_task(user, bpmn_id):
        user.complete(bpmn_id, {"result": "pass", "findings": "现场核查属实"})


def status_history(ctx: EngineContext, instance_id: str) -> list[dict[str, Any]]:
    with ctx.reading() as session:
        rows = session.scalars(
            select(HistoryEvent)
            .where(
                HistoryEvent.stream == f"instance:{instance_id}",
                HistoryEvent.kind == "qualification.changed",
            )
            .order_by(HistoryEvent.seq)
        )
        return [{"actor": r.actor, **r.data} for r in rows]


def test_three_annual_updates_lead_to_renewal_and_a_three_year_extension(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx)  # 2025-09-01 .. 2028-08-31
    ent, province = people["ent"], people["province"]
    assert not has_task(ent, "annual_update")  # the 2026 update opens on 1 January
    for year in (2026, 2027, 2028):
        update_for(ctx, clock, ent, year, q.lifecycle_instance_id)
        assert qualification(ctx, q.number).info_updated_on == date(year, 3, 10)
    at(ctx, clock, date(2028, 6, 2), hour=23)
    assert not has_task(province, "province_renewal_review")
    at(ctx, clock, date(2028, 6, 3), hour=0)  # 90 days before the end of validity (31 August 24:00)
    province.complete(
        "province_renewal_review", {"decision": "approve", "flag_for_spot_check": True}
    )
    province.complete("province_renewal_spot_check", {"result": "pass", "findings": "现场核查属实"})

    renewed = qualification(ctx, q.number)
    assert (renewed.status, renewed.expires_on, renewed.issued_on) == (
        "active",
        date(2031, 8, 31),
        date(2025, 9, 1),
    )
    assert renewed.status_changed_by == "prov"
    assert "延长至 2031-08-31" in renewed.status_reason
    row = lifecycle_of(ctx, q)
    assert (row.id, row.status) == (
        q.lifecycle_instance_id,
        "running",
    )  # the same case, next period
    with ctx.reading() as session:
        kinds = list(
            session.scalars(
                select(HistoryEvent.kind).where(
                    HistoryEvent.stream == f"instance:{row.id}",
                    HistoryEvent.kind == "instance.continued",
                )
            )
        )
    assert kinds == ["instance.continued"]
    update_for(
        ctx, clock, ent, 2029, q.lifecycle_instance_id
    )  # the new period's first annual update


def expires_without_renewal(
    ctx: EngineContext, clock: Any, province: f.Api, q: Qualification
) -> tuple[Qualification, Instance]:
    """The end of a qualification registered 2025-09-01 that lost its renewal eligibility and
    had its 2028 update recorded: no renewal review, valid through 31 August 2028, expired on
    1 September with its lifecycle completed as `expired`. The expired qualification and its
    lifecycle instance."""
    at(ctx, clock, date(2028, 6, 3))
    assert not has_task(province, "province_renewal_review")  # no renewal without eligibility
    at(ctx, clock, date(2028, 8, 31), hour=23)
    assert qualification(ctx, q.number).status == "renewal_ineligible"  # valid through its last day
    at(ctx, clock, date(2028, 9, 1), hour=0)
    expired = qualification(ctx, q.number)
    assert expired.status == "expired"
    row = lifecycle_of(ctx, q)
    assert (row.status, row.outcome) == ("completed", "expired")
    assert [h["to"] for h in status_history(ctx, row.id)] == [
        "active",
        "renewal_ineligible",  # the lost eligibility (missed 30 April, or withdrawn)
        "renewal_ineligible",  # the 2028 update, recorded; missed ones changed nothing
        "expired",
    ]
    return expired, row


def test_missed_30_april_withdraws_renewal_eligibility_and_the_qualification_simply_expires(  # type: ignore[no-untyped-def]
    ctx, clock, people
) -> None:
    q = register(ctx)
    ent, province = people["ent"], people["province"]
    at(ctx, clock, date(2026, 1, 5))
    assert has_task(ent, "annual_update")
    at(ctx, clock, date(2026, 4, 30), hour=23)
    assert qualification(ctx, q.number).renewal_eligible
    at(ctx, clock, date(2026, 5, 1), hour=0)  # 24:00 on 30 April has passed
    lost = qualification(ctx, q.number)
    assert (lost.status, lost.renewal_eligible) == ("renewal_ineligible", False)
    assert "第十条" in lost.status_reason
    assert lost.status_changed_by == "scheduler"
    assert not has_task(ent, "annual_update")
    # 第十条 binds every qualification in its validity: the yearly update goes on without the
    # renewal eligibility; a second missed deadline takes nothing more away
    at(ctx, clock, date(2027, 1, 2))
    assert ent.task("annual_update", q.lifecycle_instance_id)["due_at"] == (
        "2027-05-01T00:00:00+08:00"
    )
    at(ctx, clock, date(2027, 5, 1), hour=0)
    at(ctx, clock, date(2028, 3, 1))
    ent.complete("annual_update", UPDATE, q.lifecycle_instance_id)
    assert qualification(ctx, q.number).info_updated_on == date(2028, 3, 1)
    assert not qualification(ctx, q.number).renewal_eligible
    expired, _ = expires_without_renewal(ctx, clock, province, q)
    assert "取消复核资格" in expired.status_reason


def test_annual_update_task_is_in_the_enterprise_inbox_with_its_due_date_and_a_reminder(  # type: ignore[no-untyped-def]
    ctx, clock, people
) -> None:
    q = register(ctx)
    ent = people["ent"]
    at(ctx, clock, date(2026, 1, 1))
    [task] = [t for t in ent.inbox() if t["instance_id"] == q.lifecycle_instance_id]
    assert (task["name"], task["due_at"], task["overdue"]) == (
        "更新企业信息",
        "2026-05-01T00:00:00+08:00",
        False,
    )
    detail = ent.get(f"/api/v1/tasks/{task['id']}").json
    assert detail["form"]["title"] == "年度企业信息更新"
    assert people["city"].inbox() == []  # the enterprise's task only
    at(ctx, clock, date(2026, 4, 16))
    assert ent.get("/api/v1/notifications").json["items"] == []
    at(ctx, clock, date(2026, 4, 17), hour=0)  # 14 days before the deadline
    [note] = ent.get("/api/v1/notifications").json["items"]
    assert note["title"] == "请按时更新企业信息"
    assert "2026-04-30" in note["body"]
    with ctx.reading() as session:
        assert session.scalars(select(Notification.due_at)).one().astimezone(ZONE).date() == date(
            2026, 5, 1
        )
    ent.complete("annual_update", UPDATE, q.lifecycle_instance_id)  # on time after the reminder
    assert qualification(ctx, q.number).renewal_eligible


def renew_innovative(people: dict[str, f.Api]) -> None:
    ent, city, province = people["ent"], people["city"], people["province"]
    evidence = ent.upload()["id"]
    task = ent.task("renewal_self_evaluation")
    assert task["due_at"] == "2025-10-15T00:00:00+08:00"  # the end of validity
    ent.complete("renewal_self_evaluation", f.self_evaluation([evidence]))
    city.complete("city_renewal_review", {"decision": "approve"})
    pass_spot_check_if_drawn(city, "city_renewal_spot_check")
    province.complete("province_renewal_review", {"decision": "approve"})
    pass_spot_check_if_drawn(province, "province_renewal_spot_check")


def renew_specialized(people: dict[str, f.Api]) -> None:
    assert not has_task(people["city"], "city_renewal_review")
    people["province"].complete("province_renewal_review", {"decision": "approve"})
    pass_spot_check_if_drawn(people["province"], "province_renewal_spot_check")


def renew_little_giant(people: dict[str, f.Api]) -> None:
    assert not has_task(people["province"], "province_renewal_review")
    people["miit"].complete(
        "miit_renewal_review", {"decision": "approve", "flag_for_spot_check": True}
    )
    people["miit"].complete(
        "miit_renewal_spot_check", {"result": "pass", "findings": "现场核查属实"}
    )


@pytest.mark.parametrize(
    ("tier", "renew"),
    [
        ("innovative", renew_innovative),
        ("specialized", renew_specialized),
        ("little_giant", renew_little_giant),
    ],
)
def test_renewal_by_tier_extends_the_qualification_three_years(
    ctx, clock, people, tier, renew
) -> None:  # type: ignore[no-untyped-def]
    q = register(
        ctx, tier=tier, issued_on=date(2022, 10, 15)
    )  # expires 2025-10-14: renewal already open
    renew(people)
    renewed = qualification(ctx, q.number)
    assert (renewed.status, renewed.expires_on) == ("active", date(2028, 10, 14))
    assert lifecycle_of(ctx, q).status == "running"


def test_rejected_renewal_keeps_the_qualification_until_its_expiry(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx, tier="specialized", issued_on=date(2022, 10, 15))
    people["province"].complete(
        "province_renewal_review", {"decision": "reject", "reason": "主营业务收入下降"}
    )
    assert qualification(ctx, q.number).status == "active"
    at(ctx, clock, date(2025, 10, 15), hour=0)
    expired = qualification(ctx, q.number)
    assert expired.status == "expired"
    assert "复核未通过" in expired.status_reason


def test_renewal_not_finished_by_the_end_of_validity_lapses(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx, tier="innovative", issued_on=date(2022, 10, 15))
    assert has_task(people["ent"], "renewal_self_evaluation")
    at(ctx, clock, date(2025, 10, 15), hour=0)
    assert not has_task(people["ent"], "renewal_self_evaluation")
    expired = qualification(ctx, q.number)
    assert expired.status == "expired"
    assert "未在复核期限内完成复核" in expired.status_reason


def deploy_lifecycle(ctx: EngineContext, old: str, new: str) -> None:
    """A new version of the lifecycle with one setting changed (`old` → `new`)."""
    edit = {"qualification_lifecycle.bpmn": (old, new)}
    files = f.process_files(edit, bpmn="qualification_lifecycle.bpmn")
    definitions.deploy(ctx, files=files, actor=Actor(id="owner", role="process_owner"))


@pytest.mark.parametrize("decided", [True, False])
def test_a_renewal_grace_period_lets_the_review_finish_after_expiry(
    ctx, clock, people, decided
) -> None:  # type: ignore[no-untyped-def]
    # 第九条 reviews "每次到期后": with renewal_grace_days the review may end after expiry
    deploy_lifecycle(ctx, "renewal_grace_days = 0 ", "renewal_grace_days = 60 ")
    q = register(ctx, tier="specialized", issued_on=date(2022, 10, 15))  # expires 2025-10-14
    at(ctx, clock, date(2025, 11, 1))
    assert has_task(people["province"], "province_renewal_review")  # still open after expiry
    held = people["ent"].get("/api/v1/qualifications").json["items"]
    assert [(x["number"], x["expires_on"]) for x in held] == [(q.number, "2025-10-14")]
    if decided:
        renew_specialized(people)
        renewed = qualification(ctx, q.number)
        assert (renewed.status, renewed.expires_on) == ("active", date(2028, 10, 14))
        return
    at(ctx, clock, date(2025, 12, 14), hour=0)  # 60 days after the end of validity
    assert not has_task(people["province"], "province_renewal_review")
    expired = qualification(ctx, q.number)
    assert expired.status == "expired"
    assert "未在复核期限内完成复核" in expired.status_reason


@pytest.mark.parametrize(
    ("issued_on", "first_due"),
    [(date(2026, 4, 29), "2027-05-01"), (date(2026, 3, 30), "2026-05-01")],
)
def test_a_new_qualification_gets_at_least_30_days_for_its_first_annual_update(
    ctx, clock, people, issued_on, first_due
) -> None:  # type: ignore[no-untyped-def]
    at(ctx, clock, issued_on)
    q = register(ctx, tier="innovative", issued_on=issued_on)
    at(ctx, clock, date(int(first_due[:4]), 1, 1) if first_due > "2027" else issued_on)
    task = people["ent"].task("annual_update", q.lifecycle_instance_id)
    assert task["due_at"] == f"{first_due}T00:00:00+08:00"


def revoke(province: f.Api, correlation: dict[str, str], reason: str = "发生重大安全事故") -> None:
    response = province.post(
        "/api/v1/messages",
        json={
            "name": "revoke_qualification",
            "correlation": correlation,
            "payload": {"reason": reason, "basis": "第十二条"},
        },
    )
    assert response.status_code == 201, response.json


def test_revocation_message_ends_the_lifecycle_recording_who_and_why(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx)
    at(ctx, clock, date(2026, 1, 1))
    assert has_task(people["ent"], "annual_update")
    revoke(people["province"], {"business_key": q.number})
    revoked = qualification(ctx, q.number)
    assert (revoked.status, revoked.renewal_eligible) == ("revoked", False)
    assert (revoked.status_changed_by, revoked.status_reason) == ("prov", "发生重大安全事故")
    assert not has_task(people["ent"], "annual_update")
    row = lifecycle_of(ctx, q)
    assert (row.status, row.outcome) == ("completed", "revoked")
    assert status_history(ctx, row.id)[-1]["basis"] == "第十二条"


def test_article_12_revocation_by_uscc_revokes_every_qualification_of_the_enterprise(  # type: ignore[no-untyped-def]
    ctx, clock, people
) -> None:
    first = register(ctx, tier="innovative", number="JX-CX-2025-A")
    second = register(ctx, tier="specialized", number="JX-ZJTX-2025-B")
    other = register(ctx, tier="specialized", number="JX-ZJTX-2025-C", serial=2)
    revoke(people["province"], {"uscc": first.uscc}, reason="偷漏税")
    assert [qualification(ctx, q.number).status for q in (first, second, other)] == [
        "revoked",
        "revoked",
        "active",
    ]


def test_revocation_sent_before_the_lifecycle_waits_is_delivered_when_it_does(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    revoke(people["province"], {"business_key": "JX-ZJTX-2025-LATE"}, reason="数据造假")
    register(ctx, number="JX-ZJTX-2025-LATE")  # its lifecycle starts waiting for the message now
    instances.dispatch_messages(ctx)
    assert qualification(ctx, "JX-ZJTX-2025-LATE").status == "revoked"


def test_lifecycle_state_stays_flat_over_ten_simulated_years(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx)  # 2025-09-01; renewed in 2028, 2031 and 2034
    ent, province = people["ent"], people["province"]
    sizes: dict[int, int] = {}
    for year in range(2026, 2036):
        update_for(ctx, clock, ent, year, q.lifecycle_instance_id)
        sizes[year] = len(lifecycle_of(ctx, q).state_json)
        at(ctx, clock, date(year, 6, 3))
        if has_task(province, "province_renewal_review"):
            province.complete("province_renewal_review", {"decision": "approve"})
            pass_spot_check_if_drawn(province, "province_renewal_spot_check")
    assert qualification(ctx, q.number).expires_on == date(2037, 8, 31)
    # the same phase of each period (first, second, third annual update) has the same size
    for offset in (0, 1, 2):
        same_phase = [sizes[y] for y in range(2026 + offset, 2036, 3)]
        assert max(same_phase) <= min(same_phase) * 1.05, sizes
    # after the last update before the renewal opens, the renewal (waiting for its opening,
    # with the in-window 30 April branch) is already part of the state
    assert max(sizes.values()) <= 2 * min(sizes.values()), sizes


def withdraw(province: f.Api, number: str) -> None:
    """The province withdraws renewal eligibility by decision (第十一条)."""
    response = province.post(
        "/api/v1/messages",
        json={
            "name": "withdraw_renewal",
            "correlation": {"business_key": number},
            "payload": {"reason": "逾期报告重大变化", "basis": "第十一条"},
        },
    )
    assert response.status_code == 201, response.json


def test_withdraw_renewal_message_ends_an_open_renewal_and_the_qualification_lapses_at_expiry(  # type: ignore[no-untyped-def]
    ctx, clock, people
) -> None:
    q = register(ctx, tier="innovative", issued_on=date(2022, 10, 15))  # renewal already open
    ent = people["ent"]
    assert has_task(ent, "renewal_self_evaluation")
    withdraw(people["province"], q.number)
    assert not has_task(ent, "renewal_self_evaluation")
    withdrawn = qualification(ctx, q.number)
    assert (withdrawn.status, withdrawn.renewal_eligible) == ("renewal_ineligible", False)
    assert withdrawn.status_changed_by == "prov"
    assert withdrawn.status_reason.startswith("逾期报告重大变化；不予复核")
    at(ctx, clock, date(2025, 10, 15), hour=0)
    assert qualification(ctx, q.number).status == "expired"
    row = lifecycle_of(ctx, q)
    assert (row.status, row.outcome) == ("completed", "expired")
    assert [h["to"] for h in status_history(ctx, row.id)] == [
        "active",
        "renewal_ineligible",
        "expired",
    ]


WITHDRAWN_UPDATE = "withdrawn_annual_update"


def task_states(ctx: EngineContext, instance_id: str, bpmn_id: str) -> list[str]:
    with ctx.reading() as session:
        return list(
            session.scalars(
                select(HumanTask.state)
                .where(HumanTask.instance_id == instance_id, HumanTask.bpmn_id == bpmn_id)
                .order_by(HumanTask.created_at)
            )
        )


def test_after_a_withdrawal_the_annual_update_goes_on_and_is_recorded(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx)  # 2025-09-01 .. 2028-08-31
    ent = people["ent"]
    at(ctx, clock, date(2025, 10, 8))
    withdraw(people["province"], q.number)
    assert qualification(ctx, q.number).status == "renewal_ineligible"
    at(ctx, clock, date(2025, 12, 31), hour=23)
    assert not has_task(ent, WITHDRAWN_UPDATE)  # the 2026 update opens on 1 January
    at(ctx, clock, date(2026, 1, 1))
    assert not has_task(ent, "annual_update")
    task = ent.task(WITHDRAWN_UPDATE, q.lifecycle_instance_id)
    assert (task["name"], task["due_at"]) == (
        "更新企业信息（已取消复核资格）",
        "2026-05-01T00:00:00+08:00",
    )
    detail = ent.get(f"/api/v1/tasks/{task['id']}").json
    assert detail["form"]["title"] == "年度企业信息更新"  # the same form as every annual update
    at(ctx, clock, date(2026, 4, 17), hour=0)  # the same reminder, 14 days before the deadline
    [note] = ent.get("/api/v1/notifications").json["items"]
    assert note["title"] == "请按时更新企业信息"
    assert "2026-04-30" in note["body"]
    at(ctx, clock, date(2026, 4, 20))
    ent.complete(WITHDRAWN_UPDATE, UPDATE, q.lifecycle_instance_id)
    updated = qualification(ctx, q.number)
    assert updated.info_updated_on == date(2026, 4, 20)
    assert (updated.status, updated.renewal_eligible) == ("renewal_ineligible", False)
    recorded = status_history(ctx, q.lifecycle_instance_id)[-1]
    assert (recorded["basis"], recorded["changes"]) == ("第十条", {"info_updated_on": "2026-04-20"})
    assert recorded["reason"] == "已于 2026-04-20 更新企业信息（截止 2026-04-30）"
    assert not has_task(ent, WITHDRAWN_UPDATE)
    at(ctx, clock, date(2027, 1, 1))  # and so every year within the validity
    assert ent.task(WITHDRAWN_UPDATE, q.lifecycle_instance_id)["due_at"] == (
        "2027-05-01T00:00:00+08:00"
    )
    assert lifecycle_of(ctx, q).status == "running"


def test_an_update_open_at_the_withdrawal_is_asked_again_with_the_same_deadline(  # type: ignore[no-untyped-def]
    ctx, clock, people
) -> None:
    q = register(ctx)
    ent = people["ent"]
    at(ctx, clock, date(2026, 4, 30), hour=10)  # the 2026 update is due tonight
    assert has_task(ent, "annual_update")
    withdraw(people["province"], q.number)
    assert not has_task(ent, "annual_update")
    assert task_states(ctx, q.lifecycle_instance_id, "annual_update") == ["cancelled"]
    task = ent.task(WITHDRAWN_UPDATE, q.lifecycle_instance_id)
    assert task["due_at"] == "2026-05-01T00:00:00+08:00"
    ent.complete(WITHDRAWN_UPDATE, UPDATE, q.lifecycle_instance_id)
    assert qualification(ctx, q.number).info_updated_on == date(2026, 4, 30)


def test_a_missed_update_after_a_withdrawal_changes_nothing_and_the_case_runs_to_expiry(  # type: ignore[no-untyped-def]
    ctx, clock, people
) -> None:
    q = register(ctx)  # 2025-09-01 .. 2028-08-31
    ent = people["ent"]
    withdraw(people["province"], q.number)
    withdrawn_reason = qualification(ctx, q.number).status_reason
    at(ctx, clock, date(2026, 1, 2))
    assert has_task(ent, WITHDRAWN_UPDATE)
    at(ctx, clock, date(2026, 5, 1), hour=0)  # 24:00 on 30 April has passed
    assert not has_task(ent, WITHDRAWN_UPDATE)
    missed = qualification(ctx, q.number)
    assert (missed.status, missed.renewal_eligible) == ("renewal_ineligible", False)
    assert missed.status_reason == withdrawn_reason
    assert task_states(ctx, q.lifecycle_instance_id, WITHDRAWN_UPDATE) == ["cancelled"]
    at(ctx, clock, date(2027, 1, 2))  # the case goes on: next year's update
    assert ent.task(WITHDRAWN_UPDATE, q.lifecycle_instance_id)["due_at"] == (
        "2027-05-01T00:00:00+08:00"
    )
    at(ctx, clock, date(2028, 3, 1))  # 2027 missed too; 2028 done
    ent.complete(WITHDRAWN_UPDATE, UPDATE, q.lifecycle_instance_id)
    expired, row = expires_without_renewal(ctx, clock, people["province"], q)
    assert "复核资格已被取消（第十一条）" in expired.status_reason
    assert task_states(ctx, row.id, WITHDRAWN_UPDATE) == ["cancelled", "cancelled", "completed"]


def test_expiry_after_a_withdrawal_cancels_an_open_update_and_ends_expired(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx, issued_on=date(2023, 5, 1))  # its last valid day is 30 April 2026
    ent = people["ent"]
    withdraw(people["province"], q.number)
    at(ctx, clock, date(2026, 4, 30), hour=23)
    assert ent.task(WITHDRAWN_UPDATE, q.lifecycle_instance_id)["due_at"] == (
        "2026-05-01T00:00:00+08:00"
    )
    assert qualification(ctx, q.number).status == "renewal_ineligible"
    at(ctx, clock, date(2026, 5, 1), hour=0)
    assert not has_task(ent, WITHDRAWN_UPDATE)
    assert task_states(ctx, q.lifecycle_instance_id, WITHDRAWN_UPDATE) == ["cancelled"]
    expired = qualification(ctx, q.number)
    assert expired.status == "expired"
    assert "复核资格已被取消（第十一条）" in expired.status_reason
    row = lifecycle_of(ctx, q)
    assert (row.status, row.outcome) == ("completed", "expired")


def test_revocation_after_a_withdrawal_cancels_an_open_update_and_revokes(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx)
    ent = people["ent"]
    withdraw(people["province"], q.number)
    at(ctx, clock, date(2026, 1, 5))
    assert has_task(ent, WITHDRAWN_UPDATE)
    revoke(people["province"], {"business_key": q.number})
    revoked = qualification(ctx, q.number)
    assert (revoked.status, revoked.renewal_eligible) == ("revoked", False)
    assert revoked.status_reason == "发生重大安全事故"
    assert not has_task(ent, WITHDRAWN_UPDATE)
    assert task_states(ctx, q.lifecycle_instance_id, WITHDRAWN_UPDATE) == ["cancelled"]
    row = lifecycle_of(ctx, q)
    assert (row.status, row.outcome) == ("completed", "revoked")


def test_revocation_decision_records_the_sender_as_by(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    """`decided_by` defaults to the sender (docs/lifecycle.md §4): the decision's `by` names it."""
    q = register(ctx)
    at(ctx, clock, date(2026, 1, 1))
    revoke(people["province"], {"business_key": q.number})
    with ctx.reading() as session:
        decision = session.scalars(
            select(HistoryEvent)
            .where(
                HistoryEvent.instance_id == q.lifecycle_instance_id,
                HistoryEvent.kind == "handler.decision",
            )
            .order_by(HistoryEvent.seq.desc())
        ).first()
    assert decision.data["operator"] == "lifecycle.revoke"
    assert decision.data["inputs"]["by"] == "prov"
    assert decision.data["outputs"]["qualification_change"]["by"] == "prov"


def test_an_update_made_before_a_withdrawal_is_not_asked_again(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx)  # 2025-09-01 .. 2028-08-31
    ent = people["ent"]
    at(ctx, clock, date(2026, 3, 2))
    ent.complete("annual_update", UPDATE, q.lifecycle_instance_id)  # the 2026 update, done
    at(ctx, clock, date(2026, 3, 10))
    withdraw(people["province"], q.number)
    assert qualification(ctx, q.number).status == "renewal_ineligible"
    assert not has_task(ent, WITHDRAWN_UPDATE)  # 2026 is done: nothing to do until 2027
    at(ctx, clock, date(2026, 5, 1), hour=1)
    assert qualification(ctx, q.number).info_updated_on == date(2026, 3, 2)
    assert task_states(ctx, q.lifecycle_instance_id, WITHDRAWN_UPDATE) == []
    at(ctx, clock, date(2027, 1, 1))
    assert ent.task(WITHDRAWN_UPDATE, q.lifecycle_instance_id)["due_at"] == (
        "2027-05-01T00:00:00+08:00"
    )


@pytest.mark.parametrize("decision", ["revoke", "keep"])
def test_a_little_giant_revocation_still_open_when_the_renewal_ends_applies_to_the_next_period(  # type: ignore[no-untyped-def]
    ctx, clock, people, decision
) -> None:
    q = register(ctx, tier="little_giant", issued_on=date(2022, 10, 15))  # renewal open
    revoke(people["province"], {"business_key": q.number}, reason="查实数据造假")
    miit = people["miit"]
    assert has_task(miit, "miit_revocation_review")
    renew_little_giant(people)  # MIIT renews before deciding on the revocation
    renewed = qualification(ctx, q.number)
    assert (renewed.status, renewed.expires_on) == ("active", date(2028, 10, 14))
    miit.complete("miit_revocation_review", {"decision": decision, "reason": "经核实"})
    final, row = qualification(ctx, q.number), lifecycle_of(ctx, q)
    if decision == "keep":
        assert (final.status, row.status) == ("active", "running")
        assert not has_task(miit, "miit_revocation_review")
        return
    assert (final.status, final.status_changed_by) == ("revoked", "miit")
    assert final.status_reason == "查实数据造假；工业和信息化部决定撤销：经核实"
    assert (row.status, row.outcome) == ("completed", "revoked")
    assert not has_task(miit, "miit_revocation_review")
