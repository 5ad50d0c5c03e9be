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
  JSON cannot (a tuple comes back as a list, a date as text) and containers shared between
  tasks or keys (SpiffWorkflow's data merge copies only one level deep), which the restored
  workflow has as separate copies: a script that later mutates one in place, or compares a
  tuple, would take another path on a warm case than on a restored one. So before a
  workflow is kept its data is rebuilt as fresh dicts and lists, as JSON would give it back,
  values of registered types (datetimes, BPMN events) are converted and restored by the
  serializer's registry; a workflow holding anything else JSON would change (a tuple, a
  non-text key) is not kept at all (`unfaithful`).
- The cache is bounded (`TIDU_CASE_CACHE_SIZE`, least recently used out first; 0 turns it
  off) and per process; it holds no data that is not also in the database.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "tidu_case_cache"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Warm:
    version: int
    definition_id: str
    wf: Any
    waits: Any  # engine.projections.Waits of wf, as its projection rows show it


class CaseCache:
    """A bounded, thread-safe LRU of warm workflows by case id."""

    def __init__(self, size: int, registry: Any) -> None:
        self.size = size
        self.registry = registry  # the serializer's: how a case's values are stored
        # takes that found the case; found nothing kept; found it kept at another version;
        # saves not kept because the workflow held what JSON would change
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

    def discard(self, instance_id: str) -> None:
        with self._lock:
            self._items.pop(instance_id, None)


def keep_on_commit(
    session: Session, cache: CaseCache, row: Any, wf: Any, state_json: str, waits: Any
) -> None:
    """Keep `wf` for the case once this session commits, if the row then still holds
    `state_json` (the text just serialized from it); the last save of a case wins."""
    if cache.size > 0:
        session.info.setdefault(_PENDING, {})[row.id] = (cache, row, wf, state_json, waits)


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


class _NotJson(Exception):
    """A value the stored JSON would not give back as it is."""


def _as_restored(value: Any, registry: Any) -> Any:
    """`value` as restoring its stored form gives it back: new dicts and lists all the way
    down, and a value of a registered type (a datetime, a BPMN event...) converted and
    restored by the serializer's registry, as saving and loading the case would."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if kind is dict:
        if "typename" in value:  # restoring would read it as a registered value
            raise _NotJson
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotJson
            out[key] = _as_restored(item, registry)
        return out
    if kind is list:
        return [_as_restored(item, registry) for item in value]
    converted = registry.convert(value)
    if type(converted) is not dict or "typename" not in converted or not _json_only(converted):
        raise _NotJson  # a tuple, a set, a date...: JSON changes or refuses it
    return registry.restore(converted)  # new objects and containers throughout


def _json_only(value: Any) -> bool:
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _json_only(v) for k, v in value.items())
    if kind is list:
        return all(_json_only(v) for v in value)
    return kind in _JSON_SCALARS


def restore_in_place(wf: Any, registry: Any) -> bool:
    """Give the workflow's data (every task's data and internal data, each workflow's and
    subprocess's data with its data objects, correlations, pending events) the shape its
    stored JSON restores to; False, leaving it unfit to keep, when it holds anything JSON
    would change."""
    try:
        wf.bpmn_events = _as_restored(wf.bpmn_events, registry)
        for flow in (wf, *wf.subprocesses.values()):
            for task in flow.tasks.values():
                task.data = _as_restored(task.data, registry)
                task.internal_data = _as_restored(task.internal_data, registry)
            flow.data = _as_restored(flow.data, registry)
            flow.correlations = _as_restored(flow.correlations, registry)
    except _NotJson:
        return False
    except Exception:  # after the commit nothing may fail the command: the case goes cold
        logger.exception("case cache: a workflow could not be kept")
        return False
    return True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for cache, row, wf, state_json, waits in session.info.pop(_PENDING, {}).values():
        if row.__dict__.get("state_json") is not state_json:
            continue
        if restore_in_place(wf, cache.registry):
            cache.keep(row.id, Warm(row.version, row.definition_id, wf, waits))
        else:
            cache.unfaithful += 1


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
