"""Row writes on the hot command path as precompiled Core statements.

A command's unit-of-work flush (change detection, dependency sort, statement building) costs
several times the statements it runs. The rows every command writes (the case's state, its
task rows, its history) go through these helpers instead: one UPDATE or one multi-row INSERT,
each statement built once per process. A row another part of the command changed through the
ORM is left to the unit of work, so both ways never write the same row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, insert, inspect, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

_UPDATES: dict[tuple[Any, ...], Any] = {}
_INSERTS: dict[Table, Any] = {}


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
    result = session.connection().execute(_update_statement(mapper, columns, versioned), params)
    if result.rowcount != 1:
        raise StaleDataError(f"{mapper.class_.__name__} {state.identity[0]} changed meanwhile")
    for name, value in values.items():
        set_committed_value(obj, name, value)
    if versioned:
        set_committed_value(obj, mapper.version_id_col.key, params["w_new_version"])


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) in one statement, after the unit of work has
    written what they refer to."""
    if not rows:
        return
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = insert(table)
    session.flush()
    session.connection().execute(stmt, rows)
