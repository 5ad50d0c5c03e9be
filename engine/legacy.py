"""第二十条 legacy import: qualifications certified before 2023-06-20, read from a CSV file.

Every row is checked (the ``legacy.check_row`` rule: USCC check character, tier, dates, region)
and so are duplicates, within the file and against the registry. A file with any bad row imports
nothing and reports every bad row with its line and reason. A row already imported with the same
content is skipped, so importing the same file again changes nothing. Each imported
qualification keeps its original dates and gets its lifecycle instance in the same transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import access, definitions, history, instances, lifecycle, registry
from engine.commands import command
from engine.context import Actor, EngineContext
from engine.errors import Conflict, InvalidInput, NotFound
from engine.store import Ban, Enterprise, Qualification

COLUMNS = {  # canonical column -> accepted header names (English or Chinese)
    "number": ("number", "证书编号"),
    "tier": ("tier", "梯度"),
    "uscc": ("uscc", "统一社会信用代码"),
    "enterprise_name": ("enterprise_name", "企业名称"),
    "certified_on": ("certified_on", "认定日期"),
    "expires_on": ("expires_on", "有效期至"),
    "region": ("region", "地区代码"),
}
REQUIRED = ("number", "tier", "uscc", "enterprise_name", "certified_on")
MAX_ROWS = 20000


class LegacyFileInvalid(InvalidInput):
    code = "legacy-file-invalid"
    title = "存量资格文件校验未通过，未导入任何记录"


def parse(text: str) -> list[tuple[int, dict[str, str]]]:
    """Rows of a legacy CSV (UTF-8, optional BOM) with line numbers, keyed by canonical column."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header:
        raise LegacyFileInvalid(
            "文件为空", errors=[{"line": 1, "column": None, "message": "缺少表头"}]
        )
    names = {alias: canonical for canonical, aliases in COLUMNS.items() for alias in aliases}
    mapped = [names.get(h.strip().lstrip("\ufeff")) for h in header]
    missing = [c for c in REQUIRED if c not in mapped]
    unknown = [h for h, m in zip(header, mapped, strict=True) if m is None and h.strip()]
    if missing or unknown:
        raise LegacyFileInvalid(
            "表头不正确",
            errors=[{"line": 1, "column": c, "message": "缺少该列"} for c in missing]
            + [{"line": 1, "column": h, "message": "未知列"} for h in unknown],
        )
    rows = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        line = reader.line_num
        if len(cells) != len(header):
            rows.append((line, {"__error__": f"应有 {len(header)} 列，实有 {len(cells)} 列"}))
            continue
        if any("\x00" in cell for cell in cells):  # no database text can hold it
            rows.append((line, {"__error__": "含有空字符（\\u0000）"}))
            continue
        rows.append((line, {m: c for m, c in zip(mapped, cells, strict=True) if m}))
        if len(rows) > MAX_ROWS:
            raise LegacyFileInvalid(
                f"一次最多导入 {MAX_ROWS} 行",
                errors=[{"line": line, "column": None, "message": "行数过多"}],
            )
    if not rows:
        raise LegacyFileInvalid(
            "文件没有数据行", errors=[{"line": 2, "column": None, "message": "没有数据行"}]
        )
    return rows


def _same(existing: Qualification, q: dict[str, Any]) -> bool:
    return (
        existing.source == "legacy"
        and existing.tier == q["tier"]
        and existing.uscc == q["uscc"]
        and existing.issued_on.isoformat() == q["issued_on"]
        and existing.expires_on.isoformat() == q["expires_on"]
    )


def _against_registry(
    session: Session, q: dict[str, Any], today: date
) -> tuple[dict[str, str] | None, bool]:
    """(problem, already imported) of a valid row against the qualifications already registered
    and the 第十二条 bans recorded."""
    existing = session.scalars(
        select(Qualification).where(Qualification.number == q["number"])
    ).first()
    if existing is not None:
        if _same(existing, q):
            return None, True
        problem = f"证书编号 {q['number']} 已在资格库中（内容不同）"
        return {"column": "number", "message": problem}, False
    held = session.scalars(
        select(Qualification.number).where(
            Qualification.uscc == q["uscc"],
            Qualification.tier == q["tier"],
            Qualification.status.in_(lifecycle.VALID),
        )
    ).first()
    if held:
        return {"column": "number", "message": f"该企业已持有有效的同梯度资格 {held}"}, False
    if banned := _ban_problem(session, q, today):
        return {"column": "uscc", "message": banned}, False
    return None, False


def _ban_problem(session: Session, q: dict[str, Any], today: date) -> str | None:
    """第十二条 revokes every qualification of an enterprise (直接取消公告或认定): a ban that
    began by today and did not end before the certification means the qualification would
    have been revoked with the others, so it is not imported."""
    ban = session.scalars(
        select(Ban)
        .where(
            Ban.uscc == q["uscc"],
            Ban.starts_on <= today,
            Ban.ends_on > date.fromisoformat(q["issued_on"]),
        )
        .order_by(Ban.ends_on.desc(), Ban.id)
        .limit(1)
    ).first()
    if ban is None:
        return None
    case = f"，决定案件 {ban.instance_id}" if ban.instance_id else ""
    return (
        f"企业 {q['uscc']} 受{ban.basis}处理（{ban.reason}{case}），"
        f"自 {ban.starts_on.isoformat()} 起至 {ban.ends_on.isoformat()} 前不得申报："
        f"{ban.basis}取消该企业全部资格，此资格不予导入"
    )


def _check(
    session: Session, rows: list[tuple[int, dict[str, str]]], today: str, rules: registry.RuleSet
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    check = registry.get("legacy.check_row").fn
    errors: list[dict[str, Any]] = []
    fresh: list[dict[str, Any]] = []
    skipped: list[str] = []
    numbers: dict[str, int] = {}
    holders: dict[tuple[str, str], int] = {}
    for line, row in rows:
        if "__error__" in row:
            errors.append({"line": line, "column": None, "message": row["__error__"]})
            continue
        result = check(row=row, today=today, rules=rules)
        problems = list(result["errors"])
        if result["valid"]:
            q = result["qualification"]
            if q["number"] in numbers:
                problems.append(
                    {"column": "number", "message": f"与第 {numbers[q['number']]} 行证书编号重复"}
                )
            elif (q["uscc"], q["tier"]) in holders:
                problems.append(
                    {
                        "column": "uscc",
                        "message": f"与第 {holders[(q['uscc'], q['tier'])]} 行为同一企业同梯度",
                    }
                )
            else:
                numbers[q["number"]], holders[(q["uscc"], q["tier"])] = line, line
                problem, done = _against_registry(session, q, date.fromisoformat(today))
                if problem:
                    problems.append(problem)
                elif done:
                    skipped.append(q["number"])
                else:
                    fresh.append(q)
        errors += [{"line": line, **p} for p in problems]
    return errors, fresh, skipped


@command("import_legacy")
def import_legacy(
    ctx: EngineContext, *, text: str, actor: Actor, filename: str = ""
) -> dict[str, Any]:
    """Import legacy qualifications (第二十条) from CSV text: all rows or none."""
    access.require_role(actor, "province")
    rows = parse(text)
    with ctx.transaction() as session:
        try:
            definition = definitions.latest(session, lifecycle.PROCESS_KEY, ctx)
        except NotFound:
            raise Conflict(
                f"资格生命周期流程 {lifecycle.PROCESS_KEY} 尚未部署，无法导入",
                rule="lifecycle-deployed",
            ) from None
        rules = instances.workflow_for(ctx, definition)[2].rules
        today = ctx.today().isoformat()
        errors, fresh, skipped = _check(session, rows, today, rules)
        if errors:
            bad = len({e["line"] for e in errors})
            raise LegacyFileInvalid(f"{bad} 行有误，未导入任何记录", errors=errors)
        for q in fresh:
            if session.get(Enterprise, q["uscc"]) is None:
                session.add(
                    Enterprise(uscc=q["uscc"], name=q["enterprise_name"], region=q["region"])
                )
            lifecycle.register(
                ctx,
                session,
                fields=q,
                source="legacy",
                actor=actor,
                reason=f"第二十条存量资格导入（认定 {q['issued_on']}，有效期至 {q['expires_on']}）",
            )
        report = {
            "rows": len(rows),
            "imported": [q["number"] for q in fresh],
            "skipped": skipped,
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "filename": filename,
        }
        if fresh:
            history.append(
                session,
                stream="legacy_import",
                kind="legacy.imported",
                actor=actor.id,
                at=ctx.now(),
                data=report | {"rule_version": registry.get("legacy.check_row").rule_version},
            )
        return report
