"""Business records written from handler results (the operator declares the record kind)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store import Instance, Qualification


class NumberTaken(Exception):
    """A certificate number is already held by another case's qualification."""


def _qualification(session: Session, outputs: dict[str, Any], row: Instance, now: datetime) -> None:
    q = outputs["qualification"]
    holder = session.execute(
        select(Qualification.instance_id, Qualification.uscc).where(
            Qualification.number == q["number"]
        )
    ).first()
    if holder is not None:
        if (holder.instance_id, holder.uscc) == (row.id, q["uscc"]):
            return  # this case issued it already
        # never drop a certificate silently: the command fails and becomes an incident
        raise NumberTaken(
            f"证书编号 {q['number']} 已属于案件 {holder.instance_id}（企业 {holder.uscc}）"
        )
    session.add(
        Qualification(
            number=q["number"],
            tier=q["tier"],
            uscc=q["uscc"],
            enterprise_name=q["enterprise_name"],
            region=row.region,
            issued_on=date.fromisoformat(q["issued_on"]),
            expires_on=date.fromisoformat(q["expires_on"]),
            status=q.get("status", "active"),
            instance_id=row.id,
            created_at=now,
        )
    )
    session.info.setdefault(NEW_QUALIFICATIONS, []).append(q["number"])  # lifecycle: after save


NEW_QUALIFICATIONS = "tidu_new_qualifications"  # session.info: numbers issued in this transaction
SaveHook = Callable[[Any, Session, Any, Any], None]  # (ctx, session, loaded instance, actor)
BEFORE_SAVE: list[SaveHook] = []  # e.g. a lifecycle continuing into its next validity period
AFTER_SAVE: list[SaveHook] = []  # e.g. starting the lifecycle of a qualification just issued

WRITERS: dict[str, Callable[[Session, dict[str, Any], Instance, datetime], None]] = {
    "qualification": _qualification,
}
# filters of what a case sends out of itself (the records its handlers write, the messages it
# throws): (session, the sending case, the content) -> the content as it may leave the case,
# e.g. a complaint's without the complainant's identity (engine/complaints.py)
Outgoing = Callable[[Session, Instance, Any], Any]
OUTGOING: list[Outgoing] = []


def outgoing(session: Session, row: Instance, value: Any) -> Any:
    """`value` (a record's or a message's content) as case `row` may send it out."""
    for hook in OUTGOING:
        value = hook(session, row, value)
    return value


def write(
    session: Session, kind: str, outputs: dict[str, Any], row: Instance, now: datetime
) -> None:
    """Write the record a handler result describes (as the case may send it out)."""
    WRITERS[kind](session, outgoing(session, row, outputs), row, now)


def before_save(ctx: Any, session: Session, loaded: Any, actor: Any) -> None:
    """Run the hooks that act on an instance before its state and projections are saved."""
    for hook in BEFORE_SAVE:
        hook(ctx, session, loaded, actor)


def after_save(ctx: Any, session: Session, loaded: Any, actor: Any) -> None:
    """Run the hooks that follow an instance's save in the same transaction."""
    for hook in AFTER_SAVE:
        hook(ctx, session, loaded, actor)
