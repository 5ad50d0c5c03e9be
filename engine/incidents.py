"""Incidents: list, retry (re-run the failed command with its stored arguments), resolve."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine import history
from engine.commands import COMMANDS, answers_conflicts, restore_args
from engine.context import Actor, EngineContext
from engine.errors import Conflict, NotFound, TaskNotOpen
from engine.store import Definition, Incident, Instance


def list_incidents(ctx: EngineContext, *, status: str | None = "open") -> list[Any]:
    """Incidents with their case's process, version and the process's latest version."""
    with ctx.reading() as session:
        query = (
            select(Incident, Instance.process_key, Instance.definition_version)
            .outerjoin(Instance, Instance.id == Incident.instance_id)
            .order_by(Incident.created_at)
        )
        if status:
            query = query.where(Incident.status == status)
        rows = session.execute(query).all()
        latest = dict(
            session.execute(
                select(Definition.process_key, func.max(Definition.version)).group_by(
                    Definition.process_key
                )
            ).all()
        )
        names = dict(session.execute(select(Definition.process_key, Definition.name)).all())
        return [
            SimpleNamespace(
                **{c.key: getattr(row, c.key) for c in Incident.__table__.c},
                process_key=key,
                process_name=names.get(key),
                definition_version=version,
                latest_version=latest.get(key),
            )
            for row, key, version in rows
        ]


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
    try:
        return COMMANDS[row.command](ctx, **kwargs, incident_id=incident_id, retried_by=actor)
    except TaskNotOpen as error:  # done meanwhile (or gone with a migration): nothing to re-run
        return _close_moot(ctx, row, actor, error)


def _close_moot(ctx: EngineContext, row: Incident, actor: Actor, error: TaskNotOpen) -> Any:
    """Close an incident whose task is no longer open, saying so in the case's history."""
    note = f"重试时任务已不在待办状态（{error.detail or error.title}），无需再执行，异常关闭"
    with ctx.transaction() as session:
        if not close(
            session,
            row.id,
            actor=actor,
            now=ctx.now(),
            data={"by": "retry", "reason": "task-not-open", "note": note},
        ):
            raise Conflict("该事件已处理")
        return session.get(Instance, row.instance_id) if row.instance_id else None


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


def settle_after_migration(
    session: Session,
    instance_id: str,
    *,
    open_task_ids: Collection[str],
    active: Collection[str],
    actor: Actor,
    now: datetime,
    versions: tuple[int, int],
) -> list[str]:
    """Close the case's open incidents a migration made moot: the task its command would
    complete is no longer open, or the element it failed at is no longer where the case
    stands and the case moved on. Each closing names the migration in the history."""
    closed = []
    query = select(Incident).where(Incident.instance_id == instance_id, Incident.status == "open")
    for row in session.scalars(query):
        task_id = (row.args or {}).get("task_id")
        if task_id is not None:
            moot = str(task_id) not in open_task_ids
        else:
            moot = row.element_id is not None and row.element_id not in active
        note = f"案件已从第 {versions[0]} 版迁移至第 {versions[1]} 版，已越过出错的环节，异常关闭"
        data = {"by": "migration", "from_version": versions[0], "to_version": versions[1]}
        if moot and close(session, row.id, actor=actor, now=now, data=data | {"note": note}):
            closed.append(row.id)
    return closed


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
