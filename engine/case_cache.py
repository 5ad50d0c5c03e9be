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
- The cache is bounded (`TIDU_CASE_CACHE_SIZE`, least recently used out first; 0 turns it
  off) and per process; it holds no data that is not also in the database.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "tidu_case_cache"


@dataclass(frozen=True)
class Warm:
    version: int
    definition_id: str
    wf: Any
    waits: Any  # engine.projections.Waits of wf, as its projection rows show it


class CaseCache:
    """A bounded, thread-safe LRU of warm workflows by case id."""

    def __init__(self, size: int) -> None:
        self.size = size
        # takes that found the case; found nothing kept; found it kept at another version
        self.hits = self.misses = self.stale = 0
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


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for cache, row, wf, state_json, waits in session.info.pop(_PENDING, {}).values():
        if row.__dict__.get("state_json") is state_json:
            cache.keep(row.id, Warm(row.version, row.definition_id, wf, waits))


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
