"""Enterprise standing across cases: bans (第十二条), valid qualifications, region reassignment.

Handlers describe what to change (record kinds ``ban``, ``region_reassignment``); the writers
here apply it in the command's transaction and record it in the history of every case it
touches. Changes of one qualification (revocation, loss of renewal eligibility) are messages to
its lifecycle case (engine/lifecycle.py), which owns the registry row.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from engine import access, history, records, writes
from engine.commands import command
from engine.context import Actor, EngineContext
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store import (
    TIER_LABELS,
    Ban,
    Complainant,
    Enterprise,
    HumanTask,
    Instance,
    Qualification,
)

VALID = ("active", "renewal_ineligible")
TIER_ORDER = ("innovative", "specialized", "little_giant")
_ACTOR = "tidu_enterprises_actor"


_QUALIFICATION = Qualification.__table__.c
_VALID_ON = (  # an enterprise's qualifications valid on a day
    _QUALIFICATION.uscc == bindparam("uscc"),
    # the statuses as constant binds, not an expanding IN, so `writes.fetch` can run it
    _QUALIFICATION.status.in_([bindparam(f"valid_{i}", v) for i, v in enumerate(VALID)]),
    _QUALIFICATION.expires_on >= bindparam("today"),
)
_VALID_QUALIFICATIONS = select(Qualification).where(*_VALID_ON)


def valid_qualifications(session: Session, uscc: str | None, today: date) -> list[Qualification]:
    """The enterprise's qualifications valid on `today`, lowest tier first."""
    if not uscc:
        return []
    rows = session.scalars(_VALID_QUALIFICATIONS, {"uscc": uscc, "today": today})
    return sorted(rows, key=_tier_first)


def _tier_first(q: Any) -> tuple[int, str]:
    return (TIER_ORDER.index(q.tier) if q.tier in TIER_ORDER else -1, q.number)


def held_numbers(held: list[Any]) -> dict[str, str]:
    """Tier -> certificate number (= business key of its lifecycle case), lowest tier first.

    Should an enterprise hold two valid qualifications of one tier, the one valid longest wins.
    """
    best: dict[str, Qualification] = {}
    for q in held:
        if q.tier not in best or q.expires_on > best[q.tier].expires_on:
            best[q.tier] = q
    return {tier: q.number for tier, q in best.items()}


_BAN = Ban.__table__.c
# plain rows of what a new case needs to know (it reads, never changes them)
_BAN_IN_FORCE = (
    select(_BAN.ends_on, _BAN.reason)
    .where(
        _BAN.uscc == bindparam("uscc"),
        _BAN.starts_on <= bindparam("today"),
        _BAN.ends_on > bindparam("today"),
    )
    .order_by(_BAN.ends_on.desc())
    .limit(1)
)
_HELD = select(_QUALIFICATION.tier, _QUALIFICATION.number, _QUALIFICATION.expires_on).where(
    *_VALID_ON
)
_REGION = select(Enterprise.__table__.c.region).where(
    Enterprise.__table__.c.uscc == bindparam("uscc")
)


def standing(session: Session, uscc: str | None, today: date) -> dict[str, Any]:
    """What the database says of an enterprise today: the ban in force, the qualifications
    held (valid today, by tier), the region it is registered in (`OUTSIDE_JIANGXI` once it
    moved out of Jiangxi, 第十一条). Cases start with it (`start_facts`), and handlers that
    declare `facts` read it again before a decision (第四条 eligibility, the standing)."""
    ban, held, region = None, [], None
    if uscc:
        session.flush()  # plain-row reads do not flush; a ban or grant of this command counts
        params = {"uscc": uscc, "today": today}
        bans = writes.fetch(session, _BAN_IN_FORCE, params, 1, named=True)
        ban = bans[0] if bans else None
        held = sorted(writes.fetch(session, _HELD, params, named=True), key=_tier_first)
        found = writes.fetch(session, _REGION, {"uscc": uscc}, 1)
        region = found[0][0] if found else None
    numbers = held_numbers(held)
    return {
        "ban_until": ban.ends_on.isoformat() if ban else None,
        "ban_reason": ban.reason if ban else None,
        "held_tiers": list(numbers),
        "held_qualifications": numbers,
        "region": region,
    }


MAJOR_CHANGE = "major_change"  # P5 (第十一条)
# the registered region of an enterprise that moved out of Jiangxi (第十一条): no division code
# of Jiangxi (第四条 在江西省内注册 fails on it) and, like one, six characters long
OUTSIDE_JIANGXI = "000000"


def require_major_change_holder(
    ctx: EngineContext, actor: Actor, process_key: str, uscc: str | None
) -> None:
    """第十一条 binds enterprises within a qualification's validity (有效期内): a P5 case (the
    enterprise's report, or the province's registration of a change found without one) needs a
    valid qualification of the enterprise, else 409 `major-change-requires-qualification`.
    An unknown enterprise is left to the start (404)."""
    if process_key != MAJOR_CHANGE:
        return
    uscc = actor.uscc if actor.role == "enterprise" else uscc
    if not uscc:
        return
    with ctx.reading() as session:
        if session.get(Enterprise, uscc) is None or valid_qualifications(
            session, uscc, ctx.today()
        ):
            return
    raise Conflict(
        "第十一条：重大变化报告适用于资格有效期内的优质中小企业，该企业没有有效的优质中小企业资格",
        rule="major-change-requires-qualification",
    )


def require_not_holding(session: Session, uscc: str | None, tier: str, today: date) -> None:
    """第九条: a valid qualification is continued by its renewal review every three years, not
    by a new application for the same tier: 409 `already-qualified`, naming the certificate.
    One whose renewal eligibility was withdrawn (第十、十一条) may apply anew before it lapses."""
    for held in valid_qualifications(session, uscc, today):
        if held.tier == tier and held.status == "active":
            raise Conflict(
                f"该企业已持有有效的{TIER_LABELS[tier]}资格（证书 {held.number}，有效期至 "
                f"{held.expires_on}）：有效期内由复核延续（第九条），无需重新申报",
                rule="already-qualified",
            )


def start_facts(session: Session, uscc: str | None, today: date, role: str) -> dict[str, Any]:
    """Facts every case starts with: the enterprise's standing, who opened it."""
    return standing(session, uscc, today) | {"started_by_role": role}


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
    # a complaint handled by a city follows its case: the new city sees the complainant (第十三条)
    for person in session.scalars(
        select(Complainant).where(
            Complainant.instance_id.in_(moved or ["-"]), Complainant.authority == "city"
        )
    ):
        person.region = region
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
) -> dict[str, Any]:
    """Reassign an enterprise (and its running cases and open tasks) to another region."""
    access.require_role(actor, "province")
    if region not in ctx.settings.region_names():
        raise InvalidInput(f"地区代码 {region} 不存在", errors={"region": ["不是已知的地区代码"]})
    if not reason.strip():
        raise InvalidInput("请说明调整理由", errors={"reason": ["不能为空"]})
    with ctx.transaction() as session:
        enterprise = session.get(Enterprise, uscc)
        if enterprise is None:
            raise NotFound(f"企业 {uscc} 未登记")
        previous = enterprise.region
        if previous == region:
            raise InvalidInput(
                f"企业已由地区 {region} 负责", errors={"region": ["与企业当前所属地区相同"]}
            )
        cases = reassign_region(
            session, uscc=uscc, region=region, by=actor.id, reason=reason.strip(), now=ctx.now()
        )
        return {"uscc": uscc, "from_region": previous, "to_region": region, "cases": cases}


def _ban_scope(query: Select, actor: Actor) -> Select:
    # MIIT reads every ban too: a 第十二条 ban bars a 小巨人 application anywhere in the province
    if actor.role in access.READ_ALL or actor.role == "miit":
        return query
    if actor.role == "city":
        return query.where(Enterprise.region == (actor.region or "-"))
    if actor.role == "enterprise":
        return query.where(Ban.uscc == (actor.uscc or "-"))
    raise Forbidden("当前角色不能查看禁止申请记录")


def bans(
    ctx: EngineContext,
    actor: Actor,
    *,
    uscc: str | None = None,
    active_on: date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[tuple[Ban, Enterprise | None]], int]:
    """Bans (第十二条) the actor may see, latest start first; `active_on`: in force that day."""
    query = _ban_scope(
        select(Ban, Enterprise).outerjoin(Enterprise, Enterprise.uscc == Ban.uscc), actor
    )
    if uscc:
        query = query.where(Ban.uscc == uscc)
    if active_on is not None:
        query = query.where(Ban.starts_on <= active_on, Ban.ends_on > active_on)
    with ctx.reading() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        query = query.order_by(Ban.starts_on.desc(), Ban.id)
        rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
        return [(b, e) for b, e in rows], total


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
    """Registry-only withdrawal of renewal eligibility (major_change versions before per-tier
    decisions; current ones message each lifecycle, which also ends an open renewal)."""
    change = outputs["renewal_withdrawal"]
    for q in valid_qualifications(session, change["uscc"], now.date()):
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


def _move_out(session: Session, outputs: dict[str, Any], row: Instance, now: datetime) -> None:
    """第十一条: the enterprise moved out of Jiangxi (P5's `record_move_out`): it is registered
    outside Jiangxi, so that 第四条 (在江西省内注册, through `standing`) refuses it from now on.
    Its running cases, tasks and qualifications stay with the city that had them."""
    move = outputs["region_move_out"]
    _register_outside(session, move["uscc"], _by(session), now, row.id, move["reason"])


def _register_outside(
    session: Session, uscc: str, by: str, now: datetime, instance_id: str, reason: str
) -> None:
    enterprise = session.get(Enterprise, uscc)
    if enterprise is None or enterprise.region == OUTSIDE_JIANGXI:
        return
    previous, enterprise.region = enterprise.region, OUTSIDE_JIANGXI
    history.append(
        session,
        stream=f"enterprise:{uscc}",
        kind="region.reassigned",
        actor=by,
        at=now,
        instance_id=instance_id,
        data={"uscc": uscc, "from": previous, "to": OUTSIDE_JIANGXI, "reason": reason, "cases": []},
    )


def _record_move_out(ctx: Any, session: Session, loaded: Any, actor: Any) -> None:
    """The same for P5 cases on versions deployed before `record_move_out`: one that ends with a
    relocation to the diagram's `outside_region` leaves the enterprise registered outside."""
    row, wf = loaded.row, loaded.wf
    if row.process_key != MAJOR_CHANGE or row.status == "completed" or not row.uscc:
        return
    if not wf.is_completed() or "record_move_out" in wf.spec.task_specs:
        return
    data = wf.data
    outside = data.get("outside_region") or "outside"
    if data.get("change_type") != "relocation" or data.get("to_region") != outside:
        return
    _register_outside(session, row.uscc, actor.id, ctx.now(), row.id, "企业迁出江西省（第十一条）")


records.WRITERS["ban"] = _ban
records.WRITERS["region_reassignment"] = _reassign
records.WRITERS["region_move_out"] = _move_out
records.WRITERS["renewal_withdrawal"] = _withdraw  # earlier major_change versions only
records.BEFORE_SAVE.append(_remember_actor)
records.BEFORE_SAVE.append(_record_move_out)  # earlier major_change versions only
