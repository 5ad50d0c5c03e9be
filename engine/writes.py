"""Row writes on the hot command path as precompiled Core statements.

A command's unit-of-work flush (change detection, dependency sort, statement building) costs
several times the statements it runs. The rows every command writes (the case's state, its
task rows, its history) go through these helpers instead: one UPDATE or one multi-row INSERT,
each statement built once per process. A row another part of the command changed through the
ORM is left to the unit of work, so both ways never write the same row.

`Rows` reads whole rows the same way round: a Core SELECT whose rows become the session's
objects as an ORM query's would, without the ORM's per-query setup of its loaders.

`execute` runs these statements on the driver's cursor of the session's connection, with the
SQL and the parameter conversions SQLAlchemy compiled for them once per process: SQLAlchemy's
per-call setup of an execution (context, events, result) costs several times what SQLite
spends on such a statement. A driver error is raised as SQLAlchemy raises it (IntegrityError,
OperationalError... with `connection_invalidated` when the connection was lost).

On PostgreSQL (`defer_writes`) these writes do not go to the server one by one: each waits on
its connection until the next statement that needs an answer — a read on the cursor, any
statement SQLAlchemy runs (the unit of work's among them) or the commit — and then all of them
go in one pipelined round trip before it (`flush_writes`), in the order they were made. A
command that used to wait for ~6 round trips of writes waits for one. What a write must match
(`expect`: an optimistic version check) is checked when its count comes back, and a failed
write is raised there, as SQLAlchemy raises it; either way the transaction is rolled back, so
no command keeps a part of its writes. SQLite runs each write at once.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from typing import Any

from sqlalchemy import Table, bindparam, event, insert, inspect, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

_UPDATES: dict[tuple[Any, ...], Any] = {}
_INSERTS: dict[Table, Any] = {}
_COMPILED: dict[tuple[Any, ...], tuple[str, Any, tuple[tuple[Any, ...], ...]]] = {}
_GIVEN = object()


def _compiled(dialect: Any, stmt: Any, keys: tuple[str, ...]) -> tuple[str, Any, Any]:
    """SQL text; the driver's parameter names (None where it takes a sequence: qmark); and per
    parameter the key it takes from the caller's values (or the statement's own value) and its
    conversion. Compiled once per statement and set of keys."""
    cache_key = (stmt, keys, dialect.name)
    found = _COMPILED.get(cache_key)
    if found is None:
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        names = compiled.positiontup if compiled.positional else list(by_name)
        plan = []
        for name in names:
            bind = by_name[name]
            if bind.expanding:
                raise ValueError(f"writes.execute: expanding parameter {bind.key!r} (IN list)")
            given = bind.key in keys
            plan.append(
                (
                    bind.key if given else _GIVEN,
                    None if given else bind.effective_value,
                    bind.type.dialect_impl(dialect).bind_processor(dialect),
                )
            )
        driver_names = (
            None
            if compiled.positional
            else tuple(compiled.escaped_bind_names.get(n, n) for n in names)
        )
        found = _COMPILED[cache_key] = (compiled.string, driver_names, tuple(plan))
    return found


def connection_of(session: Session) -> Any:
    """The session's connection in its current transaction. Session.connection() walks the
    session's transaction state each time; a command asks ~6 times, so the answer is kept
    until the transaction ends (_forget_connection)."""
    found = session.info.get(_CONNECTION)
    if found is None:
        found = session.info[_CONNECTION] = session.connection()
    return found


_CONNECTION = "tidu_connection"


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, _transaction: Any) -> None:
    session.info.pop(_CONNECTION, None)


def on_driver(conn: Any, sql: str, params: Any, work: Any) -> Any:
    """Run `work(cursor)` on the connection's driver cursor; a driver error is raised as
    SQLAlchemy raises it (a lost connection invalidated, as SQLAlchemy would)."""
    if conn.dialect in _DEFERRING and conn.info.get(_PENDING):  # after the writes made before it
        flush_writes(conn)
    raw = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        return work(cursor)
    except conn.dialect.loaded_dbapi.Error as error:
        lost = conn.dialect.is_disconnect(error, raw, cursor)
        if lost:
            conn.invalidate(error)
        raise DBAPIError.instance(
            sql,
            params,
            error,
            conn.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=conn.dialect,
        ) from error
    finally:
        cursor.close()


def _driver_params(names: Any, plan: Any, values: dict[str, Any]) -> Any:
    out = []
    for key, constant, convert in plan:
        value = constant if key is _GIVEN else values[key]
        out.append(convert(value) if convert else value)
    return tuple(out) if names is None else dict(zip(names, out, strict=True))


def execute(
    session: Session,
    stmt: Any,
    params: dict[str, Any] | list[dict[str, Any]],
    expect: int | None = None,
    stale: str = "",
) -> None:
    """Run an INSERT, UPDATE or DELETE (one parameter set, or many with the same keys) in the
    session's transaction; where it must match `expect` rows and does not, StaleDataError
    (`stale`) is raised, at once on SQLite and when the write is sent on PostgreSQL. Its
    compiled form is kept per statement object: pass statements built once (module level or
    cached), not new ones."""
    many = isinstance(params, list)
    if many and not params:
        return
    conn = connection_of(session)
    first = params[0] if many else params
    sql, names, plan = _compiled(conn.dialect, stmt, tuple(first))
    driver = (
        [_driver_params(names, plan, v) for v in params]
        if many
        else _driver_params(names, plan, params)
    )
    if conn.dialect in _DEFERRING:  # PostgreSQL: sent with the writes around it (flush_writes)
        conn.info[_PENDING].append((sql, driver, many, expect, stale))
        return

    def work(cursor: Any) -> int:
        (cursor.executemany if many else cursor.execute)(sql, driver)
        return cursor.rowcount

    _check(on_driver(conn, sql, params, work), expect, stale)


def _check(count: int, expect: int | None, stale: str) -> None:
    if expect is not None and count != expect:
        raise StaleDataError(stale)


_PENDING = "tidu_pending_writes"  # in a pooled connection's info: its writes not yet sent
_DEFERRING: weakref.WeakSet[Any] = weakref.WeakSet()  # the dialects of engines that defer


def defer_writes(engine: Any) -> None:
    """Let `execute` hold an engine's writes until the next statement needs the server (see the
    module's text): each pooled connection gets its list of pending writes, sent before any
    statement SQLAlchemy runs and before the commit, and dropped by a rollback. Needs psycopg 3
    on a libpq with pipeline mode (14 or later, as its binary wheels bring); with another
    driver or an older libpq each write runs at once, as on SQLite."""
    pipeline = getattr(engine.dialect.loaded_dbapi, "Pipeline", None)
    if engine.dialect.driver != "psycopg" or pipeline is None or not pipeline.is_supported():
        return
    _DEFERRING.add(engine.dialect)

    @event.listens_for(engine.pool, "connect")
    def _pending_list(_dbapi: Any, record: Any) -> None:
        record.info[_PENDING] = []

    @event.listens_for(engine.pool, "reset")
    def _drop_on_reset(_dbapi: Any, record: Any, _reset_state: Any) -> None:
        record.info.get(_PENDING, []).clear()

    def _send_pending(conn: Any, *_: Any) -> None:
        if conn.info.get(_PENDING):
            flush_writes(conn)

    event.listen(engine, "before_cursor_execute", _send_pending)  # before SQLAlchemy's own
    event.listen(engine, "commit", _send_pending)  # before the DBAPI commit

    @event.listens_for(engine, "rollback")
    def _drop_on_rollback(conn: Any) -> None:
        if not conn.invalidated:  # an invalidated one's list went with its DBAPI connection
            conn.info.get(_PENDING, []).clear()


def flush_writes(conn: Any) -> None:
    """Send a connection's pending writes in one pipelined round trip, in order; check what
    each had to match."""
    pending = conn.info[_PENDING]
    batch = pending[:]
    pending.clear()  # before on_driver, which would otherwise send them again
    cursors: list[Any] = []

    def work(_cursor: Any) -> list[int]:
        raw = conn.connection.dbapi_connection
        with raw.pipeline():
            for sql, driver, many, _, _ in batch:
                cursors.append(cursor := raw.cursor())
                (cursor.executemany if many else cursor.execute)(sql, driver)
        return [cursor.rowcount for cursor in cursors]

    try:
        counts = on_driver(conn, "; ".join(dict.fromkeys(w[0] for w in batch)), None, work)
    finally:
        for cursor in cursors:
            cursor.close()
    for (_, _, _, expect, stale), count in zip(batch, counts, strict=True):
        _check(count, expect, stale)


_RESULTS: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _results(dialect: Any, stmt: Any) -> tuple[Any, Any]:
    """Per result column its conversion (or None), and a named-tuple class of the columns."""
    found = _RESULTS.get((stmt, dialect.name))
    if found is None:
        columns = stmt.compile(dialect=dialect)._result_columns
        convert = tuple(c[3].dialect_impl(dialect).result_processor(dialect, None) for c in columns)
        named = namedtuple("Row", [c[0] for c in columns], rename=True)  # type: ignore[misc]
        found = _RESULTS[(stmt, dialect.name)] = (convert, named._make)
    return found


def fetch(
    conn: Any,
    stmt: Any,
    params: dict[str, Any],
    limit: int | None = None,
    named: bool = False,
) -> list[Any]:
    """Run a SELECT built once (as for `execute`) on a connection or a session's connection,
    and return its rows (at most `limit`) as tuples of the values SQLAlchemy would give
    (`named`: with the columns' names as attributes, as SQLAlchemy's rows have)."""
    if isinstance(conn, Session):
        conn = connection_of(conn)
    dialect = conn.dialect
    sql, names, plan = _compiled(dialect, stmt, tuple(params))
    convert, make = _results(dialect, stmt)
    build = make if named else tuple

    def work(cursor: Any) -> list[Any]:
        cursor.execute(sql, _driver_params(names, plan, params))
        found = cursor.fetchall() if limit is None else cursor.fetchmany(limit)
        if not any(convert):
            return [build(r) for r in found]
        return [build(f(v) if f else v for f, v in zip(convert, r, strict=True)) for r in found]

    return on_driver(conn, sql, params, work)


def _update_statement(mapper: Any, columns: tuple[str, ...], versioned: bool) -> Any:
    key = (mapper, columns, versioned)
    stmt = _UPDATES.get(key)
    if stmt is None:
        table = mapper.local_table
        pk = mapper.primary_key[0]
        stmt = update(table).where(pk == bindparam("w_pk"))
        values = {c: bindparam(f"w_{c}") for c in columns}
        if versioned:
            version = mapper.version_id_col
            stmt = stmt.where(version == bindparam("w_old_version"))
            values[version.key] = bindparam("w_new_version")
        stmt = _UPDATES[key] = stmt.values(values)
    return stmt


def update_row(session: Session, obj: Any, values: dict[str, Any]) -> None:
    """Set `values` on a loaded row and write them with one UPDATE (checking the row's
    optimistic version where it has one). A new row, or one changed elsewhere in this command,
    takes the values as ordinary attribute changes for the unit of work."""
    state = inspect(obj)
    if not state.persistent or state.modified:
        for name, value in values.items():
            setattr(obj, name, value)
        return
    mapper = state.mapper
    columns = tuple(values)
    versioned = mapper.version_id_col is not None
    params = {f"w_{c}": v for c, v in values.items()}
    params["w_pk"] = state.identity[0]
    if versioned:
        old = getattr(obj, mapper.version_id_col.key)
        params["w_old_version"], params["w_new_version"] = old, old + 1
    stale = f"{mapper.class_.__name__} {state.identity[0]} changed meanwhile"
    execute(session, _update_statement(mapper, columns, versioned), params, 1, stale)
    for name, value in values.items():
        set_committed_value(obj, name, value)
    if versioned:
        set_committed_value(obj, mapper.version_id_col.key, params["w_new_version"])


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) in one statement, after the unit of work has
    written what they refer to."""
    if not rows:
        return
    session.flush()
    execute(session, _insert_statement(table), rows)


def _insert_statement(table: Table) -> Any:
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = insert(table)
    return stmt


def insert_new(session: Session, obj: Any) -> None:
    """Write a row the session holds as new with one INSERT and keep it in the session as a
    loaded row. Every column must have been given a value (or have none to compute): a row
    that leaves one to a column default is left to the unit of work, and so is a row written
    with other new rows (the unit of work orders them by their foreign keys)."""
    state = inspect(obj)
    if not state.pending or any(other is not obj for other in session.new):
        return
    mapper = state.mapper
    values = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if prop.key in state.dict:
            values[column.key] = state.dict[prop.key]
        elif column is mapper.version_id_col:
            values[column.key] = 1
        elif column.default is None and column.server_default is None:
            values[column.key] = None
        else:
            return
    execute(session, _insert_statement(mapper.local_table), values)
    session.expunge(obj)
    make_transient_to_detached(obj)
    for prop in mapper.column_attrs:
        set_committed_value(obj, prop.key, values[prop.columns[0].key])
    session.add(obj)


class Rows:
    """What to SELECT for mapped classes (every column attribute) and plain columns, and how
    to turn a result row back into them: `load` gives, per entity, the session's object for
    the row (the one it holds already, as an ORM query would, else a new persistent one with
    the row's values as loaded) or the plain column's value."""

    def __init__(self, *entities: Any) -> None:
        self.columns: list[Any] = []
        self._layout: list[tuple[Mapper | None, tuple[str, ...], int, int]] = []
        for entity in entities:
            mapper = inspect(entity, raiseerr=False)
            if isinstance(mapper, Mapper):
                props = list(mapper.column_attrs)
                keys = tuple(p.key for p in props)
                first = len(self.columns)
                pk = keys.index(mapper.get_property_by_column(mapper.primary_key[0]).key)
                self._layout.append((mapper, keys, first, first + pk))
                self.columns.extend(p.columns[0] for p in props)
            else:
                self._layout.append((None, (), len(self.columns), 0))
                self.columns.append(entity)

    def load(self, session: Session, row: Any) -> list[Any]:
        out = []
        for mapper, keys, first, pk in self._layout:
            if mapper is None:
                out.append(row[first])
                continue
            held = session.identity_map.get(mapper.identity_key_from_primary_key((row[pk],)))
            if held is not None:
                out.append(held)
                continue
            obj = mapper.class_manager.new_instance()
            obj.__dict__.update(zip(keys, row[first : first + len(keys)], strict=True))
            make_transient_to_detached(obj)
            session.add(obj)
            out.append(obj)
        return out
