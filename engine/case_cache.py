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
  JSON gives back otherwise (a tuple comes back as a list, a number key as text) and lists or
  dicts that several tasks or names share, where a restored case has its own copies (or shares
  them differently: SpiffWorkflow copies inherited data one level deep, and a restored case
  inherits from its stored deltas). A script that compares a tuple or changes a shared list
  in place could then take another path on a warm case. So a workflow is kept only when its
  data is flat JSON (scalars, and lists or dicts of scalars, each in one place) and no event is
  pending; any other is left cold (`unfaithful`) and its next command reads the JSON. Its
  subprocesses and event manager (which tasks catch events) are put in the order loading
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


def _flat(value: dict[str, Any], seen: set[int]) -> bool:
    """A data dict of JSON scalars and of lists and dicts of JSON scalars (text keys), none of
    its dicts or lists met before."""
    if type(value) is not dict or id(value) in seen:
        return False
    seen.add(id(value))
    for key, item in value.items():
        kind = type(item)
        if type(key) is not str:
            return False
        if kind in JSON_SCALARS:
            continue
        if id(item) in seen:
            return False
        seen.add(id(item))
        if kind is list:
            if not all(type(x) in JSON_SCALARS for x in item):
                return False
        elif kind is dict:
            if not all(type(k) is str and type(x) in JSON_SCALARS for k, x in item.items()):
                return False
        else:
            return False
    return True


def restores_as_it_is(wf: Any) -> bool:
    """Whether loading the workflow's JSON gives back data equal to its own and shaped as its
    own: every task's data and internal data, each workflow's data and correlations hold only
    JSON scalars and lists or dicts of them, no two places hold the same list or dict, and no
    events are pending."""
    if wf.bpmn_events:
        return False
    seen: set[int] = set()
    for flow in (wf, *wf.subprocesses.values()):
        for task in flow.tasks.values():
            if not (_flat(task.data, seen) and _flat(task.internal_data, seen)):
                return False
        if not (_flat(flow.data, seen) and _flat(flow.correlations, seen)):
            return False
    return True


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
