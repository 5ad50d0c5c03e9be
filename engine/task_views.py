"""Reads of human tasks: the inbox (a statement per filter shape, built once) and a task's page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import Integer, Select, bindparam, or_, select
from sqlalchemy.orm import Session, defer

from engine import access, bpmnlint, complaints, definitions, forms, queries, setting_checks
from engine.context import Actor, EngineContext
from engine.errors import NotFound
from engine.store import Complainant, Enterprise, EvidenceFile, HistoryEvent, HumanTask, Instance

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
    if due_before:  # at or before: a deadline of D 24:00 is due "by D 24:00"
        due = bindparam("due_before", type_=HumanTask.due_at.type)
        query = query.where(HumanTask.due_at <= due)
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


def people_names(ctx: EngineContext, rows: list[Any]) -> dict[str, str]:
    """Who claimed or completed each of `rows`, as people read it: a user's display name, a
    system actor's Chinese label (one query for the page)."""
    ids = {i for r in rows for i in (r.assignee, r.completed_by) if i}
    if not ids:
        return {}
    with ctx.reading() as session:
        names = queries.actor_names(session, ids)
    return {i: queries.actor_label(i, names) for i in ids}


# case data with evidence but no form naming it (a complaint's start data) reads it under this key
EVIDENCE_KEY = "evidence"
EVIDENCE_PROPERTY = {
    "type": "array",
    "title": "证据材料",
    "items": {"type": "string", "format": forms.EVIDENCE_FORMAT},
}
# a complaint's filing (第十三条) is its start data, not a form: its fields as people read them
FILING_PROPERTIES = {
    "subject": {"type": "string", "title": "投诉主题"},
    "content": {"type": "string", "title": "投诉内容"},
    "tier_label": {"type": "string", "title": "所涉资格"},
    "qualification_number": {"type": "string", "title": "证书编号"},
    "filed_on": {"type": "string", "title": "投诉日期"},
    EVIDENCE_KEY: EVIDENCE_PROPERTY,
}
# what a case adds after its filing and the forms, read on its later tasks
CASE_PROPERTIES = {
    "answered": {"type": "boolean", "title": "企业已答复"},
    "answer_due_on": {"type": "string", "title": "答复期限（当日24:00）"},
    "rectification_why": {"type": "string", "title": "整改原因"},
    "rect_due_on": {"type": "string", "title": "整改期限（当日24:00）"},
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
        form = definitions.form_schema(definition, row.form)
        submitted = _submitted(session, row)
        enterprise = session.get(Enterprise, row.uscc) if row.uscc else None
        named = {"properties": schema["properties"] | (form or {}).get("properties", {})}
        return {
            "task": row,
            "form": form,
            "earlier_steps": _earlier_steps(session, definition, row),
            "instructions": definitions.instructions(definition, row.bpmn_id),
            "prefill": row.state == "open" and _prefills(definition, row.bpmn_id),
            "submitted": submitted,
            "version": definition.version,
            "enterprise_name": enterprise.name if enterprise else None,
            "data_schema": schema,
            "complainant": _complainant(session, actor, row),
            "evidence_files": _evidence_files(
                session, actor, instance, named, row.data | (submitted or {})
            ),
        }


PREFILL = "prefill"  # a user task's property: its form opens with the case's values
_PREFILLED: dict[str, set[str]] = {}  # definition checksum -> ids of the user tasks prefilled


def _prefills(definition: Any, bpmn_id: str) -> bool:
    """Whether the diagram asks a user task's form to open with the case's current values for
    its fields (`spiffworkflow:property name="prefill" value="true"`: a correction resubmits
    the application). Never otherwise: an earlier step's decision must not preselect this one's."""
    found = _PREFILLED.get(definition.checksum)
    if found is None:
        found = set()
        prop = f"{{{setting_checks.SPIFF_NS}}}property"
        for name, text in definition.files.items():
            if not name.endswith(".bpmn"):
                continue
            for task in etree.fromstring(text.encode()).iter(f"{{{bpmnlint.BPMN_NS}}}userTask"):
                if any(
                    p.get("name") == PREFILL and (p.get("value") or "").strip().lower() == "true"
                    for p in task.iter(prop)
                ):
                    found.add(task.get("id"))
        if len(_PREFILLED) > 256:
            _PREFILLED.clear()
        _PREFILLED[definition.checksum] = found
    return bpmn_id in found


def _submitted(session: Session, row: HumanTask) -> dict[str, Any] | None:
    """What a completed task was completed with (its history event), None while open."""
    if row.state != "completed":
        return None
    data = session.scalar(
        select(HistoryEvent.data)
        .where(
            HistoryEvent.instance_id == row.instance_id,
            HistoryEvent.task_id == row.id,
            HistoryEvent.kind == "task.completed",
        )
        .order_by(HistoryEvent.seq.desc())
        .limit(1)
    )
    submitted = (data or {}).get("submitted")
    return submitted if isinstance(submitted, dict) else None


def _earlier_steps(session: Session, definition: Any, row: HumanTask) -> list[dict[str, Any]]:
    """The case's steps done before this task (before it was created, or completed): each
    step's name, who completed it and when, and what it was completed with, by its form's fields
    (their titles and choices), evidence lists left to the case data. So a province reviewing a
    case reads the city's conclusion and reason, not only the values the case holds now."""
    until = row.completed_at if row.state == "completed" and row.completed_at else row.created_at
    done = list(
        session.scalars(
            select(HumanTask)
            .where(
                HumanTask.instance_id == row.instance_id,
                HumanTask.id != row.id,
                HumanTask.state == "completed",
                HumanTask.completed_at <= until,
            )
            .order_by(HumanTask.completed_at, HumanTask.id)
        )
    )
    if not done:
        return []
    completions = {
        task_id: (seq, data)
        for task_id, seq, data in session.execute(
            select(HistoryEvent.task_id, HistoryEvent.seq, HistoryEvent.data).where(
                HistoryEvent.instance_id == row.instance_id,
                HistoryEvent.kind == "task.completed",
                HistoryEvent.task_id.in_([t.id for t in done]),
            )
        )
    }
    done.sort(key=lambda t: completions.get(t.id, (0, None))[0])  # the order they were done
    steps = []
    for step in done:
        submitted = (completions.get(step.id, (0, None))[1] or {}).get("submitted")
        props = (definitions.form_schema(definition, step.form) or {}).get("properties", {})
        shown = {
            name: prop
            for name, prop in props.items()
            if isinstance(submitted, dict)
            and name in submitted
            and (prop.get("items") or {}).get("format") != forms.EVIDENCE_FORMAT
        }
        steps.append(
            {
                "task_id": step.id,
                "bpmn_id": step.bpmn_id,
                "name": step.name,
                "completed_at": step.completed_at,
                "completed_by": step.completed_by,
                "fields": shown,
                "submitted": {name: submitted[name] for name in shown},
            }
        )
    return steps


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
    if row.process_key == complaints.PROCESS_KEY:  # the filing first, then what was done
        filing = {k: p for k, p in FILING_PROPERTIES.items() if k in row.data}
        later = {k: p for k, p in CASE_PROPERTIES.items() if k in row.data}
        properties = filing | properties | later
    if EVIDENCE_KEY not in properties and isinstance(row.data.get(EVIDENCE_KEY), list):
        properties[EVIDENCE_KEY] = EVIDENCE_PROPERTY  # a case started with evidence
    return {"type": "object", "properties": properties}


def _complainant(session: Session, actor: Actor, row: HumanTask) -> dict[str, Any] | None:
    """A complaint's complainant (name, ID number, contact) for those who may read the identity
    (第十三条: the handling authority and auditors, complaints.may_see_identity), else None."""
    if row.process_key != complaints.PROCESS_KEY:
        return None
    person = session.scalar(select(Complainant).where(Complainant.instance_id == row.instance_id))
    if person is None or not complaints.may_see_identity(actor, person):
        return None
    return {"name": person.name, "id_number": person.id_number, "contact": person.contact}


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
