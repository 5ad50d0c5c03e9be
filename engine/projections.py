"""Projections written with every save: open human tasks, waiting timers, message subscriptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.orm import Session

from engine import writes
from engine.store import Definition, HumanTask, Instance, MessageSubscription, Timer

_READY = TaskState.READY


def _tasks(wf: Any) -> Iterator[Any]:
    """Every task of a case, its sub-processes' included, in creation order. Reading the
    tasks dicts costs a fraction of SpiffWorkflow's tree walk (`get_tasks`), which finds the
    same tasks for the state filters used here (the process tests check both agree)."""
    yield from wf.tasks.values()
    for subprocess in wf.subprocesses.values():
        yield from subprocess.tasks.values()


def ready_user_tasks(wf: Any) -> list[Any]:
    """The READY user (manual) tasks: what `wf.get_tasks(state=READY, manual=True)` finds."""
    return [t for t in _tasks(wf) if t._state == _READY and t.task_spec.manual]


def engine_task_ready(wf: Any) -> bool:
    """Whether a READY engine task (script, gateway, event...) is left to run:
    `wf.get_next_task(state=READY, manual=False) is not None`."""
    return any(t._state == _READY and not t.task_spec.manual for t in _tasks(wf))


def _event_defs(task: Any) -> list[Any]:
    ed = task.task_spec.event_definition
    return list(ed.event_definitions) if isinstance(ed, MultipleEventDefinition) else [ed]


def waiting_timers(wf: Any) -> list[tuple[Any, datetime]]:
    """(task, aware UTC due time) for every timer the workflow waits on."""
    out = []
    for task in list(wf.event_manager.tasks.values()):
        value = task.internal_data.get("event_value")
        if value is None:
            continue
        for ed in _event_defs(task):
            if not isinstance(ed, TimerEventDefinition):
                continue
            if isinstance(ed, CycleTimerEventDefinition):
                if value["cycles"] != 0:
                    out.append((task, datetime.fromisoformat(value["next"])))
            else:
                due = TimerEventDefinition.parse_time_or_duration(value)
                out.append((task, due if due.tzinfo else due.replace(tzinfo=UTC)))
    return out


def waiting_messages(wf: Any) -> list[tuple[Any, str]]:
    out = []
    for task in list(wf.event_manager.tasks.values()):
        if not task.has_state(TaskState.WAITING) and not task.has_state(TaskState.READY):
            continue
        for ed in _event_defs(task):
            if isinstance(ed, MessageEventDefinition):
                out.append((task, ed.name))
    return out


def scoped_bpmn_id(task: Any) -> str:
    """A node inside a called process is named `<call activity id>/<node id>` (e.g. where a
    case waits in a shared 公示 sub-process: `province_notice/notice_wait`)."""
    path = [task.task_spec.bpmn_id]
    workflow = task.workflow
    while getattr(workflow, "parent_task_id", None) is not None:
        parent = workflow.top_workflow.get_task_from_id(workflow.parent_task_id)
        path.insert(0, parent.task_spec.bpmn_id)
        workflow = parent.workflow
    return "/".join(path)


def due_at_of(task: Any, script_engine: Any) -> datetime | None:
    expr = (task.task_spec.extensions or {}).get("properties", {}).get("dueAt")
    if not expr:
        return None
    value = script_engine.evaluate(task, expr)
    if not value:
        return None
    moment = datetime.fromisoformat(str(value))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def snapshot(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-native copy of task data for the task projection."""
    return json.loads(json.dumps(data, default=str))


TIMER_CHANNEL = "tidu_timers"


@dataclass(frozen=True)
class Waits:
    """What a workflow state projects to: open user tasks, waiting timers, message waits.

    Taken when a state is loaded (its projection rows match it) and compared at save, so
    unchanged projections are not rewritten.
    """

    tasks: frozenset[str]
    timers: frozenset[tuple[str, datetime]]
    messages: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, wf: Any, ready: list[Any] | None = None) -> Waits:
        """`ready`: the workflow's ready user tasks, when the caller has them already."""
        return cls(
            frozenset(str(t.id) for t in (ready_user_tasks(wf) if ready is None else ready)),
            frozenset((str(t.id), due.astimezone(UTC)) for t, due in waiting_timers(wf)),
            frozenset((str(t.id), name) for t, name in waiting_messages(wf)),
        )


NOTHING = Waits(frozenset(), frozenset(), frozenset())


def _sync_timers(session: Session, row: Instance, wf: Any) -> None:
    """Keep rows of timers still waiting (attempts, backoff); add new ones; end claims.

    Saving the instance ends any scheduler's claim on its timers (the state they were claimed
    for is gone); a failed timer's backoff (`lock_expires_at` without an owner) is kept.

    A new timer is announced to schedulers: `session.info["timer_wakeup"]` for this process
    (read after commit) and NOTIFY on PostgreSQL for the others.
    """
    wanted = {(str(t.id), due.astimezone(UTC)): t for t, due in waiting_timers(wf)}
    for timer in session.scalars(select(Timer).where(Timer.instance_id == row.id)):
        if wanted.pop((timer.task_id, timer.due_at.astimezone(UTC)), None) is None:
            session.delete(timer)
        elif timer.lock_owner is not None:
            timer.lock_owner, timer.lock_expires_at = None, None
    if wanted:
        _add_timers(session, row, wf, frozenset(wanted))


def _announce(session: Session, earliest: datetime) -> None:
    previous = session.info.get("timer_wakeup")
    session.info["timer_wakeup"] = min(earliest, previous) if previous else earliest
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :due)"),
            {"channel": TIMER_CHANNEL, "due": earliest.isoformat()},
        )


_DELETE_PAIRS: dict[tuple[Any, Any], Any] = {}


def _delete_pairs(
    session: Session, model: Any, instance_id: str, columns: tuple[Any, Any], pairs: frozenset
) -> None:
    """Delete an instance's projection rows whose two `columns` match one of `pairs` (one
    statement, built once per table, run for each pair)."""
    first, second = columns
    stmt = _DELETE_PAIRS.get(columns)
    if stmt is None:
        table = model.__table__
        stmt = _DELETE_PAIRS[columns] = delete(table).where(
            table.c.instance_id == bindparam("d_instance"),
            table.c[first.key] == bindparam("d_first"),
            table.c[second.key] == bindparam("d_second", type_=second.type),
        )
    session.flush()  # rows this command added through the unit of work are deleted too
    writes.execute(
        session,
        stmt,
        [{"d_instance": instance_id, "d_first": a, "d_second": b} for a, b in sorted(pairs)],
    )


def _apply_timer_changes(
    session: Session, row: Instance, wf: Any, before: Waits, after: Waits
) -> None:
    """Delete the rows of timers no longer waited on and add the new ones (no read needed)."""
    gone = before.timers - after.timers
    if gone:
        _delete_pairs(session, Timer, row.id, (Timer.task_id, Timer.due_at), gone)
    new = after.timers - before.timers
    if new:
        _add_timers(session, row, wf, new)


def _add_timers(
    session: Session, row: Instance, wf: Any, only: frozenset[tuple[str, datetime]]
) -> None:
    """Write the rows of the timers the instance waits for (`only` these (task id, due)) and
    announce the earliest."""
    rows = [
        {
            "instance_id": row.id,
            "task_id": str(task.id),
            "bpmn_id": scoped_bpmn_id(task),
            "due_at": due.astimezone(UTC),
            "attempts": 0,
        }
        for task, due in waiting_timers(wf)
        if (str(task.id), due.astimezone(UTC)) in only
    ]
    writes.insert_rows(session, Timer.__table__, rows)
    _announce(session, min(due for _, due in only))


def _apply_message_changes(
    session: Session, row: Instance, wf: Any, before: Waits, after: Waits
) -> None:
    gone = before.messages - after.messages
    if gone:
        columns = (MessageSubscription.task_id, MessageSubscription.name)
        _delete_pairs(session, MessageSubscription, row.id, columns, gone)
    new = after.messages - before.messages
    if new:
        _add_subscriptions(session, row, wf, new)


def _add_subscriptions(
    session: Session, row: Instance, wf: Any, only: frozenset[tuple[str, str]] | None = None
) -> None:
    """Subscribe the instance to the messages it waits for (`only` these (task id, name))."""
    rows = [
        {
            "instance_id": row.id,
            "task_id": str(task.id),
            "bpmn_id": scoped_bpmn_id(task),
            "name": name,
            "correlation_key": row.business_key,
        }
        for task, name in waiting_messages(wf)
        if only is None or (str(task.id), name) in only
    ]
    writes.insert_rows(session, MessageSubscription.__table__, rows)


def sync_timers_and_messages(
    session: Session,
    row: Instance,
    wf: Any,
    before: Waits | None = None,
    after: Waits | None = None,
) -> None:
    """Bring the timer and message projections of an instance up to date.

    With the waits the stored projections show (`before`) and the new ones (`after`), only the
    differences are written; unchanged timers keep their rows and claims (a claimed timer is
    due, and any command on its instance fires it, so its set changes; the claimer releases
    it or its lease ends). Without them, the projections are re-read and rewritten.
    """
    if before is not None and after is not None:
        _apply_timer_changes(session, row, wf, before, after)
        _apply_message_changes(session, row, wf, before, after)
        return
    _sync_timers(session, row, wf)
    session.execute(delete(MessageSubscription).where(MessageSubscription.instance_id == row.id))
    _add_subscriptions(session, row, wf)


def open_task_rows(session: Session, instance_id: str) -> dict[str, HumanTask]:
    rows = session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id, HumanTask.state == "open")
    )
    return {r.id: r for r in rows}


def new_task_values(
    row: Instance, definition: Definition, task: Any, due_at: datetime | None, now: datetime
) -> dict[str, Any]:
    """The columns of a new open task row (written with writes.insert_rows)."""
    spec = task.task_spec
    return {
        "id": str(task.id),
        "instance_id": row.id,
        "process_key": row.process_key,
        "bpmn_id": spec.bpmn_id,
        "name": spec.bpmn_name or spec.bpmn_id,
        "role": definition.lanes.get(spec.bpmn_id, "province"),
        "region": row.region,
        "uscc": row.uscc,
        "state": "open",
        "form": (spec.extensions or {}).get("properties", {}).get("formJsonSchemaFilename"),
        "data": snapshot(task.data),
        "assignee": None,
        "due_at": due_at,
        "created_at": now,
        "completed_at": None,
        "completed_by": None,
    }
