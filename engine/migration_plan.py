"""Migrating one workflow state to another version in memory (SpiffWorkflow's diff/migrate).

`apply` judges whether a state can move (an element it stands at or passed was removed or
changed in a way that breaks its path), and if so moves it: `migrate_workflow`, then the timer
targets put back (a reset timer would count again from now), then the branches that function
leaves alone re-predicted, then a check that the state loads again. No database here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from engine.migration_review import rule_changes, setting_changes
from engine.projections import waiting_timers
from engine.runtime import SERIALIZER, SPEC_SERIALIZER
from engine.store import Definition

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

    @functools.cached_property
    def outputs_changed(self) -> set[int]:
        """ids of the new version's specs whose outgoing flows differ from the old version's."""
        pairs = [self.top, *(p for p in self.deps.values() if p)]
        return {
            id(p.diff.alignment[old])
            for p in pairs
            for old, keys in p.changed.items()
            if "outputs" in keys and p.diff.alignment.get(old) is not None
        }

    @functools.cached_property
    def settings(self) -> list[dict[str, Any]]:
        """流程参数 lines whose value differs (old and new value)."""
        return setting_changes(self.old, self.new)

    @functools.cached_property
    def rules(self) -> list[dict[str, Any]]:
        """Rule-table cells, rules and tables that differ (DMN files of the two versions)."""
        return rule_changes(self.old, self.new)

    def changes(self) -> dict[str, list[dict[str, Any]]]:
        """Elements added, removed and changed (called processes scoped), 流程参数 values and
        rule-table cells changed."""
        out: dict[str, list[dict[str, Any]]] = {"added": [], "removed": [], "changed": []}
        pairs = [("", self.top)] + [(f"{k}/", v) for k, v in self.deps.items() if v]
        for prefix, pair in pairs:
            out["added"] += [_element(s, prefix) for s in pair.diff.added if s.bpmn_id]
            out["removed"] += [_element(s, prefix) for s in pair.diff.removed if s.bpmn_id]
            out["changed"] += [
                _element(s, prefix)
                | {"what": [WHAT.get(k, k) for k in keys], "keys": keys}
                | {"details": _details(s, pair.diff.alignment.get(s), keys)}
                for s, keys in pair.changed.items()
                if s.bpmn_id
            ]
        out["removed"] += [
            {"element_id": k, "name": k, "type": "Process"}
            for k, v in self.deps.items()
            if v is None
        ]
        out["added"] += [{"element_id": k, "name": k, "type": "Process"} for k in self.added_deps]
        return out | {"settings": self.settings, "rules": self.rules}


SHOWN = ("bpmn_name", "lane", "script", "prescript", "postscript", "operation_name")


def _details(old: Any, new: Any, keys: list[str]) -> dict[str, list[Any]]:
    """Old and new value of the changed aspects a person reads (name, lane, scripts)."""
    if new is None:
        return {}
    return {k: [getattr(old, k, None), getattr(new, k, None)] for k in keys if k in SHOWN}


def _element(spec: Any, prefix: str = "") -> dict[str, Any]:
    return {
        "element_id": f"{prefix}{spec.bpmn_id}",
        "name": spec.bpmn_name or spec.bpmn_id,
        "type": type(spec).__name__,
    }


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
            what = "、".join(WHAT[k] for k in sorted(keys & PATH_KEYS))
            return Reason(
                where,
                "path-changed",
                f"案件已经过的元素 {label} 在新版本中{what}已改变（改动位于案件当前位置之前）",
            )
        return None
    if not task.has_state(ACTIVE):
        return None
    if spec in pair.removed:
        return Reason(where, "current-removed", f"案件正停留在 {label}，新版本删除了该元素")
    if "typename" in keys:
        return Reason(
            where, "current-type-changed", f"案件正停留在 {label}，新版本改变了该元素的类型"
        )
    if task.has_state(TaskState.STARTED) and "spec" in keys:
        return Reason(
            where, "called-process-changed", f"案件正在执行 {label}，新版本改变了它调用的子流程"
        )
    return None


def _judge(wf: Any, plan_: Plan) -> tuple[list[Reason], WorkflowDiff | None, dict[Any, Any]]:
    reasons: list[Reason] = []
    parts: list[tuple[Any, SpecPair, bool]] = [(wf, plan_.top, False)]
    for sp in wf.subprocesses.values():
        pair = plan_.deps.get(sp.spec.name)
        if pair is None:  # a completed one too: its state still names the process's elements
            parent = wf.get_task_from_id(sp.parent_task_id)
            rule, verb = (
                ("history-removed", "执行过")
                if sp.completed
                else ("subprocess-removed", "正在执行")
            )
            message = (
                f"案件{verb}的子流程 {sp.spec.name}（由 {_label(parent)} 调用）在新版本中不存在"
            )
            reasons.append(Reason(element_id(parent), rule, message))
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
    subs = {
        sp_id: WorkflowDiff(sp, plan_.deps[sp.spec.name].diff)  # type: ignore[union-attr]
        for sp_id, sp in wf.subprocesses.items()
        if plan_.deps.get(sp.spec.name)
    }
    return [], top, subs


RULE_ORDER = (
    "current-removed",
    "current-type-changed",
    "called-process-changed",
    "subprocess-removed",
    "history-removed",
    "path-changed",
)


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


def _repredict(plan_: Plan, wf: Any) -> None:
    """Re-predict the branches `migrate_workflow` leaves alone whose outgoing flows changed.

    It resets ready and waiting tasks only. A running subprocess (an embedded one holds a case
    for years) keeps the predicted children of the old version below it; they must follow the
    new version before the subprocess completes, or SpiffWorkflow refuses to continue.
    """
    changed = plan_.outputs_changed
    for task in wf.get_tasks(state=TaskState.STARTED | PREDICTED):
        if task.id not in task.workflow.tasks or id(task.task_spec) not in changed:
            continue  # dropped with an ancestor just re-predicted, or its flows did not change
        outputs = task.task_spec.outputs
        if sorted(id(c.task_spec) for c in task.children) == sorted(id(s) for s in outputs):
            continue
        if any(not c.has_state(PREDICTED) for c in task.children):
            continue  # a definite child: left to the orphan check
        task._drop_children(force=True)
        best = TaskState.FUTURE if task.has_state(TaskState.DEFINITE_MASK) else task.state
        task._sync_children(outputs, best)
        for child in task.children:
            child.task_spec._predict(child, mask=PREDICTED)


def apply(plan_: Plan, wf: Any) -> tuple[list[Reason], list[dict[str, Any]]]:
    """Migrate a workflow in memory; return the reasons it cannot move, or its timers after."""
    reasons, top, subs = _judge(wf, plan_)
    if reasons:
        return reasons, []
    before = {t.id: due for t, due in waiting_timers(wf)}
    kept = {
        t.id: (
            _timer_kinds(t.task_spec),
            {k: t.internal_data[k] for k in EVENT_KEYS if k in t.internal_data},
        )
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
    _repredict(plan_, wf)
    return _orphans(wf), [
        {
            "element_id": element_id(t),
            "name": t.task_spec.bpmn_name or "",
            "due_at": due.astimezone(UTC),
            "kept": before.get(t.id) == due,
        }
        for t, due in waiting_timers(wf)
    ]


def _orphans(wf: Any) -> list[Reason]:
    """Tasks still pointing at an element the new version lacks (the state would not load)."""
    out = []
    for task in wf.get_tasks():
        spec = task.task_spec
        if task.workflow.spec.task_specs.get(spec.name) is not spec:
            reason = Reason(
                element_id(task), "orphaned", f"案件状态中的 {_label(task)} 在新版本中没有对应元素"
            )
            if reason not in out:
                out.append(reason)
    if not out:
        try:
            SERIALIZER.deserialize_json(SERIALIZER.serialize_json(wf))
        except Exception as error:  # the migrated state must load again
            out.append(
                Reason("", "state-invalid", f"迁移后的案件状态无法读取：{type(error).__name__}")
            )
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
            out.append(
                {
                    "element_id": key,
                    "name": task.task_spec.bpmn_name or "",
                    "state": TaskState.get_name(task.state),
                }
            )
    return out
