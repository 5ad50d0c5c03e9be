"""A reminder whose deadline has passed when its timer fires (a scheduler catching up) is not
sent; the history keeps the skipped send and why. `notify.send` reads the engine clock's `now`,
injected by the engine and recorded with the decision."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine import instances, registry
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.store import HistoryEvent, Notification
from handlers import notify
from tests import factories as f
from tests.processes.test_qualification_lifecycle import (  # noqa: F401 - people: the fixture
    at,
    people,
    register,
)

OWNER = Actor(id="owner", role="process_owner")
SKIPPED = {"sent": False, "reason": "提醒时已过截止时间"}


def decisions(ctx: EngineContext, instance_id: str, bpmn_id: str) -> list[HistoryEvent]:
    with ctx.reading() as session:
        return list(
            session.scalars(
                select(HistoryEvent)
                .where(
                    HistoryEvent.stream == f"instance:{instance_id}",
                    HistoryEvent.kind == "handler.decision",
                    HistoryEvent.bpmn_id == bpmn_id,
                )
                .order_by(HistoryEvent.seq)
            )
        )


def notifications(ctx: EngineContext, instance_id: str) -> list[Notification]:
    """The case's reminders (its outcome notices, e.g. a lapse, are not what these tests count)."""
    with ctx.reading() as session:
        return list(
            session.scalars(
                select(Notification).where(
                    Notification.instance_id == instance_id, Notification.kind == "reminder"
                )
            )
        )


def test_a_scheduler_catching_up_after_the_deadline_skips_the_update_reminder(
    ctx: EngineContext,
    clock: SimulatedClock,
    people: Any,  # noqa: F811
) -> None:
    q = register(ctx)
    at(ctx, clock, date(2026, 1, 2))
    at(ctx, clock, date(2026, 4, 10))
    at(ctx, clock, date(2026, 5, 3))  # down from 04-10: reminder (04-17) and deadline both due
    iid = q.lifecycle_instance_id
    assert notifications(ctx, iid) == []  # before: "请在 2026-04-30 24:00 前…" on 05-03
    (decision,) = decisions(ctx, iid, "send_update_reminder")
    assert {k: decision.data["outputs"][k] for k in SKIPPED} == SKIPPED
    assert decision.data["outputs"]["due_at"] == "2026-05-01T00:00:00+08:00"
    assert decision.data["inputs"]["now"] == "2026-05-03T09:00:01+08:00"


def test_a_reminder_fired_on_time_is_sent_with_the_engine_time_recorded(
    ctx: EngineContext,
    clock: SimulatedClock,
    people: Any,  # noqa: F811
) -> None:
    q = register(ctx)
    at(ctx, clock, date(2026, 1, 2))
    at(ctx, clock, date(2026, 4, 17))
    iid = q.lifecycle_instance_id
    (sent,) = notifications(ctx, iid)
    assert (sent.kind, sent.title) == ("reminder", "请按时更新企业信息")
    (decision,) = decisions(ctx, iid, "send_update_reminder")
    assert decision.data["inputs"]["now"] == "2026-04-17T09:00:01+08:00"
    assert "notification" in decision.data["outputs"]


def test_a_p1_correction_reminder_fired_after_its_deadline_is_skipped(
    ctx: EngineContext, clock: SimulatedClock, p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    p1["city"].complete(
        "city_review",
        {"decision": "return", "reason": "材料不全", "correction_days": 5},
        instance_id,
    )
    assert notifications(ctx, instance_id) == []  # the reminder is due later
    clock.advance(timedelta(days=10))  # the scheduler was down past the correction deadline
    instances.fire_due(ctx)
    assert notifications(ctx, instance_id) == []
    (decision,) = decisions(ctx, instance_id, "send_correction_reminder")
    assert {k: decision.data["outputs"][k] for k in SKIPPED} == SKIPPED


NOW = "2026-05-01T00:00:10+08:00"


@pytest.mark.parametrize(
    ("due_at", "now", "sent"),
    [
        ("2026-05-01T00:00:00+08:00", "2026-04-30T23:59:59+08:00", True),
        ("2026-05-01T00:00:00+08:00", "2026-05-01T00:00:00+08:00", False),
        ("2026-04-30T16:00:00+00:00", NOW, False),  # another zone, the same instant
        ("2026-05-01T00:00:00", NOW, False),  # no zone: read in the engine's
        ("2026-05-01T00:00:20", NOW, True),
        (None, NOW, True),
    ],
)
def test_notify_send_skips_only_reminders_whose_deadline_passed(
    due_at: str | None, now: str, sent: bool
) -> None:
    result = notify.send(to="enterprise", title="请按时更新", due_at=due_at, now=now)
    assert ("notification" in result) is sent
    assert result.get("sent", True) is sent
    op = registry.get("notify.send")
    assert op.uses_now
    assert op.writes_record(result) is sent
    assert "now" not in op.parameters()  # the engine fills it in, not the diagram


def test_notify_send_still_sends_other_kinds_after_their_date() -> None:
    later = "2026-05-03T00:00:00+08:00"
    for kind in ("deadline", "outcome", "info"):
        result = notify.send(
            to="enterprise", title="t", kind=kind, due_at="2026-05-01T00:00:00", now=later
        )
        assert result["notification"]["kind"] == kind
