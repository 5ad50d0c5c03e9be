"""A task cannot be completed after its deadline, even before the scheduler fired the deadline:
completing a task first fires the case's timers already due (in the same command), and a task
they ended is refused with 409 `deadline-passed`, the firing kept, no incident raised."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine import definitions, history
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.store import HumanTask, Incident, Instance, Notification, Qualification
from tests import factories as f
from tests.engine.test_history_completeness import case_events, story
from tests.processes.test_qualification_lifecycle import UPDATE, at, register

ZONE = ZoneInfo("Asia/Shanghai")
OWNER = Actor(id="owner", role="process_owner")


def incidents(ctx: EngineContext) -> int:
    with ctx.reading() as session:
        return session.scalar(select(func.count()).select_from(Incident)) or 0


def lifecycle(ctx: EngineContext, client: Any) -> tuple[f.Api, Qualification]:
    """An enterprise with a qualification issued 2025-09-01 whose 2026 update task is open
    (due 30 April 24:00); the scheduler last ran on 2 January."""
    definitions.deploy(ctx, files=f.process_files(bpmn="qualification_lifecycle.bpmn"), actor=OWNER)
    ent = f.enterprise(ctx, client, 1, region="360100", name="洪城精密机械有限公司")
    return ent, register(ctx)


def complete(user: f.Api, bpmn_id: str, data: dict[str, Any], instance_id: str) -> Any:
    task = user.task(bpmn_id, instance_id)
    return user.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})


def test_an_annual_update_10_s_after_its_deadline_is_refused_and_the_deadline_fires(
    ctx: EngineContext, clock: SimulatedClock, client: Any
) -> None:
    ent, q = lifecycle(ctx, client)
    at(ctx, clock, date(2026, 1, 2))
    iid = q.lifecycle_instance_id
    clock.set(datetime(2026, 5, 1, 0, 0, 10, tzinfo=ZONE))  # the scheduler has not ticked yet
    response = complete(ent, "annual_update", UPDATE, iid)
    assert response.status_code == 409, response.json
    assert response.json["type"].endswith("/task-not-open")
    assert response.json["rule"] == "deadline-passed"
    assert response.json["detail"] == "办理期限已过（截止 2026-04-30 24:00），该任务已不可办理"
    assert response.json["due_at"] == "2026-05-01T00:00:00+08:00"
    assert incidents(ctx) == 0  # before: record_update failed, 500 and an incident
    events = case_events(ctx, iid)
    kinds = story(events)
    assert ("task.completed", "annual_update") not in kinds
    deadline = kinds.index(("timer.fired", "period/update_deadline_missed"))
    cancelled = kinds.index(("task.cancelled", "annual_update"))
    assert deadline < cancelled < kinds.index(("handler.decision", "lose_eligibility"))
    assert events[deadline].data["lateness_s"] == 10.0
    assert events[deadline].data["before_completion_of"] == events[cancelled].task_id
    assert events[deadline].actor == "engine"
    with ctx.reading() as session:
        row = session.get(HumanTask, events[cancelled].task_id)
        assert row.state == "cancelled"
        qualification = session.get(Qualification, q.id)
        assert qualification.status == "renewal_ineligible"
        assert qualification.info_updated_on is None
    at(ctx, clock, date(2026, 5, 1), hour=9)  # the scheduler finds nothing left to fire
    assert story(case_events(ctx, iid)) == kinds
    assert incidents(ctx) == 0
    assert history.verify_all(ctx) == []


def test_a_p1_correction_5_minutes_late_is_refused_and_the_application_lapses(
    ctx: EngineContext, clock: SimulatedClock, p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    p1["city"].complete(
        "city_review",
        {"decision": "return", "reason": "材料不全", "correction_days": 3},
        instance_id,
    )
    due = datetime.fromisoformat(p1["ent"].task("correct_application", instance_id)["due_at"])
    clock.set(due + timedelta(minutes=5))
    evidence = p1["ent"].upload()["id"]
    data = f.self_evaluation([evidence])
    response = complete(p1["ent"], "correct_application", data, instance_id)
    assert response.status_code == 409, response.json
    assert response.json["rule"] == "deadline-passed"
    assert "办理期限已过（截止 2025-09-04 24:00）" in response.json["detail"]
    with ctx.reading() as session:
        case = session.get(Instance, instance_id)
        assert (case.status, case.outcome) == ("completed", "lapsed")
    kinds = story(case_events(ctx, instance_id))
    assert ("task.completed", "correct_application") not in kinds
    assert kinds.index(("timer.fired", "correction_window_closed")) < kinds.index(
        ("task.cancelled", "correct_application")
    )
    assert not p1["city"].inbox()  # nothing moved on to the city's review
    assert incidents(ctx) == 0


def test_a_reminder_due_before_an_in_time_completion_fires_first_and_the_task_completes(
    ctx: EngineContext, clock: SimulatedClock, client: Any
) -> None:
    ent, q = lifecycle(ctx, client)
    at(ctx, clock, date(2026, 1, 2))
    iid = q.lifecycle_instance_id
    clock.set(datetime(2026, 4, 20, 10, 0, tzinfo=ZONE))  # reminder due 04-17, not yet fired
    response = complete(ent, "annual_update", UPDATE, iid)
    assert response.status_code == 200, response.json
    kinds = story(case_events(ctx, iid))
    reminder = kinds.index(("timer.fired", "period/update_reminder"))
    completed = kinds.index(("task.completed", "annual_update"))
    assert reminder < completed < kinds.index(("handler.decision", "record_update"))
    assert ("timer.fired", "period/update_deadline_missed") not in kinds
    with ctx.reading() as session:
        assert session.get(Qualification, q.id).info_updated_on == date(2026, 4, 20)
        sent = session.scalars(select(Notification).where(Notification.instance_id == iid)).all()
        assert [n.kind for n in sent] == ["reminder"]  # its deadline had not passed


def test_a_completion_with_no_timer_due_records_no_firing(
    ctx: EngineContext, clock: SimulatedClock, client: Any
) -> None:
    ent, q = lifecycle(ctx, client)
    at(ctx, clock, date(2026, 3, 10))
    iid = q.lifecycle_instance_id
    before = story(case_events(ctx, iid))
    response = complete(ent, "annual_update", UPDATE, iid)
    assert response.status_code == 200, response.json
    added = story(case_events(ctx, iid))[len(before) :]
    assert added[0] == ("task.completed", "annual_update")
    assert all(kind != "timer.fired" for kind, _ in added)
