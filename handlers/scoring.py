"""Scoring under the MIIT 创新型中小企业评价标准 (工信部企业〔2022〕63号 annex 1)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from engine.registry import RuleSet, operator
from handlers import rules as rule_tables
from handlers.dmn import to_fraction

FILE = "rules/innovative_score.dmn"
Figures = dict[str, Any]


def _ratio(numerator: Any, denominator: Any) -> Fraction | None:
    """Return numerator/denominator exactly; None when either is missing or the base is 0."""
    top, bottom = to_fraction(numerator), to_fraction(denominator)
    if top is None or bottom is None or bottom == 0:
        return None
    return top / bottom


def _growth(current: Any, previous: Any) -> Fraction | None:
    ratio = _ratio(current, previous)
    return None if ratio is None else ratio - 1


# indicator id -> (table input name, how to compute it from the figures, optional input?)
INDICATORS: dict[str, tuple[str, Callable[[Figures], Any], bool]] = {
    "INN-1": ("ip_class", lambda f: f.get("ip_class"), False),
    "INN-2": ("rd_ratio", lambda f: _ratio(f.get("rd_expense_y1"), f.get("revenue_y1")), False),
    "INN-3": (
        "main_revenue_growth",
        lambda f: _growth(f.get("main_revenue_y1"), f.get("main_revenue_y2")),
        False,
    ),
    "INN-4": ("debt_ratio", lambda f: _ratio(f.get("liabilities_y1"), f.get("assets_y1")), False),
    "INN-5": ("strategic_emerging", lambda f: f.get("strategic_emerging"), True),
    "INN-6": (
        "main_revenue_share",
        lambda f: _ratio(f.get("main_revenue_y1"), f.get("revenue_y1")),
        False,
    ),
}
GROUPS = ("innovation", "growth", "specialization")
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
    "INN-1": "inn_ip_class",
    "INN-2": "inn_rd_ratio",
    "INN-3": "inn_main_revenue_growth",
    "INN-4": "inn_debt_ratio",
    "INN-5": "inn_strategic_field",
    "INN-6": "inn_main_revenue_share",
}
for _id, _decision in BAND_TABLES.items():
    rule_tables.require(FILE, _decision, inputs=(INDICATORS[_id][0],), outputs=("points", "band"))


def _number(value: Any) -> int | float:
    """Return a table number as int when whole, else float (JSON-native)."""
    number = to_fraction(value) or Fraction(0)
    return number.numerator if number.denominator == 1 else float(number)


def _display(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Fraction):
        return f"{float(value * 100):.2f}%"
    return str(value)


def _indicator(rules: RuleSet, indicator_id: str, figures: Figures) -> dict[str, Any]:
    """Score one indicator with its band table; missing inputs score 0 and are flagged."""
    meta = rule_tables.table(rules, INDICATOR_TABLE).first(indicator=indicator_id)
    if meta is None:
        raise ValueError(f"inn_indicators has no row for {indicator_id}")
    name, compute, optional = INDICATORS[indicator_id]
    value = compute(figures)
    match = None
    if value is not None or optional:
        match = rule_tables.table(rules, meta["decision"]).first(**{name: value})
    return {
        "id": indicator_id,
        "label": meta["label"],
        "group": meta["group"],
        "value": _display(value),
        "band": match["band"] if match else None,
        "rule_id": match.rule_id if match else None,
        "points": _number(match["points"]) if match else 0,
        "max": _number(meta["max"]),
        "missing": match is None,
    }


def _groups(rules: RuleSet, indicators: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    thresholds = rule_tables.table(rules, THRESHOLD_TABLE)
    groups = {}
    for group in GROUPS:
        row = thresholds.first(item=group)
        points = sum(i["points"] for i in indicators if i["group"] == group)
        minimum = _number(row["min"]) if row else 0
        label = row["label"] if row else group
        groups[group] = {"label": label, "points": points, "min": minimum, "ok": points >= minimum}
    return groups


def _direct(rules: RuleSet, figures: Figures) -> list[dict[str, str]]:
    values = {name: figures.get(name) for name in DIRECT_INPUTS}
    matches = rule_tables.table(rules, DIRECT_TABLE).evaluate(values)
    return [{"code": m["code"], "name": m["name"]} for m in matches]


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


@operator("scoring.score_innovative")
def score_innovative(*, figures: dict[str, Any], rules: RuleSet) -> dict[str, Any]:
    """Score an innovative-SME self-evaluation and decide whether it meets the standard."""
    figures = figures or {}
    indicators = [_indicator(rules, indicator_id, figures) for indicator_id in INDICATORS]
    score = sum(i["points"] for i in indicators)
    groups = _groups(rules, indicators)
    total = rule_tables.table(rules, THRESHOLD_TABLE).first(item="total")
    pass_line = _number(total["min"]) if total else 60
    score_failures = _failures(score, pass_line, groups)
    direct = _direct(rules, figures)
    passed = not score_failures or bool(direct)
    return {
        "score": score,
        "groups": groups,
        "indicators": indicators,
        "pass_line": pass_line,
        "score_passed": not score_failures,
        "direct_conditions_met": direct,
        "passed": passed,
        "basis": ("score" if not score_failures else "direct") if passed else None,
        "failed": [] if passed else score_failures,
        "rule_version": rule_tables.rule_version(rules),
    }
