"""Reads of human tasks: the inbox (a statement per filter shape, built once) and a task's page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, bindparam, or_, select
from sqlalchemy.orm import Session, defer

from engine import access, definitions, forms, queries
from engine.context import Actor, EngineContext
from engine.errors import NotFound
from engine.store import Enterprise, EvidenceFile, HumanTask, Instance

# statement (its paged form, its count) per filter shape; values are bound at execution
_INBOX: dict[tuple[Any, ...], tuple[Select, Select, Select]] = {}


def _inbox_statement(shape: tuple[Any, ...]) -> Select:
    scope, state, mine, process_key, due_before = shape
    query = select(*queries.TASK_COLUMNS)  # plain rows: a page lists tasks, never their data
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
            queries.count_of(query),
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
        return queries._page(conn, query, page, per_page, params, paged, counted)


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
