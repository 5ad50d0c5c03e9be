"""Deploy checks that need the database: rule sets' effective dates against the rounds of the
procedures that use them, edits started from an older version, where a version came from, and
the other procedures that share a changed file."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import registry, rounds
from engine.context import EngineContext
from engine.errors import Conflict
from engine.store import Definition, Round

SOURCE_KEY = "@source"  # reserved key in Definition.lanes: where the version was deployed from
DIRECTORY = "directory"  # `tidu deploy DIR`, `tidu demo`: a processes/ directory
UPLOAD = "upload"  # POST /api/v1/definitions (the design page)
SHARED_PREFIXES = ("shared/", "rules/", "forms/")
_OPERATOR = re.compile(r"serviceTaskOperator\b[^>]*?\bid=\"([^\"]+)\"")


class DefinitionOutdated(Conflict):
    code = "definition-outdated"
    title = "流程已有更新的版本"


@dataclass(frozen=True)
class RuleDates:
    """The `ruleset` row of one DMN file: its standard and effective range."""

    file: str
    standard: str
    effective_from: date
    effective_to: date | None
    form: str | None
    text: str
    ends_on: date | None = None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.ends_on is None or day <= self.ends_on)


def _cell(text: str | None) -> str | None:
    value = (text or "").strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value or None


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def rule_dates(files: dict[str, str]) -> list[RuleDates]:
    """Every DMN file's `ruleset` row (files without a readable one are left to the rule
    checks), each with the day it ends (its own, or the day before its successor starts)."""
    found = []
    for name, text in sorted(files.items()):
        if not name.endswith(".dmn"):
            continue
        try:
            root = etree.fromstring(text.encode())
        except etree.XMLSyntaxError:
            continue
        table = root.find(".//{*}decision[@id='ruleset']/{*}decisionTable")
        row = table.find("{*}rule") if table is not None else None
        if row is None:
            continue
        names = [o.get("name") for o in table.findall("{*}output")]
        cells = [e.findtext("{*}text") for e in row.findall("{*}outputEntry")]
        out = dict(zip(names, (_cell(c) for c in cells), strict=False))
        standard = _cell(row.findtext("{*}inputEntry/{*}text"))
        start = _day(out.get("effective_from"))
        if standard and start:
            end = _day(out.get("effective_to"))
            found.append(RuleDates(name, standard, start, end, out.get("form"), text))
    return _with_ends(found)


def _with_ends(rows: list[RuleDates]) -> list[RuleDates]:
    ordered = sorted(rows, key=lambda r: (r.standard, r.effective_from, r.file))
    out = []
    for index, row in enumerate(ordered):
        end = row.effective_to
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        if end is None and following is not None and following.standard == row.standard:
            end = following.effective_from - timedelta(days=1)
        out.append(RuleDates(**{**row.__dict__, "ends_on": end}))
    return out


def in_force(rows: list[RuleDates], standard: str, day: date) -> RuleDates | None:
    return next((r for r in reversed(rows) if r.standard == standard and r.covers(day)), None)


def used_standards(files: dict[str, str], rows: list[RuleDates]) -> set[str]:
    """The standards a procedure's diagrams use: none unless they call an operator that reads
    rule tables; then each standard without a form, and each whose form a diagram names."""
    diagrams = [t for n, t in files.items() if n.endswith(".bpmn")]
    operators = {op for text in diagrams for op in _OPERATOR.findall(text)}
    if not any(op in registry.names() and registry.get(op).uses_rules for op in operators):
        return set()
    return {r.standard for r in rows if r.form is None or any(r.form in t for t in diagrams)}


@dataclass(frozen=True)
class Opening:
    """A round of a procedure whose applications are still to come: open or scheduled."""

    process_key: str
    label: str
    opens_on: date
    last_day: date | None
    open: bool  # accepting applications now (else scheduled)


def openings(
    ctx: EngineContext, session: Session, keys: set[str], files: dict[str, str]
) -> list[Opening]:
    """Rounds of these procedures not yet closed, and each one's next scheduled opening (the
    set's `rounds.json` when it has one, else that of the configured processes directory)."""
    zone = ZoneInfo(ctx.settings.timezone)
    now = ctx.now()
    today = now.astimezone(zone).date()
    found = []
    rows = session.scalars(
        select(Round).where(Round.process_key.in_(sorted(keys)), Round.closes_at > now)
    ).all()
    for row in rows:
        last = (row.closes_at.astimezone(zone) - timedelta(seconds=1)).date()
        found.append(Opening(row.process_key, row.label, row.opens_on, last, row.opens_on <= today))
    for schedule in _schedules(ctx, files):
        if schedule.process_key in keys:
            day = schedule.next_after(today)
            last = day + timedelta(days=schedule.window_days - 1)
            found.append(Opening(schedule.process_key, schedule.label_for(day), day, last, False))
    return found


def _schedules(ctx: EngineContext, files: dict[str, str]) -> list[rounds.RoundSchedule]:
    text = files.get(rounds.SCHEDULE_FILE)
    try:
        if text is None:
            return rounds.load_schedules(ctx.settings.processes_dir)
        items = json.loads(text).get("rounds")
        return rounds.read_entries(items if isinstance(items, list) else [], set())[0]
    except Exception:  # a broken schedule is reported by its own check
        return []


def round_problems(
    ctx: EngineContext,
    session: Session,
    processes: list[Any],
    files: dict[str, str],
    latest: dict[str, Definition | None],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(problems, warnings) of the set's rule sets against the open and scheduled rounds of the
    procedures that use them: refused when a round's applications would have no rule in force
    on its opening date (every one of them would fail), warned when the standard a round's
    cases are judged by changes while the round is open, or a new version starts within it."""
    problems: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    rounds_of: dict[str, list[Opening]] = {}
    for found in openings(ctx, session, {p.key for p in processes}, files):
        rounds_of.setdefault(found.process_key, []).append(found)
    for proc in processes:
        rows = rule_dates(proc.files)
        used = used_standards(proc.files, rows)
        before = latest.get(proc.key)
        old_rows = rule_dates(before.files) if before is not None else []
        for opening in rounds_of.get(proc.key, []):
            for standard in sorted(used):
                found = _check_opening(proc, opening, standard, rows, old_rows)
                (problems if found.get("refuse") else warnings).extend(
                    [item for item in [found.get("item")] if item]
                )
                warnings.extend(w | {"process_key": proc.key} for w in found.get("also", []))
    return problems, warnings


def _round_text(proc: Any, opening: Opening) -> str:
    state = "已开放、仍在受理申报" if opening.open else "计划开放"
    return f"{proc.name}（{proc.key}）的批次“{opening.label}”（{opening.opens_on} {state}）"


def _check_opening(
    proc: Any, opening: Opening, standard: str, rows: list[RuleDates], old_rows: list[RuleDates]
) -> dict[str, Any]:
    """What one standard's versions mean for one round (see `round_problems`)."""
    mine = [r for r in rows if r.standard == standard]
    current = in_force(rows, standard, opening.opens_on)
    if current is None:
        after = [r for r in mine if r.effective_from > opening.opens_on] or mine
        first = after[0]
        message = (
            f"{first.file} 中的决策 ruleset（标准 {standard}）施行日期 effective_from 为 "
            f"{first.effective_from}，而{_round_text(proc, opening)}的申报按开放日施行的规则评价："
            f"{opening.opens_on} 没有施行中的 {standard} 规则，该批次的每份申报提交时都会出错。"
            f"请把 effective_from 改为不晚于 {opening.opens_on}，或保留原有版本的规则文件"
            "（新版本另存为新文件）"
        )
        item = {"file": first.file, "element_id": "ruleset", "line": None, "message": message}
        return {"refuse": True, "item": item}
    also = []
    old = in_force(old_rows, standard, opening.opens_on)
    if opening.open and old is not None and old.text != current.text:
        message = (
            f"{current.file}（标准 {standard}）与当前版本不同，而{_round_text(proc, opening)}："
            "部署后新提交的申报将按修改后的规则评价，与此前已提交的申报标准不一致"
        )
        also.append({"file": current.file, "element_id": "ruleset", "message": message})
    last = opening.last_day or opening.opens_on
    for row in mine:
        if opening.opens_on < row.effective_from <= last:
            message = (
                f"{row.file}（标准 {standard}）自 {row.effective_from} 起施行，落在"
                f"{_round_text(proc, opening)}的申报期内（至 {last}）：本批次的申报仍按开放日施行的"
                f"{current.file} 评价，申报自测自 {row.effective_from} 起按新版本计算"
            )
            also.append({"file": row.file, "element_id": "ruleset", "message": message})
    return {"also": also}


def refuse_outdated(
    processes: list[Any], latest: dict[str, Definition | None], based_on: dict[str, int]
) -> None:
    """Refuse (409) a set edited from a version older than the latest of its procedure, unless
    its content is that latest version's (nothing would be lost)."""
    outdated = []
    for proc in processes:
        row = latest.get(proc.key)
        opened = based_on.get(proc.key)
        if row is None or opened is None or row.version <= opened or row.checksum == proc.checksum:
            continue
        outdated.append(
            {"process_key": proc.key, "name": proc.name, "based_on": opened, "latest": row.version}
        )
    if outdated:
        detail = "；".join(
            f"{o['name']}（{o['process_key']}）：本次修改基于第 {o['based_on']} 版，"
            f"而最新版本已是第 {o['latest']} 版，部署将丢弃第 {o['based_on'] + 1}–{o['latest']} "
            "版的修改"
            for o in outdated
        )
        raise DefinitionOutdated(
            f"{detail}。请先与最新版本比较，或确认后仍然部署（force）", outdated=outdated
        )


def source_of(row: Definition) -> str:
    """Where a version was deployed from (versions from before this was recorded: a directory)."""
    return (row.lanes or {}).get(SOURCE_KEY) or DIRECTORY


def shared_users(session: Session, proc: Any, before: Definition | None) -> list[dict[str, Any]]:
    """The shared files (called diagrams, rule tables, forms) this deployment changed, each with
    the other procedures whose latest version still has the old text."""
    if before is None:
        return []
    changed = {
        name
        for name, text in proc.files.items()
        if name.startswith(SHARED_PREFIXES) and before.files.get(name, text) != text
    }
    if not changed:
        return []
    newest: dict[str, Definition] = {}
    for row in session.scalars(
        select(Definition)
        .where(Definition.process_key != proc.key)
        .order_by(Definition.process_key, Definition.version)
    ):
        newest[row.process_key] = row
    out = []
    for name in sorted(changed):
        users = [
            {"process_key": key, "name": row.name, "version": row.version}
            for key, row in sorted(newest.items())
            if name in row.files and row.files[name] != proc.files[name]
        ]
        if users:
            out.append({"file": name, "processes": users})
    return out
