"""The status the registry shows of a qualification on a given day, and its reads by that status.

The lifecycle writes `status` when something happens (issue, renewal, lapse, revocation); a
qualification past its last valid day keeps `active` while its renewal may still be decided
(setting `renewal_grace_days`, 第九条 “每次到期后”复核, docs/lifecycle.md §3) — or for the moment
until its lifecycle's expiry timer fires. It is not valid then (the public list and the
statistics leave it out), so every read of the registry shows it as `in_grace` (复核中（已届满）)
rather than 有效: the list and its filter, the detail, the CSV export and the summary agree.
A renewal approved during the grace period extends it from the old expiry (status `active`
again); one refused or not finished lapses it (`expired`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, case, func, select

from engine import lifecycle
from engine.context import Actor, EngineContext
from engine.store import QUALIFICATION_STATUS_LABELS, Qualification

IN_GRACE = "in_grace"
STATUS_LABELS = QUALIFICATION_STATUS_LABELS | {IN_GRACE: "复核中（已届满）"}
STATUSES = ("active", "renewal_ineligible", IN_GRACE, "expired", "revoked")


def shown(status: str, expires_on: date, today: date) -> str:
    """The status the registry shows: a renewal-ineligible qualification past its last day has
    lapsed (its expiry timer is due), an active one is under renewal after its expiry."""
    if status in lifecycle.VALID and expires_on < today:
        return IN_GRACE if status == "active" else "expired"
    return status


def condition(status: str, today: date) -> ColumnElement[bool]:
    """The rows `shown` gives `status` today."""
    stored, lapsed = Qualification.status, Qualification.expires_on < today
    if status == IN_GRACE:
        return (stored == "active") & lapsed
    if status == "expired":
        return (stored == "expired") | ((stored == "renewal_ineligible") & lapsed)
    if status in lifecycle.VALID:
        return (stored == status) & ~lapsed
    return stored == status


def _filtered(actor: Actor, today: date, status: str | None, filters: dict[str, Any]) -> Select:
    # the lifecycle's scope and filters (engine/lifecycle.py), the status as shown today
    query = lifecycle._filtered(actor, **filters)
    return query if status is None else query.where(condition(status, today))


def search(
    ctx: EngineContext,
    actor: Actor,
    *,
    page: int = 1,
    per_page: int = 20,
    status: str | None = None,
    **filters: Any,
) -> tuple[list[Qualification], int]:
    """One page of the qualifications the actor may see, `status` as shown today."""
    query = _filtered(actor, ctx.today(), status, filters)
    with ctx.reading() as session:
        total = (
            session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        )
        return list(session.scalars(query.limit(per_page).offset((page - 1) * per_page))), total


def export(
    ctx: EngineContext, actor: Actor, *, status: str | None = None, **filters: Any
) -> Iterator[Row[Any]]:
    """Every matching qualification as plain rows, streamed (see `lifecycle.export`)."""
    query = _filtered(actor, ctx.today(), status, filters)
    rows = lifecycle._streamed(ctx, query.with_only_columns(*Qualification.__table__.columns))
    next(rows)  # runs the statement
    return rows


def summary(ctx: EngineContext, actor: Actor, *, expiring_days: int = 90) -> dict[str, Any]:
    """`lifecycle.summary` with, per region, the qualifications under renewal after their
    expiry (`in_grace`: not counted as valid)."""
    found = lifecycle.summary(ctx, actor, expiring_days=expiring_days)
    grace = condition(IN_GRACE, ctx.today())
    query = lifecycle._scope(
        select(
            Qualification.region, func.coalesce(func.sum(case((grace, 1), else_=0)), 0)
        ).group_by(Qualification.region),
        actor,
    )
    with ctx.reading() as session:
        counts = dict(session.execute(query).tuples().all())
    for row in found["rows"]:
        row[IN_GRACE] = counts.get(row["region"], 0)
    found["totals"][IN_GRACE] = sum(r[IN_GRACE] for r in found["rows"])
    return found
