"""The history tells a command's whole story: timers that fired inside it, tasks opened and
cancelled within it, in the order things happened, each under the version it ran on, with
local times."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine import definitions, history, instances, migration
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.store import HistoryEvent
from tests import factories as f
from tests.processes.test_qualification_lifecycle import at, register

OWNER = Actor(id="owner", role="process_owner")
P1 = "innovative_evaluation"
RENAMED = {f.P1_BPMN: ('name="市级推荐上报"', 'name="市级推荐上报（新版）"')}


def case_events(ctx: EngineContext, instance_id: str) -> list[HistoryEvent]:
    with ctx.reading() as session:
        return list(
            session.scalars(
                select(HistoryEvent)
                .where(HistoryEvent.stream == f"instance:{instance_id}")
                .order_by(HistoryEvent.seq)
            )
        )


def story(events: list[HistoryEvent]) -> list[tuple[str, str | None]]:
    return [(e.kind, e.bpmn_id) for e in events]


def position(events: list[HistoryEvent], kind: str, bpmn_id: str) -> int:
    (found,) = [i for i, e in enumerate(events) if (e.kind, e.bpmn_id) == (kind, bpmn_id)]
    return found


def test_a_reminder_already_due_when_a_correction_opens_fires_in_the_history(
    ctx: EngineContext, p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    p1["city"].complete(
        "city_review",
        {"decision": "return", "reason": "材料不全", "correction_days": 2},
        instance_id,
    )
    events = case_events(ctx, instance_id)
    assert story(events)[-4:] == [
        ("handler.decision", "correction_deadline"),
        ("task.created", "correct_application"),
        ("timer.fired", "correction_reminder"),
        ("handler.decision", "send_correction_reminder"),
    ]
    fired = events[-2]
    # 2 days before the end of the two-day window (4 September 24:00): already due on 1 Sept.
    assert fired.data["due_at"] == "2025-09-01T00:00:00+08:00"
    assert datetime.fromisoformat(fired.data["fired_at"]) == ctx.now()
    assert fired.data["fired_at"].endswith("+08:00")
    assert events[-3].data["due_at"] == "2025-09-04T00:00:00+08:00"  # the task's, local too
    assert history.verify_all(ctx) == []


def test_a_scheduler_catching_up_records_the_deadline_and_the_task_it_cancelled(
    ctx: EngineContext, clock: SimulatedClock, client: Any
) -> None:
    definitions.deploy(ctx, files=f.process_files(bpmn="qualification_lifecycle.bpmn"), actor=OWNER)
    f.enterprise(ctx, client, 1, region="360100", name="洪城精密机械有限公司")
    q = register(ctx)
    at(ctx, clock, date(2026, 5, 1), hour=0)  # down from September to after 30 April 24:00
    events = case_events(ctx, q.lifecycle_instance_id)
    kinds = story(events)
    fired = [e.bpmn_id for e in events if e.kind == "timer.fired"]
    assert fired == [
        "period/update_window_opens",
        "period/update_reminder",
        "period/update_deadline_missed",
    ]
    created = position(events, "task.created", "annual_update")
    deadline = position(events, "timer.fired", "period/update_deadline_missed")
    cancelled = position(events, "task.cancelled", "annual_update")
    lost = position(events, "handler.decision", "lose_eligibility")
    assert created < deadline < cancelled < lost
    assert kinds[lost + 1] == ("qualification.changed", None)  # the decision's record follows it
    assert events[created].task_id == events[cancelled].task_id
    assert events[created].data["due_at"] == "2026-05-01T00:00:00+08:00"
    assert events[deadline].data["due_at"] == "2026-05-01T00:00:00+08:00"
    opened = events[position(events, "timer.fired", "period/update_window_opens")]
    assert opened.data["due_at"] == "2026-01-01T00:00:00+08:00"  # fired from the timer table
    assert opened.actor == "scheduler"
    assert opened.data["lateness_s"] > 0
    assert history.verify_all(ctx) == []


def test_a_command_s_events_follow_the_order_things_happened_in(
    ctx: EngineContext, p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    city = p1["city"]
    city.complete("city_review", {"decision": "approve", "flag_for_spot_check": True}, instance_id)
    events = case_events(ctx, instance_id)
    review = position(events, "task.created", "city_review")
    for check in ("classify_size", "check_eligibility", "score_innovative"):
        assert position(events, "handler.decision", check) < review
    assert position(events, "handler.decision", "city_draw") < position(
        events, "task.created", "city_spot_check"
    )
    assert story(events)[-2:] == [
        ("handler.decision", "city_draw"),
        ("task.created", "city_spot_check"),
    ]


def test_every_event_of_a_case_names_its_version_and_decisions_keep_theirs_after_migration(
    ctx: EngineContext, clock: SimulatedClock, p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    city, province = p1["city"], p1["province"]
    city.complete("city_review", {"decision": "approve"}, instance_id)
    response = f.post_files(p1["owner"], "/api/v1/definitions", f.process_files(RENAMED))
    assert response.status_code == 201, response.json
    v1 = {e.definition_id for e in case_events(ctx, instance_id)}
    assert len(v1) == 1
    assert None not in v1
    clock.advance(timedelta(hours=1))
    migration.migrate_instance(
        ctx, instance_id=instance_id, from_version=1, to_version=2, actor=OWNER
    )
    if any(t["bpmn_id"] == "city_spot_check" for t in city.inbox()):
        city.complete("city_spot_check", {"result": "pass", "findings": "属实"}, instance_id)
    clock.advance(timedelta(days=10))
    instances.fire_due(ctx)
    city.complete("city_report", {"remarks": "同意推荐"}, instance_id)
    province.complete("province_review", {"decision": "approve"}, instance_id)

    events = case_events(ctx, instance_id)
    assert [e.kind for e in events if e.definition_id is None] == []
    (moved,) = [e for e in events if e.kind == "instance.migrated"]
    (v2,) = {e.definition_id for e in events[events.index(moved) :]}
    assert v2 not in v1
    assert all(t["due_at"].endswith("+08:00") for t in moved.data["timers"])

    body = province.get(f"/api/v1/evaluations/{instance_id}").json
    assert body["definition_version"] == 2  # the case's version now
    made = {d["bpmn_id"]: d["definition_version"] for d in body["decisions"]}
    assert made["score_innovative"] == 1  # made before the migration, on version 1
    assert made["city_draw"] == 1
    assert made["province_draw"] == 2
    assert history.verify_all(ctx) == []
