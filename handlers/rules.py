"""Rule sets of a deployment: loading, cached parsing, effective dates, validation.

Every DMN file under ``processes/rules/`` is one version of one *standard* (``size_class``,
``innovative_score``, ...). Its ``ruleset`` decision (one row) names the standard in its input
cell and gives ``name``, ``effective_from``, ``effective_to`` (both inclusive, ``YYYY-MM-DD``;
an empty ``effective_to`` lasts until the next version of the same standard takes effect),
the self-evaluation ``form`` the standard's figures come from, and a ``note``. Handlers pick
the version in force on a reference date (the round's opening date); adding the tables of a
revised standard is adding a file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from engine.registry import RuleSet, rule_validator
from handlers.dmn import DecisionTable, DmnError, parse_dmn, parse_literal

PROCESSES_DIR = Path(__file__).resolve().parents[1] / "processes"
METADATA = "ruleset"
_CACHE_SIZE = 16
_cache: dict[str, dict[str, list[RuleSetVersion]]] = {}


@dataclass(frozen=True)
class Requirement:
    """A decision a handler needs, with the input and output columns it relies on."""

    standard: str
    file: str  # the file a missing standard is reported against
    decision_id: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSetVersion:
    """One DMN file: a version of a standard with its effective range and its tables."""

    standard: str
    file: str
    name: str
    effective_from: date
    effective_to: date | None  # as declared (inclusive)
    form: str | None
    note: str | None
    checksum: str
    tables: Mapping[str, DecisionTable]
    ends_on: date | None = None  # declared end, or the day before the next version starts

    def table(self, decision_id: str) -> DecisionTable:
        """Return one decision table of this version; raise DmnError when it is missing."""
        try:
            return self.tables[decision_id]
        except KeyError:
            message = f"{self.file} 中缺少决策表 {decision_id}"
            raise DmnError(message, element_id=decision_id) from None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.ends_on is None or day <= self.ends_on)

    def info(self) -> dict[str, Any]:
        """Describe the version for a decision record: name, effective range, checksum."""
        return {
            "standard": self.standard,
            "name": self.name,
            "file": self.file,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.ends_on.isoformat() if self.ends_on else None,
            "checksum": self.checksum,
            "note": self.note,
        }


class RuleSetNotInForceError(DmnError):
    """No version of a standard is in force on the reference date."""


_REQUIREMENTS: list[Requirement] = []


def require(
    file: str, decision_id: str, *, inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = ()
) -> str:
    """Declare that a handler needs `decision_id` in every version of `file`'s standard."""
    _REQUIREMENTS.append(Requirement(standard_of(file), file, decision_id, inputs, outputs))
    return decision_id


def standard_of(file: str) -> str:
    """Return the standard a handler's canonical file stands for (its stem)."""
    return Path(file).stem


def load_ruleset(directory: str | Path = PROCESSES_DIR) -> RuleSet:
    """Read every ``rules/*.dmn`` under a processes directory into a RuleSet."""
    base = Path(directory)
    files = {
        path.relative_to(base).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted((base / "rules").glob("*.dmn"))
    }
    return RuleSet(files)


def rule_version(rules: RuleSet) -> str:
    """Return the short rule version recorded with every rule-based decision."""
    return rules.checksum[:12]


def parse_date(value: Any, what: str = "reference_on") -> date | None:
    """Parse an ISO date (or the date part of an ISO instant); None stays None."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"{what} 不是有效日期：{value}") from None


def _cell_date(value: Any, column: str, rule_id: str, line: int | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DmnError(
            f"{column} 不是有效日期（YYYY-MM-DD）：{value}", element_id=rule_id, line=line
        ) from None


def read_version(file: str, text: str, tables: Mapping[str, DecisionTable]) -> RuleSetVersion:
    """Read the ``ruleset`` row of one parsed file; raise DmnError naming what is wrong."""
    meta = tables.get(METADATA)
    if meta is None:
        raise DmnError("缺少规则集信息表 ruleset（适用标准、名称、施行日期）", element_id=METADATA)
    if len(meta.rules) != 1 or len(meta.inputs) != 1:
        raise DmnError("规则集信息表 ruleset 须恰好一列输入、一行规则", element_id=METADATA)
    row = meta.rules[0]
    standard = parse_literal(row.entries[0])
    if not isinstance(standard, str) or not standard:
        raise DmnError(
            '规则集信息表的输入单元格须为标准代码，如 "size_class"',
            element_id=row.id,
            line=row.line,
        )
    start = _cell_date(row.outputs.get("effective_from"), "effective_from", row.id, row.line)
    if start is None:
        raise DmnError("规则集信息表缺少施行日期 effective_from", element_id=row.id, line=row.line)
    end = _cell_date(row.outputs.get("effective_to"), "effective_to", row.id, row.line)
    if end is not None and end < start:
        raise DmnError("effective_to 早于 effective_from", element_id=row.id, line=row.line)
    return RuleSetVersion(
        standard=standard,
        file=file,
        name=str(row.outputs.get("name") or standard),
        effective_from=start,
        effective_to=end,
        form=row.outputs.get("form"),
        note=row.outputs.get("note"),
        checksum=hashlib.sha256(text.encode()).hexdigest(),
        tables=tables,
    )


def _with_ends(versions: list[RuleSetVersion]) -> list[RuleSetVersion]:
    """Sort by start; an open-ended version ends the day before its successor starts."""
    ordered = sorted(versions, key=lambda v: (v.effective_from, v.file))
    out = []
    for index, version in enumerate(ordered):
        end = version.effective_to
        if end is None and index + 1 < len(ordered):
            end = ordered[index + 1].effective_from - timedelta(days=1)
        out.append(replace(version, ends_on=end))
    return out


def catalog(rules: RuleSet) -> dict[str, list[RuleSetVersion]]:
    """Return every standard's versions (oldest first), cached by the rule set's checksum."""
    key = rules.checksum
    if key not in _cache:
        found: dict[str, list[RuleSetVersion]] = {}
        for name in sorted(rules.files):
            if name.endswith(".dmn"):
                try:
                    version = read_version(name, rules.files[name], parse_dmn(rules.files[name]))
                except DmnError as exc:
                    raise DmnError(
                        f"{name}：{exc.message}", element_id=exc.element_id, line=exc.line
                    ) from None
                found.setdefault(version.standard, []).append(version)
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = {std: _with_ends(versions) for std, versions in found.items()}
    return _cache[key]


def in_force(rules: RuleSet, file: str, reference_on: Any = None) -> RuleSetVersion:
    """Return the version of `file`'s standard in force on `reference_on` (None: the newest)."""
    standard = standard_of(file)
    versions = catalog(rules).get(standard)
    if not versions:
        raise DmnError(f"规则集中缺少标准 {standard} 的规则文件（如 {file}）")
    day = parse_date(reference_on)
    if day is None:
        return versions[-1]
    for version in reversed(versions):
        if version.covers(day):
            return version
    ranges = "；".join(f"{v.file} {v.effective_from}～{v.ends_on or '至今'}" for v in versions)
    raise RuleSetNotInForceError(f"{day} 没有施行中的 {standard} 规则（现有：{ranges}）")


def _problem(file: str, exc: DmnError) -> dict[str, Any]:
    return {"file": file, "element_id": exc.element_id, "line": exc.line, "message": exc.message}


def missing(file: str, element_id: str | None, message: str) -> dict[str, Any]:
    return {"file": file, "element_id": element_id, "line": None, "message": message}


def _check_requirement(req: Requirement, version: RuleSetVersion) -> list[dict[str, Any]]:
    found = version.tables.get(req.decision_id)
    if found is None:
        return [missing(version.file, req.decision_id, f"缺少决策表 {req.decision_id}")]
    problems = []
    for name in req.inputs:
        if name not in found.inputs:
            message = f"决策表 {req.decision_id} 缺少输入列 {name}"
            problems.append(missing(version.file, req.decision_id, message))
    for name in req.outputs:
        if name not in found.outputs:
            message = f"决策表 {req.decision_id} 缺少输出列 {name}"
            problems.append(missing(version.file, req.decision_id, message))
    return problems


def requirement_problems(version: RuleSetVersion) -> list[dict[str, Any]]:
    """What a version lacks of the decisions and columns the handlers require of its standard."""
    return [
        found
        for req in _REQUIREMENTS
        if req.standard == version.standard
        for found in _check_requirement(req, version)
    ]


def _overlaps(versions: list[RuleSetVersion]) -> list[dict[str, Any]]:
    """Report versions of one standard whose effective ranges overlap."""
    ordered = sorted(versions, key=lambda v: (v.effective_from, v.file))
    problems = []
    for earlier, later in pairwise(ordered):
        same_start = earlier.effective_from == later.effective_from
        if same_start or (earlier.effective_to and earlier.effective_to >= later.effective_from):
            message = (
                f"标准 {later.standard} 的施行期间与 {earlier.file} 重叠"
                f"（{later.effective_from} 起）"
            )
            problems.append(missing(later.file, METADATA, message))
    return problems


Problems = list[dict[str, Any]]


def versions_by_standard(rules: RuleSet) -> tuple[dict[str, list[RuleSetVersion]], Problems]:
    """Read every file's ``ruleset`` row; unreadable files become problems."""
    problems: list[dict[str, Any]] = []
    by_standard: dict[str, list[RuleSetVersion]] = {}
    for name in sorted(rules.files):
        if not name.endswith(".dmn"):
            continue
        try:
            version = read_version(name, rules.files[name], parse_dmn(rules.files[name]))
        except DmnError as exc:
            problems.append(_problem(name, exc))
            continue
        by_standard.setdefault(version.standard, []).append(version)
    return by_standard, problems


@rule_validator
def validate(rules: RuleSet) -> list[dict[str, Any]]:
    """Check every DMN file: it parses, says which standard and dates it carries, and holds
    every decision the handlers need; versions of one standard must not overlap."""
    by_standard, problems = versions_by_standard(rules)
    known = {req.standard for req in _REQUIREMENTS}
    for standard, versions in by_standard.items():
        if standard not in known:
            for version in versions:
                message = f"未知的适用标准 {standard}（可用：{'、'.join(sorted(known))}）"
                problems.append(missing(version.file, METADATA, message))
        problems.extend(_overlaps(versions))
    for req in _REQUIREMENTS:
        versions = by_standard.get(req.standard, [])
        if not versions and req.file not in rules.files:
            problems.append(missing(req.file, req.decision_id, f"缺少规则文件 {req.file}"))
        for version in versions:
            problems.extend(_check_requirement(req, version))
    return problems
