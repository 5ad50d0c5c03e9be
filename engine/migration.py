"""Migrate running instances to another version of their process (SpiffWorkflow's diff/migrate).

`preview` is the dry run: it migrates each running instance in memory (nothing is written) and
reports whether it can move and, if not, which element stops it. `migrate_instance` does the
same for one instance in one transaction and keeps the result; `migrate` runs it per instance
and reports the ones that cannot move.

Timers keep their due times: `migrate_workflow` resets every ready and waiting task, and a reset
timer would compute its due time again from now. The `event_value` a waiting task held (the
timer's target) is put back after the reset, so a migration never moves a deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import access, definitions, history, instances
from engine.commands import command
from engine.context import Actor, EngineContext
from engine.errors import Conflict, NotFound
from engine.projections import open_task_rows, ready_user_tasks, waiting_timers
from engine.runtime import SERIALIZER, SPEC_SERIALIZER
from engine.store import Definition, Instance

OWNERS = ("process_owner", "province")
ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE
PATH_KEYS = {"typename", "outputs"}  # changes to a completed task that alter the path taken
EVENT_KEYS = ("event_value", "seen_events")  # a waiting event's state (timer target)
WHAT = {
    "typename": "类型",
    "bpmn_name": "名称",
    "outputs": "后续连线",
    "inputs": "前序连线",
    "lane": "泳道",
    "event_definition": "事件定义",
    "script": "脚本",
    "prescript": "前置脚本",
    "postscript": "后置脚本",
    "extensions": "扩展属性（表单、说明等）",
    "documentation": "说明",
    "cond_task_specs": "分支条件",
    "default_task_spec": "默认路径",
    "spec": "调用的子流程",
    "operation_name": "处理器",
    "operation_params": "处理器参数",
    "cancel_activity": "是否中断",
}


class MigrationRefused(Conflict):
    code = "instance-cannot-migrate"
    title = "案件无法迁移到新版本"


@dataclass
class Reason:
    """Why an instance cannot move: the element (scoped id), a stable rule, a message."""

    element_id: str
    rule: str
    message: str


@dataclass
class SpecPair:
    """The diff of one process spec (top-level or called) between two versions."""

    diff: SpecDiff
    removed: set[Any]
    changed: dict[Any, list[str]]

    @classmethod
    def of(cls, old: Any, new: Any) -> SpecPair:
        diff = SpecDiff(SPEC_SERIALIZER.registry, old, new)
        return cls(diff, set(diff.removed), diff.changed)


@dataclass
class Plan:
    """Everything about migrating from one definition version to another, instance-independent."""

    old: Definition
    new: Definition
    new_spec: Any
    new_subs: dict[str, Any]
    top: SpecPair
    deps: dict[str, SpecPair | None]
    added_deps: list[str]

    def changes(self) -> dict[str, list[dict[str, Any]]]:
        """Elements added, removed and changed (ids with a BPMN id only; called processes scoped)."""
        out: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
        pairs = [("", self.top)] + [(f"{k}/", v) for k, v in self.deps.items() if v]
        for prefix, pair in pairs:
            out["added"] += [_element(s, prefix) for s in pair.diff.added if s.bpmn_id]
            out["removed"] += [_element(s, prefix) for s in pair.removed if s.bpmn_id]
            out["changed"] += [
                _element(s, prefix) | {"what": [WHAT.get(k, k) for k in keys], "keys": keys}
                for s, keys in pair.changed.items()
                if s.bpmn_id
            ]
        out["removed"] += [{"element_id": k, "name": k, "type": "Process"} for k, v in
                           self.deps.items() if v is None]
        out["added"] += [{"element_id": k, "name": k, "type": "Process"} for k in self.added_deps]
        return out


def _element(spec: Any, prefix: str = "") -> dict[str, Any]:
    return {
        "element_id": f"{prefix}{spec.bpmn_id}",
        "name": spec.bpmn_name or spec.bpmn_id,
        "type": type(spec).__name__,
    }


@dataclass
class InstanceCheck:
    """The dry-run verdict for one instance (and, when it can move, its timers afterwards)."""

    instance_id: str
    business_key: str
    uscc: str | None
    status: str
    version: int
    positions: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def can_migrate(self) -> bool:
        return not self.reasons


@dataclass
class Report:
    process_key: str
    from_version: int
    to_version: int
    from_checksum: str
    to_checksum: str
    changes: dict[str, list[dict[str, Any]]]
    instances: list[InstanceCheck]
    not_running: int

    @property
    def summary(self) -> dict[str, int]:
        movable = sum(1 for i in self.instances if i.can_migrate)
        return {
            "running": len(self.instances),
            "can_migrate": movable,
            "cannot_migrate": len(self.instances) - movable,
            "not_running": self.not_running,
        }


_PLANS: dict[tuple[int, str, int, str], Plan] = {}


def plan(ctx: EngineContext, old: Definition, new: Definition) -> Plan:
    """Diff two deployed versions (cached: versions are immutable)."""
    key = (old.id, old.checksum, new.id, new.checksum)
    found = _PLANS.get(key)
    if found is not None:
        return found
    old_spec, old_subs, _ = instances._workflow_for(ctx, old)
    new_spec, new_subs, _ = instances._workflow_for(ctx, new)
    deps = {
        name: SpecPair.of(spec, new_subs[name]) if name in new_subs else None
        for name, spec in old_subs.items()
    }
    found = Plan(old, new, new_spec, new_subs, SpecPair.of(old_spec, new_spec), deps,
                 [name for name in new_subs if name not in old_subs])
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[key] = found
    return found


def element_id(task: Any) -> str:
    """Scoped element id of a task (`call_activity/node` inside a called or embedded process)."""
    spec = task.task_spec
    own = spec.bpmn_id or spec.name.split(".", 1)[0]  # `review.BoundaryEventSplit` -> review
    parent_id = getattr(task.workflow, "parent_task_id", None)
    if parent_id is None:
        return own
    return f"{element_id(task.workflow.top_workflow.get_task_from_id(parent_id))}/{own}"


def _label(task: Any) -> str:
    """`review（审核材料）`: the element id with its name (internal specs: their element's name)."""
    spec = task.task_spec
    element = spec if spec.bpmn_id else task.workflow.spec.task_specs.get(spec.name.split(".")[0])
    name = getattr(element, "bpmn_name", None)
    return f"{element_id(task)}（{name}）" if name else element_id(task)


def _judge_task(task: Any, pair: SpecPair, done: bool) -> Reason | None:
    """Whether one task keeps an instance from moving (see docs/modelling.md for the rules)."""
    spec = task.task_spec
    keys = set(pair.changed.get(spec, ()))
    where, label = element_id(task), _label(task)
    if task.has_state(FINISHED):
        if spec in pair.removed:
            return Reason(where, "history-removed", f"案件已经过的元素 {label} 在新版本中已删除")
        if not done and task.has_state(TaskState.COMPLETED) and keys & PATH_KEYS:
            return Reason(where, "path-changed",
                          f"案件已经过的元素 {label} 在新版本中{'、'.join(WHAT[k] for k in sorted(keys & PATH_KEYS))}已改变（改动位于案件当前位置之前）")
        return None
    if not task.has_state(ACTIVE):
        return None
    if spec in pair.removed:
        return Reason(where, "current-removed", f"案件正停留在 {label}，新版本删除了该元素")
    if "typename" in keys:
        return Reason(where, "current-type-changed", f"案件正停留在 {label}，新版本改变了该元素的类型")
    if task.has_state(TaskState.STARTED) and "spec" in keys:
        return Reason(where, "called-process-changed", f"案件正在执行 {label}，新版本改变了它调用的子流程")
    return None


def _judge(wf: Any, plan_: Plan) -> tuple[list[Reason], WorkflowDiff | None, dict[Any, Any]]:
    reasons: list[Reason] = []
    parts: list[tuple[Any, SpecPair, bool]] = [(wf, plan_.top, False)]
    for sp in wf.subprocesses.values():
        pair = plan_.deps.get(sp.spec.name)
        if pair is None:
            if not sp.completed:
                parent = wf.get_task_from_id(sp.parent_task_id)
                reasons.append(Reason(element_id(parent), "subprocess-removed",
                                      f"案件正在执行的子流程 {sp.spec.name}（由 {_label(parent)} 调用）在新版本中不存在"))
            continue
        parts.append((sp, pair, sp.completed))
    for workflow, pair, done in parts:
        for task in workflow.get_tasks(skip_subprocesses=True):
            reason = _judge_task(task, pair, done)
            if reason is not None:
                reasons.append(reason)
    if reasons:
        return _most_telling(reasons), None, {}
    top = WorkflowDiff(wf, plan_.top.diff)
    subs = {sp_id: WorkflowDiff(sp, plan_.deps[sp.spec.name].diff)  # type: ignore[union-attr]
            for sp_id, sp in wf.subprocesses.items() if plan_.deps.get(sp.spec.name)}
    return [], top, subs


RULE_ORDER = ("current-removed", "current-type-changed", "called-process-changed",
              "subprocess-removed", "history-removed", "path-changed")


def _most_telling(reasons: list[Reason]) -> list[Reason]:
    """One reason per element, those about where the instance stands first."""
    best: dict[str, Reason] = {}
    for reason in sorted(reasons, key=lambda r: RULE_ORDER.index(r.rule)):
        best.setdefault(reason.element_id, reason)
    return list(best.values())


def _timer_kinds(spec: Any) -> tuple[str, ...]:
    ed = getattr(spec, "event_definition", None)
    found = ed.event_definitions if isinstance(ed, MultipleEventDefinition) else [ed]
    return tuple(sorted(type(e).__name__ for e in found if isinstance(e, TimerEventDefinition)))


def _repredict(task: Any) -> None:
    """Re-predict the children of a running (sub)process task whose outgoing flows changed.

    `migrate_workflow` resets ready and waiting tasks only; a running subprocess task keeps the
    predicted children of the old version, which must follow the new one before it completes.
    """
    outputs = task.task_spec.outputs
    if sorted(id(c.task_spec) for c in task.children) == sorted(id(s) for s in outputs):
        return
    if any(not c.has_state(PREDICTED) for c in task.children):
        return  # a definite child: left to the orphan check
    task._drop_children(force=True)
    task._sync_children(outputs, TaskState.FUTURE)
    for child in task.children:
        child.task_spec._predict(child, mask=PREDICTED)


def apply(plan_: Plan, wf: Any) -> tuple[list[Reason], list[dict[str, Any]]]:
    """Migrate a workflow in memory; return the reasons it cannot move, or its timers after."""
    reasons, top, subs = _judge(wf, plan_)
    if reasons:
        return reasons, []
    before = {t.id: due for t, due in waiting_timers(wf)}
    kept = {
        t.id: (_timer_kinds(t.task_spec), {k: t.internal_data[k] for k in EVENT_KEYS
                                           if k in t.internal_data})
        for t in wf.get_tasks(state=TaskState.WAITING | TaskState.READY)
        if "event_value" in t.internal_data
    }
    migrate_workflow(top, wf, plan_.new_spec)
    for sp_id, sp in wf.subprocesses.items():
        if sp_id in subs:
            migrate_workflow(subs[sp_id], sp, plan_.new_subs[sp.spec.name])
    wf.subprocess_specs = plan_.new_subs
    tasks = {t.id: t for t in wf.get_tasks()}
    for task_id, (kinds, values) in kept.items():
        task = tasks.get(task_id)
        if task is not None and kinds and _timer_kinds(task.task_spec) == kinds:
            task.internal_data.update(values)
    for task in wf.get_tasks(state=TaskState.STARTED):
        _repredict(task)
    return _orphans(wf), [
        {"element_id": element_id(t), "name": t.task_spec.bpmn_name or "",
         "due_at": due.astimezone(UTC), "kept": before.get(t.id) == due}
        for t, due in waiting_timers(wf)
    ]


def _orphans(wf: Any) -> list[Reason]:
    """Tasks still pointing at an element the new version lacks (the state would not load)."""
    out = []
    for task in wf.get_tasks():
        spec = task.task_spec
        if task.workflow.spec.task_specs.get(spec.name) is not spec:
            reason = Reason(element_id(task), "orphaned",
                            f"案件状态中的 {_label(task)} 在新版本中没有对应元素")
            if reason not in out:
                out.append(reason)
    if not out:
        try:
            SERIALIZER.deserialize_json(SERIALIZER.serialize_json(wf))
        except Exception as error:  # the migrated state must load again
            out.append(Reason("", "state-invalid", f"迁移后的案件状态无法读取：{type(error).__name__}"))
    return out


def positions(wf: Any) -> list[dict[str, Any]]:
    """Where an instance stands: its ready, waiting and running tasks (scoped ids)."""
    seen, out = set(), []
    for task in wf.get_tasks(state=ACTIVE):
        if task.task_spec.bpmn_id is None or task.id in wf.subprocesses:
            continue
        key = element_id(task)
        if key not in seen:
            seen.add(key)
            out.append({"element_id": key, "name": task.task_spec.bpmn_name or "",
                        "state": TaskState.get_name(task.state)})
    return out


def _restore(ctx: EngineContext, definition: Definition, state_json: str) -> Any:
    instances._workflow_for(ctx, definition)  # the spec must be cached before deserializing
    wf = SERIALIZER.deserialize_json(state_json)
    wf.script_engine = ctx.script_engine
    return wf


def _definitions(session: Session, process_key: str, old: int, new: int) -> tuple[Any, Any]:
    if old == new:
        raise Conflict(f"源版本与目标版本相同（第 {old} 版）", rule="same-version")
    return definitions.get(session, process_key, old), definitions.get(session, process_key, new)


def preview(
    ctx: EngineContext,
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    actor: Actor,
    instance_ids: list[str] | None = None,
) -> Report:
    """Dry run: can each running instance of `from_version` move to `to_version`, and if not, why."""
    access.require_role(actor, *OWNERS)
    with ctx.reading() as session:
        old, new = _definitions(session, process_key, from_version, to_version)
        plan_ = plan(ctx, old, new)
        query = select(Instance).where(Instance.definition_id == old.id)
        if instance_ids is not None:
            query = query.where(Instance.id.in_([str(i) for i in instance_ids]))
        rows = session.scalars(query.order_by(Instance.started_at, Instance.id)).all()
        checks = [_check(ctx, plan_, row) for row in rows if row.status == "running"]
    return Report(process_key, from_version, to_version, old.checksum, new.checksum,
                  plan_.changes(), checks, sum(1 for r in rows if r.status != "running"))


def _check(ctx: EngineContext, plan_: Plan, row: Instance) -> InstanceCheck:
    wf = _restore(ctx, plan_.old, row.state_json)
    check = InstanceCheck(row.id, row.business_key, row.uscc, row.status,
                          row.definition_version, positions(wf))
    check.reasons, check.timers = apply(plan_, wf)
    return check


@command("migrate_instance")
def migrate_instance(
    ctx: EngineContext,
    *,
    instance_id: str,
    to_version: int,
    actor: Actor,
    from_version: int | None = None,
    incident_id: str | None = None,
    retried_by: Actor | None = None,
) -> Instance:
    """Move one running instance onto another version of its process (409 if it cannot move)."""
    access.require_role(actor, *OWNERS)
    with ctx.transaction() as session:
        loaded = instances.load_for_update(ctx, session, instance_id)
        row = loaded.row
        _require_movable_row(row, from_version, to_version)
        new = definitions.get(session, row.process_key, to_version)
        plan_ = plan(ctx, loaded.definition, new)
        where = positions(loaded.wf)
        reasons, timers = apply(plan_, loaded.wf)
        if reasons:
            raise MigrationRefused(
                f"案件 {row.id}：" + "；".join(r.message for r in reasons),
                errors=[r.__dict__ for r in reasons],
                instance_id=row.id,
                element_ids=[r.element_id for r in reasons],
            )
        _, _, scope = instances._workflow_for(ctx, new)
        moved = replace(loaded, definition=new, scope=scope)
        now = ctx.now()
        history.append(
            session,
            stream=f"instance:{row.id}",
            kind="instance.migrated",
            actor=actor.id,
            at=now,
            instance_id=row.id,
            definition_id=new.id,
            data=_event_data(plan_, actor, where, timers, _resync_tasks(session, moved)),
        )
        row.definition_id, row.definition_version = new.id, new.version
        if moved.wf.get_next_task(state=TaskState.READY, manual=False) is not None:
            instances.advance(ctx, moved)  # an engine task made ready by the new version
        instances._resolve_incident(session, incident_id, retried_by or actor, now)
        return instances.save(ctx, session, moved, actor)


def _require_movable_row(row: Instance, from_version: int | None, to_version: int) -> None:
    if row.status != "running":
        raise Conflict(f"案件 {row.id} 状态为 {row.status}，只迁移进行中的案件",
                       rule="instance-not-running", instance_id=row.id)
    if from_version is not None and row.definition_version != from_version:
        raise Conflict(f"案件 {row.id} 当前在第 {row.definition_version} 版，不在第 {from_version} 版",
                       rule="version-mismatch", instance_id=row.id)
    if row.definition_version == to_version:
        raise Conflict(f"案件 {row.id} 已在第 {to_version} 版", rule="same-version",
                       instance_id=row.id)


def _resync_tasks(session: Session, loaded: Any) -> list[dict[str, Any]]:
    """Open human tasks that persisted keep id and assignee; name, form and role follow the new
    version (a task whose role changed is released: its holder may not work on it any more)."""
    ready = {str(t.id): t for t in ready_user_tasks(loaded.wf)}
    kept = []
    for task_id, task_row in open_task_rows(session, loaded.row.id).items():
        task = ready.get(task_id)
        if task is None:
            continue  # saving cancels it
        spec = task.task_spec
        role = loaded.definition.lanes.get(spec.bpmn_id, "province")
        task_row.bpmn_id, task_row.name = spec.bpmn_id, spec.bpmn_name or spec.bpmn_id
        task_row.form = (spec.extensions or {}).get("properties", {}).get("formJsonSchemaFilename")
        if role != task_row.role:
            task_row.role, task_row.assignee = role, None
        kept.append({"task_id": task_id, "bpmn_id": spec.bpmn_id, "assignee": task_row.assignee})
    return kept


def _event_data(
    plan_: Plan, actor: Actor, where: list[dict[str, Any]], timers: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
) -> dict[str, Any]:
    changes = plan_.changes()
    return {
        "process_key": plan_.new.process_key,
        "from_version": plan_.old.version,
        "to_version": plan_.new.version,
        "from_checksum": plan_.old.checksum,
        "to_checksum": plan_.new.checksum,
        "from_definition_id": plan_.old.id,
        "role": actor.role,
        "positions": where,
        "open_tasks_kept": tasks,
        "timers": [t | {"due_at": t["due_at"].isoformat()} for t in timers],
        "changes": {
            "added": [c["element_id"] for c in changes["added"]],
            "removed": [c["element_id"] for c in changes["removed"]],
            "changed": {c["element_id"]: c["keys"] for c in changes["changed"]},
        },
    }


@dataclass
class BatchResult:
    migrated: list[dict[str, Any]]
    refused: list[dict[str, Any]]

    @property
    def summary(self) -> dict[str, int]:
        return {"migrated": len(self.migrated), "refused": len(self.refused)}


def migrate(
    ctx: EngineContext,
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    actor: Actor,
    instance_ids: list[str] | None = None,
) -> BatchResult:
    """Migrate the running instances of a version (or the given ones), each in its own
    transaction; report the ones that cannot move (or changed meanwhile) with the reason."""
    access.require_role(actor, *OWNERS)
    with ctx.reading() as session:
        old, _ = _definitions(session, process_key, from_version, to_version)
        query = select(Instance.id).where(Instance.definition_id == old.id,
                                          Instance.status == "running")
        ids = list(session.scalars(query.order_by(Instance.started_at, Instance.id)))
    result = BatchResult([], [])
    if instance_ids is not None:
        wanted = [str(i) for i in instance_ids]
        result.refused += [_not_here(ctx, i, process_key, from_version)
                           for i in wanted if i not in ids]
        ids = [i for i in ids if i in wanted]
    for instance_id in ids:
        try:
            row = migrate_instance(ctx, instance_id=instance_id, from_version=from_version,
                                   to_version=to_version, actor=actor)
        except (Conflict, NotFound) as error:
            result.refused.append({"instance_id": instance_id, "code": error.code,
                                   "detail": error.detail, "reasons": error.errors or []})
            continue
        result.migrated.append({"instance_id": row.id, "version": row.definition_version,
                                "status": row.status})
    return result


def _not_here(
    ctx: EngineContext, instance_id: str, process_key: str, from_version: int
) -> dict[str, Any]:
    with ctx.reading() as session:
        row = session.get(Instance, instance_id)
    if row is None or row.process_key != process_key:
        detail = f"案件 {instance_id} 不是流程 {process_key} 的案件"
    elif row.status != "running":
        detail = f"案件 {instance_id} 状态为 {row.status}，只迁移进行中的案件"
    else:
        detail = f"案件 {instance_id} 当前在第 {row.definition_version} 版，不在第 {from_version} 版"
    return {"instance_id": instance_id, "code": "not-migrated", "detail": detail, "reasons": []}


def report_json(report: Report) -> dict[str, Any]:
    """The dry-run report as plain data (API and CLI)."""
    return {
        "process_key": report.process_key,
        "from_version": report.from_version,
        "to_version": report.to_version,
        "from_checksum": report.from_checksum,
        "to_checksum": report.to_checksum,
        "changes": report.changes,
        "summary": report.summary,
        "instances": [
            {
                "instance_id": c.instance_id,
                "business_key": c.business_key,
                "uscc": c.uscc,
                "status": c.status,
                "version": c.version,
                "can_migrate": c.can_migrate,
                "positions": c.positions,
                "reasons": [r.__dict__ for r in c.reasons],
                "timers": c.timers,
            }
            for c in report.instances
        ],
    }
