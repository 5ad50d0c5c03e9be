"""P4 qualification lifecycle: renewal standing (第四条、第十二条), MIIT revocation decisions that
the end of the case closes, reviewers' deadlines (第九条) and the audit trail of a renewal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from engine.context import EngineContext
from engine.store import HistoryEvent, HumanTask, Instance, Notification, Qualification
from tests import factories as f
from tests.processes.test_qualification_lifecycle import (
    REGION,
    at,
    has_task,
    lifecycle_of,
    people,  # noqa: F401 - the fixture
    qualification,
    register,
    renew_little_giant,
    renew_specialized,
    revoke,
    task_states,
)

USCC = f.uscc(REGION, 1)  # the enterprise `register` issues to
RENEWAL_CLOSES = "2025-10-15T00:00:00+08:00"  # issued 2022-10-15: valid through 2025-10-14


def decisions(ctx: EngineContext, instance_id: str, operator: str) -> list[dict[str, Any]]:
    with ctx.reading() as session:
        rows = session.scalars(
            select(HistoryEvent)
            .where(
                HistoryEvent.stream == f"instance:{instance_id}",
                HistoryEvent.kind == "handler.decision",
            )
            .order_by(HistoryEvent.seq)
        )
        return [r.data for r in rows if r.data["operator"] == operator]


def kinds(ctx: EngineContext, instance_id: str) -> list[tuple[str, dict[str, Any]]]:
    with ctx.reading() as session:
        rows = session.scalars(
            select(HistoryEvent)
            .where(HistoryEvent.stream == f"instance:{instance_id}")
            .order_by(HistoryEvent.seq)
        )
        return [(r.kind, r.data) for r in rows]


# -- 第四条、第十二条 at renewal -------------------------------------------------------------


REVIEW_TASKS = {
    "innovative": ("ent", "renewal_self_evaluation"),
    "specialized": ("province", "province_renewal_review"),
    "little_giant": ("miit", "miit_renewal_review"),
}


@pytest.mark.parametrize("tier", ["innovative", "specialized", "little_giant"])
def test_a_ban_in_force_when_the_renewal_opens_refuses_the_renewal_of_every_tier(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
    tier,
) -> None:
    f.record_ban(ctx, uscc_code=USCC, starts_on=date(2025, 8, 1), reason="偷漏税")
    q = register(ctx, tier=tier, issued_on=date(2022, 10, 15))  # the renewal opens at once
    who, task = REVIEW_TASKS[tier]
    assert not has_task(people[who], task)
    standing = decisions(ctx, q.lifecycle_instance_id, "lifecycle.renewal_standing")[0]
    assert standing["inputs"]["facts"]["ban_until"] == "2028-08-01"
    assert (standing["outputs"]["ok"], standing["outputs"]["banned"]) == (False, True)
    assert qualification(ctx, q.number).status == "active"  # valid through its last day
    at(ctx, clock, date(2025, 10, 15), hour=0)
    expired = qualification(ctx, q.number)
    assert expired.status == "expired"
    assert "禁止申报期（2028-08-01 前不得申报，第十二条）：偷漏税" in expired.status_reason
    assert (lifecycle_of(ctx, q).status, lifecycle_of(ctx, q).outcome) == ("completed", "expired")


def test_a_ban_recorded_during_the_review_stops_the_extension(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = register(ctx, tier="specialized", issued_on=date(2022, 10, 15))
    assert has_task(people["province"], "province_renewal_review")
    f.record_ban(ctx, uscc_code=USCC, starts_on=date(2025, 9, 1), reason="数据造假")
    renew_specialized(people)  # the province approves, not knowing of the ban
    kept = qualification(ctx, q.number)
    assert (kept.status, kept.expires_on) == ("active", date(2025, 10, 14))  # not extended
    recheck = decisions(ctx, q.lifecycle_instance_id, "lifecycle.renewal_standing")[-1]
    assert recheck["outputs"]["ok"] is False
    at(ctx, clock, date(2025, 10, 15), hour=0)
    expired = qualification(ctx, q.number)
    assert expired.status == "expired"
    assert "延期前核验不符合条件" in expired.status_reason
    assert "数据造假" in expired.status_reason


def test_the_innovative_self_evaluation_fails_on_a_ban_recorded_after_the_opening(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = register(ctx, tier="innovative", issued_on=date(2022, 10, 15))
    ent = people["ent"]
    f.record_ban(ctx, uscc_code=USCC, starts_on=date(2025, 9, 1))
    ent.complete("renewal_self_evaluation", f.self_evaluation([ent.upload()["id"]]))
    check = decisions(ctx, q.lifecycle_instance_id, "eligibility.check")[-1]["outputs"]
    assert check["eligible"] is False
    assert [c["code"] for c in check["failed"]] == ["elig_ban"]
    assert not has_task(people["city"], "city_renewal_review")


def test_a_move_out_of_jiangxi_fails_the_renewal_standing() -> None:
    from handlers.lifecycle import renewal_standing

    facts = {"ban_until": None, "region": "000000"}
    result = renewal_standing(uscc=USCC, evaluated_on="2025-09-01", facts=facts)
    assert result["ok"] is False
    assert [x["code"] for x in result["failed"]] == ["elig_jiangxi"]
    moved_within = {"ban_until": "2025-09-01", "region": "360700"}  # the ban ended that day
    assert renewal_standing(uscc=USCC, evaluated_on="2025-09-01", facts=moved_within)["ok"]


# -- MIIT's revocation decisions and the end of the case ---------------------------------------


def test_the_miit_revocation_decision_is_due_after_the_set_number_of_days(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = register(ctx, tier="little_giant")
    revoke(people["province"], {"business_key": q.number})
    task = people["miit"].task("miit_revocation_review", q.lifecycle_instance_id)
    due = ctx.today() + timedelta(days=61)  # 60 days (流程参数 miit_revocation_days), 24:00
    assert task["due_at"] == f"{due.isoformat()}T00:00:00+08:00"


def test_the_end_of_validity_closes_an_open_miit_revocation_decision(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = register(ctx, tier="little_giant", issued_on=date(2022, 10, 15))
    miit = people["miit"]
    miit.complete("miit_renewal_review", {"decision": "reject", "reason": "不再符合认定标准"})
    revoke(people["province"], {"business_key": q.number}, reason="发生重大安全事故")
    assert has_task(miit, "miit_revocation_review")
    at(ctx, clock, date(2025, 10, 15), hour=0)
    expired, row = qualification(ctx, q.number), lifecycle_of(ctx, q)
    assert expired.status == "expired"
    assert "复核未通过" in expired.status_reason
    assert (row.status, row.outcome) == ("completed", "expired")
    assert not has_task(miit, "miit_revocation_review")  # no dead task left to MIIT
    assert task_states(ctx, q.lifecycle_instance_id, "miit_revocation_review") == ["cancelled"]
    with ctx.reading() as session:
        note = session.scalars(
            select(Notification).where(Notification.title.contains("撤销请求已关闭"))
        ).one()
    assert "资格已于 2025-10-14 有效期届满失效" in note.body
    assert "发生重大安全事故" in note.body


def test_once_a_revocation_is_carried_out_the_other_open_decisions_close(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = register(ctx, tier="little_giant")
    for reason in ("偷漏税", "数据造假"):
        revoke(people["province"], {"business_key": q.number}, reason=reason)
    miit = people["miit"]
    open_tasks = [t for t in miit.inbox(per_page=200) if t["bpmn_id"] == "miit_revocation_review"]
    assert len(open_tasks) == 2  # each request is MIIT's own decision
    response = miit.post(
        f"/api/v1/tasks/{open_tasks[0]['id']}/complete",
        json={"data": {"decision": "revoke", "reason": "经核实"}},
    )
    assert response.status_code == 200, response.json
    revoked, row = qualification(ctx, q.number), lifecycle_of(ctx, q)
    assert revoked.status == "revoked"
    assert (row.status, row.outcome) == ("completed", "revoked")
    assert not has_task(miit, "miit_revocation_review")
    assert sorted(task_states(ctx, q.lifecycle_instance_id, "miit_revocation_review")) == [
        "cancelled",
        "completed",
    ]


# -- 第九条: reviewers' deadlines --------------------------------------------------------------


def test_renewal_reviews_and_spot_checks_are_due_when_the_renewal_closes(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    register(ctx, tier="innovative", issued_on=date(2022, 10, 15))
    register(ctx, tier="little_giant", issued_on=date(2022, 10, 15), serial=2)
    ent, city, province, miit = (people[k] for k in ("ent", "city", "province", "miit"))
    ent.complete("renewal_self_evaluation", f.self_evaluation([ent.upload()["id"]]))
    assert city.task("city_renewal_review")["due_at"] == RENEWAL_CLOSES
    city.complete("city_renewal_review", {"decision": "approve", "flag_for_spot_check": True})
    assert city.task("city_renewal_spot_check")["due_at"] == RENEWAL_CLOSES
    city.complete("city_renewal_spot_check", {"result": "pass", "findings": "现场核查属实"})
    assert province.task("province_renewal_review")["due_at"] == RENEWAL_CLOSES
    province.complete(
        "province_renewal_review", {"decision": "approve", "flag_for_spot_check": True}
    )
    assert province.task("province_renewal_spot_check")["due_at"] == RENEWAL_CLOSES
    assert miit.task("miit_renewal_review")["due_at"] == RENEWAL_CLOSES
    miit.complete("miit_renewal_review", {"decision": "approve", "flag_for_spot_check": True})
    assert miit.task("miit_renewal_spot_check")["due_at"] == RENEWAL_CLOSES


# -- the audit trail of a renewal ---------------------------------------------------------------


def test_the_next_period_is_recorded_after_the_extension_that_caused_it(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = register(ctx, tier="little_giant", issued_on=date(2022, 10, 15))
    renew_little_giant(people)
    events = kinds(ctx, q.lifecycle_instance_id)
    extended = next(
        i
        for i, (kind, data) in enumerate(events)
        if kind == "qualification.changed" and "延长至 2028-10-14" in (data["reason"] or "")
    )
    continued = next(i for i, (kind, _) in enumerate(events) if kind == "instance.continued")
    assert extended < continued
    assert events[continued][1]["start_data"]["expires_on"] == "2028-10-14"


def test_the_next_period_starts_in_the_region_the_enterprise_moved_to(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = register(ctx, tier="specialized", issued_on=date(2022, 10, 15))
    with ctx.transaction() as session:  # a relocation within Jiangxi (P5, 第十一条): 赣州
        session.execute(
            update(Qualification).where(Qualification.id == q.id).values(region="360700")
        )
        session.execute(
            update(Instance).where(Instance.id == q.lifecycle_instance_id).values(region="360700")
        )
    renew_specialized(people)
    started = [d for k, d in kinds(ctx, q.lifecycle_instance_id) if k == "instance.continued"]
    assert started[0]["start_data"]["region"] == "360700"
    at(ctx, clock, date(2026, 1, 2))  # the new period's first annual update
    with ctx.reading() as session:
        task = session.scalars(
            select(HumanTask).where(
                HumanTask.instance_id == q.lifecycle_instance_id, HumanTask.state == "open"
            )
        ).one()
    assert (task.bpmn_id, task.region) == ("annual_update", "360700")
