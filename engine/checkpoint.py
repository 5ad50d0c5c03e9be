"""SQLite WAL checkpoints on a thread of their own, off the commands' path.

In WAL mode each commit appends pages to the `-wal` file; a checkpoint copies them back into
the database file and syncs both. SQLite runs it inside the commit that crosses
`wal_autocheckpoint` pages, so that one command waits ~20 ms for the copy and the syncs while
the others pay nothing. A process that writes instead wakes a `WalCheckpointer` after its
commits; it waits `interval_s` for more of them, then runs a PASSIVE checkpoint on its own
connection: it copies what no reader still needs, never waits for a lock and never blocks a
reader or writer, and the sqlite3 module releases the GIL while it runs. `wal_autocheckpoint`
stays as the backstop for a burst the thread has not caught up with.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from typing import Any

logger = logging.getLogger(__name__)


IDLE_S = 30.0  # a thread without commits for this long closes its connection and ends


class WalCheckpointer:
    """Checkpoints one SQLite database file after writes (`wrote()`), from a daemon thread
    started by the first write and ended after `IDLE_S` without one."""

    def __init__(self, path: str, interval_s: float) -> None:
        self.path = path
        self.interval_s = interval_s
        self.idle_s = IDLE_S
        self.runs = 0  # checkpoints run, and how many found another one running
        self.busy = 0
        # what the last one reported: (busy, frames in the WAL, frames copied into the file)
        self.last: tuple[int, int, int] | None = None
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wrote(self) -> None:
        """A transaction of this process committed: checkpoint within `interval_s`."""
        if not self._wake.is_set():
            self._wake.set()
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="tidu-wal-checkpoint", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        me = threading.current_thread()
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            while self._thread is me and (self._wake.wait(self.idle_s) or not self._end(me)):
                time.sleep(self.interval_s)  # gather the commits of the next moment into one
                self._wake.clear()
                self._checkpoint(conn)
        finally:
            conn.close()
        if self._thread is None and self._wake.is_set():  # a commit came while it was ending
            self._start()

    def _forked(self) -> None:
        """In a forked child: the parent's thread did not come along (gunicorn --preload)."""
        self._thread = None
        self._wake = threading.Event()
        self._lock = threading.Lock()

    def _end(self, me: threading.Thread) -> bool:
        """End the thread unless a commit woke it meanwhile."""
        with self._lock:
            if self._wake.is_set():
                return False
            if self._thread is me:
                self._thread = None
            return True

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error:  # the next commit wakes it again; the backstop still holds
            logger.exception("WAL checkpoint of %s failed", self.path)
            return
        self.runs += 1
        self.busy += int(busy)
        self.last = (int(busy), int(frames), int(copied))


_BY_FILE: dict[tuple[str, float], WalCheckpointer] = {}
_BY_FILE_LOCK = threading.Lock()


def for_engine(url: Any, interval_s: float) -> WalCheckpointer | None:
    """The process's checkpointer of a file-backed SQLite database: one per file, shared by
    every context on it (None for PostgreSQL, an in-memory database, or `interval_s` 0)."""
    if interval_s <= 0 or url.get_backend_name() != "sqlite":
        return None
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    key = (os.path.abspath(path), interval_s)
    with _BY_FILE_LOCK:
        found = _BY_FILE.get(key)
        if found is None:
            found = _BY_FILE[key] = WalCheckpointer(key[0], interval_s)
        return found


def _after_fork_in_child() -> None:
    global _BY_FILE_LOCK
    _BY_FILE_LOCK = threading.Lock()
    for checkpointer in _BY_FILE.values():
        checkpointer._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)
