"""Hot-path writes run on the driver's cursor (engine/writes.py): values are converted as
SQLAlchemy converts them, and driver errors reach the commands as SQLAlchemy's errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, create_engine, inspect, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine import writes
from engine.context import EngineContext
from engine.settings import Settings
from engine.store import HistoryStream, Instance, make_engine
from tests.fixtures import timer_support as ts
from tests.fixtures.connections import drop_pooled_connection

TABLE = HistoryStream.__table__
# a statement with a value of its own (seq) and one given at each call (name)
MOVE = update(TABLE).where(TABLE.c.stream == bindparam("name")).values(seq=9)


def test_rows_written_on_the_cursor_read_back_through_the_orm(ctx: EngineContext) -> None:
    heads = [{"stream": f"s{i}", "seq": i, "head_hash": "h" * 64} for i in range(3)]
    with ctx.transaction() as session:
        writes.insert_rows(session, HistoryStream.__table__, heads)
        writes.execute(session, MOVE, [{"name": "s1"}, {"name": "s2"}], expect=2)
        writes.execute(session, MOVE, [])
        with pytest.raises(ValueError, match="IN list"):
            writes.execute(session, update(TABLE).where(TABLE.c.stream.in_(["s0"])), {})
    with ctx.reading() as session:
        found = session.execute(select(HistoryStream.stream, HistoryStream.seq)).all()
    assert sorted(found) == [("s0", 0), ("s1", 9), ("s2", 9)]


def test_a_case_row_keeps_its_types(ctx: EngineContext) -> None:
    ts.deploy_fixture(ctx, "timer_wait")
    row = ts.start(ctx, "timer_wait")
    when = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    with ctx.transaction() as session:
        case = session.get(Instance, row.id)
        writes.update_row(session, case, {"updated_at": when, "outcome": "合格"})
    with ctx.reading() as session:
        again = session.get(Instance, row.id)
        assert again.updated_at == when
        assert again.outcome == "合格"
        assert again.version == case.version


def test_a_duplicate_row_is_sqlalchemys_integrity_error(ctx: EngineContext) -> None:
    head = {"stream": "dup", "seq": 1, "head_hash": "h" * 64}
    with ctx.transaction() as session:
        writes.insert_rows(session, HistoryStream.__table__, [head])
    with pytest.raises(IntegrityError), ctx.transaction() as session:
        writes.insert_rows(session, HistoryStream.__table__, [head])
    with ctx.reading() as session:
        assert session.scalars(select(HistoryStream.stream)).all() == ["dup"]


def test_an_update_of_a_changed_case_is_stale(ctx: EngineContext) -> None:
    ts.deploy_fixture(ctx, "timer_wait")
    row = ts.start(ctx, "timer_wait")

    def update_behind_its_back() -> None:
        with ctx.transaction() as session:
            case = session.get(Instance, row.id)
            session.execute(
                text("UPDATE process_instance SET version = version + 1 WHERE id = :id"),
                {"id": row.id},
            )
            writes.update_row(session, case, {"outcome": "x"})

    with pytest.raises(StaleDataError):
        update_behind_its_back()


def test_a_lost_connection_is_reported_as_invalidated(private: EngineContext) -> None:
    drop_pooled_connection(private)  # PostgreSQL: the write below is the first statement

    def write() -> None:
        with private.transaction() as session:
            head = {"stream": "lost", "seq": 1, "head_hash": "h" * 64}
            writes.insert_rows(session, HistoryStream.__table__, [head])

    with pytest.raises(DBAPIError) as raised:
        write()
    assert raised.value.connection_invalidated


CASE_ROWS = writes.Rows(Instance, HistoryStream.__table__.c.seq)
CASE_WITH_HEAD = (
    select(*CASE_ROWS.columns)
    .select_from(
        Instance.__table__.join(
            HistoryStream.__table__,
            HistoryStream.__table__.c.stream == "instance:" + Instance.__table__.c.id,
        )
    )
    .where(Instance.__table__.c.id == bindparam("case"))
)


def test_rows_read_on_the_cursor_are_what_sqlalchemy_reads(ctx: EngineContext) -> None:
    ts.deploy_fixture(ctx, "timer_wait")
    row = ts.start(ctx, "timer_wait")
    with ctx.reading_rows() as conn:
        ours = writes.fetch(conn, CASE_WITH_HEAD, {"case": row.id})
        theirs = conn.execute(CASE_WITH_HEAD, {"case": row.id}).all()
        assert writes.fetch(conn, CASE_WITH_HEAD, {"case": "none"}) == []
        (named,) = writes.fetch(conn, CASE_WITH_HEAD, {"case": row.id}, 1, named=True)
    assert ours == [tuple(r) for r in theirs]
    assert (named.id, named.status, named.seq) == (theirs[0].id, theirs[0].status, theirs[0].seq)
    started = ours[0][[c.key for c in CASE_ROWS.columns].index("started_at")]
    assert started == ctx.now()
    assert started.tzinfo is not None


def test_rows_become_the_sessions_objects_as_an_orm_query_would(ctx: EngineContext) -> None:
    ts.deploy_fixture(ctx, "timer_wait")
    row = ts.start(ctx, "timer_wait")
    with ctx.transaction() as session:
        (found,) = writes.fetch(session, CASE_WITH_HEAD, {"case": row.id})
        case, seq = CASE_ROWS.load(session, found)
        assert (seq, inspect(case).persistent, inspect(case).modified) == (1, True, False)
        assert session.get(Instance, row.id) is case  # the identity map holds it
        assert {k: getattr(case, k) for k in ("status", "version", "started_at")} == {
            "status": row.status,
            "version": row.version,
            "started_at": row.started_at,
        }
        case.outcome = "changed in the session"
        again, _ = CASE_ROWS.load(session, found)
        assert again is case
        assert again.outcome == "changed in the session"  # not overwritten by the row
        writes.update_row(session, case, {"updated_at": ctx.now()})  # versioned: still matches
    with ctx.reading() as session:
        assert session.get(Instance, row.id).version == row.version + 1


def test_a_write_lock_not_granted_is_sqlalchemys_operational_error(ctx: EngineContext) -> None:
    """SQLite: BEGIN IMMEDIATE runs on the driver's cursor; waiting in vain for another
    writer's lock is SQLAlchemy's OperationalError, as when SQLAlchemy ran the BEGIN."""
    if ctx.is_postgres:
        pytest.skip("SQLite's write lock")
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError

    other = create_engine(ctx.settings.database_url)
    holder = other.raw_connection()
    holder.driver_connection.isolation_level = None
    holder.driver_connection.execute("BEGIN IMMEDIATE")
    waiter = make_engine(ctx.settings.database_url)
    try:
        with waiter.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA busy_timeout=50")
            with pytest.raises(OperationalError, match="database is locked"):
                conn.execute(text("SELECT 1"))
        holder.driver_connection.execute("ROLLBACK")
        with waiter.connect() as conn:  # granted once the other writer is done
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        holder.close()
        other.dispose()
        waiter.dispose()


def _fails_after_asking(session: Any) -> None:
    with session.begin():
        writes.connection_of(session)
        raise RuntimeError("rolled back")


def test_a_sessions_connection_is_kept_only_while_its_transaction_lasts(
    ctx: EngineContext,
) -> None:
    session = ctx.sessions()
    try:
        with session.begin():
            first = writes.connection_of(session)
            assert first is session.connection()
            assert writes.connection_of(session) is first
        assert "tidu_connection" not in session.info
        with session.begin():
            again = writes.connection_of(session)
            assert again is session.connection()
            nothing = select(TABLE.c.seq).where(TABLE.c.stream == "x")
            assert writes.fetch(session, nothing, {}) == []
        with pytest.raises(RuntimeError):
            _fails_after_asking(session)
        assert "tidu_connection" not in session.info
    finally:
        session.close()


# PostgreSQL: a command's writes wait on the connection and go in one pipelined round trip


def _pending(session: Any) -> list[Any]:
    return writes.connection_of(session).info[writes._PENDING]


def _heads(n: int, prefix: str = "s") -> list[dict[str, Any]]:
    return [{"stream": f"{prefix}{i}", "seq": i, "head_hash": "h" * 64} for i in range(n)]


def test_writes_wait_for_the_next_read_and_the_read_sees_them(
    ctx: EngineContext, requires_postgres: None
) -> None:
    seqs = select(TABLE.c.stream, TABLE.c.seq).order_by(TABLE.c.stream)
    with ctx.transaction() as session:
        writes.insert_rows(session, TABLE, _heads(2))
        writes.execute(session, MOVE, {"name": "s1"}, expect=1)
        assert len(_pending(session)) == 2  # nothing sent yet
        assert writes.fetch(session, seqs, {}) == [("s0", 0), ("s1", 9)]  # in order, before it
        assert _pending(session) == []
        writes.execute(session, MOVE, {"name": "s0"})
        assert session.execute(seqs).all() == [("s0", 9), ("s1", 9)]  # so do SQLAlchemy's
        writes.insert_rows(session, TABLE, _heads(1, "t"))
        assert len(_pending(session)) == 1
    with ctx.reading() as session:  # and the commit sends what is left before it commits
        assert session.execute(seqs).all() == [("s0", 9), ("s1", 9), ("t0", 0)]


def _write_then_fail(ctx: EngineContext, kept: list[Any]) -> None:
    with ctx.transaction() as session:
        writes.insert_rows(session, TABLE, _heads(3))
        kept.append(_pending(session))  # the pooled connection's own list
        raise RuntimeError("the command failed")


def test_a_rolled_back_transaction_leaves_no_pending_write_behind(
    ctx: EngineContext, requires_postgres: None
) -> None:
    kept: list[Any] = []
    with pytest.raises(RuntimeError):
        _write_then_fail(ctx, kept)
    assert kept == [[]]  # the rollback dropped them from the connection
    with ctx.transaction() as session:
        writes.insert_rows(session, TABLE, _heads(1, "u"))
    with ctx.reading() as session:
        assert session.scalars(select(TABLE.c.stream)).all() == ["u0"]


def _move_nobody(ctx: EngineContext) -> None:
    with ctx.transaction() as session:
        writes.insert_rows(session, TABLE, _heads(1))
        writes.execute(session, MOVE, {"name": "nobody"}, expect=1, stale="gone")


def _insert_twice(ctx: EngineContext) -> None:
    with ctx.transaction() as session:
        writes.insert_rows(session, TABLE, _heads(2, "v"))
        writes.insert_rows(session, TABLE, _heads(1, "v"))  # v0 again: fails when sent


def test_a_write_that_misses_its_count_or_fails_fails_the_commit_and_keeps_nothing(
    ctx: EngineContext, requires_postgres: None
) -> None:
    with pytest.raises(StaleDataError, match="gone"):
        _move_nobody(ctx)
    with pytest.raises(IntegrityError):
        _insert_twice(ctx)
    with ctx.reading() as session:
        assert session.scalars(select(TABLE.c.stream)).all() == []


def test_only_psycopg_with_pipeline_mode_defers_writes(ctx: EngineContext) -> None:
    assert (ctx.db.dialect in writes._DEFERRING) is ctx.is_postgres  # the suite's engine
    sqlite = create_engine("sqlite://")
    writes.defer_writes(sqlite)
    assert sqlite.dialect not in writes._DEFERRING


@pytest.mark.parametrize(("value", "expected"), [("0", False), ("false", False), ("1", True)])
def test_pipelined_writes_are_a_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("TIDU_DB_PIPELINE_WRITES", value)
    assert Settings.from_env().db_pipeline_writes is expected


def test_with_the_setting_off_each_write_runs_at_once(
    ctx: EngineContext, requires_postgres: None
) -> None:
    engine = make_engine(ctx.settings.database_url, pipeline_writes=False)
    try:
        assert engine.dialect not in writes._DEFERRING
        with Session(engine) as session, session.begin():
            writes.insert_rows(session, TABLE, _heads(1))
            assert writes.connection_of(session).info.get(writes._PENDING) is None
            with pytest.raises(StaleDataError):  # checked at once, not at the commit
                writes.execute(session, MOVE, {"name": "nobody"}, expect=1)
    finally:
        engine.dispose()


def test_hot_reads_on_postgresql_open_no_transaction(
    ctx: EngineContext, requires_postgres: None
) -> None:
    with ctx.transaction() as session:
        writes.insert_rows(session, TABLE, _heads(2))
    with ctx.reading_rows() as conn:
        rows = writes.fetch(conn, select(TABLE.c.stream).order_by(TABLE.c.stream), {})
        assert rows == [("s0",), ("s1",)]
        raw = conn.connection.dbapi_connection
        assert raw.autocommit
        assert raw.info.transaction_status == 0  # IDLE: no BEGIN was sent
    with ctx.transaction() as session:  # the pooled connection is back in its own mode
        assert not writes.connection_of(session).connection.dbapi_connection.autocommit


def test_orm_reads_on_postgresql_open_no_transaction(
    ctx: EngineContext, requires_postgres: None
) -> None:
    with ctx.transaction() as session:
        writes.insert_rows(session, TABLE, _heads(2))
    with ctx.reading() as session:
        heads = session.scalars(select(HistoryStream).order_by(HistoryStream.stream)).all()
        assert [h.stream for h in heads] == ["s0", "s1"]
        raw = session.connection().connection.dbapi_connection
        assert raw.autocommit
        assert raw.info.transaction_status == 0  # IDLE: no BEGIN was sent
    with ctx.transaction() as session:  # the pooled connection is back in its own mode
        assert not writes.connection_of(session).connection.dbapi_connection.autocommit
