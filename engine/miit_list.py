"""Importing MIIT's published 小巨人 list (第八条): each row is matched by USCC to a case of the
round that waits for MIIT's decision, and the decision reaches the case as the BPMN message
`miit_decision` through the outbox (routed by business key). Recommended cases that the list
does not name are, by default, not certified (the published list is final). Rows that match no
waiting case are reported, never silently dropped. The import is recorded in the history.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine import access, history, outbox
from engine.commands import command
from engine.context import Actor, EngineContext
from engine.errors import InvalidInput, NotFound
from engine.store import HumanTask, Instance, MessageSubscription, Round

MESSAGE = "miit_decision"
PROCESS_KEY = "little_giant_recommendation"
RECOMMEND_TASK = "province_recommend"  # 列入推荐名单: the case is recommended to MIIT
COLUMNS = {
    "uscc": ("uscc", "统一社会信用代码", "社会信用代码"),
    "name": ("name", "企业名称"),
    "decision": ("decision", "认定结果", "结果"),
    "certified_on": ("certified_on", "认定日期", "公告日期", "发布日期"),
}
DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
DECISIONS = {
    "": True,
    "approved": True,
    "认定": True,
    "通过": True,
    "rejected": False,
    "不予认定": False,
    "未认定": False,
}


def parse_csv(text: str) -> list[dict[str, Any]]:
    """Rows of a MIIT list CSV (UTF-8, optional BOM).

    Columns: uscc / 统一社会信用代码 (required), name / 企业名称, decision / 认定结果,
    certified_on / 认定日期 (the day MIIT certified: the 小巨人 validity runs from it, 第九条).
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = {(h or "").strip(): h for h in reader.fieldnames or []}
    found = {
        key: next((header[a] for a in aliases if a in header), None)
        for key, aliases in COLUMNS.items()
    }
    if found["uscc"] is None:
        raise InvalidInput(
            "名单缺少统一社会信用代码列（uscc 或 统一社会信用代码）",
            errors={"file": ["缺少 uscc 列"]},
        )
    rows = []
    for line, raw in enumerate(reader, start=2):
        rows.append(
            {
                "line": line,
                "uscc": (raw.get(found["uscc"]) or "").strip().upper(),
                "name": (raw.get(found["name"]) or "").strip() if found["name"] else "",
                "decision": (raw.get(found["decision"]) or "").strip() if found["decision"] else "",
                "certified_on": (raw.get(found["certified_on"]) or "").strip()
                if found["certified_on"]
                else "",
            }
        )
    if not rows:
        raise InvalidInput("名单中没有数据行", errors={"file": ["没有数据行"]})
    return rows


def well_formed_uscc(code: str) -> bool:
    """18 characters of the USCC charset with a correct check character (GB 32100-2015)."""
    from handlers.uscc import is_valid_uscc  # the engine does not import handlers at load

    return is_valid_uscc(code)


def certification_day(text: str, today: date) -> date | None:
    """A certification date as MIIT's lists write it (2025-07-15, 2025/7/15, 2025年7月15日);
    None when it is not a date or lies after `today`."""
    found = DATE.match(text.strip())
    if found is None:
        return None
    try:
        day = date(*(int(part) for part in found.groups()))
    except ValueError:
        return None
    return day if day <= today else None


def _row_problem(
    row: dict[str, Any],
    seen: set[str],
    waiting: dict[str, tuple[str, str]],
    today: date,
    earliest: dict[str, date],
    list_day: date | None,
) -> str | None:
    if row["certified_on"] and certification_day(row["certified_on"], today) is None:
        return f"认定日期 {row['certified_on']!r} 不是今天或以前的日期（如 2025-07-15）"
    if not well_formed_uscc(row["uscc"]):
        return "统一社会信用代码格式不正确"
    if row["uscc"] in seen:
        return "名单中重复出现"
    if row["decision"].lower() not in DECISIONS:
        return f"认定结果 {row['decision']!r} 无法识别（认定/不予认定）"
    if row["uscc"] not in waiting:
        return "本批次没有该企业等待工信部认定的推荐案件"
    day = certification_day(row["certified_on"], today) if row["certified_on"] else list_day
    floor = earliest[row["uscc"]]
    if DECISIONS[row["decision"].lower()] and day is not None and day < floor:
        # 第九条: the 小巨人 validity runs from MIIT's certification, which follows the
        # recommendation; an earlier date would issue a qualification that began before it
        source = "" if row["certified_on"] else "（名单的认定日期）"
        return f"认定日期 {day}{source} 不能早于 {floor}（推荐该企业的日期）"
    return None


def _recommended_on(
    session: Any, round_row: Round, waiting: dict[str, tuple[str, str]], zone: ZoneInfo
) -> dict[str, date]:
    """USCC -> the earliest day MIIT may have certified a waiting case: the day the province
    recommended it (列入推荐名单), and never before the round opened."""
    query = (
        select(HumanTask.instance_id, func.max(HumanTask.completed_at))
        .join(Instance, Instance.id == HumanTask.instance_id)
        .where(
            Instance.round_id == round_row.id,
            HumanTask.bpmn_id == RECOMMEND_TASK,
            HumanTask.state == "completed",
        )
        .group_by(HumanTask.instance_id)
    )
    recommended = {instance_id: at for instance_id, at in session.execute(query)}
    earliest = {}
    for uscc, (instance_id, _) in waiting.items():
        at = recommended.get(instance_id)
        day = at.astimezone(zone).date() if at is not None else round_row.opens_on
        earliest[uscc] = max(day, round_row.opens_on)
    return earliest


@command("import_miit_list")
def import_miit_list(
    ctx: EngineContext,
    *,
    round_id: int,
    rows: list[dict[str, Any]],
    source: str,
    actor: Actor,
    reject_unlisted: bool = True,
    certified_on: str | None = None,
) -> dict[str, Any]:
    """Deliver MIIT's decisions to the round's recommended cases; report unmatched rows.

    The certification date of a row is its `certified_on` column, else `certified_on` given for
    the whole list, else the day of the import (each certified case issues its 小巨人
    qualification from that day, 第九条). A date before the round opened is refused (422 for
    the list's `certified_on`), and so is a row's date before its case was recommended."""
    access.require_role(actor, "province", "miit")
    today = ctx.today()
    list_day = None
    if certified_on:
        list_day = certification_day(certified_on, today)
        if list_day is None:
            raise InvalidInput(
                f"认定日期 {certified_on!r} 不是今天或以前的日期",
                errors={"certified_on": ["应为今天或以前的日期，如 2025-07-15"]},
            )
    with ctx.transaction() as session:
        round_row = session.get(Round, round_id)
        if round_row is None or round_row.process_key != PROCESS_KEY:
            raise NotFound("该批次不是小巨人推荐批次或不存在")
        if list_day is not None and list_day < round_row.opens_on:
            opens_on = round_row.opens_on.isoformat()
            raise InvalidInput(
                f"认定日期 {list_day.isoformat()} 早于{round_row.label}开始申报的日期 {opens_on}",
                errors={"certified_on": [f"不能早于 {opens_on}（本批次开始日期）"]},
            )
        waiting = {
            uscc: (instance_id, key)
            for instance_id, uscc, key in session.execute(
                select(Instance.id, Instance.uscc, Instance.business_key)
                .join(MessageSubscription, MessageSubscription.instance_id == Instance.id)
                .where(Instance.round_id == round_id, MessageSubscription.name == MESSAGE)
            )
        }
        earliest = _recommended_on(session, round_row, waiting, ZoneInfo(ctx.settings.timezone))
        now, ttl = ctx.now(), timedelta(days=ctx.settings.message_ttl_days)
        report: dict[str, Any] = {
            "round_id": round_id,
            "source": source,
            "approved": [],
            "rejected": [],
            "unmatched": [],
        }
        seen: set[str] = set()

        def decide(uscc: str, approved: bool, line: int | None, day: date | None) -> None:
            instance_id, key = waiting[uscc]
            on = (day or list_day or today).isoformat() if approved else None
            outbox.add(
                session,
                name=MESSAGE,
                payload={"approved": approved, "source": source, "line": line, "certified_on": on},
                correlation={"business_key": key},
                sent_by=actor.id,
                now=now,
                ttl=ttl,
            )
            report["approved" if approved else "rejected"].append(
                {"uscc": uscc, "instance_id": instance_id, "line": line}
            )

        for row in rows:
            problem = _row_problem(row, seen, waiting, today, earliest, list_day)
            seen.add(row["uscc"])
            if problem:
                report["unmatched"].append(
                    {
                        "line": row["line"],
                        "uscc": row["uscc"],
                        "name": row["name"],
                        "reason": problem,
                    }
                )
                continue
            day = certification_day(row["certified_on"], today) if row["certified_on"] else None
            decide(row["uscc"], DECISIONS[row["decision"].lower()], row["line"], day)
        if reject_unlisted:
            for uscc in sorted(set(waiting) - seen):
                decide(uscc, False, None, None)
        history.append(
            session,
            stream=f"round:{round_id}",
            kind="miit_list.imported",
            actor=actor.id,
            at=now,
            data={k: v for k, v in report.items()}
            | {"rows": len(rows), "reject_unlisted": reject_unlisted},
        )
        return report
