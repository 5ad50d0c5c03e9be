"""A case's stage shows a deadline (当前环节 …截止), never a timer that only opens something.

While a case waits without a task, its stage is due when the earliest timer that ends the wait
fires: an interrupting boundary timer (有效期届满未完成复核) or one an event-based gateway waits
on (公示期满). A lifecycle waiting for its annual update window to open (年度更新开放) has no
deadline until the update task opens with its own (30 April 24:00).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tests import factories as f
from tests.processes.test_lifecycle_renewal_timing import issue, update
from tests.processes.test_qualification_lifecycle import (
    at,
    people,  # noqa: F401 - the fixture: the lifecycle deployed, its enterprise and staff
    register,
)


def stage(user: f.Api, instance_id: str) -> tuple[Any, Any, Any]:
    found = user.get(f"/api/v1/instances/{instance_id}").json
    return found["stage"], found["stage_name"], found["stage_due_at"]


def test_a_lifecycle_waiting_for_its_update_window_shows_no_deadline_until_the_task_opens(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = register(ctx, issued_on=date(2025, 9, 1))  # first update due 2026-04-30 24:00
    province, case = people["province"], q.lifecycle_instance_id
    # before: "有效期内（2025/12/31 24:00 截止）", the opening of the update window
    assert stage(province, case) == ("period", "有效期内", None)
    at(ctx, clock, date(2026, 1, 1))
    assert stage(province, case) == ("annual_update", "更新企业信息", "2026-05-01T00:00:00+08:00")
    assert people["ent"].task("annual_update", case)["due_at"] == "2026-05-01T00:00:00+08:00"


def test_a_lifecycle_waiting_for_its_renewal_shows_the_end_of_the_renewal(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = issue(ctx, clock, date(2026, 7, 15))  # valid through 2029-07-14
    ent, case = people["ent"], q.lifecycle_instance_id
    update(ctx, clock, ent, case, 2027)
    update(ctx, clock, ent, case, 2028)  # no 30 April left before the renewal opens
    # waiting for the renewal (2029-04-16) and its 30 April update (opening 2029-01-01): due
    # when the renewal must be done, the end of validity (not when either opens)
    found = stage(people["province"], case)
    assert found == ("period", "有效期内", "2029-07-15T00:00:00+08:00"), found


def test_a_case_in_its_notice_is_due_when_the_notice_ends(ctx, client) -> None:  # type: ignore[no-untyped-def]
    # the event-based gateway 公示中 waits on 公示期满 (or an objection): that is its deadline
    p1 = f.p1_cast(ctx, client, files=f.process_files())
    case = f.apply(p1["ent"], f.open_round(p1["province"], opens_on=date(2025, 9, 1))["id"])
    p1["city"].complete("city_review", {"decision": "approve", "flag_for_spot_check": False}, case)
    f.pass_spot_check_if_drawn(p1["city"], "city_spot_check", case)
    [period] = [
        e
        for e in p1["auditor"].get(f"/api/v1/instances/{case}/history").json
        if e["kind"] == "handler.decision" and e["bpmn_id"] == "city_notice_period"
    ]
    ends_at = period["data"]["outputs"]["ends_at"]
    assert stage(p1["province"], case) == ("city_notice_wait", "市级公示中", ends_at)
