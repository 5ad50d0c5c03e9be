"""Reads of projections (never deserializing a workflow except for an instance's detail page)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import LargeBinary, Select, Text, bindparam, cast, func, or_, select
from sqlalchemy.orm import Session, defer

from engine import (
    access,
    audit_checks,
    complaints,
    definitions,
    history,
    incidents,
    round_rules,
    writes,
)
from engine.commands import answers_conflicts, command
from engine.context import Actor, EngineContext
from engine.errors import Conflict, NotFound
from engine.store import (
    Complainant,
    Definition,
    Enterprise,
    EvidenceFile,
    HistoryEvent,
    HumanTask,
    Instance,
    Qualification,
    Round,
    User,
)

# actors that are not users: the engine's own parts and the command line
SYSTEM_ACTORS = {
    "engine": "系统（流程引擎）",
    "router": "系统（消息路由）",
    "scheduler": "系统（定时调度）",
    "cli": "系统（命令行）",
    "simulate": "系统（模拟运行）",
    "retry": "系统（重试）",
}
CLI_PREFIX = "cli:"  # `cli:<OS login>`: a command run without --actor / TIDU_ACTOR


def _page(
    session: Any,
    query: Select,
    page: int,
    per_page: int,
    params: dict[str, Any] | None = None,
    paged: Select | None = None,
    counted: Select | None = None,
) -> tuple[list[Any], int]:
    """One page and the total; a short page that is not empty tells the total without counting.

    `paged`: the query with bound `limit` and `offset`, built once and reused; its rows are
    returned as they come (a query of table columns gives plain rows, not ORM objects).
    `counted`: its count, built once too (building one costs more than running it).
    `session` may be a bare connection for such queries.
    """
    offset = (page - 1) * per_page
    if paged is not None:
        values = {**(params or {}), "limit": per_page, "offset": offset}
        items = writes.fetch(session, paged, values, named=True)
    else:
        items = list(session.scalars(query.limit(per_page).offset(offset), params))
    if len(items) < per_page and (items or offset == 0):
        return items, offset + len(items)
    total = session.scalar(counted if counted is not None else count_of(query), params)
    return items, total or 0


def count_of(query: Select) -> Select:
    return select(func.count()).select_from(query.order_by(None).subquery())


# a task's columns but its data: the inbox (engine/task_views.py) and a case's open tasks
TASK_COLUMNS = [c for c in HumanTask.__table__.c if c.key != "data"]


def instances(
    ctx: EngineContext,
    actor: Actor,
    *,
    process_key: str | None = None,
    status: str | None = None,
    uscc: str | None = None,
    round_id: int | None = None,
    enterprise_name: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[Instance], int]:
    query = select(Instance).options(defer(Instance.state_json))  # a list shows no state
    if actor.role == "enterprise":  # a complaint only once it is asked to respond (第十三条)
        query = query.where(
            Instance.uscc == (actor.uscc or "-"), Instance.hidden_from_enterprise.is_not(True)
        )
    elif actor.role == "city":
        query = query.where(Instance.region == (actor.region or "-"))
    elif actor.role == "miit":
        query = query.where(access.miit_cases())
    elif actor.role not in access.READ_ALL | {"system"}:
        query = query.where(Instance.id.is_(None))
    for column, value in (
        (Instance.process_key, process_key),
        (Instance.status, status),
        (Instance.uscc, uscc),
        (Instance.round_id, round_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if enterprise_name:
        named = select(Enterprise.uscc).where(Enterprise.name.contains(enterprise_name))
        query = query.where(Instance.uscc.in_(named))
    with ctx.reading() as session:
        items, total = _page(
            session, query.order_by(Instance.started_at.desc(), Instance.id), page, per_page
        )
        filed = [i.id for i in items if i.process_key == complaints.PROCESS_KEY]
        if filed:  # a page of cases with complaints among them: one more read
            people = complaints.filings(session, filed)
            hidden = [p for p in people.values() if complaints.withheld_from(actor, p)]
            neutral = complaints.neutral_filers(session, hidden)
            items = [_case_for(actor, i, people.get(i.id), neutral) for i in items]
        return items, total


def migrated_from(ctx: EngineContext, instance_ids: Collection[str]) -> dict[str, int]:
    """The version each of these cases started on, for those migrated since (their first
    `instance.migrated` event's source version)."""
    if not instance_ids:
        return {}
    query = (
        select(HistoryEvent.instance_id, HistoryEvent.data)
        .where(HistoryEvent.instance_id.in_(list(instance_ids)))
        .where(HistoryEvent.kind == "instance.migrated")
        .order_by(HistoryEvent.seq.desc())
    )
    with ctx.reading() as session:
        return {i: d["from_version"] for i, d in session.execute(query) if "from_version" in d}


def _case_for(actor: Actor, row: Any, person: Any, neutral: Collection[str]) -> Any:
    """A case as `actor` may read it: a complaint's filer (`started_by`), if among `neutral`
    (complaints.neutral_filers: a member of the public), is 投诉人 to anyone
    complaints.may_see_identity does not allow (第十三条); the row itself is never changed."""
    if (
        person is None
        or row.started_by not in neutral
        or not complaints.withheld_from(actor, person)
    ):
        return row
    fields = {c.key: getattr(row, c.key) for c in _CASE_COLUMNS}
    if hasattr(row, "state_bytes"):
        fields["state_bytes"] = row.state_bytes
    return SimpleNamespace(**fields | {"started_by": complaints.NEUTRAL_ACTOR})


# a case and its open tasks as plain rows: a status check reads neither the case's state
# (only its size) nor the tasks' data
_CASE_COLUMNS = [c for c in Instance.__table__.c if c.key != "state_json"]
_CASE = {
    dialect: select(*_CASE_COLUMNS, size.label("state_bytes")).where(
        Instance.id == bindparam("instance_id")
    )
    for dialect, size in (
        ("postgresql", func.octet_length(Instance.__table__.c.state_json)),
        ("sqlite", func.length(cast(Instance.__table__.c.state_json, LargeBinary))),
    )
}
_OPEN_TASKS = (
    select(*TASK_COLUMNS)
    .where(HumanTask.instance_id == bindparam("instance_id"), HumanTask.state == "open")
    .order_by(HumanTask.created_at, HumanTask.id)
)

_FILING = select(Complainant.__table__).where(Complainant.instance_id == bindparam("instance_id"))


def instance(ctx: EngineContext, actor: Actor, instance_id: str) -> dict[str, Any]:
    """A case (a row with the columns of process_instance) with its open tasks."""
    with ctx.reading_rows() as conn:
        statement = _CASE[conn.dialect.name]
        found = writes.fetch(conn, statement, {"instance_id": str(instance_id)}, 1, named=True)
        row = found[0] if found else None
        if row is None or not access.can_see_instance(actor, row, conn):
            raise NotFound("案件不存在")
        if row.process_key == complaints.PROCESS_KEY:
            person = conn.execute(_FILING, {"instance_id": row.id}).first()
            if person is not None and complaints.withheld_from(actor, person):
                row = _case_for(actor, row, person, complaints.neutral_filers(conn, [person]))
        open_tasks = writes.fetch(conn, _OPEN_TASKS, {"instance_id": row.id}, named=True)
        return {
            "instance": row,
            "version": row.definition_version,
            "open_tasks": list(open_tasks),
            "state_bytes": row.state_bytes,
        }


def actor_label(actor_id: str | None, names: dict[str, str]) -> str:
    """Who an actor id is, for people: a user's display name, a system actor's Chinese label,
    `命令行（login）` for a command run by an OS login; the id itself if unknown."""
    if not actor_id:
        return ""
    if actor_id in names:
        return names[actor_id]
    if actor_id in SYSTEM_ACTORS:
        return SYSTEM_ACTORS[actor_id]
    if actor_id.startswith(CLI_PREFIX):
        return f"命令行（{actor_id[len(CLI_PREFIX) :]}）"
    return actor_id


def actor_names(session: Any, actor_ids: Any) -> dict[str, str]:
    """Display names of the users among `actor_ids`, in one query."""
    wanted = sorted({a for a in actor_ids if a and a not in SYSTEM_ACTORS})
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows if name}


def with_actor_names(session: Any, events: list[HistoryEvent]) -> list[HistoryEvent]:
    """Give each event `actor_name` (who its actor is), looking the users up once."""
    names = actor_names(session, (e.actor for e in events))
    for e in events:
        e.actor_name = actor_label(e.actor, names)  # type: ignore[attr-defined]
    return events


_EVENT_FIELDS = [c.key for c in HistoryEvent.__table__.c]


def _copy(event: Any, **changes: Any) -> SimpleNamespace:
    """A copy of a read event with `changes` (the stored row is never changed: its chain still
    verifies; its hash is the stored event's)."""
    fields = {k: getattr(event, k) for k in _EVENT_FIELDS}
    return SimpleNamespace(**fields | {"actor_name": event.actor_name} | changes)


def _withheld(event: Any, people: list[Any], neutral: Collection[str]) -> SimpleNamespace:
    """A copy of `event` without the complainant's identity: its actor, if among `neutral`
    (complaints.neutral_filers), read as 投诉人."""
    changes: dict[str, Any] = {"data": complaints.redact(event.data, people, neutral)}
    if event.actor in neutral:
        changes |= {"actor": complaints.NEUTRAL_ACTOR, "actor_name": complaints.NEUTRAL_NAME}
    return _copy(event, **changes)


def readable_history(
    session: Any, viewer: Actor | None, events: list[HistoryEvent], *, complaint: bool = True
) -> list[Any]:
    """History events as `viewer` may read them, each with `actor_name`: every read of history
    (a case's history and export, its web page, the audit events) goes through here.

    第十三条: in a complaint case, the complainant's identity (the filer as actor if a member
    of the public, and names, ID numbers, contacts in the data) is shown only to those
    complaints.may_see_identity allows; anyone else reads actor `complainant` (投诉人) and the
    data without it. So are a filer's evidence uploads (`file:` streams) while one of their
    complaints is withheld from `viewer`. `complaint=False`: the events are known to be of no
    complaint. 公示 objections: who objected is read by staff and auditors only."""
    events = with_actor_names(session, events)
    if complaint and events:
        events = _without_complainants(session, viewer, events)
    if events and not reads_objectors(viewer):
        events = _without_objectors(events)
    return events


def _without_complainants(session: Any, viewer: Actor | None, events: list[Any]) -> list[Any]:
    people = complaints.filings(session, (e.instance_id for e in events))
    hidden = {i: p for i, p in people.items() if complaints.withheld_from(viewer, p)}
    uploaders = {e.actor for e in events if e.instance_id is None and e.stream.startswith("file:")}
    filers = complaints.filings_by(session, uploaders, staff=True) if uploaders else {}
    hidden_by = {
        a: [p for p in filed if complaints.withheld_from(viewer, p)] for a, filed in filers.items()
    }
    hidden_by = {a: filed for a, filed in hidden_by.items() if filed}
    rows = [*hidden.values(), *(p for filed in hidden_by.values() for p in filed)]
    neutral = complaints.neutral_filers(session, rows) if rows else frozenset()
    out: list[Any] = []
    for e in events:
        person = hidden.get(e.instance_id) if e.instance_id else None
        filed = hidden_by.get(e.actor) if e.instance_id is None else None
        if person is not None:
            out.append(_withheld(e, [person], neutral))
        elif filed:
            out.append(_withheld(e, filed, neutral))
        else:
            out.append(e)
    return out


# 公示 objections (message `objection`, POST /instances/{id}/objections): who objected
# (`submitted_by`) is read by staff and auditors; anyone else (the enterprise) reads it withheld
OBJECTOR_KEY = "submitted_by"
OBJECTOR_READERS = access.STAFF | complaints.AUDITORS | {"system"}
_SEPARATORS = re.compile(r"[\s,，、;；/()（）]+")


def reads_objectors(viewer: Actor | None) -> bool:
    return viewer is not None and viewer.role in OBJECTOR_READERS


def _objectors(value: Any, found: set[str] | None = None) -> set[str]:
    """The `submitted_by` texts anywhere in `value`."""
    found = set() if found is None else found
    if isinstance(value, dict):
        for key, item in value.items():
            if key == OBJECTOR_KEY and isinstance(item, str):
                found.add(item)
            else:
                _objectors(item, found)
    elif isinstance(value, list):
        for item in value:
            _objectors(item, found)
    return found


def without_objectors(value: Any, names: Collection[str] | None = None) -> Any:
    """`value` with `submitted_by` withheld and the objectors' `names` (default: those in
    `value`), whole and each word of them (a name, a phone number), cut out of any text."""
    names = _objectors(value) if names is None else names
    words = {w for name in names for w in (name.strip(), *_SEPARATORS.split(name))}
    ordered = sorted((w for w in words if len(w) > 1), key=len, reverse=True)
    return complaints.scrub(value, keys={OBJECTOR_KEY}, words=ordered)


def _without_objectors(events: list[Any]) -> list[Any]:
    """Events without who objected: the objectors of a case are cut out of all its events."""
    names: dict[str, set[str]] = {}
    for e in events:
        if e.instance_id:
            _objectors(e.data, names.setdefault(e.instance_id, set()))
    out: list[Any] = []
    for e in events:
        found = names.get(e.instance_id, set()) if e.instance_id else _objectors(e.data)
        data = without_objectors(e.data, found) if found else e.data
        out.append(e if data == e.data else _copy(e, data=data))
    return out


def readable_case(ctx: EngineContext, actor: Actor, row: Any) -> Any:
    """A case a command answers with, as `actor` may read it (as `instance` reads it: a
    complaint's filer withheld, 第十三条)."""
    if row.process_key != complaints.PROCESS_KEY:
        return row
    with ctx.reading() as session:
        person = complaints.filings(session, [row.id]).get(row.id)
        if person is None or not complaints.withheld_from(actor, person):
            return row
        return _case_for(actor, row, person, complaints.neutral_filers(session, [person]))


def readable_task_data(ctx: EngineContext, actor: Actor, task: Any, value: Any) -> Any:
    """What is read with a task (its case data, the evidence files it names) as `actor` may
    read it: in a complaint case without the complainant's identity (第十三条), as its history
    reads; without who objected during 公示 for anyone but staff and auditors."""
    if task.process_key == complaints.PROCESS_KEY:
        with ctx.reading() as session:
            person = complaints.filings(session, [task.instance_id]).get(task.instance_id)
            if person is not None and complaints.withheld_from(actor, person):
                neutral = complaints.neutral_filers(session, [person])
                value = complaints.redact(value, [person], neutral)
    return value if reads_objectors(actor) else without_objectors(value)


def instance_history(ctx: EngineContext, actor: Actor, instance_id: str) -> list[Any]:
    """A case's events in chain order, each with `actor_name`, as `actor` may read them."""
    case = instance(ctx, actor, instance_id)["instance"]  # visibility
    with ctx.reading() as session:
        found = list(
            session.scalars(
                select(HistoryEvent)
                .where(HistoryEvent.stream == f"instance:{instance_id}")
                .order_by(HistoryEvent.seq)
            )
        )
        return readable_history(
            session, actor, found, complaint=case.process_key == complaints.PROCESS_KEY
        )


def events(
    ctx: EngineContext,
    *,
    viewer: Actor | None = None,
    instance_id: str | None = None,
    actor_id: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 1,
    per_page: int = 100,
) -> tuple[list[HistoryEvent], int]:
    query = select(HistoryEvent)
    if instance_id:
        query = query.where(HistoryEvent.instance_id == instance_id)
    if actor_id:
        query = query.where(HistoryEvent.actor == actor_id)
    if kind:
        query = query.where(HistoryEvent.kind == kind)
    if since:
        query = query.where(HistoryEvent.at >= since)
    if until:
        query = query.where(HistoryEvent.at < until)
    with ctx.reading() as session:
        if actor_id:
            query = _without_withheld_filings(session, query, viewer, actor_id)
        items, total = _page(session, query.order_by(HistoryEvent.id), page, per_page)
        return readable_history(session, viewer, items), total


def _without_withheld_filings(
    session: Session, query: Select, viewer: Actor | None, actor_id: str
) -> Select:
    """Events by `actor_id` leave out those naming them as a complainant `viewer` may not know
    (their complaints' cases and their evidence uploads): a search by person must not tell who
    filed a complaint (第十三条). One read of that person's complaints, only for such a search."""
    if viewer is not None and viewer.role in complaints.AUDITORS | {"system"}:
        return query
    filed = complaints.filings_by(session, [actor_id]).get(actor_id, [])
    hidden = [p.instance_id for p in filed if complaints.withheld_from(viewer, p)]
    if not hidden:
        return query
    return query.where(
        or_(HistoryEvent.instance_id.is_(None), HistoryEvent.instance_id.not_in(hidden)),
        or_(HistoryEvent.instance_id.is_not(None), ~HistoryEvent.stream.startswith("file:")),
    )


def qualifications(
    ctx: EngineContext,
    actor: Actor,
    *,
    tier: str | None = None,
    uscc: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[Qualification], int]:
    query = select(Qualification)
    if actor.role == "enterprise":
        query = query.where(Qualification.uscc == (actor.uscc or "-"))
    elif actor.role == "city":
        query = query.where(Qualification.region == (actor.region or "-"))
    for column, value in (
        (Qualification.tier, tier),
        (Qualification.uscc, uscc),
        (Qualification.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    with ctx.reading() as session:
        return _page(
            session,
            query.order_by(Qualification.issued_on.desc(), Qualification.number),
            page,
            per_page,
        )


def rounds(
    ctx: EngineContext, *, process_key: str | None = None, actor: Actor | None = None
) -> list[dict[str, Any]]:
    """The rounds, newest first, each with its case counts by status: of the cases `actor` may
    see (a city: its region; an enterprise: its own; no actor or other roles: all)."""
    with ctx.reading() as session:
        query = select(Round).order_by(Round.opens_on.desc())
        if process_key:
            query = query.where(Round.process_key == process_key)
        counted = _round_counts_scope(
            select(Instance.round_id, Instance.status, func.count()), actor
        ).group_by(Instance.round_id, Instance.status)
        by_round: dict[int, dict[str, int]] = {}
        if actor is None or actor.role != "enterprise" or actor.uscc:
            for round_id, status, n in session.execute(counted):
                by_round.setdefault(round_id, {})[status] = n
        return [{"round": r, "counts": by_round.get(r.id, {})} for r in session.scalars(query)]


def _round_counts_scope(query: Select, actor: Actor | None) -> Select:
    query = query.where(Instance.round_id.is_not(None))
    if actor is not None and actor.role == "city":
        return query.where(Instance.region == (actor.region or "-"))
    if actor is not None and actor.role == "enterprise":
        return query.where(Instance.uscc == actor.uscc)
    if actor is not None and actor.role not in ("province", "miit", "auditor", "system"):
        return query.where(Instance.id.is_(None))  # e.g. the public, process owners: none
    return query


@command("open_round")
def open_round(
    ctx: EngineContext,
    *,
    process_key: str,
    label: str,
    opens_on: date | str,
    window_days: int,
    actor: Actor | None = None,
    incident_id: str | None = None,
    retried_by: Actor | None = None,
) -> Round:
    """Open an application round: the window closes at 24:00 local time of its last day.

    A procedure has one round per opening day (as the scheduler's rounds): a second one is
    refused with 409 naming the first. Openings of one procedure are serialised by a lock on
    its newest definition row (FOR NO KEY UPDATE: cases still start on it meanwhile), so two
    requests at once cannot both find none. Recorded as `round.opened`, as the scheduler's."""
    if isinstance(opens_on, str):  # a retried incident's stored arguments
        opens_on = date.fromisoformat(opens_on)
    zone = ZoneInfo(ctx.settings.timezone)
    opened_at = datetime.combine(opens_on, time(0), zone)
    closes = datetime.combine(opens_on + timedelta(days=window_days), time(0), zone)
    who = actor.id if actor else "cli"
    with ctx.transaction() as session:
        definitions.latest(session, process_key, ctx)  # NotFound if not deployed
        session.execute(
            select(Definition.id)
            .where(Definition.process_key == process_key)
            .order_by(Definition.version.desc())
            .limit(1)
            .with_for_update(key_share=True)
        )
        existing = session.execute(
            select(Round.id, Round.label)
            .where(Round.process_key == process_key, Round.opens_on == opens_on)
            .order_by(Round.id)
            .limit(1)
        ).first()
        if existing is not None:
            raise Conflict(
                f"该流程 {opens_on} 开放的批次已存在：{existing.id}（{existing.label}）",
                rule="round-exists",
                round_id=existing.id,
            )
        round_rules.require_openable(
            ctx, session, process_key=process_key, opens_on=opens_on, closes_at=closes
        )
        now = ctx.now()
        row = Round(
            process_key=process_key,
            label=label,
            opens_on=opens_on,
            closes_at=closes,
            created_at=now,
        )
        session.add(row)
        session.flush()
        history.append(
            session,
            stream=f"rounds:{process_key}",
            kind="round.opened",
            actor=who,
            at=now,
            data={
                "round_id": row.id,
                "label": row.label,
                "opens_on": opens_on,
                "closes_at": closes,
                "late_s": (now - opened_at).total_seconds(),
            },
        )
        if incident_id is not None and not incidents.close(
            session,
            incident_id,
            actor=retried_by or actor or Actor.system(),
            now=now,
            data={"by": "retry"},
        ):
            raise Conflict("该事件已处理")
        return row


@answers_conflicts
def store_file(
    ctx: EngineContext, actor: Actor, *, filename: str, content_type: str, content: bytes
) -> EvidenceFile:
    """Store an uploaded evidence file with its sha256, recorded in the file's own history
    stream (`file:<id>`, checked by `tidu audit verify`)."""
    with ctx.transaction() as session:
        row = EvidenceFile(
            sha256=hashlib.sha256(content).hexdigest(),
            filename=filename,
            content_type=content_type or "application/octet-stream",
            size=len(content),
            content=content,
            uploaded_by=actor.id,
            uscc=actor.uscc,
            uploaded_at=ctx.now(),
        )
        session.add(row)
        session.flush()
        audit_checks.record_upload(session, row, actor=actor.id, at=row.uploaded_at)
        return row


def evidence_file(ctx: EngineContext, actor: Actor, file_id: str) -> Any:
    """An evidence file with its content, for those who may download it (access.can_read_file);
    NotFound for anyone else; FileIntegrityError (409 `file-integrity`) if its content is not
    what was uploaded (never served). Its name is read as its history reads (_file_named)."""
    with ctx.reading() as session:
        row = session.get(EvidenceFile, str(file_id))
        if row is None:
            raise NotFound("文件不存在")
        cases = _referencing_cases(session, row) if actor.role in access.READS_CASES_FILES else []
        if not access.can_read_file(actor, row, cases):
            raise NotFound("文件不存在")
        audit_checks.check_file(row)
        return _file_named(session, actor, row)


def _file_named(session: Session, actor: Actor, row: EvidenceFile) -> Any:
    """The file, or a copy named without the identity of its uploader's complaints that are
    withheld from `actor` (第十三条: a complaint's evidence is uploaded by its filer; its
    `file:` history reads so too); the uploader reads the name they gave."""
    if row.uploaded_by == actor.id:
        return row
    filed = complaints.filings_by(session, [row.uploaded_by], staff=True).get(row.uploaded_by)
    hidden = [p for p in filed or [] if complaints.withheld_from(actor, p)]
    name = complaints.redact(row.filename, hidden) if hidden else row.filename
    if name == row.filename:
        return row
    fields = {c.key: getattr(row, c.key) for c in EvidenceFile.__table__.c}
    return SimpleNamespace(**fields | {"filename": name})


def _referencing_cases(session: Session, row: EvidenceFile) -> list[Instance]:
    """The cases whose history names a file: a submission, or start data, that carries its id.

    Only the events of its uploader and of its enterprise's cases are read (both indexed): a
    file is submitted by the one who uploaded it or by a colleague at its enterprise."""
    by = [HistoryEvent.actor == row.uploaded_by]
    if row.uscc:
        by.append(
            HistoryEvent.instance_id.in_(select(Instance.id).where(Instance.uscc == row.uscc))
        )
    naming = (
        select(HistoryEvent.instance_id)
        .where(
            HistoryEvent.instance_id.is_not(None),
            or_(*by),
            cast(HistoryEvent.data, Text).contains(row.id, autoescape=True),
        )
        .distinct()
    )
    return list(
        session.scalars(
            select(Instance).options(defer(Instance.state_json)).where(Instance.id.in_(naming))
        )
    )


def latest_rules(ctx: EngineContext, process_key: str | None = None) -> dict[str, Any] | None:
    """The DMN files of the newest deployment of `process_key` (of any process if None, or if
    that process is not deployed), or None if nothing is deployed."""
    with ctx.transaction() as session:
        newest = select(definitions.Definition).order_by(definitions.Definition.id.desc()).limit(1)
        row = None
        if process_key is not None:
            row = session.scalars(
                newest.where(definitions.Definition.process_key == process_key)
            ).first()
        if row is None:
            row = session.scalars(newest).first()
        if row is None:
            return None
        return {
            "files": {k: v for k, v in row.files.items() if k.endswith(".dmn")},
            "process_key": row.process_key,
            "version": row.version,
            "checksum": row.checksum,
            "deployed_at": row.deployed_at.isoformat(),
        }
