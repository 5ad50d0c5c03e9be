"""P4 lifecycle: the renewal opens on its own day (第九条) whatever the annual update (第十条) does.

A 30 April deadline between the renewal opening (`renewal_lead_days` before the end of validity)
and the end of validity is asked in parallel with the renewal: done → the renewal's outcome
applies (an approval extends once the update is recorded); missed → renewal eligibility is
withdrawn (第十条), the open renewal ends as not renewed and the qualification lapses at its end.
"""

from __future__ import annotations

from datetime import date

import pytest

from engine.context import EngineContext
from tests import factories as f
from tests.processes.test_qualification_lifecycle import (
    UPDATE,
    at,
    has_task,
    lifecycle_of,
    people,  # noqa: F401 - the fixture: the lifecycle deployed, its enterprise and staff
    qualification,
    register,
    status_history,
    task_states,
    withdraw,
)

WINDOW_UPDATE = "window_annual_update"  # the 30 April update asked during the renewal


def issue(ctx, clock, issued_on: date, tier: str = "specialized"):  # type: ignore[no-untyped-def]
    at(ctx, clock, issued_on)
    return register(ctx, tier=tier, issued_on=issued_on)


def update(ctx, clock, ent: f.Api, instance_id: str, year: int, bpmn_id: str = "annual_update"):  # type: ignore[no-untyped-def]
    at(ctx, clock, date(year, 3, 10))
    task = ent.task(bpmn_id, instance_id)
    assert task["due_at"] == f"{year}-05-01T00:00:00+08:00"
    ent.complete(bpmn_id, UPDATE, instance_id)


def approve(province: f.Api) -> None:
    province.complete("province_renewal_review", {"decision": "approve"})
    if has_task(province, "province_renewal_spot_check"):
        province.complete("province_renewal_spot_check", {"result": "pass", "findings": "属实"})


def test_renewal_opens_90_days_before_a_july_expiry_while_that_years_update_is_open(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = issue(ctx, clock, date(2026, 7, 15))  # valid through 2029-07-14
    assert q.expires_on == date(2029, 7, 14)
    ent, province = people["ent"], people["province"]
    case = q.lifecycle_instance_id
    update(ctx, clock, ent, case, 2027)
    update(ctx, clock, ent, case, 2028)
    at(ctx, clock, date(2029, 1, 2))
    task = ent.task(WINDOW_UPDATE, case)
    assert (task["name"], task["due_at"]) == (
        "更新企业信息（复核期间）",
        "2029-05-01T00:00:00+08:00",
    )
    at(ctx, clock, date(2029, 4, 15), hour=23)
    assert not has_task(province, "province_renewal_review")
    at(ctx, clock, date(2029, 4, 16), hour=0)  # 90 days before 14 July 24:00
    assert has_task(province, "province_renewal_review")
    assert has_task(ent, WINDOW_UPDATE)  # not waited for
    approve(province)
    assert qualification(ctx, q.number).expires_on == date(2029, 7, 14)  # waits for the update
    at(ctx, clock, date(2029, 4, 27))
    ent.complete(WINDOW_UPDATE, UPDATE, case)
    renewed = qualification(ctx, q.number)
    assert (renewed.status, renewed.expires_on) == ("active", date(2032, 7, 14))
    assert renewed.info_updated_on == date(2029, 4, 27)
    assert lifecycle_of(ctx, q).status == "running"
    # the new period's first update is the next 30 April (2029's was made)
    at(ctx, clock, date(2029, 12, 31))
    assert not has_task(ent, "annual_update")
    at(ctx, clock, date(2030, 1, 1))
    assert ent.task("annual_update", case)["due_at"] == "2030-05-01T00:00:00+08:00"


def test_renewal_of_a_1_may_expiry_opens_on_1_february_with_the_30_april_update_in_parallel(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = issue(ctx, clock, date(2026, 5, 2), tier="innovative")  # valid through 2029-05-01
    ent = people["ent"]
    case = q.lifecycle_instance_id
    update(ctx, clock, ent, case, 2027)
    update(ctx, clock, ent, case, 2028)
    at(ctx, clock, date(2029, 1, 31), hour=23)
    assert not has_task(ent, "renewal_self_evaluation")
    assert ent.task(WINDOW_UPDATE, case)["due_at"] == "2029-05-01T00:00:00+08:00"
    at(ctx, clock, date(2029, 2, 1), hour=0)  # 90 days before 1 May 24:00
    assert ent.task("renewal_self_evaluation", case)["due_at"] == "2029-05-02T00:00:00+08:00"
    assert has_task(ent, WINDOW_UPDATE)
    at(ctx, clock, date(2029, 4, 17), hour=0)  # the update's reminder, 14 days before
    notes = ent.get("/api/v1/notifications").json["items"]
    # newest first: the reminder, then the opening of the renewal (第九条)
    assert [n["title"] for n in notes] == ["请按时更新企业信息", "资格复核已开启"]
    assert "2029-04-30" in notes[0]["body"]


@pytest.mark.parametrize("approved_first", [False, True])
def test_a_missed_update_during_the_renewal_ends_it_not_renewed_and_the_qualification_lapses(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
    approved_first,
) -> None:
    q = issue(ctx, clock, date(2026, 5, 2))  # valid through 2029-05-01
    ent, province = people["ent"], people["province"]
    case = q.lifecycle_instance_id
    update(ctx, clock, ent, case, 2027)
    update(ctx, clock, ent, case, 2028)
    at(ctx, clock, date(2029, 2, 1))
    if approved_first:  # the approval only takes effect with the update
        approve(province)
        assert qualification(ctx, q.number).expires_on == date(2029, 5, 1)
    else:
        assert has_task(province, "province_renewal_review")
    at(ctx, clock, date(2029, 4, 30), hour=23)
    assert qualification(ctx, q.number).renewal_eligible
    at(ctx, clock, date(2029, 5, 1), hour=0)  # 30 April 24:00 has passed
    lost = qualification(ctx, q.number)
    assert (lost.status, lost.renewal_eligible, lost.expires_on) == (
        "renewal_ineligible",
        False,
        date(2029, 5, 1),
    )
    assert lost.status_reason == "未在 2029-04-30 前更新企业信息，取消复核资格（第十条）"
    assert not has_task(province, "province_renewal_review")
    assert not has_task(ent, WINDOW_UPDATE)
    assert task_states(ctx, case, WINDOW_UPDATE) == ["cancelled"]
    if not approved_first:
        assert task_states(ctx, case, "province_renewal_review") == ["cancelled"]
    at(ctx, clock, date(2029, 5, 1), hour=23)
    assert qualification(ctx, q.number).status == "renewal_ineligible"  # valid through its last day
    at(ctx, clock, date(2029, 5, 2), hour=0)
    expired = qualification(ctx, q.number)
    assert expired.status == "expired"
    assert "已取消复核资格（第十条）" in expired.status_reason
    row = lifecycle_of(ctx, q)
    assert (row.status, row.outcome) == ("completed", "expired")
    assert [h["to"] for h in status_history(ctx, case)][-2:] == ["renewal_ineligible", "expired"]


def test_an_update_done_before_the_renewal_opens_then_an_approval_extends(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = issue(ctx, clock, date(2026, 5, 2))  # valid through 2029-05-01
    ent, province = people["ent"], people["province"]
    case = q.lifecycle_instance_id
    for year in (2027, 2028):
        update(ctx, clock, ent, case, year)
    at(ctx, clock, date(2029, 1, 20))
    ent.complete(WINDOW_UPDATE, UPDATE, case)  # before the renewal opens on 1 February
    assert not has_task(province, "province_renewal_review")
    at(ctx, clock, date(2029, 2, 1), hour=0)
    approve(province)
    renewed = qualification(ctx, q.number)
    assert (renewed.status, renewed.expires_on, renewed.info_updated_on) == (
        "active",
        date(2032, 5, 1),
        date(2029, 1, 20),
    )
    at(ctx, clock, date(2030, 1, 1))  # the new period: next 30 April, no repeat of 2029
    assert ent.task("annual_update", case)["due_at"] == "2030-05-01T00:00:00+08:00"


def test_a_withdrawal_during_the_renewal_still_ends_it_with_the_update_asked_again(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = issue(ctx, clock, date(2026, 5, 2))
    ent, province = people["ent"], people["province"]
    case = q.lifecycle_instance_id
    for year in (2027, 2028):
        update(ctx, clock, ent, case, year)
    at(ctx, clock, date(2029, 2, 5))
    assert has_task(province, "province_renewal_review")
    withdraw(province, q.number)
    assert not has_task(province, "province_renewal_review")
    assert not has_task(ent, WINDOW_UPDATE)
    assert ent.task("withdrawn_annual_update", case)["due_at"] == "2029-05-01T00:00:00+08:00"


def test_a_withdrawal_after_the_update_made_during_the_renewal_does_not_ask_it_again(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = issue(ctx, clock, date(2026, 5, 2))  # valid through 2029-05-01; renewal opens 1 Feb
    ent, province = people["ent"], people["province"]
    case = q.lifecycle_instance_id
    for year in (2027, 2028):
        update(ctx, clock, ent, case, year)
    update(ctx, clock, ent, case, 2029, WINDOW_UPDATE)  # made within the renewal
    at(ctx, clock, date(2029, 3, 20))
    withdraw(province, q.number)
    assert not has_task(province, "province_renewal_review")
    assert not has_task(ent, "withdrawn_annual_update")  # 2029's was made on 10 March
    at(ctx, clock, date(2029, 5, 2), hour=0)
    expired = qualification(ctx, q.number)
    assert (expired.status, expired.info_updated_on) == ("expired", date(2029, 3, 10))
    assert task_states(ctx, case, "withdrawn_annual_update") == []


@pytest.mark.parametrize("withdrawn", [False, True])
def test_issued_31_march_first_updates_on_30_april_exactly_30_days_later(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
    withdrawn,
) -> None:
    q = issue(ctx, clock, date(2026, 3, 31), tier="innovative")
    bpmn_id = "annual_update"
    if withdrawn:
        withdraw(people["province"], q.number)
        bpmn_id = "withdrawn_annual_update"
    task = people["ent"].task(bpmn_id, q.lifecycle_instance_id)
    assert task["due_at"] == "2026-05-01T00:00:00+08:00"


def test_a_qualification_without_renewal_eligibility_keeps_its_updates_until_expiry(  # type: ignore[no-untyped-def]
    ctx: EngineContext,
    clock,
    people,  # noqa: F811
) -> None:
    q = issue(ctx, clock, date(2026, 7, 15))  # valid through 2029-07-14
    ent, province = people["ent"], people["province"]
    case = q.lifecycle_instance_id
    at(ctx, clock, date(2027, 5, 1), hour=0)  # 2027 missed: no renewal eligibility
    assert not qualification(ctx, q.number).renewal_eligible
    update(ctx, clock, ent, case, 2028)
    update(ctx, clock, ent, case, 2029)  # the loop's own task, no renewal
    at(ctx, clock, date(2029, 4, 16), hour=1)
    assert not has_task(province, "province_renewal_review")
    assert not has_task(ent, WINDOW_UPDATE)
    at(ctx, clock, date(2029, 7, 15), hour=0)
    assert qualification(ctx, q.number).status == "expired"
