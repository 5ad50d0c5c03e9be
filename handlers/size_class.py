"""SME size classification under 《中小企业划型标准规定》 (工信部联企业〔2011〕300号)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from engine.registry import RuleSet, operator
from handlers import rules as rule_tables
from handlers.dmn import Match, to_fraction

FILE = "rules/size_class.dmn"
FIGURES = {
    "employees": ("从业人员", "人"),
    "revenue": ("营业收入", "万元"),
    "assets": ("资产总额", "万元"),
}
LEVELS = ("large", "medium", "small")
LEVEL_LABELS = {"large": "大型", "medium": "中型", "small": "小型"}
CLASSES = {  # level reached -> size class
    "large": "not_sme",
    "medium": "medium",
    "small": "small",
    None: "micro",
}
CLASS_LABELS = {
    "medium": "中型",
    "small": "小型",
    "micro": "微型",
    "not_sme": "非中小企业",
    "undetermined": "无法判定",
}
DECISION = rule_tables.require(
    FILE,
    "size_thresholds",
    inputs=("industry",),
    outputs=("industry_label", *(f"{lv}_{fig}" for lv in LEVELS for fig in FIGURES)),
)


def _thresholds(match: Match, level: str) -> dict[str, Fraction]:
    """Return the figures a level uses, with their lower bounds (empty cells are unused)."""
    found = {fig: match.outputs.get(f"{level}_{fig}") for fig in FIGURES}
    return {fig: Fraction(bound) for fig, bound in found.items() if bound is not None}


def _format(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def _reaches(figures: dict[str, Fraction], bounds: dict[str, Fraction]) -> tuple[bool, list[str]]:
    """Tell whether every bound is reached (≥), with one explanation line per figure."""
    lines = []
    for fig, bound in bounds.items():
        label, unit = FIGURES[fig]
        sign = "≥" if figures[fig] >= bound else "<"
        lines.append(f"{label} {_format(figures[fig])}{unit} {sign} {_format(bound)}{unit}")
    return all(figures[fig] >= bound for fig, bound in bounds.items()), lines


def _result(
    size_class: str,
    industry_label: str | None,
    basis: list[str],
    missing: list[str],
    rules: RuleSet,
    version: rule_tables.RuleSetVersion,
) -> dict[str, Any]:
    return {
        "size_class": size_class,
        "size_class_label": CLASS_LABELS[size_class],
        "industry_label": industry_label,
        "basis": basis,
        "missing": missing,
        "ruleset": version.info(),
        "rule_version": rule_tables.rule_version(rules),
    }


def _classify(match: Match, figures: dict[str, Fraction]) -> tuple[str, list[str]]:
    """Walk the levels from large down; the first whose lower bounds all hold decides."""
    basis = []
    for level in LEVELS:
        reached, lines = _reaches(figures, _thresholds(match, level))
        verdict = "全部达到" if reached else "未全部达到"
        basis.append(f"{LEVEL_LABELS[level]}下限{verdict}：" + "；".join(lines))
        if reached:
            return CLASSES[level], basis
    basis.append("未达到小型下限，划为微型")
    return CLASSES[None], basis


@operator("size_class.classify")
def classify(
    *,
    industry: str,
    employees: int | None = None,
    revenue: float | None = None,
    assets: float | None = None,
    reference_on: str | None = None,
    rules: RuleSet,
) -> dict[str, Any]:
    """Classify an enterprise as medium, small, micro or not an SME (第四条 划型)."""
    version = rule_tables.in_force(rules, FILE, reference_on)
    match = version.table(DECISION).first(industry=industry)
    if match is None:
        basis = [f"未知行业：{industry}"]
        return _result("undetermined", None, basis, ["industry"], rules, version)
    values = {"employees": employees, "revenue": revenue, "assets": assets}
    used = [fig for fig in FIGURES if any(fig in _thresholds(match, lv) for lv in LEVELS)]
    figures = {fig: to_fraction(values[fig]) for fig in used}
    missing = [fig for fig, value in figures.items() if value is None]
    label = match.outputs.get("industry_label")
    if missing:
        names = "、".join(FIGURES[fig][0] for fig in missing)
        basis = [f"缺少{names}，无法划型"]
        return _result("undetermined", label, basis, missing, rules, version)
    size_class, basis = _classify(match, {fig: v for fig, v in figures.items() if v is not None})
    basis = [f"行业：{label}（规则 {match.rule_id}）", *basis]
    return _result(size_class, label, basis, [], rules, version)
