"""Notifications: reminders before deadlines (and other messages) for a user or a role's users.

A BPMN service task with the operator ``notify.send`` (handlers/notify.py; typically after a
non-interrupting boundary timer, N days before a deadline) returns a notification that the
engine writes in the same transaction as the rest of the command (record kind "notification").
The addressee is a role, narrowed to the case's enterprise (``enterprise``) or region
(``city``), or one user (``user:<id>``); several, comma-separated, get one notification each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine import records
from engine.context import Actor, EngineContext
from engine.errors import NotFound
from engine.settings import TASK_ROLES
from engine.store import Instance, Notification


def _write(session: Session, outputs: dict[str, Any], row: Instance, now: datetime) -> None:
    n = outputs["notification"]
    for to in n["to"].split(","):  # "enterprise,city,province": one notification each
        _write_one(session, n, to, row, now)


def _write_one(session: Session, n: dict[str, Any], to: str, row: Instance, now: datetime) -> None:
    due = datetime.fromisoformat(n["due_at"]) if n.get("due_at") else None
    session.add(
        Notification(
            user_id=to[5:] if to.startswith("user:") else None,
            role=None if to.startswith("user:") else to,
            region=row.region if to == "city" else None,
            uscc=row.uscc if to == "enterprise" else None,
            instance_id=row.id,
            kind=n["kind"],
            title=n["title"][:200],
            body=n["body"] or "",
            due_at=due,
            created_at=now,
        )
    )


records.WRITERS["notification"] = _write


def _visible(actor: Actor):  # type: ignore[no-untyped-def]
    to_me = Notification.user_id == actor.id
    if actor.role not in TASK_ROLES:
        return to_me
    to_role = and_(Notification.user_id.is_(None), Notification.role == actor.role)
    if actor.role == "enterprise":
        to_role = and_(to_role, Notification.uscc == (actor.uscc or "-"))
    elif actor.role == "city":
        to_role = and_(to_role, Notification.region == (actor.region or "-"))
    return or_(to_me, to_role)


def list_for(
    ctx: EngineContext, actor: Actor, *, unread: bool = False, page: int = 1, per_page: int = 20
) -> tuple[list[Notification], int]:
    """The actor's notifications, newest first (`unread`: only those not yet read)."""
    query = select(Notification).where(_visible(actor))
    if unread:
        query = query.where(Notification.read_at.is_(None))
    with ctx.transaction() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = list(
            session.scalars(
                query.order_by(Notification.created_at.desc(), Notification.id)
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        )
        return items, total


def mark_read(ctx: EngineContext, *, notification_id: str, actor: Actor) -> Notification:
    """Mark a notification read (404 if the actor is not its addressee)."""
    with ctx.transaction() as session:
        row = session.scalars(
            select(Notification).where(Notification.id == notification_id, _visible(actor))
        ).first()
        if row is None:
            raise NotFound("通知不存在")
        if row.read_at is None:
            row.read_at, row.read_by = ctx.now(), actor.id
        return row
