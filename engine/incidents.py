"""Incidents: list, retry (re-run the failed command with its stored arguments), resolve."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import history
from engine.commands import COMMANDS, restore_args
from engine.context import Actor, EngineContext
from engine.errors import Conflict, NotFound
from engine.store import Incident


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


def resolve(ctx: EngineContext, *, incident_id: str, actor: Actor, note: str = "") -> Incident:
    """Close an incident by hand (e.g. the case was handled outside the system)."""
    with ctx.transaction() as session:
        row = session.get(Incident, incident_id)
        if row is None:
            raise NotFound("事件不存在")
        if row.status != "open":
            raise Conflict("该事件已处理")
        row.status, row.resolved_at, row.resolved_by = "resolved", ctx.now(), actor.id
        history.append(
            session,
            stream=f"instance:{row.instance_id}" if row.instance_id else "incidents",
            kind="incident.resolved",
            actor=actor.id,
            at=ctx.now(),
            instance_id=row.instance_id,
            data={"incident_id": row.id, "by": "hand", "note": note},
        )
        return row
