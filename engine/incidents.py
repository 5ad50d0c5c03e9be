"""Incidents: list, retry (re-run the failed command with its stored arguments), resolve."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import history
from engine.commands import COMMANDS, answers_conflicts, restore_args
from engine.context import Actor, EngineContext
from engine.errors import Conflict, NotFound
from engine.store import Incident, Instance


def list_incidents(ctx: EngineContext, *, status: str | None = "open") -> list[Incident]:
    with ctx.reading() as session:
        query = select(Incident).order_by(Incident.created_at)
        if status:
            query = query.where(Incident.status == status)
        return list(session.scalars(query))


def get(ctx: EngineContext, incident_id: str) -> Incident:
    with ctx.reading() as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise NotFound("事件不存在")
        return row


def retry(ctx: EngineContext, *, incident_id: str, actor: Actor) -> Any:
    """Re-run the failed command as its original actor; on success `actor` resolves the incident
    in the same transaction."""
    row = get(ctx, incident_id)
    if row.status != "open":
        raise Conflict("该事件已处理")
    kwargs = restore_args(row.args)
    return COMMANDS[row.command](ctx, **kwargs, incident_id=incident_id, retried_by=actor)


def close(session: Session, incident_id: str, *, actor: Actor, now: datetime, data: dict) -> bool:
    """Mark an open incident resolved and record `incident.resolved`, race-safe: one
    conditional UPDATE (PostgreSQL waits for a concurrent closer's row lock and then sees the
    row no longer open), so of several concurrent closers exactly one gets True."""
    closed = session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.status == "open")
        .values(status="resolved", resolved_at=now, resolved_by=actor.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if closed != 1:
        return False
    row = session.get(Incident, incident_id, populate_existing=True)
    history.append(
        session,
        stream=f"instance:{row.instance_id}" if row.instance_id else "incidents",
        kind="incident.resolved",
        actor=actor.id,
        at=now,
        instance_id=row.instance_id,
        data={"incident_id": row.id, **data},
    )
    return True


@answers_conflicts
def resolve(ctx: EngineContext, *, incident_id: str, actor: Actor, note: str = "") -> Incident:
    """Close an incident by hand (e.g. the case was handled outside the system)."""
    with ctx.transaction() as session:
        found = session.get(Incident, incident_id)
        if found is None:
            raise NotFound("事件不存在")
        if found.instance_id:  # lock the case first, as its commands (and a retry) do: a retry
            # running now finishes first, and the two never wait for each other's rows
            session.execute(
                select(Instance.id).where(Instance.id == found.instance_id).with_for_update()
            )
        if not close(
            session, incident_id, actor=actor, now=ctx.now(), data={"by": "hand", "note": note}
        ):
            raise Conflict("该事件已处理")
        return session.get(Incident, incident_id)
