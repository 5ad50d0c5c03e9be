"""Where a case stands in its diagram: elements completed, elements active, waiting timers.

Read from the stored SpiffWorkflow state as plain JSON (no workflow is deserialized), for the
auditor's case page that colours the path taken and the current position.
"""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import access
from engine.context import Actor, EngineContext
from engine.errors import NotFound
from engine.store import HumanTask, Instance, MessageSubscription, Timer

COMPLETED = 64  # SpiffWorkflow TaskState values, as serialized
ACTIVE = {8, 16, 32, 128}  # WAITING, READY, STARTED, ERROR


def _walk(workflow: dict[str, Any], completed: set[str], active: set[str]) -> None:
    for task in (workflow.get("tasks") or {}).values():
        name = str(task.get("task_spec", ""))
        state = task.get("state")
        if state == COMPLETED:
            completed.add(name)
        elif state in ACTIVE:
            active.add(name)


def element_states(state_json: str) -> dict[str, list[str]]:
    """Task-spec names (BPMN element ids) completed and active, subprocesses included."""
    state = json.loads(state_json) if state_json else {}
    if "compacted" in state:  # a finished case's compacted state keeps just these (compaction.py)
        return {"completed": state["completed"], "active": state["active"]}
    completed: set[str] = set()
    active: set[str] = set()
    _walk(state, completed, active)
    for sub in (state.get("subprocesses") or {}).values():
        _walk(sub, completed, active)
    # a boundary-event parent is named "<task>.BoundaryEventParent"; report the task itself
    clean = {n.split(".")[0] for n in completed}
    return {"completed": sorted(clean), "active": sorted({n.split(".")[0] for n in active})}


def position(ctx: EngineContext, actor: Actor, instance_id: str) -> dict[str, Any]:
    """The case's path so far and where it waits now (open tasks, timers, messages)."""
    with ctx.transaction() as session:
        row = session.get(Instance, str(instance_id))
        if row is None or not access.can_see_instance(actor, row):
            raise NotFound("案件不存在")
        states = element_states(row.state_json)
        tasks = session.scalars(
            select(HumanTask.bpmn_id).where(
                HumanTask.instance_id == row.id, HumanTask.state == "open"
            )
        ).all()
        timers = session.scalars(
            select(Timer).where(Timer.instance_id == row.id).order_by(Timer.due_at)
        ).all()
        messages = session.scalars(
            select(MessageSubscription).where(MessageSubscription.instance_id == row.id)
        ).all()
        zone = ZoneInfo(ctx.settings.timezone)
        return {
            "instance_id": row.id,
            "definition_version": row.definition_version,
            "status": row.status,
            "completed": states["completed"],
            "active": states["active"],
            "open_tasks": sorted(set(tasks)),
            "timers": [
                {"bpmn_id": t.bpmn_id, "due_at": t.due_at.astimezone(zone).isoformat()}
                for t in timers
            ],
            "messages": [{"bpmn_id": m.bpmn_id, "name": m.name} for m in messages],
        }
