"""The write of an uploaded holiday calendar (`holidays.put_year` checks it first): one command,
so concurrent uploads of one year are serialised, not a 500."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine import history, incidents
from engine.commands import command
from engine.context import Actor, EngineContext
from engine.errors import Conflict
from engine.store import CalendarYear


@command("put_calendar_year")
def store_year(
    ctx: EngineContext,
    *,
    year: int,
    clean: dict[str, Any],
    checksum: str,
    actor: Actor,
    incident_id: str | None = None,
    retried_by: Actor | None = None,
) -> datetime:
    """Insert or replace the year's row and record one `calendar.changed`. The row is created
    with INSERT … ON CONFLICT DO NOTHING and then locked: a concurrent upload of the same year
    waits for this one to commit and then replaces it (`replaced` true), never a duplicate key."""
    now = ctx.now()
    insert = pg_insert if ctx.is_postgres else sqlite_insert
    values = {"data": clean, "checksum": checksum, "uploaded_at": now, "uploaded_by": actor.id}
    with ctx.transaction() as session:
        table = CalendarYear.__table__
        created = (
            session.connection()
            .execute(  # RETURNING: rowcount is unknown in a pipeline
                insert(table)
                .values(year=year, **values)
                .on_conflict_do_nothing()
                .returning(table.c.year)
            )
            .first()
            is not None
        )
        if not created:
            row = session.get(CalendarYear, year, with_for_update=True, populate_existing=True)
            row.data, row.checksum = clean, checksum
            row.uploaded_at, row.uploaded_by = now, actor.id
        history.append(
            session,
            stream="calendar",
            kind="calendar.changed",
            actor=actor.id,
            at=now,
            data={
                "year": year,
                "checksum": checksum,
                "replaced": not created,
                "source": clean["source"],
                "holidays": len(clean["holidays"]),
                "workdays": len(clean["workdays"]),
            },
        )
        if incident_id is not None and not incidents.close(
            session, incident_id, actor=retried_by or actor, now=now, data={"by": "retry"}
        ):
            raise Conflict("该事件已处理")
    return now
