"""Where a case stands: its *stage*, kept on the case's row with every save.

A case's stage is the bpmn id of its longest-open human task; else, while it runs and waits,
the element it waits in (inside a called sub-process: the call activity, e.g.
`province_notice`); else its outcome (or status). With it the row keeps the stage's name (the
task's or element's name, or the outcome's label) and when the stage is due: a deadline, never
a timer that only opens or reminds of something — the task's due date; while the case waits,
the earliest timer that ends where it waits (`ends_the_wait`: an interrupting boundary timer,
or a timer an event-based gateway waits on such as 公示期满), else none (a lifecycle waiting for
its annual update window to open has no deadline yet). The round pages count and page cases by
these columns, so a round of any size is read one page at a time (engine/rounds_views.py).

Among several open tasks the one that stands is the stage already shown while it stays open;
else a task that was open before this command (the first in the workflow's task order); else
the first of the tasks this command opened.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
    EventBasedGateway,
)
from sqlalchemy.orm import Session

from engine.projections import scoped_bpmn_id, waiting_messages, waiting_timers
from engine.store import Definition, HumanTask, Instance, outcome_label


@functools.lru_cache(maxsize=64)
def _element_names(definition_id: int, checksum: str, texts: tuple[str, ...]) -> dict[str, str]:
    names: dict[str, str] = {}
    for text in texts:
        for element in etree.fromstring(text.encode()).iter():
            if element.get("id") and element.get("name"):
                names.setdefault(element.get("id"), element.get("name"))
    return names


def element_names(definition: Definition) -> dict[str, str]:
    """Element id -> name over a deployed version's diagrams (parsed once per version)."""
    texts = tuple(t for n, t in sorted(definition.files.items()) if n.endswith(".bpmn"))
    return _element_names(definition.id, definition.checksum, texts)


def waiting_stage(bpmn_ids: list[str]) -> str | None:
    """The element a case waits in, from the (scoped) bpmn ids of its timers and message
    waits: a called sub-process's call activity before the parent's own events."""
    scoped = sorted(bpmn_ids, key=lambda b: ("/" not in b, b))
    return scoped[0].split("/")[0] if scoped else None


def ends_the_wait(task: Any) -> bool:
    """Whether a waiting timer is a deadline of where the case waits: an interrupting boundary
    timer (the activity it is attached to ends when it fires: 有效期届满未完成复核) or a timer
    an event-based gateway waits on (the gateway's task waits for it: 公示中 ends at 公示期满).
    A timer of the sequence flow (年度更新开放, 复核开放) opens what comes next, a
    non-interrupting one reminds: neither is."""
    spec = task.task_spec
    if isinstance(spec, BoundaryEvent):
        return bool(spec.cancel_activity)
    return isinstance(spec, EventBasedGateway)


def stage_values(
    session: Session,
    row: Instance,
    definition: Definition,
    wf: Any,
    ready: list[Any],
    opened: dict[str, datetime | None],
    *,
    status: str,
    outcome: str | None,
    projections_known: bool,
) -> dict[str, Any]:
    """The row's stage columns after a save: `ready` are the workflow's ready user tasks,
    `opened` the due dates of those this command opened (task id -> due), `projections_known`
    whether the row's stage columns were written against the same version and tasks
    (not so after a migration)."""
    if ready:
        return _task_stage(session, row, ready, opened, projections_known)
    if status == "running":
        timers = [(scoped_bpmn_id(t), due, t) for t, due in waiting_timers(wf)]
        waits = [b for b, _, _ in timers] + [scoped_bpmn_id(t) for t, _ in waiting_messages(wf)]
        stage = waiting_stage(waits)
        if stage is not None:
            deadlines = (due for _, due, task in timers if ends_the_wait(task))
            return {
                "stage": stage,
                "stage_name": element_names(definition).get(stage, stage),
                "stage_due_at": min(deadlines, default=None),
            }
    stage = outcome or status
    return {
        "stage": stage,
        "stage_name": outcome_label(row.process_key, stage),
        "stage_due_at": None,
    }


def _task_stage(
    session: Session,
    row: Instance,
    ready: list[Any],
    opened: dict[str, datetime | None],
    projections_known: bool,
) -> dict[str, Any]:
    earlier = [t for t in ready if str(t.id) not in opened]
    shown = next((t for t in earlier if t.task_spec.bpmn_id == row.stage), None)
    if shown is not None and projections_known:
        return {}  # unchanged
    task = shown or (earlier[0] if earlier else ready[0])
    task_id = str(task.id)
    if task_id in opened:
        due = opened[task_id]
    else:  # open before this command: its row has its due date
        task_row = session.get(HumanTask, task_id)
        due = task_row.due_at if task_row is not None else None
    spec = task.task_spec
    return {
        "stage": spec.bpmn_id,
        "stage_name": spec.bpmn_name or spec.bpmn_id,
        "stage_due_at": due,
    }
