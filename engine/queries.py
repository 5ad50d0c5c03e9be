"""Reads of projections (never deserializing a workflow except for an instance's detail page)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, LargeBinary, Select, Text, bindparam, cast, func, or_, select
from sqlalchemy.orm import Session, defer

from engine import access, definitions, forms, writes
from engine.context import Actor, EngineContext
from engine.errors import NotFound
from engine.store import (
    Enterprise,
    EvidenceFile,
    HistoryEvent,
    HumanTask,
    Instance,
    Qualification,
    Round,
)


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


TASK_COLUMNS = [c for c in HumanTask.__table__.c if c.key != "data"]
# statement (its paged form, its count) per filter shape; values are bound at execution
_INBOX: dict[tuple[Any, ...], tuple[Select, Select, Select]] = {}


def _inbox_statement(shape: tuple[Any, ...]) -> Select:
    scope, state, mine, process_key, due_before = shape
    query = select(*TASK_COLUMNS)  # plain rows: a page lists tasks, never their data
    if scope == "enterprise":
        query = query.where(HumanTask.role == "enterprise", HumanTask.uscc == bindparam("uscc"))
    elif scope == "city":
        query = query.where(HumanTask.role == "city", HumanTask.region == bindparam("region"))
    elif scope == "role":
        query = query.where(HumanTask.role == bindparam("role"))
    elif scope == "none":
        query = query.where(HumanTask.id.is_(None))
    if state:
        query = query.where(HumanTask.state == bindparam("state"))
    if mine:
        query = query.where(HumanTask.assignee == bindparam("actor_id"))
    elif state == "open":
        query = query.where(
            or_(HumanTask.assignee.is_(None), HumanTask.assignee == bindparam("actor_id"))
        )
    if process_key:
        query = query.where(HumanTask.process_key == bindparam("process_key"))
    if due_before:
        query = query.where(HumanTask.due_at < bindparam("due_before", type_=HumanTask.due_at.type))
    return query.order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.created_at, HumanTask.id)


def inbox(
    ctx: EngineContext,
    actor: Actor,
    *,
    state: str = "open",
    mine: bool = False,
    process_key: str | None = None,
    due_before: datetime | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[Any], int]:
    """Tasks the actor may work on, overdue first, then by due date and age (rows with the
    columns of human_task and `enterprise_name`)."""
    scope = (
        "all"
        if actor.role in {"auditor", "system"}
        else actor.role
        if actor.role in {"enterprise", "city"}
        else "role"
        if actor.role in {"province", "miit"}
        else "none"
    )
    shape = (
        scope,
        state if state == "open" else bool(state),
        mine,
        bool(process_key),
        bool(due_before),
    )
    found = _INBOX.get(shape)
    if found is None:
        query = _inbox_statement(shape)
        # each task with its enterprise's name: one join on the registry's key, never a lookup
        # per row; the count needs no name
        named = query.outerjoin(Enterprise, Enterprise.uscc == HumanTask.uscc).add_columns(
            Enterprise.name.label("enterprise_name")
        )
        found = _INBOX[shape] = (
            query,
            named.limit(bindparam("limit", type_=Integer)).offset(
                bindparam("offset", type_=Integer)
            ),
            count_of(query),
        )
    query, paged, counted = found
    params = {
        "uscc": actor.uscc or "-",
        "region": actor.region or "-",
        "role": actor.role,
        "state": state,
        "actor_id": actor.id,
        "process_key": process_key,
        "due_before": due_before,
    }
    with ctx.reading_rows() as conn:
        return _page(conn, query, page, per_page, params, paged, counted)


# case data with evidence but no form naming it (a complaint's start data) reads it under this key
EVIDENCE_KEY = "evidence"
EVIDENCE_PROPERTY = {
    "type": "array",
    "title": "证据材料",
    "items": {"type": "string", "format": forms.EVIDENCE_FORMAT},
}


def task(ctx: EngineContext, actor: Actor, task_id: str) -> dict[str, Any]:
    """A task with its form, the enterprise's name, what its case data's fields are (the forms
    completed before it) and the evidence files the data names that the actor may download."""
    with ctx.reading() as session:
        row = session.get(HumanTask, str(task_id))
        if row is None or not access.can_see_task(actor, row):
            raise NotFound("任务不存在")
        instance = session.get(Instance, row.instance_id, options=[defer(Instance.state_json)])
        definition = definitions.by_id(ctx, session, instance.definition_id)
        schema = _data_schema(session, definition, row)
        enterprise = session.get(Enterprise, row.uscc) if row.uscc else None
        return {
            "task": row,
            "form": definitions.form_schema(definition, row.form),
            "instructions": definitions.instructions(definition, row.bpmn_id),
            "version": definition.version,
            "enterprise_name": enterprise.name if enterprise else None,
            "data_schema": schema,
            "evidence_files": _evidence_files(session, actor, instance, schema, row.data),
        }


def _data_schema(session: Session, definition: Any, row: HumanTask) -> dict[str, Any]:
    """The fields of a task's case data: the properties of the forms of its case's tasks
    completed before it was created (a later form's title wins, as its value does)."""
    used = session.scalars(
        select(HumanTask.form)
        .where(
            HumanTask.instance_id == row.instance_id,
            HumanTask.id != row.id,
            HumanTask.state == "completed",
            HumanTask.completed_at <= row.created_at,
            HumanTask.form.is_not(None),
        )
        .order_by(HumanTask.completed_at, HumanTask.id)
    )
    properties: dict[str, Any] = {}
    for form in dict.fromkeys(used):
        properties |= (definitions.form_schema(definition, form) or {}).get("properties", {})
    if EVIDENCE_KEY not in properties and isinstance(row.data.get(EVIDENCE_KEY), list):
        properties[EVIDENCE_KEY] = EVIDENCE_PROPERTY  # a case started with evidence (complaints)
    return {"type": "object", "properties": properties}


def _evidence_files(
    session: Session, actor: Actor, case: Instance, schema: dict[str, Any], data: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Name, size and sha256 of the evidence files the data names, by id (those the actor may
    download; the data references them, so its case does)."""
    ids = {
        str(i)
        for name in forms.evidence_fields(schema)
        if isinstance(data.get(name), list)
        for i in data[name]
    }
    if not ids:
        return {}
    rows = session.scalars(
        select(EvidenceFile).options(defer(EvidenceFile.content)).where(EvidenceFile.id.in_(ids))
    )
    return {r.id: file_json(r) for r in rows if access.can_read_file(actor, r, [case])}


def file_json(row: EvidenceFile) -> dict[str, Any]:
    return {
        "id": row.id,
        "filename": row.filename,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "uploaded_at": row.uploaded_at,
    }


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
    if actor.role == "enterprise":
        query = query.where(Instance.uscc == (actor.uscc or "-"))
    elif actor.role == "city":
        query = query.where(Instance.region == (actor.region or "-"))
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
        return _page(
            session, query.order_by(Instance.started_at.desc(), Instance.id), page, per_page
        )


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


def instance(ctx: EngineContext, actor: Actor, instance_id: str) -> dict[str, Any]:
    """A case (a row with the columns of process_instance) with its open tasks."""
    with ctx.reading_rows() as conn:
        statement = _CASE[conn.dialect.name]
        found = writes.fetch(conn, statement, {"instance_id": str(instance_id)}, 1, named=True)
        row = found[0] if found else None
        if row is None or not access.can_see_instance(actor, row):
            raise NotFound("案件不存在")
        open_tasks = writes.fetch(conn, _OPEN_TASKS, {"instance_id": row.id}, named=True)
        return {
            "instance": row,
            "version": row.definition_version,
            "open_tasks": list(open_tasks),
            "state_bytes": row.state_bytes,
        }


def instance_history(ctx: EngineContext, actor: Actor, instance_id: str) -> list[HistoryEvent]:
    instance(ctx, actor, instance_id)  # visibility
    with ctx.reading() as session:
        return list(
            session.scalars(
                select(HistoryEvent)
                .where(HistoryEvent.stream == f"instance:{instance_id}")
                .order_by(HistoryEvent.seq)
            )
        )


def events(
    ctx: EngineContext,
    *,
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
        return _page(session, query.order_by(HistoryEvent.id), page, per_page)


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


def rounds(ctx: EngineContext, *, process_key: str | None = None) -> list[dict[str, Any]]:
    with ctx.reading() as session:
        query = select(Round).order_by(Round.opens_on.desc())
        if process_key:
            query = query.where(Round.process_key == process_key)
        out = []
        for r in session.scalars(query):
            counts = dict(
                session.execute(
                    select(Instance.status, func.count())
                    .where(Instance.round_id == r.id)
                    .group_by(Instance.status)
                ).all()
            )
            out.append({"round": r, "counts": counts})
        return out


def open_round(
    ctx: EngineContext, *, process_key: str, label: str, opens_on: date, window_days: int
) -> Round:
    """Open an application round: the window closes at 24:00 local time of its last day."""
    zone = ZoneInfo(ctx.settings.timezone)

    closes = datetime.combine(opens_on + timedelta(days=window_days), time(0), zone)
    with ctx.transaction() as session:
        definitions.latest(session, process_key, ctx)  # NotFound if not deployed
        row = Round(
            process_key=process_key,
            label=label,
            opens_on=opens_on,
            closes_at=closes,
            created_at=ctx.now(),
        )
        session.add(row)
        session.flush()
        return row


def store_file(
    ctx: EngineContext, actor: Actor, *, filename: str, content_type: str, content: bytes
) -> EvidenceFile:
    """Store an uploaded evidence file with its sha256."""
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
        return row


def evidence_file(ctx: EngineContext, actor: Actor, file_id: str) -> EvidenceFile:
    """An evidence file with its content, for those who may download it (access.can_read_file);
    NotFound for anyone else."""
    with ctx.reading() as session:
        row = session.get(EvidenceFile, str(file_id))
        if row is None:
            raise NotFound("文件不存在")
        cases = _referencing_cases(session, row) if actor.role in access.STAFF else []
        if not access.can_read_file(actor, row, cases):
            raise NotFound("文件不存在")
        return row


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


def latest_rules(ctx: EngineContext) -> dict[str, Any] | None:
    """The DMN files of the most recent deployment (any process), or None if nothing is deployed."""
    with ctx.transaction() as session:
        row = session.scalars(
            select(definitions.Definition).order_by(definitions.Definition.id.desc()).limit(1)
        ).first()
        if row is None:
            return None
        return {
            "files": {k: v for k, v in row.files.items() if k.endswith(".dmn")},
            "process_key": row.process_key,
            "version": row.version,
            "checksum": row.checksum,
            "deployed_at": row.deployed_at.isoformat(),
        }
