"""Batch views of a round, read from projections: cases by stage and the lists staff send on.

A case's *stage* is where it stands now (engine/stages.py), kept on the case's row by every
save: the round pages count and page the cases by it. A city user sees its own region only,
in every list and export (asking for another region is "not found").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, text

from engine import access, definitions, enterprises
from engine.context import Actor, EngineContext
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.store import (
    QUALIFICATION_STATUS_LABELS,
    TIER_LABELS,
    Enterprise,
    HistoryEvent,
    HumanTask,
    Instance,
    Qualification,
    Round,
    outcome_label,
)

VIEWERS = ("city", "province", "miit", "auditor")
VIEWER_NAMES = {**access.ROLE_LABELS, "auditor": "审计人员"}
EXPORTS = ("city-report", "notice-list", "announcement-list", "recommendation-list")
# lists that only the rounds of one procedure have: the P3 recommendation to MIIT (第八条)
EXPORT_PROCESSES = {"recommendation-list": ("little_giant_recommendation", "小巨人推荐批次")}


def region_scope(actor: Actor, region: str | None, known: dict[str, str]) -> str | None:
    """The region an actor's list is limited to (a city: always its own); `known`: the region
    codes with their names (an unknown code is refused, 422 naming `region`)."""
    if actor.role not in VIEWERS and actor.role != "system":
        who = "、".join(VIEWER_NAMES[role] for role in VIEWERS)
        raise Forbidden(f"批次名单仅供{who}查看")
    if region and region not in known:
        raise InvalidInput(f"地区代码 {region} 不存在", errors={"region": ["不是已知的地区代码"]})
    if actor.role == "city":
        if region and region != actor.region:
            raise NotFound(f"地区 {region} 的案件不存在")
        return actor.region or "-"
    return region


def _round(session: Any, round_id: int) -> Round:
    row = session.get(Round, round_id)
    if row is None:
        raise NotFound("申报批次不存在")
    return row


def _of_round(query: Select, instance_id: Any, round_id: int, region: str | None) -> Select:
    """`query` limited to the cases of a round (in a region) by a join on the case's row: a
    round of any size stays one statement, where a list of its case ids would pass the
    database's limit on bound parameters (65,535 on PostgreSQL) in a national round."""
    return _in_round(query.join(Instance, Instance.id == instance_id), round_id, region)


def _in_round(query: Select, round_id: int, region: str | None) -> Select:
    query = query.where(Instance.round_id == round_id)
    return query.where(Instance.region == region) if region else query


def _cases(round_id: int, region: str | None, stages: list[str] | None = None) -> Select:
    """The cases of a round (in a region; at one of `stages`) where they stand, in order, as
    plain columns (never the cases' state)."""
    query = (
        select(
            Instance.id,
            Instance.uscc,
            Instance.region,
            Instance.status,
            Instance.outcome,
            Instance.started_at,
            Instance.stage,
            Instance.stage_name,
            Instance.stage_due_at,
            Enterprise.name,
        )
        .outerjoin(Enterprise, Enterprise.uscc == Instance.uscc)
        .order_by(Instance.started_at, Instance.uscc, Instance.id)
    )
    query = _in_round(query, round_id, region)
    return query.where(Instance.stage.in_(stages)) if stages is not None else query


def _case_json(row: Any) -> dict[str, Any]:
    return {
        "instance_id": row.id,
        "uscc": row.uscc,
        "enterprise_name": row.name,
        "region": row.region,
        "status": row.status,
        "outcome": row.outcome,
        "stage": row.stage,
        "stage_name": row.stage_name,
        "due_at": row.stage_due_at,
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
    """A round's cases (filtered by stage), with the count of cases at each stage: one
    GROUP BY and one page, read through the round indexes on the cases' stage columns."""
    region = region_scope(actor, region, ctx.settings.region_names())
    counts = _in_round(
        select(
            Instance.stage,
            func.max(Instance.stage_name),
            func.count(),
            func.min(Instance.started_at).label("first"),
        ).group_by(Instance.stage),
        round_id,
        region,
    ).order_by(text("first"), Instance.stage)
    with ctx.reading() as session:
        round_row = _round(session, round_id)
        conn = session.connection()  # plain rows: the ORM's per-row work is not needed here
        stages = [{"stage": s, "name": name, "count": n} for s, name, n, _ in conn.execute(counts)]
        chosen = None if stage is None else [stage]
        page_query = _cases(round_id, region, chosen)
        items = conn.execute(page_query.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "round_id": round_row.id,
        "process_key": round_row.process_key,
        "label": round_row.label,
        "region": region,
        "stages": stages,
        "items": [_case_json(r) for r in items],
        "total": sum(s["count"] for s in stages if stage is None or s["stage"] == stage),
        "page": page,
        "per_page": per_page,
    }


def _score(data: dict[str, Any]) -> Any:
    evaluation = data.get("evaluation") or {}
    if evaluation.get("score") is not None:
        return evaluation["score"]
    return "符合全部认定条件" if evaluation.get("passed") else ""


def _spot(data: dict[str, Any]) -> str:
    """The city's spot check as the report reads it: 合格 or 未抽中 (a case drawn and failed
    never reaches the report). P2/P3 keep `spot_check_result`, P1 its draw."""
    known = {"pass": "合格", "not_selected": "未抽中"}.get(str(data.get("spot_check_result")))
    if known:
        return known
    draw = data.get("city_spot_check_draw")
    if isinstance(draw, dict) and "selected" in draw:
        return "合格" if draw["selected"] or data.get("flag_for_spot_check") else "未抽中"
    return ""


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
            Instance.process_key,
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
            status.get(r.outcome, outcome_label(r.process_key, r.outcome)),
            r.id,
        ]
        for n, r in enumerate(found, 1)
    ]


# the decision computing a level's 公示 period: P1's own steps, the shared sub-process (P2's
# province notice) for the province
NOTICE_PERIODS = {
    "city": ("city_notice_period",),
    "province": ("province_notice_period", "notice_period"),
}


def _notices(
    session: Any, round_id: int, region: str | None, level: str, zone: ZoneInfo
) -> dict[str, tuple[Any, str]]:
    """Every case of the round that went through the level's 公示, with the notice's first day
    and last day (from the decision that computed it; a case's latest one is its current
    notice): one query for the whole list, whether the notice is running or long over."""
    query = _in_round(
        select(HistoryEvent.instance_id, HistoryEvent.seq, HistoryEvent.at, HistoryEvent.data)
        .join(Instance, Instance.id == HistoryEvent.instance_id)
        .where(
            HistoryEvent.kind == "handler.decision",
            HistoryEvent.bpmn_id.in_(NOTICE_PERIODS[level]),
        ),
        round_id,
        region,
    ).order_by(HistoryEvent.instance_id, HistoryEvent.seq)
    found: dict[str, tuple[Any, str]] = {}
    for instance_id, _, at, data in session.connection().execute(query):
        outputs = (data.get("outputs") if isinstance(data, dict) else None) or {}
        found[instance_id] = (at.astimezone(zone).date(), str(outputs.get("ends_on") or ""))
    return found


def deadline_text(value: datetime | None, zone: ZoneInfo) -> str:
    """A deadline as the pages word it: midnight is the day before at 24:00."""
    if value is None:
        return ""
    local = value.astimezone(zone)
    if local.timetz().replace(tzinfo=None) == datetime.min.time():
        return f"{(local - timedelta(days=1)).date().isoformat()} 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def _notice_result(case: Any, level: str, later_notice: bool) -> str:
    """Where the case's 公示 stands: running, under objection review, or its result."""
    if case.stage in (f"{level}_notice", f"{level}_notice_wait"):
        return "公示中"
    if case.stage == f"{level}_objection_review":
        return "异议核查中"
    if case.outcome == "objection_upheld" and not later_notice:
        return "公示结束：异议成立"
    return "公示期满：无成立的异议"


def _notice_list(
    session: Any, round_id: int, region: str | None, level: str, zone: ZoneInfo
) -> list[list[Any]]:
    notices = _notices(session, round_id, region, level, zone)
    later = set(_notices(session, round_id, region, "province", zone)) if level == "city" else set()
    cases = session.connection().execute(_cases(round_id, region))
    listed = [c for c in cases if c.id in notices]
    return [
        [
            n,
            c.uscc,
            c.name,
            c.region,
            notices[c.id][0],
            f"{notices[c.id][1]} 24:00" if notices[c.id][1] else "",
            _notice_result(c, level, c.id in later),
            c.stage_name,
            c.id,
        ]
        for n, c in enumerate(listed, 1)
    ]


# the tasks where the province types the 公告文号 (P1 公告, P2 认定)
ANNOUNCING = ("province_announce", "province_certify")


def _announcement_numbers(session: Any, round_id: int, region: str | None) -> dict[str, str]:
    """The 公告文号 (`announcement_no`) the province submitted at each case's announcement
    task, as the case's history recorded it."""
    query = _of_round(
        select(HistoryEvent.instance_id, HistoryEvent.data).where(
            HistoryEvent.kind == "task.completed", HistoryEvent.bpmn_id.in_(ANNOUNCING)
        ),
        HistoryEvent.instance_id,
        round_id,
        region,
    ).order_by(HistoryEvent.instance_id, HistoryEvent.seq)
    found: dict[str, str] = {}
    for instance_id, data in session.connection().execute(query):
        submitted = (data.get("submitted") if isinstance(data, dict) else None) or {}
        if submitted.get("announcement_no"):
            found[instance_id] = str(submitted["announcement_no"])
    return found


def _announcement_list(session: Any, round_id: int, region: str | None) -> list[list[Any]]:
    query = _of_round(
        select(Qualification, Instance.id), Qualification.instance_id, round_id, region
    ).order_by(Qualification.number)
    numbers = _announcement_numbers(session, round_id, region)
    return [
        [
            n,
            q.uscc,
            q.enterprise_name,
            q.region,
            TIER_LABELS.get(q.tier, q.tier),
            numbers.get(instance_id, ""),
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
        [
            "序号",
            "统一社会信用代码",
            "企业名称",
            "地区",
            "公示开始",
            "公示截止",
            "公示状态",
            "当前环节",
            "案件编号",
        ],
    ),
    "announcement-list": (
        "公告名单",
        [
            "序号",
            "统一社会信用代码",
            "企业名称",
            "地区",
            "梯度",
            "公告文号",
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
    names = ctx.settings.region_names()
    region = region_scope(actor, region, names)
    with ctx.reading() as session:
        round_row = _round(session, round_id)
        only = EXPORT_PROCESSES.get(kind)
        if only is not None and round_row.process_key != only[0]:
            raise NotFound(f"{HEADERS[kind][0]}只适用于{only[1]}，{round_row.label}没有该名单")
        if kind == "city-report":
            rows = _city_report(session, round_id, region)
        elif kind == "recommendation-list":
            rows = _recommendation_list(session, round_id, region)
        elif kind == "notice-list":
            rows = _notice_list(session, round_id, region, level, ZoneInfo(ctx.settings.timezone))
        else:
            rows = _announcement_list(session, round_id, region)
    title, header = HEADERS[kind]
    if kind == "notice-list":
        title = ("市级" if level == "city" else "省级") + title
    header, rows = _region_names(header, rows, names)
    return {
        "title": f"{round_row.label}{title}",
        "filename": f"round-{round_id}-{kind}"
        + (f"-{region}" if region else "")
        + (f"-{level}" if kind == "notice-list" else ""),
        "header": header,
        "rows": rows,
    }


def _region_names(
    header: list[str], rows: list[list[Any]], names: dict[str, str]
) -> tuple[list[str], list[list[Any]]]:
    """地区 by name (南昌市) with 地区代码 next to it, as the registry's export has them."""
    at = header.index("地区")
    header = [*header[: at + 1], "地区代码", *header[at + 1 :]]
    return header, [
        [*row[:at], names.get(row[at] or "", row[at] or ""), row[at], *row[at + 1 :]]
        for row in rows
    ]


def prerequisite(ctx: EngineContext, actor: Actor, *, round_id: int) -> dict[str, Any]:
    """The qualification an application in the round needs (第七、八条: the tier its procedure's
    start event requires) and, for an enterprise, whether it holds a valid one today: the
    inbox offers 申报 only to an enterprise that may start it (else POST /instances is a 409)."""
    with ctx.reading() as session:
        round_row = _round(session, round_id)
        definition = definitions.latest(session, round_row.process_key, ctx)
        tier = (definition.lanes or {}).get(definitions.REQUIRES_KEY)
        held = None
        if tier and actor.role == "enterprise":
            valid = enterprises.valid_qualifications(session, actor.uscc, ctx.today())
            held = any(q.tier == tier for q in valid)
    label = TIER_LABELS.get(tier, tier) if tier else None
    return {
        "round_id": round_row.id,
        "process_key": round_row.process_key,
        "requires_qualification": tier,
        "requires_qualification_name": label,
        "held": held,
        "reason": f"需先持有有效的{label}资格" if held is False else None,
    }
