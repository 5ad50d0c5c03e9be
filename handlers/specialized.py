"""专精特新中小企业认定标准 (工信部企业〔2022〕63号 annex 2) with Jiangxi's 特色化 annex."""

from __future__ import annotations

from typing import Any

from engine.registry import RuleSet, operator
from handlers import indicators as ind
from handlers import rule_forms
from handlers import rules as rule_tables
from handlers.scoring import direct, score_decisions

FILE = "rules/specialized_score.dmn"
SETTINGS = rule_tables.require(FILE, "sp_settings", inputs=("item",), outputs=("value",))
CONDITIONS = rule_tables.require(FILE, "sp_conditions", outputs=("code", "name"))
DIRECT_TABLE = rule_tables.require(FILE, "sp_direct_conditions", outputs=("code", "name"))
THRESHOLD_TABLE = rule_tables.require(
    FILE, "sp_thresholds", inputs=("item",), outputs=("label", "min")
)
INDICATOR_TABLE = rule_tables.require(
    FILE, "sp_indicators", inputs=("indicator",), outputs=("label", "group", "max", "decision")
)


@rule_forms.needs_fields("specialized_score")
def needed_fields(version: rule_tables.RuleSetVersion) -> dict[str, str]:
    """Form fields the specialized rules read (indicators, conditions, direct conditions)."""
    decisions = [*score_decisions(version, INDICATOR_TABLE), CONDITIONS, DIRECT_TABLE]
    return ind.form_fields(version, decisions)


def _score_condition(
    score: float, pass_line: float, score_passed: bool, met: list[dict[str, Any]]
) -> dict[str, Any]:
    """认定条件（四）: the score reaches the pass line, or any direct condition holds."""
    held = "、".join(d["name"] for d in met) or "无"
    return {
        "code": "sp_score_or_direct",
        "name": f"评价得分达到{pass_line}分以上，或满足任一直通条件",
        "passed": score_passed or bool(met),
        "rule_id": None,
        "value": f"评分：{score}分（总分线{pass_line}分）；满足的直通条件：{held}",
        "missing": False,
    }


@operator("scoring.score_specialized")
def score_specialized(
    *, figures: dict[str, Any], reference_on: str | None = None, rules: RuleSet
) -> dict[str, Any]:
    """Check the 专精特新 conditions and score the 13 indicators (特色化 per Jiangxi's annex).

    The tables are those in force on `reference_on` (the round's opening date).
    """
    version = rule_tables.in_force(rules, FILE, reference_on)
    values = ind.Values(figures or {}, ind.settings(version, SETTINGS))
    indicators = ind.indicators(version, INDICATOR_TABLE, values)
    score = sum(i["points"] for i in indicators)
    groups = ind.groups(version, THRESHOLD_TABLE, indicators)
    pass_line = ind.pass_line(version, THRESHOLD_TABLE)
    score_passed = score >= pass_line and all(g["ok"] for g in groups.values())
    direct_conditions = direct(version, DIRECT_TABLE, values)
    met = [{"code": c["code"], "name": c["name"]} for c in direct_conditions if c["passed"]]
    conditions = ind.conditions(version.table(CONDITIONS), values)
    conditions.append(_score_condition(score, pass_line, score_passed, met))
    failed = [ind.failure(c) for c in conditions if not c["passed"]]
    missing = [i["id"] for i in indicators if i["missing"]]
    return {
        "tier": "specialized",
        "score": score,
        "groups": groups,
        "indicators": indicators,
        "missing": missing + [c["code"] for c in conditions if c["missing"]],
        "pass_line": pass_line,
        "score_passed": score_passed,
        "conditions": conditions,
        "direct_conditions": direct_conditions,
        "direct_conditions_met": met,
        "passed": not failed,
        "basis": ("score" if score_passed else "direct") if not failed else None,
        "failed": failed,
        "ruleset": version.info(),
        "rule_version": rule_tables.rule_version(rules),
    }
