"""第十三条 complaints: real-name filing, the complainant's identity kept apart from the case.

The case (process ``complaint``) carries only an opaque ``complainant_ref``; name, ID number and
contact live in the ``complainant`` table, readable by the handling authority and auditors.
A complaint without a real name, ID/contact or evidence is refused before anything is stored.
A complaint concerns one qualification of the enterprise (``tier``; default: the highest tier
held): the authority for that tier handles it, and a revocation revokes that qualification only.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine import audit_projections, definitions, enterprises, instances, records
from engine.commands import command
from engine.context import Actor, EngineContext
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.store import (
    TIER_LABELS,
    Complainant,
    Enterprise,
    EvidenceFile,
    HumanTask,
    Instance,
    Notification,
    User,
    new_id,
)

PROCESS_KEY = "complaint"
FILERS = {"public", "city", "province"}  # the public, or staff recording a complaint on behalf
STAFF_FILERS = FILERS - {"public"}
AUDITORS = {"auditor"}
DEFAULT_HANDLED_BY = {"innovative": "city", "specialized": "city", "little_giant": "province"}
ID_NUMBER = re.compile(r"^(\d{17}[\dXx]|[A-Z0-9]{8,20})$")  # 身份证号 or another document number
CONTACT = re.compile(r"^[\d+\- ]{7,20}$|^[^@\s]+@[^@\s]+$")


class ComplaintRefused(InvalidInput):
    code = "complaint-refused"
    title = "投诉不予登记"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _valid_uscc(code: str) -> bool:
    from handlers.uscc import is_valid_uscc  # the engine does not import handlers at load

    return is_valid_uscc(code)


def _check(body: dict[str, Any]) -> dict[str, list[str]]:
    """Name every missing real-name element (第十三条); nothing is stored when one fails."""
    person = body.get("complainant") or {}
    errors: dict[str, list[str]] = {}
    if not _text(person.get("name")):
        errors["complainant.name"] = ["须实名投诉：请填写投诉人真实姓名，匿名投诉不予受理"]
    if not ID_NUMBER.match(_text(person.get("id_number"))):
        errors["complainant.id_number"] = ["须实名投诉：请填写有效的身份证件号码"]
    if not CONTACT.match(_text(person.get("contact"))):
        errors["complainant.contact"] = ["请填写有效的联系电话或电子邮箱"]
    if not [e for e in body.get("evidence") or [] if _text(e)]:
        errors["evidence"] = ["须提供相关证据材料，无证据的投诉不予受理"]
    if not _text(body.get("content")):
        errors["content"] = ["请说明投诉的具体事实"]
    if not _text(body.get("uscc")):
        errors["uscc"] = ["请填写被投诉企业的统一社会信用代码"]
    elif not _valid_uscc(_text(body.get("uscc"))):
        errors["uscc"] = ["统一社会信用代码格式或校验位错误"]
    if body.get("tier") is not None and body.get("tier") not in TIER_LABELS:
        errors["tier"] = [f"资格梯度应为 {', '.join(TIER_LABELS)} 之一"]
    return errors


def _concerned(held: dict[str, str], tier: str | None) -> str:
    """The tier a complaint concerns: the one named, else the highest held (第十三条)."""
    if tier is None:
        return list(held)[-1]
    if tier not in held:
        raise ComplaintRefused(
            f"被投诉企业未持有有效的{TIER_LABELS[tier]}资格",
            errors={"tier": [f"该企业未持有有效的{TIER_LABELS[tier]}资格"]},
        )
    return tier


def _evidence(session: Session, ids: list[str], actor: Actor) -> list[dict[str, Any]]:
    rows = {r.id: r for r in session.scalars(select(EvidenceFile).where(EvidenceFile.id.in_(ids)))}
    missing = [
        f"evidence.{i}"
        for i, file_id in enumerate(ids)
        if file_id not in rows or rows[file_id].uploaded_by != actor.id
    ]
    if missing:
        raise ComplaintRefused(
            "证据材料文件不存在", errors={m: ["证据材料文件不存在"] for m in missing}
        )
    return [{"id": rows[i].id, "filename": rows[i].filename, "sha256": rows[i].sha256} for i in ids]


@command("file_complaint")
def file_complaint(ctx: EngineContext, *, actor: Actor, body: dict[str, Any]) -> Instance:
    """Register a real-name complaint about a listed enterprise and start its case."""
    if actor.role not in FILERS:
        raise Forbidden("只有社会公众或主管部门可以登记投诉")
    errors = _check(body)  # every field is checked, and all refusals named at once
    with ctx.transaction() as session:
        uscc = _text(body.get("uscc"))
        enterprise = session.get(Enterprise, uscc) if "uscc" not in errors else None
        today = ctx.today()
        held = enterprises.valid_qualifications(session, uscc, today) if enterprise else {}
        if "uscc" not in errors and not held:
            errors["uscc"] = ["该企业不在优质中小企业名单中（第十三条）"]
        numbers = enterprises.held_numbers(held) if held else {}
        tier, evidence = None, []
        if numbers and "tier" not in errors:
            try:
                tier = _concerned(numbers, body.get("tier"))
            except ComplaintRefused as refused:
                errors |= refused.errors
        if "evidence" not in errors:
            try:
                evidence = _evidence(session, [_text(e) for e in body["evidence"]], actor)
            except ComplaintRefused as refused:
                errors |= refused.errors
        if errors or tier is None or enterprise is None:
            raise ComplaintRefused(
                "；".join(m for msgs in errors.values() for m in msgs), errors=errors
            )
        definition = definitions.latest(session, PROCESS_KEY, ctx)
        authority = authority_for(definition, tier)
        instance_id, person = new_id(), body["complainant"]
        row = Complainant(
            instance_id=instance_id,
            name=_text(person["name"]),
            id_number=_text(person["id_number"]),
            contact=_text(person["contact"]),
            authority=authority,
            region=enterprise.region,
            filed_by=actor.id,
            filed_at=ctx.now(),
        )
        session.add(row)
        session.flush()
        data = {
            "uscc": uscc,
            "enterprise_name": enterprise.name,
            "region": enterprise.region,
            "held_tiers": list(numbers),
            "held_qualifications": numbers,
            "tier": tier,
            "tier_label": TIER_LABELS[tier],
            "qualification_number": numbers[tier],
            "authority": authority,
            "complainant_ref": row.id,
            "subject": _text(body.get("subject")) or "企业信息真实性",
            "content": _text(body["content"]),
            "evidence": [e["id"] for e in evidence],
            "filed_on": today.isoformat(),
        }
        return start_case(
            ctx,
            session,
            process_key=PROCESS_KEY,
            instance_id=instance_id,
            data=data,
            actor=actor,
            # the row and a sha256 of its identity, checked by `tidu audit verify`
            extra={"evidence": evidence, "complainant": audit_projections.filing_record(row)},
            definition=definition,
        )


def authority_for(definition: Any, tier: str) -> str:
    """Who handles a complaint about a qualification of `tier` (第十三条 相应中小企业主管部门):
    the diagram's `handledBy` start-event property, else the province for 小巨人 and the city
    for the tiers the province announces or certifies on the cities' reports."""
    return definitions.handled_by(definition).get(tier) or DEFAULT_HANDLED_BY[tier]


def start_case(
    ctx: EngineContext,
    session: Session,
    *,
    process_key: str,
    instance_id: str,
    data: dict[str, Any],
    actor: Actor,
    extra: dict[str, Any],
    definition: Any = None,
) -> Instance:
    """Start a case of the latest version of `process_key` (or of `definition`, read already)
    with host-built data (no round)."""
    definition = definition or definitions.latest(session, process_key, ctx)
    loaded = instances.begin(
        ctx,
        session,
        definition,
        instance_id=instance_id,
        business_key=f"{data['uscc']}:{instance_id}",
        data={**data, "case_ref": instance_id},
        actor=actor,
        extra=extra,
    )
    if process_key == PROCESS_KEY:  # withheld from the enterprise until asked to respond
        loaded.row.hidden_from_enterprise = True
    instances.advance(ctx, loaded)
    return instances.save(ctx, session, loaded, actor)


def _disclose(ctx: EngineContext, session: Session, loaded: Any, actor: Actor) -> None:
    """The enterprise sees a complaint from its first task in it on (答复投诉, once the
    authority accepted it): before, the case is not found for it, nor listed (第十三条).
    Only a withheld complaint's save looks (one indexed read); the case's version is kept."""
    row = loaded.row
    if row.process_key != PROCESS_KEY or not row.hidden_from_enterprise:
        return
    asked = session.scalar(
        select(HumanTask.id)
        .where(HumanTask.instance_id == row.id, HumanTask.role == "enterprise")
        .limit(1)
    )
    if asked is None:
        return
    table = Instance.__table__
    session.execute(update(table).where(table.c.id == row.id).values(hidden_from_enterprise=None))
    set_committed_value(row, "hidden_from_enterprise", None)


records.AFTER_SAVE.append(_disclose)


# -- reads ----------------------------------------------------------------------------------


def may_see_identity(actor: Actor, row: Complainant) -> bool:
    """The handling authority (its city, or the province) and auditors only."""
    if actor.role in AUDITORS:
        return True
    if actor.role != row.authority:
        return False
    return actor.role == "province" or (bool(actor.region) and actor.region == row.region)


# -- the complainant in a case's history ------------------------------------------------------
# The history stores what happened (the filer as the actor of `instance.started`); who may not
# see the identity reads a neutral actor instead, and event data without the identity.
NEUTRAL_ACTOR = "complainant"
NEUTRAL_NAME = "投诉人"
WITHHELD = "（已隐去）"
IDENTITY_KEYS = frozenset({"complainant", "complainant_name", "id_number", "contact", "filed_by"})


def withheld_from(viewer: Actor | None, row: Complainant) -> bool:
    """Whether `viewer` (None: anyone) reads the history of `row`'s case without the identity."""
    return viewer is None or (viewer.role != "system" and not may_see_identity(viewer, row))


def filings(session: Session, instance_ids: Any) -> dict[str, Complainant]:
    """The complainant records of those of `instance_ids` that are complaints, in one query."""
    wanted = sorted({i for i in instance_ids if i})
    if not wanted:
        return {}
    rows = session.scalars(select(Complainant).where(Complainant.instance_id.in_(wanted)))
    return {r.instance_id: r for r in rows}


def filings_by(
    session: Session, actor_ids: Any, *, staff: bool = False
) -> dict[str, list[Complainant]]:
    """The complaints members of the public among `actor_ids` filed (staff filing on a
    person's behalf act as themselves; `staff`: theirs too), by filer, in one query."""
    wanted = sorted({a for a in actor_ids if a})
    if not wanted:
        return {}
    query = select(Complainant).where(Complainant.filed_by.in_(wanted))
    if not staff:
        query = query.join(User, User.id == Complainant.filed_by).where(
            User.role.not_in(STAFF_FILERS)
        )
    rows = session.scalars(query)
    found: dict[str, list[Complainant]] = {}
    for r in rows:
        found.setdefault(r.filed_by, []).append(r)
    return found


def neutral_filers(db: Any, rows: Iterable[Any]) -> frozenset[str]:
    """The filers of `rows` who are read as 投诉人 where the identity is withheld: members of
    the public. Staff recording a complaint on a person's behalf act as themselves (their
    account is not the identity to protect, the person's is). One read, on a session or a
    connection."""
    ids = {r.filed_by for r in rows if r is not None and r.filed_by}
    if not ids:
        return frozenset()
    staff = db.execute(
        select(User.id).where(User.id.in_(sorted(ids)), User.role.in_(sorted(STAFF_FILERS)))
    ).scalars()
    return frozenset(ids - set(staff))


def _identity(rows: Iterable[Any]) -> list[str]:
    """The identity strings to take out of event data: names, ID numbers, contacts."""
    values = {v for r in rows for v in (r.name, r.id_number, r.contact) if v and len(v) > 1}
    return sorted(values, key=len, reverse=True)  # a longer one first (a name inside another)


def scrub(
    value: Any, *, keys: Collection[str], words: list[str], actors: Collection[str] = ()
) -> Any:
    """`value` with the values under `keys` withheld, any string equal to one of `actors` read
    as 投诉人, and `words` (longest first) cut out of any text."""

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: WITHHELD if k in keys else walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str):
            if v in actors:
                return NEUTRAL_ACTOR
            for word in words:
                v = v.replace(word, WITHHELD)
        return v

    return walk(value)


def redact(value: Any, rows: Iterable[Any], neutral: Collection[str] = ()) -> Any:
    """`value` (event or case data) without the identity of `rows`: identity keys withheld,
    the filers among `neutral` (neutral_filers) named as 投诉人, and names, ID numbers and
    contacts cut out of any text."""
    return scrub(value, keys=IDENTITY_KEYS, words=_identity(rows), actors=frozenset(neutral))


def _without_identity(session: Session, row: Instance, value: Any) -> Any:
    """What a complaint case sends out (its messages, the records its handlers write: a ban,
    a notification) without the complainant's identity, whoever reads it later (第十三条)."""
    if row.process_key != PROCESS_KEY:
        return value
    person = session.scalars(select(Complainant).where(Complainant.instance_id == row.id)).first()
    if person is None:
        return value
    return redact(value, [person], neutral_filers(session, [person]))


records.OUTGOING.append(_without_identity)


def mine(
    ctx: EngineContext, actor: Actor, *, page: int = 1, per_page: int = 20
) -> tuple[list[tuple[Complainant, Instance]], int]:
    """Complaints the actor filed (a complainant sees only their own)."""
    query = (
        select(Complainant, Instance)
        .join(Instance, Instance.id == Complainant.instance_id)
        .where(Complainant.filed_by == actor.id)
    )
    with ctx.reading() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.execute(
            query.order_by(Complainant.filed_at.desc(), Complainant.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        return [(c, i) for c, i in rows], total


def one(ctx: EngineContext, actor: Actor, instance_id: str) -> dict[str, Any]:
    """A complaint: its filer sees status and outcome; the authority and auditors the identity."""
    with ctx.reading() as session:
        row = session.scalars(
            select(Complainant).where(Complainant.instance_id == instance_id)
        ).first()
        if row is None:
            raise NotFound("投诉不存在")
        own = row.filed_by == actor.id
        if not own and not may_see_identity(actor, row):
            raise NotFound("投诉不存在")
        case = session.get(Instance, row.instance_id)
        identity = (  # never to the filer as such (README): status and outcome only
            {"name": row.name, "id_number": row.id_number, "contact": row.contact}
            if may_see_identity(actor, row)
            else None
        )
        return {"complainant": row, "instance": case, "identity": identity}


def _notify(session: Session, outputs: dict[str, Any], row: Instance, now: datetime) -> None:
    notice = outputs["complaint_outcome"]
    person = session.scalars(select(Complainant).where(Complainant.instance_id == row.id)).first()
    if person is None:
        raise ValueError(f"案件 {row.id} 没有投诉人记录")
    session.add(
        Notification(
            user_id=person.filed_by,
            instance_id=row.id,
            kind="outcome",
            title=notice["title"][:200],
            body=notice["body"],
            created_at=now,
        )
    )


records.WRITERS["complaint_outcome"] = _notify
