"""Enterprise standing across cases: bans (第十二条), valid qualifications, region reassignment.

Handlers describe what to change (record kinds ``ban``, ``region_reassignment``,
``renewal_withdrawal``); the writers here apply it in the command's transaction and record it
in the history of every case it touches.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history, records
from engine.commands import command
from engine.context import Actor, EngineContext
from engine.errors import InvalidInput, NotFound
from engine.store import Ban, Enterprise, HumanTask, Instance, Qualification

VALID = ("active", "renewal_ineligible")
TIER_ORDER = ("innovative", "specialized", "little_giant")
_ACTOR = "tidu_enterprises_actor"


def active_ban(session: Session, uscc: str | None, today: date) -> Ban | None:
    """The ban in force on `today` that ends last, if any."""
    if not uscc:
        return None
    return session.scalars(
        select(Ban)
        .where(Ban.uscc == uscc, Ban.starts_on <= today, Ban.ends_on > today)
        .order_by(Ban.ends_on.desc())
    ).first()


def valid_qualifications(session: Session, uscc: str | None, today: date) -> list[Qualification]:
    """The enterprise's qualifications valid on `today`, lowest tier first."""
    if not uscc:
        return []
    rows = session.scalars(
        select(Qualification).where(
            Qualification.uscc == uscc,
            Qualification.status.in_(VALID),
            Qualification.expires_on >= today,
        )
    )
    return sorted(
        rows, key=lambda q: (TIER_ORDER.index(q.tier) if q.tier in TIER_ORDER else -1, q.number)
    )


def start_facts(session: Session, uscc: str | None, today: date, role: str) -> dict[str, Any]:
    """Facts every case starts with: the ban in force, the tiers held, who opened it."""
    ban = active_ban(session, uscc, today)
    tiers = list(dict.fromkeys(q.tier for q in valid_qualifications(session, uscc, today)))
    return {
        "ban_until": ban.ends_on.isoformat() if ban else None,
        "ban_reason": ban.reason if ban else None,
        "held_tiers": tiers,
        "started_by_role": role,
    }


def reassign_region(
    session: Session,
    *,
    uscc: str,
    region: str,
    by: str,
    reason: str,
    now: datetime,
    source_instance_id: str | None = None,
) -> list[str]:
    """Make `region` responsible for an enterprise: its record, running cases, open tasks and
    qualifications; each affected case's history records the move. Returns the case ids."""
    enterprise = session.get(Enterprise, uscc)
    if enterprise is None:
        raise NotFound(f"企业 {uscc} 未登记")
    previous, enterprise.region = enterprise.region, region
    moved = []
    cases = session.scalars(
        select(Instance).where(Instance.uscc == uscc, Instance.status == "running")
    )
    for case in cases:
        tasks = list(
            session.scalars(
                select(HumanTask).where(HumanTask.instance_id == case.id, HumanTask.state == "open")
            )
        )
        old = case.region
        case.region = region
        for task in tasks:
            task.region = region
        history.append(
            session,
            stream=f"instance:{case.id}",
            kind="region.reassigned",
            actor=by,
            at=now,
            instance_id=case.id,
            data={
                "uscc": uscc,
                "from": old,
                "to": region,
                "reason": reason,
                "tasks": [t.id for t in tasks],
                "decided_in": source_instance_id,
            },
        )
        moved.append(case.id)
    for q in session.scalars(select(Qualification).where(Qualification.uscc == uscc)):
        q.region = region
    history.append(
        session,
        stream=f"enterprise:{uscc}",
        kind="region.reassigned",
        actor=by,
        at=now,
        instance_id=source_instance_id,
        data={"uscc": uscc, "from": previous, "to": region, "reason": reason, "cases": moved},
    )
    return moved


@command("relocate_enterprise")
def relocate_enterprise(
    ctx: EngineContext, *, uscc: str, region: str, actor: Actor, reason: str
) -> list[str]:
    """Reassign an enterprise (and its running cases and open tasks) to another region."""
    from engine import access

    access.require_role(actor, "province")
    if region not in ctx.settings.region_names():
        raise InvalidInput(f"地区代码 {region} 不存在", errors={"region": ["不是已知的地区代码"]})
    with ctx.transaction() as session:
        return reassign_region(
            session, uscc=uscc, region=region, by=actor.id, reason=reason, now=ctx.now()
        )


# -- record writers -------------------------------------------------------------------------


def _by(session: Session) -> str:
    return str(session.info.get(_ACTOR) or "engine")


def _ban(session: Session, outputs: dict[str, Any], row: Instance, now: datetime) -> None:
    ban = outputs["ban"]
    session.add(
        Ban(
            uscc=ban["uscc"],
            starts_on=date.fromisoformat(ban["starts_on"]),
            ends_on=date.fromisoformat(ban["ends_on"]),
            reason=ban["reason"],
            basis=ban["basis"],
            instance_id=row.id,
            created_at=now,
            created_by=_by(session),
        )
    )
    history.append(
        session,
        stream=f"instance:{row.id}",
        kind="ban.recorded",
        actor=_by(session),
        at=now,
        instance_id=row.id,
        data=ban,
    )


def _reassign(session: Session, outputs: dict[str, Any], row: Instance, now: datetime) -> None:
    move = outputs["region_reassignment"]
    reassign_region(
        session,
        uscc=move["uscc"],
        region=move["to_region"],
        by=_by(session),
        reason=move["reason"],
        now=now,
        source_instance_id=row.id,
    )


def _withdraw(session: Session, outputs: dict[str, Any], row: Instance, now: datetime) -> None:
    change = outputs["renewal_withdrawal"]
    today = now.date()
    for q in valid_qualifications(session, change["uscc"], today):
        before = {"status": q.status, "renewal_eligible": q.renewal_eligible}
        q.status, q.renewal_eligible = "renewal_ineligible", False
        q.status_reason, q.status_changed_at, q.status_changed_by = (
            change["reason"],
            now,
            _by(session),
        )
        for stream in {f"instance:{row.id}", f"instance:{q.lifecycle_instance_id or row.id}"}:
            history.append(
                session,
                stream=stream,
                kind="qualification.changed",
                actor=_by(session),
                at=now,
                instance_id=stream.split(":", 1)[1],
                data={
                    "number": q.number,
                    "from": before,
                    "to": q.status,
                    "changes": {"status": q.status, "renewal_eligible": False},
                    "reason": change["reason"],
                    "basis": change["basis"],
                },
            )


def _remember_actor(ctx: Any, session: Session, loaded: Any, actor: Any) -> None:
    session.info[_ACTOR] = actor.id


records.WRITERS["ban"] = _ban
records.WRITERS["region_reassignment"] = _reassign
records.WRITERS["renewal_withdrawal"] = _withdraw
records.BEFORE_SAVE.append(_remember_actor)
