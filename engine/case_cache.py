"""Warm cases: the workflow a committed command left behind, kept for the next command on it.

Every command used to rebuild its case's workflow from the stored JSON. A process now keeps,
per case, the workflow object its last committed command saved (as Temporal's workers keep a
"sticky" cache of workflow state), keyed by the case's optimistic version: the next command
reads the case row under its lock as before, and takes the kept workflow only when the row's
version and definition are the ones it was saved with. Any other writer (another process, a
migration, a command that changed the row without saving this workflow) moves the version on,
and the JSON is read as before.

- A command takes the workflow out of the cache (it owns it; nothing else can see it while it
  mutates it) and only a commit puts one back, so a rolled-back or failed command leaves
  nothing behind: the next one reads the JSON of the last committed state.
- What is kept is what was saved: `keep_on_commit` records the serialized text beside the
  workflow, and the commit keeps it only if the row still holds that very text.
- What is kept is what the JSON restores, not merely equal to it. Live task data can hold what
  JSON gives back otherwise (a tuple comes back as a list, a number key as text), and lists or
  dicts shared otherwise than loading shares them: loading gives each stored value its own
  copy, and a child task inherits its parent's unchanged values copied one level deep (their
  nested lists and dicts are the parent's own). A value equal to the parent's comes back as
  the parent's (`True` where the parent held `1`), and names come back in the order the
  rebuild gives them. A script that compares a tuple or changes a shared list in place could
  then take another path on a warm case. So a workflow is kept only when its data is JSON held
  exactly where, as and in the order loading would put it (`restores_as_it_is`, checked
  against a real load by `tests/fixtures/codec_check.py` in every process test), and no
  event is pending; any other is left cold (`unfaithful`) and its next command reads the JSON.
  Its subprocesses and event manager (which tasks catch events) are put in the order loading
  puts them.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.state_codec import JSON_SCALARS

_PENDING = "tidu_case_cache"
_ABSENT = object()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Warm:
    version: int
    definition_id: int
    wf: Any
    waits: Any  # engine.projections.Waits of wf, as its projection rows show it


class CaseCache:
    """A bounded, thread-safe LRU of warm workflows by case id."""

    def __init__(self, size: int) -> None:
        self.size = size
        # takes that found the case; found nothing kept; found it kept at another version;
        # saves not kept because the workflow held what JSON would change (statistics only:
        # not counted under the lock)
        self.hits = self.misses = self.stale = self.unfaithful = 0
        self._items: OrderedDict[str, Warm] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def take(self, row: Any) -> Warm | None:
        """The warm workflow of a case row just read (and locked), removed from the cache;
        None when there is none, or it was saved at another version or definition."""
        if self.size <= 0:
            return None
        with self._lock:
            warm = self._items.pop(row.id, None)
        if warm is None:
            self.misses += 1
            return None
        if (warm.version, warm.definition_id) != (row.version, row.definition_id):
            self.stale += 1
            return None
        self.hits += 1
        return warm

    def keep(self, instance_id: str, warm: Warm) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[instance_id] = warm
            self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def keep_on_commit(
    session: Session, cache: CaseCache, row: Any, wf: Any, state_json: str, waits: Any
) -> None:
    """Keep `wf` for the case once this session commits, if the row then still holds
    `state_json` (the text just serialized from it); the last save of a case wins."""
    if cache.size > 0:
        session.info.setdefault(_PENDING, {})[row.id] = (cache, row, wf, state_json, waits)


def _fresh(value: Any, seen: set[int]) -> bool:
    """A JSON value whose dicts and lists (text keys) are met nowhere else: what loading gives
    each place that stores its own copy (a task's updates, internal data, workflow data)."""
    kind = type(value)
    if kind in JSON_SCALARS:
        return True
    if kind is dict:
        items: Any = value.values()
        if not all(type(key) is str for key in value):
            return False
    elif kind is list:
        items = value
    else:
        return False
    if id(value) in seen:
        return False
    seen.add(id(value))
    return all(type(item) in JSON_SCALARS or _fresh(item, seen) for item in items)


def _copy_of(value: Any, before: Any) -> bool:
    """Whether `value` is what loading inherits for the parent's `before`: the scalar itself
    (of its kind: 1 == True == 1.0), or a copy of the list or dict one level deep holding the
    same items in the same order (so, equal to it)."""
    kind = type(value)
    if kind is not type(before):
        return False
    if kind in JSON_SCALARS:
        return value is before or value == before
    if value is before:
        return False
    if kind is dict:
        if len(value) != len(before) or list(value) != list(before):
            return False
        pairs: Any = zip(value.values(), before.values(), strict=True)
    elif len(value) == len(before):
        pairs = zip(value, before, strict=True)
    else:
        return False
    for item, old in pairs:
        if item is not old and not (
            type(item) is type(old) and type(item) in JSON_SCALARS and item == old
        ):
            return False
    return True


def _inherits(data: Any, before: dict[str, Any], seen: set[int]) -> bool:
    """A child task's data is what loading rebuilds from its parent's data and its stored delta
    (`state_codec.FastTaskConverter`): what equals the parent's is copied one level deep from
    it, what changed is a fresh value, and the names keep the order the rebuild gives them."""
    if type(data) is not dict or id(data) in seen:
        return False
    seen.add(id(data))
    for key, item in data.items():
        old = before.get(key, _ABSENT)
        if item is old and type(item) in JSON_SCALARS:  # most names: inherited, untouched
            continue
        if type(key) is not str or not _as_loaded(item, old, seen):
            return False
    names = list(data)
    return names == list(before) or names == _rebuilt_order(data, before)


def _as_loaded(item: Any, old: Any, seen: set[int]) -> bool:
    """Whether loading gives a child `item` where its parent holds `old` (`_ABSENT`: none)."""
    if old is not _ABSENT:
        if _copy_of(item, old):
            if type(item) in JSON_SCALARS:
                return True
            if id(item) in seen:
                return False
            seen.add(id(item))
            return True
        if item == old:
            return False  # equal, so inherited on loading, but not shaped as inherited
    return _fresh(item, seen)


def _rebuilt_order(data: dict[str, Any], before: dict[str, Any]) -> list[str]:
    """The order of names loading gives a child: its parent's, then its own new ones."""
    return [key for key in before if key in data] + [key for key in data if key not in before]


def restores_as_it_is(wf: Any) -> bool:
    """Whether loading the workflow's JSON gives back its data as it is, shaped as it is: every
    value is JSON (a tuple would come back as a list, a number key as text), each list or dict
    is held where loading puts it (its own copy, or the one a child inherits from its parent),
    and no events are pending."""
    if wf.bpmn_events:
        return False
    seen: set[int] = set()
    flows = (wf, *wf.subprocesses.values())
    # first what is cheap to check and most often not JSON (events a gateway caught)
    if not all(_stored_apart(flow, seen) for flow in flows):
        return False
    for flow in flows:
        tasks = flow.tasks
        for task in tasks.values():
            parent = tasks.get(task._parent)
            if parent is None:
                if type(task.data) is not dict or not _fresh(task.data, seen):
                    return False
            elif not _inherits(task.data, parent.data, seen):
                return False
    return True


def _stored_apart(flow: Any, seen: set[int]) -> bool:
    """A workflow's data and correlations and its tasks' internal data are fresh JSON."""
    values = [flow.data, flow.correlations]
    values += [task.internal_data for task in flow.tasks.values()]
    return all(type(value) is dict and _fresh(value, seen) for value in values)


def order_as_loaded(wf: Any) -> None:
    """Give the workflow the subprocess order and the event manager loading it builds.

    Loading restores the top workflow's tasks, then each subprocess after the task that
    called it (in task order, depth first), registering waiting catch events as it goes
    (`state_codec.FastTaskConverter`). The live workflow holds its subprocesses in the order
    they started, and its event manager can still list a task that left the tree."""
    subprocesses: dict[Any, Any] = {}
    waiting: dict[Any, Any] = {}

    def restore(flow: Any) -> None:
        for task in flow.tasks.values():
            if isinstance(task.task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
                waiting[task.id] = task

    def called_from(flow: Any) -> None:
        for task in flow.tasks.values():
            called = wf.subprocesses.get(task.id)
            if called is not None and isinstance(task.task_spec, SubWorkflowTask):
                subprocesses[task.id] = called
                restore(called)
                called_from(called)

    restore(wf)
    called_from(wf)
    if len(subprocesses) != len(wf.subprocesses):
        raise ValueError("a subprocess that loading would not restore")
    wf.subprocesses = subprocesses
    wf.event_manager.tasks = waiting


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for cache, row, wf, state_json, waits in session.info.pop(_PENDING, {}).values():
        if row.__dict__.get("state_json") is not state_json:
            continue
        try:
            faithful = restores_as_it_is(wf)
            if faithful:
                order_as_loaded(wf)
        except Exception:  # after the commit nothing may fail the command: the case goes cold
            logger.exception("case cache: a workflow could not be checked")
            faithful = False
        if faithful:
            cache.keep(row.id, Warm(row.version, row.definition_id, wf, waits))
        else:
            cache.unfaithful += 1


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
