"""EngineContext: settings, database, clock and script engine shared by all commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from engine import checkpoint, holidays
from engine import clock as clocks
from engine.runtime import HostScriptEngine
from engine.settings import Settings
from engine.store import make_engine, make_sessionmaker


@dataclass
class Actor:
    """Who runs a command: a user (role, region, uscc) or the engine itself."""

    id: str
    role: str
    region: str | None = None
    uscc: str | None = None
    display_name: str = ""

    @classmethod
    def system(cls, name: str = "engine") -> Actor:
        return cls(id=name, role="system", display_name="系统")


@dataclass
class EngineContext:
    settings: Settings
    clock: Any = field(default_factory=clocks.SystemClock)
    db: Engine | None = None
    sessions: sessionmaker | None = None
    script_engine: HostScriptEngine | None = None
    # per-process caches of immutable or short-lived lookups (resolved tokens, definitions)
    caches: dict[str, Any] = field(default_factory=dict)
    checkpointer: checkpoint.WalCheckpointer | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.db = self.db or make_engine(
            self.settings.database_url,
            pre_ping=self.settings.db_pre_ping,
            recycle_s=self.settings.db_pool_recycle_s,
            wal_autocheckpoint=self.settings.sqlite_wal_autocheckpoint,
            pipeline_writes=self.settings.db_pipeline_writes,
            prepare_threshold=self.settings.db_prepare_threshold,
            lock_timeout_s=self.settings.db_lock_timeout_s,
        )
        self.sessions = self.sessions or make_sessionmaker(self.db)
        self.checkpointer = checkpoint.for_engine(
            self.db.url, self.settings.sqlite_checkpoint_interval_s
        )
        # reads: PostgreSQL gives each statement of a READ COMMITTED transaction a snapshot of
        # its own, so they run in autocommit there, without BEGIN and COMMIT round trips;
        # SQLite's deferred transaction keeps one snapshot for all of a read's statements
        self._rows_engine = self.db.execution_options(
            tidu_read=True, **({"isolation_level": "AUTOCOMMIT"} if self.is_postgres else {})
        )
        self._read_sessions = make_sessionmaker(self._rows_engine)
        clocks.install(self.clock)
        holidays.install(self)  # uploaded holiday calendars of this database
        self.script_engine = HostScriptEngine(self.clock, self.settings.timezone)

    def today(self) -> date:
        """Today's date in the configured time zone (deadlines, rounds and bans are local days)."""
        return clocks.local_today(self.clock, self.settings.timezone)

    @property
    def is_postgres(self) -> bool:
        return self.db.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One command = one transaction: commit on success, roll back on any error."""
        with self.sessions() as session, session.begin():
            yield session
        if self.checkpointer is not None:
            self.checkpointer.wrote()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work (queries of projections): never takes SQLite's write lock;
        on PostgreSQL in autocommit, which reads as its READ COMMITTED transaction would."""
        with self._read_sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading_rows(self) -> Iterator[Connection]:
        """A read-only transaction on a bare connection, for the hot reads of plain rows
        (inbox, case status): no session to set up, flush or close; on PostgreSQL in autocommit,
        which reads as its READ COMMITTED transaction would."""
        with self._rows_engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def streaming_rows(self, batch: int) -> Iterator[Connection]:
        """A read-only transaction whose rows arrive `batch` at a time as the caller iterates
        them, for exports of any size in flat memory: on PostgreSQL a server-side cursor, which
        needs a transaction (so not the autocommit reads), and the one statement's snapshot
        holds for all its rows; SQLite's cursor steps through the rows itself."""
        engine = self.db if self.is_postgres else self._rows_engine
        with engine.connect() as conn, conn.begin():
            yield conn.execution_options(yield_per=batch)

    def now(self) -> Any:
        return self.clock.now()
