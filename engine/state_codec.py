"""A faster converter for SpiffWorkflow tasks, writing and reading the same JSON as the stock one.

Saving and loading a case converts every task of its tree. SpiffWorkflow's `TaskConverter`
spends most of that time in generic helpers: a deep merge that only ever copies the parent's
data one level deep, the registry's recursive restore that rebuilds every plain JSON value,
and `UUID(str)`, which re-validates ids that SpiffWorkflow itself wrote. This converter does
the same work directly. Its output is the stock converter's, key for key, and it reads any
state the stock converter wrote; `tests/engine/test_state_codec.py` holds it to both.
"""

from __future__ import annotations

from copy import copy
from typing import Any
from uuid import UUID, SafeUUID

from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.util.task import TaskState

JSON_SCALARS = frozenset((str, int, float, bool, type(None)))  # restored by JSON as they are
_SHALLOW = frozenset((dict, list, set))
_new = object.__new__
_set = object.__setattr__
_UNKNOWN = SafeUUID.unknown


def uuid_of(text: str) -> UUID:
    """`UUID(text)` for a canonical id string as `str(UUID)` writes it, without re-validation
    (a malformed string still raises ValueError)."""
    if len(text) != 36:
        return UUID(text)
    found = _new(UUID)
    _set(found, "int", int(text.replace("-", ""), 16))
    _set(found, "is_safe", _UNKNOWN)
    return found


def restore_in_place(registry: Any, value: Any) -> Any:
    """The registry's `restore` for a value fresh from `json.loads`: registered objects (dicts
    with a `typename`) are restored, everything else is kept instead of copied."""
    kind = type(value)
    if kind is dict:
        if "typename" in value:
            return registry.restore(value)
        for key, item in value.items():
            if type(item) not in JSON_SCALARS:
                value[key] = restore_in_place(registry, item)
        return value
    if kind is list:
        for index, item in enumerate(value):
            if type(item) not in JSON_SCALARS:
                value[index] = restore_in_place(registry, item)
        return value
    return registry.restore(value)


def inherited(data: dict[str, Any]) -> dict[str, Any]:
    """`DeepMerge.merge({}, data)`: a new dict whose mutable values are shallow copies."""
    out = data.copy()
    for key, value in out.items():
        kind = type(value)
        if kind in _SHALLOW:
            out[key] = value.copy()
        elif kind not in JSON_SCALARS and isinstance(value, (dict, list, set)):
            out[key] = copy(value)
    return out


class FastTaskConverter(TaskConverter):
    """SpiffWorkflow's `TaskConverter` (delta-encoded task data), done without its helpers."""

    def to_dict(self, task: Any) -> dict[str, Any]:
        parent = task.workflow.tasks.get(task._parent)
        if parent is None:
            data, delta = task.data, {}
        else:
            before, after = parent.data, task.data
            data = {}
            delta = {
                "updates": {k: v for k, v in after.items() if k not in before or v != before[k]},
                "deletions": [k for k in before if k not in after],
            }
        internal = task.internal_data
        return {
            "id": str(task.id),
            "parent": str(task._parent) if parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(internal) if internal else {},
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct: dict[str, Any], workflow: Any) -> Any:
        registry = self.registry
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=uuid_of(dct["id"]))
        parent_id = dct["parent"]
        task._parent = uuid_of(parent_id) if parent_id is not None else None
        task._children = [uuid_of(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal = dct["internal_data"]
        task.internal_data = restore_in_place(registry, internal) if internal else {}
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = workflow.tasks.get(task._parent) if delta else None
        if parent is not None:
            data = inherited(parent.data)
            updates = delta.get("updates")
            if updates:
                data.update(restore_in_place(registry, updates))
            for key in delta.get("deletions", ()):
                if key in data:
                    del data[key]
        else:
            data = restore_in_place(registry, dct["data"])
        task.data = data
        return task
