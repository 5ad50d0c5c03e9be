"""Instance commands: start, complete, claim, message, fire timers. One command, one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, func, literal, select
from sqlalchemy.orm import Session

from engine import (
    access,
    compaction,
    definitions,
    enterprises,
    forms,
    history,
    notifications,  # noqa: F401 - registers the built-in notify.send operator
    outbox,
    records,
    registry,
    round_rules,
    rounds,
    stages,
    writes,
)
from engine.case_cache import CaseCache, keep_on_commit
from engine.commands import AFTER_COMMIT, command
from engine.context import Actor, EngineContext
from engine.errors import (
    Conflict,
    EngineError,
    InvalidInput,
    MessageNotExpected,
    NotFound,
    TaskAlreadyClaimed,
    TaskNotOpen,
)
from engine.projections import (
    NOTHING,
    Waits,
    due_at_of,
    engine_task_ready,
    new_task_values,
    open_task_rows,
    ready_user_tasks,
    scoped_bpmn_id,
    sync_timers_and_messages,
    waiting_messages,
)
from engine.runtime import CURRENT_SCOPE, SERIALIZER, CommandScope, cached_spec
from engine.store import (
    TIER_LABELS,
    TIER_PROCESSES,
    Definition,
    Enterprise,
    HistoryStream,
    HumanTask,
    Incident,
    Instance,
    Message,
    Qualification,
    Round,
    Timer,
    new_id,
)
from engine.walks import TiduWorkflow


class EngineStepBudgetExceeded(Exception):
    """The workflow did not come to rest within the step budget (a loop in the diagram?)."""


@dataclass
class Loaded:
    row: Instance
    definition: Definition
    wf: BpmnWorkflow
    scope: CommandScope
    # what the stored projections show (None: unknown, so save re-reads them)
    before: Waits | None = None
    # when the command took the case (wall clock, as SpiffWorkflow's `last_state_change`): the
    # tasks that changed state since changed in this command
    started: float = field(default_factory=time.time)
    # timers this command has already recorded as fired (`fire_timers`)
    fired: set[str] = field(default_factory=set)
    # events a save hook noted, (when, event) — e.g. a lifecycle continuing into its next
    # period: `save` records them in the command's timeline, in the order things happened
    noted: list[tuple[float, dict[str, Any]]] = field(default_factory=list)


_RULESETS: dict[str, registry.RuleSet] = {}


def workflow_for(ctx: EngineContext, definition: Definition) -> tuple[Any, Any, CommandScope]:
    """A version's parsed spec, subprocess specs and a command scope with its rule tables
    (both cached per version: they never change after deployment)."""
    key = f"{definition.id}:{definition.checksum[:16]}"
    spec, subs = cached_spec(key, lambda: definition.spec_json)
    rules = _RULESETS.get(key)
    if rules is None:  # immutable per definition version, like the spec
        rules = _RULESETS[key] = registry.RuleSet(
            {k: v for k, v in definition.files.items() if k.endswith(".dmn")}
        )
    return spec, subs, CommandScope(rules=rules)


_I, _T, _H = Instance.__table__.c, HumanTask.__table__.c, HistoryStream.__table__.c
ROUTER = "router"  # the system actor delivering routed (outbox) messages
APPLICATIONS = {key: tier for tier, key in TIER_PROCESSES.items()}  # in a round, for a tier
# cases about one enterprise, named by its USCC (an enterprise's own; staff pass `uscc`)
ABOUT_AN_ENTERPRISE = frozenset({*APPLICATIONS, "major_change", "article12_incident"})
# the lock reads run as Core statements whose rows become session objects (writes.Rows): the
# ORM's per-query setup of its loaders costs several times the statement
_CASE_ROWS = writes.Rows(Instance, _H.seq, _H.head_hash)
_TASK_ROWS = writes.Rows(Instance, _H.seq, _H.head_hash, HumanTask)
_HEAD_OF_CASE = _H.stream == literal("instance:") + _I.id
_CASE_HEAD = (
    select(*_CASE_ROWS.columns)
    .select_from(Instance.__table__.join(HistoryStream.__table__, _HEAD_OF_CASE))
    .where(_I.id == bindparam("instance_id"))
)
_CASE = select(Instance).where(Instance.id == bindparam("instance_id"))
_CASE_HEAD_TASK = (
    select(*_TASK_ROWS.columns)
    .select_from(
        Instance.__table__.join(HumanTask.__table__, _T.instance_id == _I.id).join(
            HistoryStream.__table__, _HEAD_OF_CASE
        )
    )
    .where(_T.id == bindparam("task_id"))
)
# statements are built once (building one costs more than running it); PostgreSQL locks rows
_LOCKING = {
    False: (_CASE_HEAD, _CASE, _CASE_HEAD_TASK),
    True: tuple(q.with_for_update() for q in (_CASE_HEAD, _CASE, _CASE_HEAD_TASK)),
}


def _read_locked(session: Session, rows: writes.Rows, stmt: Any, params: dict[str, Any]) -> Any:
    session.flush()  # as an ORM query would: the read sees this command's changes
    found = writes.fetch(session, stmt, params, limit=1)
    if not found:
        return None
    loaded = rows.load(session, found[0])
    history.known_head(session, f"instance:{loaded[0].id}", loaded[1], loaded[2])
    return loaded


def _lock(ctx: EngineContext, session: Session, instance_id: str) -> Instance | None:
    """Read (and on PostgreSQL lock) a case together with the head of its history chain;
    SQLite's BEGIN IMMEDIATE already serialized this command."""
    case_head, case, _ = _LOCKING[ctx.is_postgres]
    params = {"instance_id": str(instance_id)}
    found = _read_locked(session, _CASE_ROWS, case_head, params)
    if found is not None:
        return found[0]
    return session.scalars(case, params).first()  # a case without history (none is created so)


def _lock_with_task(
    ctx: EngineContext, session: Session, task_id: str
) -> tuple[Instance | None, HumanTask | None]:
    """The case of a task, its history head and the task, in one statement; on PostgreSQL all
    three rows are locked, so a completion committed while we waited is seen, not overwritten."""
    found = _read_locked(session, _TASK_ROWS, _LOCKING[ctx.is_postgres][2], {"task_id": task_id})
    if found is not None:
        return found[0], found[3]
    task_row = session.get(HumanTask, task_id)  # no such task, or a case without history
    if task_row is None:
        return None, None
    row = _lock(ctx, session, task_row.instance_id)
    if ctx.is_postgres:  # read before the lock was taken
        session.refresh(task_row)
    return row, task_row


def case_cache(ctx: EngineContext) -> CaseCache:
    cache = ctx.caches.get("cases")
    if cache is None:
        cache = ctx.caches.setdefault("cases", CaseCache(ctx.settings.case_cache_size))
    return cache


def _standing_reader(ctx: EngineContext, session: Session) -> Any:
    """`facts` for handlers that declare it: the enterprise's standing in this transaction."""
    return lambda uscc: enterprises.standing(session, uscc, ctx.today())


def _load(ctx: EngineContext, session: Session, row: Instance) -> Loaded:
    """The case's workflow: the one its last command in this process left (engine/case_cache.py)
    when the row is still at that version, else restored from the stored JSON."""
    definition = definitions.by_id(ctx, session, row.definition_id)
    history.case_definition(session, f"instance:{row.id}", definition.id)
    _, _, scope = workflow_for(ctx, definition)
    scope.facts = _standing_reader(ctx, session)
    warm = case_cache(ctx).take(row)
    if warm is not None:
        warm.wf.script_engine = ctx.script_engine
        return Loaded(row, definition, warm.wf, scope, warm.waits)
    if compaction.is_compacted(row.state_json):
        raise Conflict("案件已办结，其流程状态已压缩归档，不能再办理", rule="state-compacted")
    wf = SERIALIZER.deserialize_json(row.state_json)
    wf.script_engine = ctx.script_engine
    return Loaded(row, definition, wf, scope, Waits.of(wf))


def load_for_update(ctx: EngineContext, session: Session, instance_id: str) -> Loaded:
    """Load an instance with its row locked (PostgreSQL) and its workflow deserialized."""
    row = _lock(ctx, session, instance_id)
    if row is None:
        raise NotFound("案件不存在")
    return _load(ctx, session, row)


def advance(ctx: EngineContext, loaded: Loaded) -> None:
    """Run engine steps (firing due timers) until only user tasks or waits remain."""
    token = CURRENT_SCOPE.set(loaded.scope)
    try:
        deadline = time.monotonic() + ctx.settings.engine_step_budget_s
        wf = loaded.wf
        wf.refresh_timers()
        wf.do_engine_steps()
        while engine_task_ready(wf):
            if time.monotonic() > deadline:
                raise EngineStepBudgetExceeded("流程在时限内未停止（可能存在无限循环）")
            wf.refresh_timers()
            wf.do_engine_steps()
    finally:
        CURRENT_SCOPE.reset(token)


def _clean_data(ready: list[Any]) -> None:
    for task in ready:
        for key in [k for k in task.data if k.startswith("spiff__")]:
            del task.data[key]


def save(ctx: EngineContext, session: Session, loaded: Loaded, actor: Actor) -> Instance:
    """Persist state, projections and history of one command (the state's UPDATE checks the
    case's optimistic version; a concurrent change raises StaleDataError, answered with 409)."""
    ran = [(loaded.wf, loaded.definition.id)]  # workflows this command ran, with their versions
    made = len(loaded.scope.decisions)  # decisions made on the first of them
    records.before_save(ctx, session, loaded, actor)
    row, wf, now = loaded.row, loaded.wf, ctx.now()
    if wf is not ran[0][0]:  # continued as a new workflow (engine/lifecycle.py)
        ran.append((wf, loaded.definition.id))
    ready = ready_user_tasks(wf)  # the tree is walked once for them
    _clean_data(ready)
    stream = f"instance:{row.id}"
    zone = ZoneInfo(ctx.settings.timezone)
    after = Waits.of(wf, ready)
    gone, new = _task_changes(session, row.id, loaded.before, after)
    changed = _changed_tasks(ran, loaded.started)
    # this command's events, in the order they happened: (when, event, decision or None)
    timeline = _cancelled_events(session, gone, changed, now)
    new_rows = []
    opened: dict[str, datetime | None] = {}  # task id -> due, of the tasks this command opens
    for task in ready:
        task_id = str(task.id)
        if task_id not in new:
            continue
        values = new_task_values(
            row, loaded.definition, task, due_at_of(task, ctx.script_engine), now
        )
        new_rows.append(values)
        opened[task_id] = values["due_at"]
        event = _task_event("task.created", task_id, values["bpmn_id"], loaded.definition.id)
        event["data"] = _created_data(values, zone)
        timeline.append((task.last_state_change, event, None))
    _decision_events(loaded, changed, ran[0][1] if made else None, made, timeline)
    _timer_and_passing_events(ctx, loaded, changed, gone, now, zone, timeline)
    timeline += [(when, event, None) for when, event in loaded.noted]
    loaded.noted.clear()
    timeline.sort(key=_WHEN)  # stable: events of one moment keep the order they were noted in
    for _, event, decision in timeline:
        event = {"actor": "engine"} | event
        history.append(session, stream=stream, at=now, instance_id=row.id, **event)
        if decision is not None and decision.record:
            records.write(session, decision.record, decision.outputs, row, now)
    history.case_definition(session, stream, loaded.definition.id)
    loaded.scope.decisions.clear()
    loaded.started = time.time()  # what a later save of this command finds changed is new
    outbox.collect(session, wf, row, actor.id, now, timedelta(days=ctx.settings.message_ttl_days))
    if after.messages - (loaded.before.messages if loaded.before else frozenset()):
        outbox.DISPATCH_NEEDED.set(True)  # a new receiver may match a pending message
    before, loaded.before = loaded.before, after
    values: dict[str, Any] = {"state_json": SERIALIZER.serialize_json(wf), "updated_at": now}
    completed = wf.is_completed() and row.status != "completed"
    if completed:
        outcome = str(wf.data.get("outcome") or "") or None
        values |= {"status": "completed", "completed_at": now, "outcome": outcome}
    if completed or before is None or after != before or row.stage is None:
        values |= stages.stage_values(
            session,
            row,
            loaded.definition,
            wf,
            ready,
            opened,
            status=values.get("status", row.status),
            outcome=values.get("outcome", row.outcome),
            projections_known=before is not None,
        )
    writes.update_row(session, row, values)  # a new case takes them as attributes
    writes.insert_new(session, row)
    keep_on_commit(session, case_cache(ctx), row, wf, values["state_json"], after)
    writes.insert_rows(session, HumanTask.__table__, new_rows)
    sync_timers_and_messages(session, row, wf, before, after)
    if completed:
        history.append(
            session,
            stream=stream,
            kind="instance.completed",
            actor=actor.id,
            at=now,
            instance_id=row.id,
            data={"outcome": row.outcome},
        )
    session.flush()
    records.after_save(ctx, session, loaded, actor)
    return row


_UNSEEN: tuple[Any, int | None] = (None, None)
_COMPLETED, _CANCELLED = TaskState.COMPLETED, TaskState.CANCELLED


def _WHEN(entry: tuple[float, dict[str, Any], Any]) -> float:  # noqa: N802 - a sort key
    return entry[0]


def _task_event(kind: str, task_id: str, bpmn_id: str | None, definition_id: Any) -> dict[str, Any]:
    return {"kind": kind, "task_id": task_id, "bpmn_id": bpmn_id, "definition_id": definition_id}


def _local(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A time written into event data: the same instant in the configured time zone."""
    return moment.astimezone(zone) if moment is not None else None


def _created_data(values: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    return {
        "name": values["name"],
        "role": values["role"],
        "region": values["region"],
        "due_at": _local(values["due_at"], zone),
    }


def _changed_tasks(ran: list[tuple[Any, int]], started: float) -> dict[UUID, tuple[Any, int]]:
    """The tasks (with the version of their workflow) whose state changed since `started`:
    one pass over the tasks dicts, as `Waits.of` makes."""
    changed = {}
    for wf, definition_id in ran:
        for tasks in (wf.tasks, *(sub.tasks for sub in wf.subprocesses.values())):
            for task_id, task in tasks.items():
                if task.last_state_change >= started:
                    changed[task_id] = (task, definition_id)
    return changed


def _cancelled_events(
    session: Session,
    gone: dict[str, HumanTask],
    changed: dict[UUID, tuple[Any, int]],
    now: datetime,
) -> list[tuple[float, dict[str, Any], Any]]:
    """Close the rows of the tasks no longer open; their events, when each was cancelled."""
    timeline = []
    for task_id, task_row in gone.items():
        writes.update_row(session, task_row, {"state": "cancelled", "completed_at": now})
        task, definition_id = changed.get(UUID(task_id), _UNSEEN)
        event = _task_event("task.cancelled", task_id, task_row.bpmn_id, definition_id)
        timeline.append((task.last_state_change if task else 0.0, event, None))
    return timeline


def _decision_events(
    loaded: Loaded,
    changed: dict[UUID, tuple[Any, int]],
    first_definition: int | None,
    made: int,
    timeline: list[tuple[float, dict[str, Any], Any]],
) -> None:
    """The handlers' decisions, when each one's service task completed, with the version it
    ran on (the first `made` were made on `first_definition`, when a workflow was replaced)."""
    for index, decision in enumerate(loaded.scope.decisions):
        task, definition_id = changed.get(UUID(decision.task_id), _UNSEEN)
        if definition_id is None:  # its task is gone: from a workflow this command ended
            definition_id = first_definition if index < made else loaded.definition.id
        event = _task_event("handler.decision", decision.task_id, decision.bpmn_id, definition_id)
        event["data"] = {
            "operator": decision.operator,
            "rule_version": decision.rule_version,
            "inputs": decision.inputs,
            "outputs": decision.outputs,
        }
        timeline.append((task.last_state_change if task else 0.0, event, decision))


def _timer_due(task: Any) -> datetime | None:
    value = task.internal_data.get("event_value")
    if not isinstance(value, str):
        return None
    due = TimerEventDefinition.parse_time_or_duration(value)
    return due if isinstance(due, datetime) else None


def _fired_when(task: Any, started: float) -> float:
    """When a timer fired: as it ran, or, for an interrupting boundary timer whose task was
    cancelled before the timer itself ran (SpiffWorkflow cancels it as soon as the timer is
    due), just before that cancellation."""
    when, parent = task.last_state_change, task.parent
    if getattr(task.task_spec, "cancel_activity", False) and isinstance(
        parent.task_spec, BoundaryEventSplit
    ):
        for sibling in parent.children:
            if (
                sibling._state == _CANCELLED
                and not isinstance(sibling.task_spec, CatchingEvent)
                and started <= sibling.last_state_change <= when
            ):
                when = sibling.last_state_change - 1e-6
    return when


def _timer_and_passing_events(
    ctx: EngineContext,
    loaded: Loaded,
    changed: dict[UUID, tuple[Any, int]],
    gone: dict[str, HumanTask],
    now: datetime,
    zone: ZoneInfo,
    timeline: list[tuple[float, dict[str, Any], Any]],
) -> None:
    """Note the timers that fired during the command (those `fire_timers` recorded aside) and
    the user tasks that opened and were cancelled within it (an interrupting boundary event
    already due when its task opened): neither shows in the before/after diff of the waits."""
    had = loaded.before.tasks if loaded.before is not None else frozenset()
    for task, definition_id in changed.values():
        state, spec = task._state, task.task_spec
        if state == _COMPLETED:
            if not isinstance(spec, CatchingEvent) or not isinstance(
                spec.event_definition, TimerEventDefinition
            ):
                continue
            task_id = str(task.id)
            if task_id in loaded.fired:
                continue
            loaded.fired.add(task_id)  # a second save of this command does not repeat it
            event = _task_event("timer.fired", task_id, scoped_bpmn_id(task), definition_id)
            event["data"] = {
                "due_at": _local(_timer_due(task), zone),
                "fired_at": _local(now, zone),
            }
            timeline.append((_fired_when(task, loaded.started), event, None))
        elif (
            state == _CANCELLED
            and spec.manual
            and task.parent is not None
            and isinstance(task.parent.task_spec, BoundaryEventSplit)
            and task.parent.last_state_change >= loaded.started
            and (task_id := str(task.id)) not in gone
            and task_id not in had
        ):  # opened when its boundary split ran, so it was open in this command
            values = new_task_values(
                loaded.row, loaded.definition, task, due_at_of(task, ctx.script_engine), now
            )
            event = _task_event("task.created", task_id, spec.bpmn_id, definition_id)
            event["data"] = _created_data(values, zone)
            timeline.append((task.parent.last_state_change, event, None))
            event = _task_event("task.cancelled", task_id, spec.bpmn_id, definition_id)
            timeline.append((task.last_state_change, event, None))


def _task_changes(
    session: Session, instance_id: str, before: Waits | None, after: Waits
) -> tuple[dict[str, HumanTask], set[str]]:
    """Open task rows whose task is no longer ready, and ids of ready tasks without a row."""
    if before is None:
        existing = open_task_rows(session, instance_id)
        gone = {tid: r for tid, r in existing.items() if tid not in after.tasks}
        return gone, set(after.tasks) - set(existing)
    gone = {}
    for task_id in sorted(before.tasks - after.tasks):
        task_row = session.get(HumanTask, task_id)  # the completed one is already in the session
        if task_row is not None and task_row.state == "open":
            gone[task_id] = task_row
    return gone, set(after.tasks - before.tasks)


def _resolve_incident(
    session: Session, incident_id: str | None, actor: Actor, now: datetime
) -> None:
    if incident_id is None:
        return
    from engine import incidents

    if not incidents.close(session, incident_id, actor=actor, now=now, data={"by": "retry"}):
        raise Conflict("该事件已处理")  # closed by hand (or retried) meanwhile: keep nothing


_ENTERPRISE = select(Enterprise.__table__.c.name, Enterprise.__table__.c.region).where(
    Enterprise.__table__.c.uscc == bindparam("uscc")
)


def _start_data(
    ctx: EngineContext, session: Session, actor: Actor, uscc: str | None, round_row: Round | None
) -> dict[str, Any]:
    uscc = actor.uscc if actor.role == "enterprise" else uscc
    session.flush()  # plain-row reads do not flush: an enterprise registered in this command
    found = writes.fetch(session, _ENTERPRISE, {"uscc": uscc}, 1, named=True) if uscc else None
    enterprise = found[0] if found else None
    if uscc and enterprise is None:
        raise NotFound(f"企业 {uscc} 未登记")
    data: dict[str, Any] = {
        "uscc": uscc,
        "enterprise_name": enterprise.name if enterprise else None,
        "region": enterprise.region if enterprise else None,
        "ban_until": None,
        "round_opens_on": None,
    }  # None: the rule set in force today
    today = ctx.today()
    data |= enterprises.start_facts(session, uscc, today, actor.role)  # 第十二条 ban, tiers held
    if round_row is not None:
        zone = ZoneInfo(ctx.settings.timezone)
        if not rounds.accepts_applications(ctx, round_row):
            raise Conflict(f"{round_row.label} 不在申报期内", rule="round-window")
        data |= {
            "round_id": round_row.id,
            "round_label": round_row.label,
            "round_opens_on": round_row.opens_on.isoformat(),
            "application_deadline_at": round_row.closes_at.astimezone(zone).isoformat(),
        }
    return data


_HELD = (
    select(Qualification)
    .where(
        Qualification.uscc == bindparam("uscc"),
        Qualification.tier == bindparam("tier"),
        # valid, renewal eligibility or not (第十条 takes away only the renewal): 第七条 and
        # 第八条 ask for an innovative / specialized SME, not for one that may be renewed
        Qualification.status.in_(enterprises.VALID),
        Qualification.expires_on >= bindparam("today"),
    )
    .order_by(Qualification.expires_on.desc())
)


def _prerequisite(
    ctx: EngineContext, session: Session, definition: Definition, uscc: str | None
) -> dict[str, Any] | None:
    """The valid qualification a process requires (第七条, 第八条), or a refusal naming it.

    Its expiry date goes into the case data so that the diagram can re-check it right before
    the decision (a qualification may expire between application and certification).
    """
    tier = (definition.lanes or {}).get(definitions.REQUIRES_KEY)
    if not tier:
        return None
    today = ctx.today()
    held = session.scalars(_HELD, {"uscc": uscc or "-", "tier": tier, "today": today}).first()
    if held is None:
        label = TIER_LABELS.get(tier, tier)
        raise Conflict(
            f"申报{definition.name}须持有有效的{label}资格，该企业没有",
            rule="requires-qualification",
            missing_qualification=tier,
            missing_qualification_name=label,
        )
    return {
        "tier": tier,
        "number": held.number,
        "issued_on": held.issued_on.isoformat(),
        "expires_on": held.expires_on.isoformat(),
    }


def begin(
    ctx: EngineContext,
    session: Session,
    definition: Definition,
    *,
    instance_id: str,
    business_key: str,
    data: dict[str, Any],
    actor: Actor,
    round_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Loaded:
    """Create a case row and its workflow with start data, and record `instance.started`.

    The caller runs it (`advance`) and saves it in the same transaction.
    """
    spec, subs, scope = workflow_for(ctx, definition)
    scope.facts = _standing_reader(ctx, session)
    now = ctx.now()
    data.setdefault("case_ref", instance_id)
    wf = TiduWorkflow(spec, subs, script_engine=ctx.script_engine)
    wf.task_tree.data.update(data)
    row = Instance(
        id=instance_id,
        definition_id=definition.id,
        definition_version=definition.version,
        process_key=definition.process_key,
        business_key=business_key,
        uscc=data.get("uscc"),
        region=data.get("region"),
        round_id=round_id,
        status="running",
        state_json="",
        started_at=now,
        updated_at=now,
        started_by=actor.id,
    )
    session.add(row)
    history.append(
        session,
        stream=f"instance:{instance_id}",
        new_stream=True,
        kind="instance.started",
        actor=actor.id,
        at=now,
        instance_id=instance_id,
        definition_id=definition.id,
        data={
            "process_key": definition.process_key,
            "version": definition.version,
            "checksum": definition.checksum,
            "start_data": data,
            **(extra or {}),
        },
    )
    return Loaded(row, definition, wf, scope, NOTHING)


def _wrong_round(session: Session, round_row: Round, definition: Definition) -> None:
    """A round of another procedure: 422 naming `round_id` and the procedure it belongs to."""
    owner = session.scalars(
        select(Definition.name)
        .where(Definition.process_key == round_row.process_key)
        .order_by(Definition.version.desc())
        .limit(1)
    ).first()
    belongs = owner or round_row.process_key
    raise InvalidInput(
        f"申报批次 {round_row.label} 属于{belongs}，不能用于申报{definition.name}",
        errors={"round_id": [f"该批次属于{belongs}，请选择{definition.name}的批次"]},
    )


@command("start_instance")
def start_instance(
    ctx: EngineContext,
    *,
    process_key: str,
    actor: Actor,
    round_id: int | None = None,
    uscc: str | None = None,
    incident_id: str | None = None,
    retried_by: Actor | None = None,
) -> Instance:
    """Start a case of the latest version of a process and run it to its first wait."""
    access.require_start(actor, process_key)
    if round_id is None and process_key in APPLICATIONS:
        raise InvalidInput("申报须选择申报批次", errors={"round_id": ["必填：在哪个批次申报"]})
    if process_key in ABOUT_AN_ENTERPRISE and not (
        actor.uscc if actor.role == "enterprise" else uscc
    ):
        raise InvalidInput(
            "须指明所涉企业的统一社会信用代码",
            errors={"uscc": ["必填：所涉企业的统一社会信用代码"]},
        )
    with ctx.transaction() as session:
        definition = definitions.latest(session, process_key, ctx)
        round_row = session.get(Round, round_id) if round_id is not None else None
        if round_id is not None and round_row is None:
            raise NotFound("申报批次不存在")
        if round_row is not None and round_row.process_key != process_key:
            _wrong_round(session, round_row, definition)
        data = _start_data(ctx, session, actor, uscc, round_row)
        if process_key in APPLICATIONS:
            tier = APPLICATIONS[process_key]
            enterprises.require_not_holding(session, data["uscc"], tier, ctx.today())
        prerequisite = _prerequisite(ctx, session, definition, data["uscc"])
        if prerequisite is not None:
            data["prerequisite"] = prerequisite
        now, instance_id = ctx.now(), new_id()
        business_key = f"{data['uscc'] or '-'}:{round_id if round_id is not None else instance_id}"
        if round_row is not None:  # one per round, one at a time, one per period (第六条)
            round_rules.require_one_application(
                ctx, session, round_row=round_row, uscc=data["uscc"]
            )
        loaded = begin(
            ctx,
            session,
            definition,
            instance_id=instance_id,
            business_key=business_key,
            data=data,
            actor=actor,
            round_id=round_id,
        )
        advance(ctx, loaded)
        _resolve_incident(session, incident_id, retried_by or actor, now)
        return save(ctx, session, loaded, actor)


TASK_STATE_LABELS = {"open": "待办理", "completed": "已完成", "cancelled": "已取消"}


def _open_task(
    ctx: EngineContext, session: Session, task_id: str, actor: Actor
) -> tuple[HumanTask, Loaded]:
    row, task_row = _lock_with_task(ctx, session, str(task_id))
    if task_row is None or not access.can_see_task(actor, task_row):
        raise NotFound("任务不存在")
    access.require_work_on(actor, task_row)
    if task_row.state != "open":
        state = TASK_STATE_LABELS.get(task_row.state, task_row.state)
        raise TaskNotOpen(f"任务状态为{state}，不能再办理")
    return task_row, _load(ctx, session, row)


@command("complete_task")
def complete_task(
    ctx: EngineContext,
    *,
    task_id: str,
    actor: Actor,
    data: dict[str, Any],
    incident_id: str | None = None,
    retried_by: Actor | None = None,
) -> Instance:
    """Complete a human task with form data and run the instance until it waits again.

    The case's timers already due fire first (`_fire_due_first`): a task whose deadline has
    passed cannot be completed, even before the scheduler has fired its deadline timer.
    """
    with ctx.transaction() as session:
        task_row, loaded = _open_task(ctx, session, task_id, actor)
        if task_row.assignee and task_row.assignee != actor.id:
            raise TaskAlreadyClaimed(f"任务已由 {task_row.assignee} 认领")
        task = loaded.wf.get_task_from_id(UUID(str(task_id)))
        if task is None or task.state != TaskState.READY:
            raise TaskNotOpen("任务已不可办理")
        now = ctx.now()
        refused = _fire_due_first(ctx, session, loaded, task_row, task, now)
        if refused is None:
            return _complete(
                ctx, session, loaded, task_row, task, actor, data, now, incident_id, retried_by
            )
    # committed: the timers fired (real events) and ended the task; the completion is refused
    if outbox.DISPATCH_NEEDED.get():  # what the firing sent is routed, as after any command
        dispatch_messages(ctx)
    raise refused


def _complete(
    ctx: EngineContext,
    session: Session,
    loaded: Loaded,
    task_row: HumanTask,
    task: Any,
    actor: Actor,
    data: dict[str, Any],
    now: datetime,
    incident_id: str | None,
    retried_by: Actor | None,
) -> Instance:
    schema = definitions.form_schema(loaded.definition, task_row.form)
    forms.validate(schema, data, case=task.data)
    evidence = forms.resolve_evidence(session, schema, data, loaded.row.uscc)
    task.data.update(data)
    task.run()
    writes.update_row(
        session, task_row, {"state": "completed", "completed_at": now, "completed_by": actor.id}
    )
    history.append(
        session,
        stream=f"instance:{loaded.row.id}",
        kind="task.completed",
        actor=actor.id,
        at=now,
        instance_id=loaded.row.id,
        task_id=task_row.id,
        bpmn_id=task_row.bpmn_id,
        definition_id=loaded.definition.id,
        data={
            "name": task_row.name,
            "role": actor.role,
            "submitted": data,
            "evidence": evidence,
        },
    )
    advance(ctx, loaded)
    _resolve_incident(session, incident_id, retried_by or actor, now)
    return save(ctx, session, loaded, actor)


@dataclass(frozen=True)
class _DueTimer:
    task_id: str
    bpmn_id: str | None
    due_at: datetime


def _fire_due_first(
    ctx: EngineContext,
    session: Session,
    loaded: Loaded,
    task_row: HumanTask,
    task: Any,
    now: datetime,
) -> TaskNotOpen | None:
    """Fire the case's timers due by `now` before a task of it is completed, earliest first (as
    the scheduler would have): their due times are in the loaded waits, so the common case,
    none due, costs no query. When the firing ended the task (an interrupting deadline), it is
    saved, and the refusal to raise once it is committed is returned; else None (the task is
    completed in the same transaction, after the firing)."""
    waits = loaded.before
    due = [(d, t) for t, d in (waits.timers if waits is not None else ()) if d <= now]
    if not due:
        return None
    wf = loaded.wf
    timers = []
    for due_at, timer_task_id in due:
        timer_task = wf.get_task_from_id(UUID(timer_task_id))
        bpmn_id = scoped_bpmn_id(timer_task) if timer_task is not None else None
        timers.append(_DueTimer(timer_task_id, bpmn_id, due_at))
    engine = Actor.system("engine")
    _note_fired(ctx, session, loaded, timers, engine, now, before_completion_of=task_row.id)
    advance(ctx, loaded)
    if task.state == TaskState.READY:
        return None
    save(ctx, session, loaded, engine)
    deadline = task_row.due_at if task_row.due_at is not None and task_row.due_at <= now else None
    deadline = deadline or max(t.due_at for t in timers)
    shown = _deadline_text(deadline, ZoneInfo(ctx.settings.timezone))
    return TaskNotOpen(
        f"办理期限已过（截止 {shown}），该任务已不可办理",
        rule="deadline-passed",
        due_at=_local(deadline, ZoneInfo(ctx.settings.timezone)).isoformat(),
    )


def _deadline_text(moment: datetime, zone: ZoneInfo) -> str:
    """A deadline as people write it: midnight is 24:00 of the day before."""
    local = moment.astimezone(zone)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{(local - timedelta(days=1)).date().isoformat()} 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


@command("claim_task")
def claim_task(ctx: EngineContext, *, task_id: str, actor: Actor, claim: bool = True) -> HumanTask:
    """Claim (or with claim=False release) an open task."""
    with ctx.transaction() as session:
        task_row, loaded = _open_task(ctx, session, task_id, actor)
        if task_row.assignee and task_row.assignee != actor.id:
            raise TaskAlreadyClaimed(f"任务已由 {task_row.assignee} 认领")
        task_row.assignee = actor.id if claim else None
        history.append(
            session,
            stream=f"instance:{loaded.row.id}",
            kind="task.claimed" if claim else "task.unclaimed",
            actor=actor.id,
            at=ctx.now(),
            instance_id=loaded.row.id,
            task_id=task_row.id,
            bpmn_id=task_row.bpmn_id,
        )
        loaded.row.updated_at = ctx.now()
        return task_row


@command("send_message")
def send_message(
    ctx: EngineContext,
    *,
    instance_id: str,
    name: str,
    payload: dict[str, Any],
    actor: Actor,
    incident_id: str | None = None,
    retried_by: Actor | None = None,
) -> Instance:
    """Deliver a BPMN message (e.g. an objection during 公示) to a waiting instance."""
    with ctx.transaction() as session:
        row = session.get(Instance, str(instance_id))
        if row is None or not access.can_see_instance(actor, row):
            raise NotFound("案件不存在")
        access.require_send_message(actor, row, name)
        loaded = load_for_update(ctx, session, instance_id)
        now = ctx.now()
        _deliver(ctx, session, loaded, name, payload, actor, now, {})
        _resolve_incident(session, incident_id, retried_by or actor, now)
        return save(ctx, session, loaded, actor)


def _deliver(
    ctx: EngineContext,
    session: Session,
    loaded: Loaded,
    name: str,
    payload: dict[str, Any],
    actor: Actor,
    now: datetime,
    extra: dict[str, Any],
) -> None:
    """Hand a message to a waiting workflow and run it on."""
    if name not in {n for _, n in waiting_messages(loaded.wf)}:
        label = access.MESSAGE_LABELS.get(name, name)
        if name == "objection":  # outside 公示, or while an earlier objection is reviewed
            raise MessageNotExpected(
                "案件当前不接收异议：不在公示期内，或正在审查已登记的异议"
                "（审查结论为异议不成立、公示继续后可再登记）"
            )
        raise MessageNotExpected(f"案件当前不等待消息 {label}（{name}）")
    if name in outbox.DECISION_MESSAGES and actor.id != ROUTER:
        # who decided is who sent it by hand, never what the payload claims (the outbox has
        # set it to the sender of a routed message already)
        payload = {**payload, "decided_by": actor.id}
    history.append(
        session,
        stream=f"instance:{loaded.row.id}",
        kind="message.received",
        actor=actor.id,
        at=now,
        instance_id=loaded.row.id,
        data={"name": name, "payload": payload, **extra},
    )
    token = CURRENT_SCOPE.set(loaded.scope)
    try:
        loaded.wf.send_event(BpmnEvent(MessageEventDefinition(name), payload))
    finally:
        CURRENT_SCOPE.reset(token)
    advance(ctx, loaded)


@command("deliver_message")
def deliver_message(
    ctx: EngineContext,
    *,
    message_id: str,
    instance_id: str,
    incident_id: str | None = None,
    retried_by: Actor | None = None,
) -> Instance | None:
    """Deliver one outbox message to one waiting instance (no-op if it no longer waits)."""
    actor = Actor.system(ROUTER)
    with ctx.transaction() as session:
        message = session.get(Message, message_id)
        if message is None or message.status != "pending":
            return None
        loaded = load_for_update(ctx, session, instance_id)
        if message.name not in {n for _, n in waiting_messages(loaded.wf)}:
            return None
        now = ctx.now()
        _deliver(
            ctx,
            session,
            loaded,
            message.name,
            message.payload,
            Actor(id=message.sent_by, role="system"),
            now,
            {"message_id": message.id, "sender_instance_id": message.sender_instance_id},
        )
        outbox.mark_delivered(session, message, instance_id, now)
        _resolve_incident(session, incident_id, retried_by or actor, now)
        return save(ctx, session, loaded, actor)


_MESSAGE = Message.__table__.c
_ANY_PENDING = select(_MESSAGE.id).where(_MESSAGE.status == "pending").limit(1)


def dispatch_messages(ctx: EngineContext, *, rounds: int = 10) -> int:
    """Route pending outbox messages to waiting instances, each delivery in its own transaction.
    Most commands that start waiting for a message find none pending: that is checked on a
    read-only connection first, without taking the write lock."""
    with ctx.reading_rows() as conn:
        if conn.execute(_ANY_PENDING).first() is None:
            return 0
    delivered = 0
    for _ in range(rounds):
        with ctx.transaction() as session:
            pairs = outbox.pending_deliveries(session, ctx.now())
        if not pairs:
            break
        progress = 0
        for message_id, instance_id in pairs:
            try:
                progress += (
                    deliver_message(ctx, message_id=message_id, instance_id=instance_id) is not None
                )
            except EngineError:
                continue
        delivered += progress
        if not progress:
            break
    return delivered


@command("publish_message")
def publish_message(
    ctx: EngineContext,
    *,
    name: str,
    correlation: dict[str, str],
    payload: dict[str, Any],
    actor: Actor,
) -> Message:
    """Publish a message from outside any instance (e.g. an Article 12 incident report)."""
    access.require_role(actor, "province")
    with ctx.transaction() as session:
        outbox.refuse_closed_qualification(
            session, name, correlation, ZoneInfo(ctx.settings.timezone)
        )
        return outbox.add(
            session,
            name=name,
            payload=payload,
            correlation=correlation,
            sent_by=actor.id,
            now=ctx.now(),
            ttl=timedelta(days=ctx.settings.message_ttl_days),
        )


_TIMER = Timer.__table__.c
_DUE_TIMERS = select(_TIMER.task_id, _TIMER.bpmn_id, _TIMER.due_at).where(
    _TIMER.instance_id == bindparam("instance_id"),
    _TIMER.due_at <= bindparam("now", type_=_TIMER.due_at.type),
)


def _note_fired(
    ctx: EngineContext,
    session: Session,
    loaded: Loaded,
    due: Any,
    actor: Actor,
    now: datetime,
    **extra: Any,
) -> None:
    """Record the firing of due timers (rows with task_id, bpmn_id, due_at), earliest first;
    the caller then runs the workflow, which fires them."""
    zone = ZoneInfo(ctx.settings.timezone)
    for timer in sorted(due, key=lambda t: (t.due_at, t.task_id)):
        history.append(
            session,
            stream=f"instance:{loaded.row.id}",
            kind="timer.fired",
            actor=actor.id,
            at=now,
            instance_id=loaded.row.id,
            task_id=timer.task_id,
            bpmn_id=timer.bpmn_id,
            data={
                "due_at": _local(timer.due_at, zone),
                "fired_at": _local(now, zone),
                "lateness_s": (now - timer.due_at).total_seconds(),
                **extra,
            },
        )
        loaded.fired.add(timer.task_id)


@command("fire_timers")
def fire_timers(
    ctx: EngineContext,
    *,
    instance_id: str,
    actor: Actor | None = None,
    incident_id: str | None = None,
    retried_by: Actor | None = None,
) -> Instance | None:
    """Fire the due timers of one instance (a no-op if none is due any more)."""
    actor = actor or Actor.system("scheduler")
    with ctx.transaction() as session:
        loaded = load_for_update(ctx, session, instance_id)
        now = ctx.now()
        session.flush()  # plain-row read: this command's own timer rows count
        # columns, not ORM rows: saving may delete these timers
        due = session.execute(_DUE_TIMERS, {"instance_id": loaded.row.id, "now": now}).all()
        if not due:
            return None
        _note_fired(ctx, session, loaded, due, actor, now)
        advance(ctx, loaded)
        _resolve_incident(session, incident_id, retried_by or actor, now)
        return save(ctx, session, loaded, actor)


def fire_due(ctx: EngineContext, *, limit: int = 500) -> dict[str, int]:
    """Fire every due timer, one instance per transaction; failures become incidents.

    An instance whose timer firing already failed waits for its incident to be retried, so a
    broken timer raises one incident, not one per scheduler tick.
    """
    with ctx.transaction() as session:
        failing = select(Incident.instance_id).where(
            Incident.status == "open", Incident.command == "fire_timers"
        )
        ids = session.scalars(
            select(Timer.instance_id)
            .where(Timer.due_at <= ctx.now(), Timer.instance_id.not_in(failing))
            .group_by(Timer.instance_id)
            .order_by(func.min(Timer.due_at))
            .limit(limit)
        ).all()
    fired = failed = 0
    for instance_id in ids:
        try:
            fired += fire_timers(ctx, instance_id=instance_id) is not None
        except EngineError:
            failed += 1
    return {"instances": len(ids), "fired": fired, "failed": failed}


AFTER_COMMIT.append(lambda ctx: dispatch_messages(ctx))

# modules that register save hooks import this one, so they are imported last
from engine import (  # noqa: E402
    complaints,  # noqa: F401 - registers the complaint outcome writer
    lifecycle,  # noqa: F401 - registers the lifecycle save hooks
)
