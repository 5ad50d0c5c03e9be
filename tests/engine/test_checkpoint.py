"""SQLite WAL checkpoints run on a thread of their own after commands (engine/checkpoint.py)."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from engine import checkpoint, migrate
from engine.checkpoint import WalCheckpointer
from engine.clock import SimulatedClock
from engine.context import EngineContext
from engine.settings import Settings


def _ctx(tmp_path: Path, clock: SimulatedClock, **settings: object) -> EngineContext:
    url = f"sqlite:///{tmp_path}/c.db"
    migrate.upgrade(url)
    return EngineContext(
        Settings(database_url=url, embedded_scheduler=False, **settings),  # type: ignore[arg-type]
        clock=clock,
    )


def _rows_in_the_database_file(tmp_path: Path) -> int:
    """Users in a copy of the database file alone: what checkpoints copied out of the WAL."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(tmp_path / "c.db", copy)
    conn = sqlite3.connect(copy)
    try:
        return conn.execute("SELECT count(*) FROM app_user").fetchone()[0]
    except sqlite3.DatabaseError:  # copied halfway through a checkpoint
        return -1
    finally:
        conn.close()
        copy.unlink()


def _wait_for(check, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def test_commands_wake_a_thread_that_copies_the_wal_into_the_database(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    # the commits' own checkpoint is out of reach, so only the thread can copy frames
    ctx = _ctx(
        tmp_path, clock, sqlite_wal_autocheckpoint=1_000_000, sqlite_checkpoint_interval_s=0.01
    )
    checkpointer = ctx.checkpointer
    assert checkpointer is not None
    assert checkpointer._thread is None  # started by the first write, not before
    assert _rows_in_the_database_file(tmp_path) == 0
    for i in range(50):
        with ctx.transaction() as session:
            session.execute(
                text("INSERT INTO app_user (id, display_name, role) VALUES (:id, '张三', 'city')"),
                {"id": f"u{i}"},
            )
    # the rows reach the database file itself, not only the WAL
    assert _wait_for(lambda: _rows_in_the_database_file(tmp_path) == 50)
    assert checkpointer.runs >= 1
    assert checkpointer.last is not None
    assert checkpointer.last[2] > 0  # frames copied


def test_a_read_does_not_wake_the_thread(tmp_path: Path, clock: SimulatedClock) -> None:
    ctx = _ctx(tmp_path, clock, sqlite_checkpoint_interval_s=0.01)
    with ctx.reading() as session:
        session.execute(text("SELECT 1"))
    with ctx.reading_rows() as conn:
        conn.execute(text("SELECT 1"))
    assert ctx.checkpointer is not None
    assert ctx.checkpointer._thread is None


def test_a_failed_command_does_not_wake_the_thread(tmp_path: Path, clock: SimulatedClock) -> None:
    ctx = _ctx(tmp_path, clock, sqlite_checkpoint_interval_s=0.01)
    with pytest.raises(RuntimeError), ctx.transaction():
        raise RuntimeError("boom")
    assert ctx.checkpointer is not None
    assert ctx.checkpointer._thread is None


def _write(ctx: EngineContext) -> None:
    with ctx.transaction() as session:
        session.execute(text("SELECT 1"))


def _written_once(tmp_path: Path, clock: SimulatedClock) -> tuple[EngineContext, WalCheckpointer]:
    """A context whose checkpointer ends its thread after 0.05 s idle, after one write."""
    ctx = _ctx(tmp_path, clock, sqlite_checkpoint_interval_s=0.01)
    checkpointer = ctx.checkpointer
    assert checkpointer is not None
    checkpointer.idle_s = 0.05
    _write(ctx)
    return ctx, checkpointer


def _next_write_starts_a_new_thread(
    ctx: EngineContext, checkpointer: WalCheckpointer, old: Any
) -> Any:
    """Write once more: a thread other than `old` starts, and it checkpoints."""
    runs = checkpointer.runs
    _write(ctx)
    started = checkpointer._thread
    assert started is not None
    assert started is not old
    assert _wait_for(lambda: checkpointer.runs > runs)
    return started


def test_an_idle_thread_ends_and_the_next_write_starts_another(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    ctx, checkpointer = _written_once(tmp_path, clock)
    first = checkpointer._thread
    assert first is not None
    first.join(timeout=5)
    assert not first.is_alive()
    assert checkpointer._thread is None
    _next_write_starts_a_new_thread(ctx, checkpointer, first)


def test_after_a_fork_the_next_write_starts_a_thread_of_the_childs_own(
    tmp_path: Path, clock: SimulatedClock
) -> None:
    ctx, checkpointer = _written_once(tmp_path, clock)
    parents = checkpointer._thread
    assert parents is not None
    # what os.fork runs in the child (a real fork would carry the parent's SQLite connections)
    checkpoint._after_fork_in_child()
    assert checkpointer._thread is None
    childs = _next_write_starts_a_new_thread(ctx, checkpointer, parents)
    parents.join(timeout=5)  # the thread that is no longer its checkpointer's ends
    assert not parents.is_alive()
    assert checkpointer._thread is childs or checkpointer._thread is None


def test_contexts_on_one_file_share_its_checkpointer(tmp_path: Path, clock: SimulatedClock) -> None:
    one = _ctx(tmp_path, clock)
    other = EngineContext(one.settings, clock=clock)
    assert one.checkpointer is other.checkpointer is not None


@pytest.mark.parametrize(
    ("url", "interval"),
    [("sqlite:///{tmp}/c.db", 0.0), ("sqlite://", 0.2), ("postgresql+psycopg://x@h/db", 0.2)],
)
def test_no_thread_without_a_database_file_or_when_turned_off(
    tmp_path: Path, url: str, interval: float
) -> None:
    from sqlalchemy.engine import make_url

    from engine.checkpoint import for_engine

    assert for_engine(make_url(url.format(tmp=tmp_path)), interval) is None


def test_the_interval_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDU_SQLITE_CHECKPOINT_INTERVAL_SECONDS", "0")
    assert Settings.from_env().sqlite_checkpoint_interval_s == 0.0
    monkeypatch.delenv("TIDU_SQLITE_CHECKPOINT_INTERVAL_SECONDS")
    assert Settings.from_env().sqlite_checkpoint_interval_s == 0.2
