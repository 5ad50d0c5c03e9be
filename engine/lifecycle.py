"""P4 qualification lifecycle (第九条、第十条、第十二条、第二十条): one instance per qualification.

* The lifecycle instance is started in the transaction that creates the qualification (a P1
  issue, a legacy import), so a qualification never exists without its lifecycle and vice versa.
  If the lifecycle process is not deployed, the creating command fails and becomes an incident.
* Each validity period runs as a fresh workflow inside the same instance (continue-as-new): a
  process that ends with ``outcome = "continued"`` and a dict ``continue_with`` restarts on the
  latest version of its process with that dict as its data. The instance keeps its id, business
  key (the qualification number) and hash-chained history; its state never grows with the years.
* Handlers describe status changes (record kind ``qualification_change``); the writer applies
  them to the registry row and appends a ``qualification.changed`` event (who, why, when) to the
  lifecycle's history, which is the qualification's status history.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, Select, case, func, or_, select
from sqlalchemy.orm import Session

from engine import (
    access,
    definitions,
    enterprises,
    history,
    instances,
    outbox,
    queries,
    records,
)
from engine.context import Actor, EngineContext
from engine.errors import Forbidden, NotFound
from engine.store import TIER_LABELS, HistoryEvent, HumanTask, Instance, Qualification, new_id
from engine.walks import TiduWorkflow

PROCESS_KEY = "qualification_lifecycle"
CONTINUED = "continued"
VALID = ("active", "renewal_ineligible")  # still within validity (第十条 loss only bars renewal)
STATUS_KINDS = ("qualification.changed", "instance.continued", "instance.completed")
_SAVE_ACTOR = "tidu_save_actor"
ENGINE = Actor.system("engine")
CARRY_DEFAULTS: dict[str, Any] = {"enterprise_updated_on": None}


class LifecycleNotDeployedError(RuntimeError):
    """A qualification was created but its lifecycle process is not deployed (an incident)."""


def start_data(
    q: Qualification,
    *,
    period: int,
    case_ref: str,
    enterprise_updated_on: date | None = None,
    ban_until: str | None = None,
) -> dict[str, Any]:
    """The data a lifecycle (or one of its validity periods) starts with.

    `enterprise_updated_on`: the enterprise's latest annual update (第十条) made for another of
    its valid qualifications, so that a deadline it already met is not asked again.
    `ban_until`: the enterprise's 第十二条 ban in force, for the record (the renewal reads the
    standing anew)."""
    return {
        "qualification_id": q.id,
        "number": q.number,
        "tier": q.tier,
        "uscc": q.uscc,
        "enterprise_name": q.enterprise_name,
        "region": q.region,
        "issued_on": q.issued_on.isoformat(),
        "expires_on": q.expires_on.isoformat(),
        "renewal_eligible": q.renewal_eligible,
        "source": q.source,
        "period": period,
        "case_ref": case_ref,
        "ban_until": ban_until,
        "last_update_due_on": None,
        "enterprise_updated_on": enterprise_updated_on.isoformat()
        if enterprise_updated_on
        else None,
    }


def start(
    ctx: EngineContext,
    session: Session,
    q: Qualification,
    *,
    actor: Actor,
    reason: str,
    started_from: str | None = None,
) -> Instance:
    """Start the lifecycle of a qualification inside the caller's transaction."""
    try:
        definition = definitions.latest(session, PROCESS_KEY, ctx)
    except NotFound:
        raise LifecycleNotDeployedError(
            f"资格生命周期流程 {PROCESS_KEY} 尚未部署，无法登记资格 {q.number}"
        ) from None
    now, instance_id = ctx.now(), new_id()
    updated_on = enterprise_updated_on(session, q)
    if updated_on and (q.info_updated_on is None or q.info_updated_on < updated_on):
        q.info_updated_on = (
            updated_on  # 第十条: one update a year counts for all its qualifications
        )
    loaded = instances.begin(
        ctx,
        session,
        definition,
        instance_id=instance_id,
        business_key=q.number,
        data=start_data(
            q,
            period=1,
            case_ref=instance_id,
            enterprise_updated_on=updated_on,
            ban_until=enterprises.standing(session, q.uscc, ctx.today())["ban_until"],
        ),
        actor=actor,
        extra={"started_from": started_from},
    )
    q.lifecycle_instance_id = instance_id
    q.status_reason, q.status_changed_at, q.status_changed_by = reason, now, actor.id
    history.append(
        session,
        stream=f"instance:{instance_id}",
        kind="qualification.changed",
        actor=actor.id,
        at=now,
        instance_id=instance_id,
        data={
            "number": q.number,
            "from": None,
            "to": q.status,
            "changes": {"status": q.status},
            "reason": reason,
        },
    )
    instances.advance(ctx, loaded)
    return instances.save(ctx, session, loaded, actor)


def enterprise_updated_on(session: Session, q: Qualification) -> date | None:
    """The latest annual update (第十条) of the enterprise, over its other valid qualifications."""
    return session.scalar(
        select(func.max(Qualification.info_updated_on)).where(
            Qualification.uscc == q.uscc,
            Qualification.number != q.number,
            Qualification.status.in_(VALID),
        )
    )


def register(
    ctx: EngineContext,
    session: Session,
    *,
    fields: dict[str, Any],
    source: str,
    actor: Actor,
    reason: str,
) -> Qualification:
    """Create a qualification (e.g. a legacy one) and start its lifecycle, same transaction."""
    q = Qualification(
        number=fields["number"],
        tier=fields["tier"],
        uscc=fields["uscc"],
        enterprise_name=fields["enterprise_name"],
        region=fields.get("region"),
        issued_on=date.fromisoformat(fields["issued_on"]),
        expires_on=date.fromisoformat(fields["expires_on"]),
        status="active",
        instance_id=fields.get("instance_id"),
        created_at=ctx.now(),
        source=source,
        renewal_eligible=True,
    )
    session.add(q)
    session.flush()
    start(ctx, session, q, actor=actor, reason=reason)
    return q


def _continue_as_new(ctx: EngineContext, session: Session, loaded: Any, actor: Actor) -> None:
    """Restart a workflow that ended with outcome "continued" on its process's latest version."""
    session.info[_SAVE_ACTOR] = actor.id
    old = loaded.wf
    if (
        not old.is_completed()
        or old.data.get("outcome") != CONTINUED
        or loaded.row.status != "running"
    ):
        return
    carry = old.data.get("continue_with")
    if not isinstance(carry, dict):
        raise ValueError("流程以 continued 结束，但没有给出 continue_with（下一期的流程数据）")
    row, now = loaded.row, ctx.now()
    outbox.collect(session, old, row, actor.id, now, timedelta(days=ctx.settings.message_ttl_days))
    definition = definitions.latest(session, row.process_key, ctx)
    spec, subs, scope = instances.workflow_for(ctx, definition)
    scope.decisions.extend(
        loaded.scope.decisions
    )  # the ending period's decisions are still to record
    # names later versions read that an older version's continue_with lacks: their defaults
    carry = {**CARRY_DEFAULTS, **carry, **_current_facts(ctx, session, row, carry)}
    wf = TiduWorkflow(spec, subs, script_engine=ctx.script_engine)
    wf.task_tree.data.update({**carry, "case_ref": row.id})
    # recorded after what the ending period did (its extension), before what the next one does
    event = {
        "kind": "instance.continued",
        "actor": actor.id,
        "definition_id": definition.id,
        "data": {
            "version": definition.version,
            "checksum": definition.checksum,
            "start_data": carry,
            "previous_version": row.definition_version,
        },
    }
    loaded.noted.append((time.time(), event))
    row.definition_id, row.definition_version = definition.id, definition.version
    loaded.wf, loaded.definition, loaded.scope = wf, definition, scope
    instances.advance(ctx, loaded)


def _current_facts(
    ctx: EngineContext, session: Session, row: Instance, carry: dict[str, Any]
) -> dict[str, Any]:
    """What the next period takes from the registry and the enterprise's standing rather than
    from the ending period's data: the region (a relocation within Jiangxi moves the case,
    第十一条) and the 第十二条 ban in force."""
    q = session.scalars(
        select(Qualification).where(Qualification.number == row.business_key)
    ).first()
    if q is None:
        return {}
    uscc = carry.get("uscc") or q.uscc
    return {
        "region": q.region,
        "ban_until": enterprises.standing(session, uscc, ctx.today())["ban_until"],
    }


def _start_new_lifecycles(ctx: EngineContext, session: Session, loaded: Any, actor: Actor) -> None:
    numbers = session.info.pop(records.NEW_QUALIFICATIONS, [])
    for number in numbers:
        q = session.scalars(select(Qualification).where(Qualification.number == number)).one()
        if q.lifecycle_instance_id is None:
            start(
                ctx,
                session,
                q,
                actor=ENGINE,
                reason="评价通过，颁发资格",
                started_from=loaded.row.id,
            )


def _who(session: Session, row: Instance, given: str | None) -> str:
    """Who made a change: the handler's `by`, else the command's actor, else a message's sender."""
    if given:
        return given
    actor = session.info.get(_SAVE_ACTOR)
    if actor and actor != "router":
        return str(actor)
    sender = session.scalars(
        select(HistoryEvent.actor)
        .where(HistoryEvent.stream == f"instance:{row.id}", HistoryEvent.kind == "message.received")
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    ).first()
    return sender or str(actor or "engine")


def _change(session: Session, outputs: dict[str, Any], row: Instance, now: datetime) -> None:
    """Apply a handler's `qualification_change` to the registry and record it in the history."""
    change = outputs["qualification_change"]
    q = session.scalars(
        select(Qualification).where(Qualification.number == change["number"])
    ).first()
    if q is None:
        raise ValueError(f"资格 {change['number']} 不存在")
    fields = {
        "status": str,
        "renewal_eligible": bool,
        "expires_on": date.fromisoformat,
        "info_updated_on": date.fromisoformat,
    }
    changes: dict[str, Any] = {}
    before = {
        "status": q.status,
        "renewal_eligible": q.renewal_eligible,
        "expires_on": q.expires_on.isoformat(),
    }
    for name, convert in fields.items():
        if change.get(name) is not None:
            value = convert(change[name])
            if getattr(q, name) != value:
                changes[name] = value
                setattr(q, name, value)
    by = _who(session, row, change.get("by"))
    if set(changes) & {"status", "renewal_eligible", "expires_on"}:
        q.status_reason, q.status_changed_at, q.status_changed_by = change.get("reason"), now, by
    history.append(
        session,
        stream=f"instance:{row.id}",
        kind="qualification.changed",
        actor=by,
        at=now,
        instance_id=row.id,
        data={
            "number": q.number,
            "from": before,
            "to": q.status,
            "changes": changes,
            "reason": change.get("reason"),
            "basis": change.get("basis"),
        },
    )


records.WRITERS["qualification_change"] = _change
records.BEFORE_SAVE.append(_continue_as_new)
records.AFTER_SAVE.append(_start_new_lifecycles)


# -- reads -----------------------------------------------------------------------------------------


REGISTRY_READERS = frozenset({"province", "miit", "auditor", "system"})  # the whole registry


def _scope(query: Select, actor: Actor) -> Select:
    """The registry rows an actor may read: an enterprise its own, a city its region's, the
    province, MIIT and auditors all; anyone else (the public, process owners) none — they have
    the public lookup (`GET /public/qualifications`), which shows what a notice shows."""
    if actor.role == "enterprise":
        return query.where(Qualification.uscc == (actor.uscc or "-"))
    if actor.role == "city":
        return query.where(Qualification.region == (actor.region or "-"))
    if actor.role in REGISTRY_READERS:
        return query
    raise Forbidden("资格名册仅供主管部门、审计人员和企业本身查阅；公众请使用资质公开查询")


def _filtered(
    actor: Actor,
    *,
    tier: str | None = None,
    uscc: str | None = None,
    status: str | None = None,
    region: str | None = None,
    expiring_before: date | None = None,
    renewal_eligible: bool | None = None,
) -> Select:
    """Qualifications the actor may see, filtered; latest issued first, then by number."""
    query = _scope(select(Qualification), actor)
    for column, value in (
        (Qualification.tier, tier),
        (Qualification.uscc, uscc),
        (Qualification.status, status),
        (Qualification.region, region),
        (Qualification.renewal_eligible, renewal_eligible),
    ):
        if value is not None:
            query = query.where(column == value)
    if expiring_before is not None:
        query = query.where(Qualification.expires_on < expiring_before)
    return query.order_by(Qualification.issued_on.desc(), Qualification.number)


def search(
    ctx: EngineContext, actor: Actor, *, page: int = 1, per_page: int = 20, **filters: Any
) -> tuple[list[Qualification], int]:
    """One page of the qualifications the actor may see (filters: see `_filtered`)."""
    query = _filtered(actor, **filters)
    with ctx.reading() as session:
        total = (
            session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        )
        return list(session.scalars(query.limit(per_page).offset((page - 1) * per_page))), total


EXPORT_BATCH = 1000  # rows read from the database at a time by a registry export


def export(ctx: EngineContext, actor: Actor, **filters: Any) -> Iterator[Row[Any]]:
    """Every qualification the actor may see that matches the filters, for a CSV list, as plain
    rows with the table's column names, however many there are (a national registry holds
    hundreds of thousands): read `EXPORT_BATCH` at a time in one read transaction as the
    returned iterator is read, so memory stays flat. The statement runs before this returns, so
    a failure to read is raised here, before an answer has begun; the transaction ends when the
    iterator is exhausted or closed (a client that stops downloading)."""
    query = _filtered(actor, **filters).with_only_columns(*Qualification.__table__.columns)
    rows = _streamed(ctx, query)
    next(rows)  # runs the statement
    return rows


def _streamed(ctx: EngineContext, query: Select) -> Iterator[Any]:
    """None once the statement has run, then its rows."""
    with ctx.streaming_rows(EXPORT_BATCH) as conn:
        result = conn.execute(query)
        try:
            yield None
            yield from result
        finally:
            result.close()  # PostgreSQL's server-side cursor, when the reader stops early


def detail(ctx: EngineContext, actor: Actor, qualification_id: str) -> dict[str, Any]:
    """A qualification with its lifecycle: instance, open tasks and status history."""
    with ctx.reading() as session:
        q = session.scalars(
            _scope(select(Qualification), actor).where(Qualification.id == qualification_id)
        ).first()
        if q is None:
            raise NotFound("资格不存在")
        instance = (
            session.get(Instance, q.lifecycle_instance_id) if q.lifecycle_instance_id else None
        )
        events, tasks = [], []
        if instance is not None:
            events = list(
                session.scalars(
                    select(HistoryEvent)
                    .where(
                        HistoryEvent.stream == f"instance:{instance.id}",
                        HistoryEvent.kind.in_(STATUS_KINDS),
                    )
                    .order_by(HistoryEvent.seq)
                )
            )
            queries.with_actor_names(session, events)
            tasks = [
                t
                for t in session.scalars(
                    select(HumanTask).where(
                        HumanTask.instance_id == instance.id, HumanTask.state == "open"
                    )
                )
                if access.can_see_task(actor, t) or actor.role in access.READ_ALL
            ]
        return {"qualification": q, "instance": instance, "history": events, "open_tasks": tasks}


def summary(ctx: EngineContext, actor: Actor, *, expiring_days: int = 90) -> dict[str, Any]:
    """Qualifications valid today by region and tier, with those expiring within
    `expiring_days`, those without renewal eligibility (第十条) and those revoked (cities:
    their region; enterprises: their own)."""
    today = ctx.today()
    valid = Qualification.status.in_(VALID) & (Qualification.expires_on >= today)
    soon = valid & (Qualification.expires_on < today + timedelta(days=expiring_days))

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = _scope(
        select(
            Qualification.region,
            Qualification.tier,
            count(valid),
            count(soon),
            count(valid & (Qualification.status == "renewal_ineligible")),
            count(Qualification.status == "revoked"),
        ),
        actor,
    ).group_by(Qualification.region, Qualification.tier)
    keys = ("valid", "expiring", "renewal_ineligible", "revoked")
    rows: dict[str | None, dict[str, Any]] = {}
    with ctx.reading() as session:
        for region, tier, *counts in session.execute(query):
            row = rows.setdefault(
                region,
                {"region": region, **dict.fromkeys(TIER_LABELS, 0)} | dict.fromkeys(keys, 0),
            )
            row[tier] = row.get(tier, 0) + counts[0]
            for key, value in zip(keys, counts, strict=True):
                row[key] += value
    ordered = [rows[r] for r in sorted(rows, key=lambda r: (r is None, r or ""))]
    totals = {k: sum(r[k] for r in ordered) for k in (*TIER_LABELS, *keys)}
    return {"as_of": today, "expiring_days": expiring_days, "rows": ordered, "totals": totals}


def public_list(
    ctx: EngineContext,
    *,
    tier: str | None = None,
    region: str | None = None,
    keyword: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Qualification], int]:
    """Qualifications valid today (the public list): no status reasons, no actors. `keyword`
    finds a part of the enterprise's name or a whole certificate number."""
    today = ctx.today()
    query = select(Qualification).where(
        Qualification.status.in_(VALID), Qualification.expires_on >= today
    )
    if tier:
        query = query.where(Qualification.tier == tier)
    if region:
        query = query.where(Qualification.region == region)
    if keyword:
        keyword = keyword.strip()
        query = query.where(
            or_(
                Qualification.enterprise_name.contains(keyword, autoescape=True),
                Qualification.number.in_({keyword, keyword.upper()}),
            )
        )
    query = query.order_by(Qualification.tier, Qualification.enterprise_name, Qualification.number)
    with ctx.reading() as session:
        total = (
            session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        )
        return list(session.scalars(query.limit(per_page).offset((page - 1) * per_page))), total
