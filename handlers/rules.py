"""Access to the DMN rule tables of a deployment: loading, cached parsing, validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.registry import RuleSet, rule_validator
from handlers.dmn import DecisionTable, DmnError, parse_dmn

PROCESSES_DIR = Path(__file__).resolve().parents[1] / "processes"
_CACHE_SIZE = 16
_cache: dict[str, dict[str, DecisionTable]] = {}


@dataclass(frozen=True)
class Requirement:
    """A decision a handler needs, with the input and output columns it relies on."""

    file: str
    decision_id: str
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


_REQUIREMENTS: list[Requirement] = []


def require(
    file: str, decision_id: str, *, inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = ()
) -> str:
    """Declare that a handler needs `decision_id` in `file`; return the decision id."""
    _REQUIREMENTS.append(Requirement(file, decision_id, inputs, outputs))
    return decision_id


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


def tables(rules: RuleSet) -> dict[str, DecisionTable]:
    """Return every decision table of the rule set by decision id (cached by checksum)."""
    key = rules.checksum
    if key not in _cache:
        parsed: dict[str, DecisionTable] = {}
        for name in sorted(rules.files):
            if name.endswith(".dmn"):
                parsed.update(parse_dmn(rules.files[name]))
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = parsed
    return _cache[key]


def table(rules: RuleSet, decision_id: str) -> DecisionTable:
    """Return one decision table; raise DmnError when it is missing."""
    try:
        return tables(rules)[decision_id]
    except KeyError:
        raise DmnError(f"规则集中缺少决策表 {decision_id}", element_id=decision_id) from None


def _problem(file: str, exc: DmnError) -> dict[str, Any]:
    return {"file": file, "element_id": exc.element_id, "line": exc.line, "message": exc.message}


def _missing(req: Requirement, message: str) -> dict[str, Any]:
    return {"file": req.file, "element_id": req.decision_id, "line": None, "message": message}


def _check_requirement(req: Requirement, parsed: dict[str, DecisionTable]) -> list[dict]:
    found = parsed.get(req.decision_id)
    if found is None:
        return [_missing(req, f"缺少决策表 {req.decision_id}")]
    problems = []
    for name in req.inputs:
        if name not in found.inputs:
            problems.append(_missing(req, f"决策表 {req.decision_id} 缺少输入列 {name}"))
    for name in req.outputs:
        if name not in found.outputs:
            problems.append(_missing(req, f"决策表 {req.decision_id} 缺少输出列 {name}"))
    return problems


def _duplicates(by_file: dict[str, dict[str, DecisionTable]]) -> list[dict[str, Any]]:
    """Report decision ids defined in more than one file (handlers look decisions up by id)."""
    seen: dict[str, str] = {}
    problems = []
    for file, parsed in by_file.items():
        for decision_id in parsed:
            if decision_id in seen:
                message = f"决策表 {decision_id} 同时定义于 {seen[decision_id]} 和 {file}"
                problems.append(
                    {"file": file, "element_id": decision_id, "line": None, "message": message}
                )
            seen.setdefault(decision_id, file)
    return problems


@rule_validator
def validate(rules: RuleSet) -> list[dict[str, Any]]:
    """Check that every DMN file parses and every decision the handlers need exists."""
    problems: list[dict[str, Any]] = []
    by_file: dict[str, dict[str, DecisionTable]] = {}
    for name in sorted(rules.files):
        if not name.endswith(".dmn"):
            continue
        try:
            by_file[name] = parse_dmn(rules.files[name])
        except DmnError as exc:
            problems.append(_problem(name, exc))
    problems.extend(_duplicates(by_file))
    for req in _REQUIREMENTS:
        if req.file not in rules.files:
            problems.append(_missing(req, f"缺少规则文件 {req.file}"))
        elif req.file in by_file:
            problems.extend(_check_requirement(req, by_file[req.file]))
    return problems
