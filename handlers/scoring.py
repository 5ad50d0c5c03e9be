"""Scoring under the MIIT 创新型中小企业评价标准 (工信部企业〔2022〕63号 annex 1)."""

from __future__ import annotations

from typing import Any

from engine.registry import RuleSet, operator
from handlers import indicators as ind
from handlers import rule_forms
from handlers import rules as rule_tables

FILE = "rules/innovative_score.dmn"
DIRECT_INPUTS = (
    "sci_award_3y",
    "valid_honours",
    "provincial_rd_institution",
    "equity_financing_3y",
)
INDICATOR_TABLE = rule_tables.require(
    FILE, "inn_indicators", inputs=("indicator",), outputs=("label", "group", "max", "decision")
)
THRESHOLD_TABLE = rule_tables.require(
    FILE, "inn_thresholds", inputs=("item",), outputs=("label", "min")
)
DIRECT_TABLE = rule_tables.require(
    FILE, "inn_direct_conditions", inputs=DIRECT_INPUTS, outputs=("code", "name")
)
BAND_TABLES = {  # default decision of each indicator (inn_indicators may point elsewhere)
    "inn_ip_class": "ip_class",
    "inn_rd_ratio": "rd_ratio",
    "inn_main_revenue_growth": "main_revenue_growth",
    "inn_debt_ratio": "debt_ratio",
    "inn_strategic_field": "strategic_emerging",
    "inn_main_revenue_share": "main_revenue_share",
}
for _decision, _input in BAND_TABLES.items():
    rule_tables.require(FILE, _decision, inputs=(_input,), outputs=("points", "band"))


def score_decisions(version: rule_tables.RuleSetVersion, indicator_table: str) -> list[str]:
    """The band decisions an indicators table points to."""
    table = version.tables.get(indicator_table)
    return [rule.outputs["decision"] for rule in table.rules] if table else []


@rule_forms.needs_fields("innovative_score")
def needed_fields(version: rule_tables.RuleSetVersion) -> dict[str, str]:
    """Form fields the innovative rules read (indicator bands and direct conditions)."""
    return ind.form_fields(version, [*score_decisions(version, INDICATOR_TABLE), DIRECT_TABLE])


def _failures(score: float, pass_line: float, groups: dict[str, dict[str, Any]]) -> list[dict]:
    failed = []
    if score < pass_line:
        failed.append(
            {"code": "inn_total_score", "name": f"总分未达到{pass_line}分", "value": score}
        )
    for key, group in groups.items():
        if not group["ok"]:
            name = f"{group['label']}得分未达到{group['min']}分"
            failed.append({"code": f"inn_{key}_group", "name": name, "value": group["points"]})
    return failed


def direct(version: rule_tables.RuleSetVersion, table_id: str, values: ind.Values) -> list[dict]:
    """Evaluate a direct-conditions table; every condition with whether it held."""
    return [
        {"code": c["code"], "name": c["name"], "passed": c["passed"], "value": c["value"]}
        for c in ind.conditions(version.table(table_id), values)
    ]


@operator("scoring.score_innovative")
def score_innovative(
    *, figures: dict[str, Any], reference_on: str | None = None, rules: RuleSet
) -> dict[str, Any]:
    """Score an innovative-SME self-evaluation and decide whether it meets the standard.

    The tables are those in force on `reference_on` (the round's opening date).
    """
    version = rule_tables.in_force(rules, FILE, reference_on)
    values = ind.Values(figures or {})
    indicators = ind.indicators(version, INDICATOR_TABLE, values)
    score = sum(i["points"] for i in indicators)
    groups = ind.groups(version, THRESHOLD_TABLE, indicators)
    pass_line = ind.pass_line(version, THRESHOLD_TABLE)
    score_failures = _failures(score, pass_line, groups)
    conditions = direct(version, DIRECT_TABLE, values)
    met = [{"code": c["code"], "name": c["name"]} for c in conditions if c["passed"]]
    passed = not score_failures or bool(met)
    return {
        "tier": "innovative",
        "score": score,
        "groups": groups,
        "indicators": indicators,
        "missing": [i["id"] for i in indicators if i["missing"]],
        "pass_line": pass_line,
        "score_passed": not score_failures,
        "direct_conditions": conditions,
        "direct_conditions_met": met,
        "passed": passed,
        "basis": ("score" if not score_failures else "direct") if passed else None,
        "failed": [] if passed else score_failures,
        "ruleset": version.info(),
        "rule_version": rule_tables.rule_version(rules),
    }
