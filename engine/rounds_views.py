"""Batch views of a round, read from projections: cases by stage and the lists staff send on.

A case's *stage* is where it stands now: the bpmn id of its open human task; else, while it
waits, the element it waits in (inside a called sub-process: the call activity, e.g.
`province_notice`); else, once completed, its outcome. A city user sees its own region only,
in every list and export (asking for another region is "not found").
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, NamedTuple

from lxml import etree
from sqlalchemy import Select, select

from engine import access
from engine.context import Actor, EngineContext
from engine.errors import InvalidInput, NotFound
from engine.store import (
    QUALIFICATION_STATUS_LABELS,
    TIER_LABELS,
    Definition,
    Enterprise,
    HumanTask,
    Instance,
    MessageSubscription,
    Qualification,
    Round,
    Timer,
)

VIEWERS = ("city", "province", "miit", "auditor")
OUTCOME_LABELS = {
    "qualified": "认定通过",
    "ineligible": "不符合条件",
    "rejected_by_city": "市级未通过",
    "rejected_by_province": "省级未通过",
    "rejected_by_miit": "工信部未予认定",
    "spot_check_failed": "抽查不合格",
    "objection_upheld": "异议成立",
    "lapsed": "逾期终止",
    "prerequisite_expired": "前置资格已失效",
    "cancelled": "已撤销",
}
EXPORTS = ("city-report", "notice-list", "announcement-list", "recommendation-list")


def region_scope(actor: Actor, region: str | None) -> str | None:
    """The region an actor's list is limited to (a city: always its own)."""
    access.require_role(actor, *VIEWERS)
    if actor.role == "city":
        if region and region != actor.region:
            raise NotFound(f"地区 {region} 的案件不存在")
        return actor.region or "-"
    return region


@functools.lru_cache(maxsize=64)
def _element_names(definition_id: int, checksum: str, texts: tuple[str, ...]) -> dict[str, str]:
    names: dict[str, str] = {}
    for text in texts:
        for element in etree.fromstring(text.encode()).iter():
            if element.get("id") and element.get("name"):
                names.setdefault(element.get("id"), element.get("name"))
    return names


def _names(definition: Definition) -> dict[str, str]:
    texts = tuple(t for n, t in sorted(definition.files.items()) if n.endswith(".bpmn"))
    return _element_names(definition.id, definition.checksum, texts)


def _round(session: Any, round_id: int) -> Round:
    row = session.get(Round, round_id)
    if row is None:
        raise NotFound("申报批次不存在")
    return row


def _waiting_stage(bpmn_ids: list[str]) -> str | None:
    scoped = sorted(bpmn_ids, key=lambda b: ("/" not in b, b))
    return scoped[0].split("/")[0] if scoped else None


def _of_round(query: Select, instance_id: Any, round_id: int, region: str | None) -> Select:
    """`query` limited to the cases of a round (in a region) by a join on the case's row: a
    round of any size stays one statement, where a list of its case ids would pass the
    database's limit on bound parameters (65,535 on PostgreSQL) in a national round."""
    return _in_round(query.join(Instance, Instance.id == instance_id), round_id, region)


def _in_round(query: Select, round_id: int, region: str | None) -> Select:
    query = query.where(Instance.round_id == round_id)
    return query.where(Instance.region == region) if region else query


def _cases(session: Any, round_id: int, region: str | None) -> list[Case]:
    """Every case of a round (in a region) where it stands, read as plain columns (never the
    cases' state nor the tasks' data)."""
    query = (
        select(
            Instance.id,
            Instance.uscc,
            Instance.region,
            Instance.status,
            Instance.outcome,
            Instance.started_at,
            Instance.definition_id,
            Enterprise.name,
        )
        .outerjoin(Enterprise, Enterprise.uscc == Instance.uscc)
        .order_by(Instance.started_at, Instance.uscc, Instance.id)
    )
    conn = session.connection()  # plain rows: the ORM's per-row work is not needed here
    rows = conn.execute(_in_round(query, round_id, region)).all()
    tasks: dict[str, tuple[str, str, datetime | None]] = {}
    open_tasks = select(
        HumanTask.instance_id, HumanTask.bpmn_id, HumanTask.name, HumanTask.due_at
    ).where(HumanTask.state == "open")
    for instance_id, bpmn_id, name, due_at in conn.execute(
        _of_round(open_tasks, HumanTask.instance_id, round_id, region).order_by(
            HumanTask.created_at
        )
    ):
        tasks.setdefault(instance_id, (bpmn_id, name, due_at))
    waits: dict[str, list[str]] = {}
    due: dict[str, datetime] = {}
    timers = select(Timer.instance_id, Timer.bpmn_id, Timer.due_at)
    for instance_id, bpmn_id, due_at in conn.execute(
        _of_round(timers, Timer.instance_id, round_id, region)
    ):
        waits.setdefault(instance_id, []).append(bpmn_id)
        due[instance_id] = min(due_at, due.get(instance_id, due_at))
    subscriptions = select(MessageSubscription.instance_id, MessageSubscription.bpmn_id)
    for instance_id, bpmn_id in conn.execute(
        _of_round(subscriptions, MessageSubscription.instance_id, round_id, region)
    ):
        waits.setdefault(instance_id, []).append(bpmn_id)
    element_names = {  # per deployed version of the round's procedure
        d.id: _names(d)
        for d in session.scalars(
            select(Definition).where(Definition.id.in_({r.definition_id for r in rows}))
        )
    }
    out = []
    for instance in rows:
        names = element_names[instance.definition_id]
        task = tasks.get(instance.id)
        if task is not None:
            stage, label, due_at = task
        elif instance.status == "running" and (stage := _waiting_stage(waits.get(instance.id, []))):
            label, due_at = names.get(stage, stage), due.get(instance.id)
        else:
            stage = instance.outcome or instance.status
            label, due_at = OUTCOME_LABELS.get(stage, stage), None
        out.append(Case(instance, stage, label, due_at))
    return out


class Case(NamedTuple):
    """A case of a round where it stands: its row (`_cases`), its stage, the stage's label and
    when the stage is due."""

    row: Any
    stage: str
    label: str
    due_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        row = self.row
        return {
            "instance_id": row.id,
            "uscc": row.uscc,
            "enterprise_name": row.name,
            "region": row.region,
            "status": row.status,
            "outcome": row.outcome,
            "stage": self.stage,
            "stage_name": self.label,
            "due_at": self.due_at,
            "started_at": row.started_at,
        }


def round_cases(
    ctx: EngineContext,
    actor: Actor,
    *,
    round_id: int,
    stage: str | None = None,
    region: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> dict[str, Any]:
    """A round's cases (filtered by stage), with the count of cases at each stage."""
    region = region_scope(actor, region)
    with ctx.reading() as session:
        round_row = _round(session, round_id)
        cases = _cases(session, round_id, region)
    stages: dict[str, dict[str, Any]] = {}
    for case in cases:
        entry = stages.setdefault(case.stage, {"stage": case.stage, "name": case.label, "count": 0})
        entry["count"] += 1
    chosen = [c for c in cases if stage is None or c.stage == stage]
    start = (page - 1) * per_page
    return {
        "round_id": round_row.id,
        "process_key": round_row.process_key,
        "label": round_row.label,
        "region": region,
        "stages": list(stages.values()),
        "items": [c.as_json() for c in chosen[start : start + per_page]],
        "total": len(chosen),
        "page": page,
        "per_page": per_page,
    }


def _score(data: dict[str, Any]) -> Any:
    evaluation = data.get("evaluation") or {}
    if evaluation.get("score") is not None:
        return evaluation["score"]
    return "符合全部认定条件" if evaluation.get("passed") else ""


def _spot(data: dict[str, Any]) -> str:
    return {"pass": "合格", "not_selected": "未抽中"}.get(str(data.get("spot_check_result")), "")


def _reported(session: Any, round_id: int, region: str | None, bpmn_id: str) -> list[Any]:
    """A round's tasks `bpmn_id` (open or completed) as plain rows: the task's state, data and
    completion with its case's uscc, region, outcome and id, and the enterprise's name."""
    query = (
        select(
            HumanTask.state,
            HumanTask.data,
            HumanTask.completed_at,
            Instance.uscc,
            Instance.region,
            Instance.outcome,
            Instance.id,
            Enterprise.name,
        )
        .select_from(HumanTask)
        .join(Instance, Instance.id == HumanTask.instance_id)
        .outerjoin(Enterprise, Enterprise.uscc == Instance.uscc)
        .where(HumanTask.bpmn_id == bpmn_id, HumanTask.state.in_(("open", "completed")))
        .order_by(HumanTask.created_at, Instance.uscc, HumanTask.id)
    )
    return list(session.execute(_in_round(query, round_id, region)))


def _city_report(session: Any, round_id: int, region: str | None) -> list[list[Any]]:
    return [
        [
            n,
            r.uscc,
            r.name or "",
            r.region,
            _score(r.data),
            _spot(r.data),
            "已上报" if r.state == "completed" else "待上报",
            r.completed_at,
            r.id,
        ]
        for n, r in enumerate(_reported(session, round_id, region, "city_report"), 1)
    ]


def _recommendation_list(session: Any, round_id: int, region: str | None) -> list[list[Any]]:
    found = [
        r
        for r in _reported(session, round_id, region, "province_recommend")
        if r.state == "completed"
    ]
    status = {None: "待工信部认定", "qualified": "已认定", "rejected_by_miit": "工信部未予认定"}
    return [
        [
            n,
            r.uscc,
            r.name or "",
            r.region,
            _score(r.data),
            status.get(r.outcome, OUTCOME_LABELS.get(r.outcome or "", r.outcome)),
            r.id,
        ]
        for n, r in enumerate(found, 1)
    ]


def _notice_list(session: Any, round_id: int, region: str | None, level: str) -> list[list[Any]]:
    stages = {f"{level}_notice", f"{level}_notice_wait", f"{level}_objection_review"}
    cases = [c for c in _cases(session, round_id, region) if c.stage in stages]
    return [
        [
            n,
            c.row.uscc,
            c.row.name,
            c.row.region,
            "异议核查中" if c.stage.endswith("objection_review") else "公示中",
            c.due_at,
            c.row.id,
        ]
        for n, c in enumerate(cases, 1)
    ]


def _announcement_list(session: Any, round_id: int, region: str | None) -> list[list[Any]]:
    query = _of_round(
        select(Qualification, Instance.id), Qualification.instance_id, round_id, region
    ).order_by(Qualification.number)
    return [
        [
            n,
            q.uscc,
            q.enterprise_name,
            q.region,
            TIER_LABELS.get(q.tier, q.tier),
            q.number,
            q.issued_on,
            q.expires_on,
            QUALIFICATION_STATUS_LABELS.get(q.status, q.status),
            instance_id,
        ]
        for n, (q, instance_id) in enumerate(session.execute(query).tuples(), 1)
    ]


HEADERS = {
    "city-report": (
        "市级推荐上报名单",
        [
            "序号",
            "统一社会信用代码",
            "企业名称",
            "地区",
            "评价得分",
            "市级抽查",
            "上报状态",
            "上报时间",
            "案件编号",
        ],
    ),
    "recommendation-list": (
        "推荐工业和信息化部名单",
        ["序号", "统一社会信用代码", "企业名称", "地区", "核验结果", "认定状态", "案件编号"],
    ),
    "notice-list": (
        "公示名单",
        ["序号", "统一社会信用代码", "企业名称", "地区", "公示状态", "公示截止", "案件编号"],
    ),
    "announcement-list": (
        "公告名单",
        [
            "序号",
            "统一社会信用代码",
            "企业名称",
            "地区",
            "梯度",
            "证书编号",
            "认定日期",
            "有效期至",
            "资格状态",
            "案件编号",
        ],
    ),
}


def export(
    ctx: EngineContext,
    actor: Actor,
    *,
    round_id: int,
    kind: str,
    region: str | None = None,
    level: str = "province",
) -> dict[str, Any]:
    """One list of a round as a title, a header row and data rows (the API renders CSV)."""
    if kind not in EXPORTS:
        raise NotFound(f"没有名为 {kind} 的导出（可选：{', '.join(EXPORTS)}）")
    if level not in ("city", "province"):
        raise InvalidInput(
            "level 只能是 city 或 province", errors={"level": ["应为 city 或 province"]}
        )
    region = region_scope(actor, region)
    with ctx.reading() as session:
        round_row = _round(session, round_id)
        if kind == "city-report":
            rows = _city_report(session, round_id, region)
        elif kind == "recommendation-list":
            rows = _recommendation_list(session, round_id, region)
        elif kind == "notice-list":
            rows = _notice_list(session, round_id, region, level)
        else:
            rows = _announcement_list(session, round_id, region)
    title, header = HEADERS[kind]
    if kind == "notice-list":
        title = ("市级" if level == "city" else "省级") + title
    return {
        "title": f"{round_row.label}{title}",
        "filename": f"round-{round_id}-{kind}"
        + (f"-{region}" if region else "")
        + (f"-{level}" if kind == "notice-list" else ""),
        "header": header,
        "rows": rows,
    }
