"""Score preview: size class, eligibility and every tier's breakdown for one set of figures.

Nothing is stored; the API (`POST /api/v1/evaluations/preview`) and `tidu score` call
`preview_by_tier`, which scores each tier with the rule set of the procedure that decides it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.registry import RuleSet, operator
from handlers import eligibility, figures, little_giant, scoring, size_class, specialized
from handlers import indicators as ind
from handlers import rules as rule_tables
from handlers.dmn import DmnError, parse_literal
from handlers.rules import RuleSetNotInForceError
from handlers.scoring import score_innovative

TIERS = {
    "innovative": score_innovative,
    "specialized": specialized.score_specialized,
    "little_giant": little_giant.check_little_giant,
}
EXTRA_FIELDS = frozenset({"uscc", "evidence"})  # accepted, not figures
USCC_TITLE = "统一社会信用代码"
# tier -> (rule file, indicators table or None, condition tables) to name missing fields
TABLES: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "innovative": (scoring.FILE, scoring.INDICATOR_TABLE, ()),
    "specialized": (specialized.FILE, specialized.INDICATOR_TABLE, (specialized.CONDITIONS,)),
    "little_giant": (little_giant.FILE, None, (little_giant.CONDITIONS, little_giant.GENERAL)),
}


def _size(data: dict[str, Any], reference_on: str | None, ruleset: RuleSet) -> dict[str, Any]:
    return size_class.classify(
        industry=data.get("industry") or "",
        **{param: data.get(field) for param, field in figures.SIZE_FIELDS.items()},
        reference_on=reference_on,
        rules=ruleset,
    )


def _eligibility(
    data: dict[str, Any],
    size: str,
    uscc: str | None,
    evaluated_on: str,
    reference_on: str | None,
    ruleset: RuleSet,
) -> dict[str, Any]:
    result = eligibility.check(
        uscc=uscc or "",
        size_class=size,
        **{name: data.get(name) for name in figures.ELIGIBILITY_FIELDS},
        ban_until=None,
        evaluated_on=evaluated_on,
        reference_on=reference_on,
        rules=ruleset,
    )
    return result | {"missing": [] if uscc else ["uscc"]}


def _tiers(selected: str | list[str]) -> list[str]:
    if selected == "all" or selected is None:
        return list(TIERS)
    chosen = [selected] if isinstance(selected, str) else list(selected)
    return [tier for tier in TIERS if tier in chosen]


@operator("evaluation.preview")
def preview(
    *,
    figures: dict[str, Any],
    tiers: str | list[str] = "all",
    uscc: str | None = None,
    reference_on: str | None = None,
    evaluated_on: str,
    rules: RuleSet,
) -> dict[str, Any]:
    """Evaluate form figures for the chosen tiers without starting a case.

    Returns ``{"invalid": {field: [message]}}`` instead when a value is of the wrong type,
    negative, out of range or impossible (e.g. main revenue above revenue), or when no rule
    set is in force on `reference_on`.
    """
    data = figures or {}
    invalid = figures_check(data)
    if invalid:
        return {"invalid": invalid}
    uscc = uscc or data.get("uscc")
    try:
        size = _size(data, reference_on, rules)
        elig = _eligibility(data, size["size_class"], uscc, evaluated_on, reference_on, rules)
        results = {
            tier: TIERS[tier](figures=data, reference_on=reference_on, rules=rules)
            for tier in _tiers(tiers)
        }
    except RuleSetNotInForceError as error:
        return {"invalid": {"reference_on": [error.message]}}
    except DmnError as error:  # a deployment from before this rule format, or a broken table
        return {"invalid": {"rules": [f"规则集无效，请重新部署 processes/：{error.message}"]}}
    except ValueError as error:
        return {"invalid": {"reference_on": [str(error)]}}
    for result in results.values():
        result["qualifies"] = elig["eligible"] and result["passed"]
    _name_missing(data, size, elig, results, reference_on, rules)
    used = [size["ruleset"], elig["ruleset"], *(r["ruleset"] for r in results.values())]
    return {
        "reference_on": reference_on,
        "evaluated_on": evaluated_on,
        "size": size,
        "eligibility": elig,
        "tiers": results,
        "rulesets": used,
        "rule_version": rules.checksum[:12] if rules.files else None,
    }


def preview_by_tier(
    *,
    tiers: str | list[str] = "all",
    rules_of: Callable[[str], tuple[RuleSet, Any]],
    **arguments: Any,
) -> dict[str, Any]:
    """`preview` of each chosen tier with its own rule set (`rules_of(tier)` gives the set and a
    description of where it came from, returned as the tier's `rules_source`).

    Size class and eligibility are those of the first chosen tier's rule set; each tier's
    `qualifies` uses its own. The top-level `rules_source` is the first tier's.
    """
    chosen = _tiers(tiers)
    sources = {tier: rules_of(tier) for tier in chosen}
    runs = {tier: preview(tiers=[tier], rules=sources[tier][0], **arguments) for tier in chosen}
    for run in runs.values():
        if "invalid" in run:
            return run
    merged: dict[str, Any] = {**runs[chosen[0]], "tiers": {}, "rulesets": []}
    for tier, run in runs.items():
        merged["tiers"][tier] = run["tiers"][tier] | {"rules_source": sources[tier][1]}
        merged["rulesets"] += [r for r in run["rulesets"] if r not in merged["rulesets"]]
    merged["rules_source"] = sources[chosen[0]][1]
    return merged


def _name_missing(
    data: dict[str, Any],
    size: dict[str, Any],
    elig: dict[str, Any],
    results: dict[str, dict[str, Any]],
    reference_on: str | None,
    rules: RuleSet,
) -> None:
    """Add `missing_fields` (field, Chinese title) next to each part's `missing` codes."""
    size["missing_fields"] = _named(data, [figures.SIZE_FIELDS[name] for name in size["missing"]])
    elig["missing_fields"] = [{"field": "uscc", "title": USCC_TITLE}] if elig["missing"] else []
    for tier, result in results.items():
        version = rule_tables.in_force(rules, TABLES[tier][0], reference_on)
        result["missing_fields"] = _tier_missing_fields(data, tier, result, version)


def _named(data: dict[str, Any], names: list[str]) -> list[dict[str, str]]:
    """The reported fields behind table inputs (derived ratios expanded) left blank."""
    values, out = ind.Values(data), {}
    for name in names:
        for field in ind.DERIVED[name].uses if name in ind.DERIVED else (name,):
            if field in figures.FIELDS and not values.answered(field):
                out.setdefault(field, figures.FIELDS[field].title)
    return [{"field": field, "title": title} for field, title in out.items()]


def _item_inputs(version: rule_tables.RuleSetVersion, tier: str, code: str) -> list[str]:
    """The table inputs an indicator (by id) or a condition (by code) reads."""
    _, indicator_table, condition_tables = TABLES[tier]
    names: list[str] = []
    for rule in version.table(indicator_table).rules if indicator_table else ():
        if parse_literal(rule.entries[0]) == code:
            names += version.table(rule.outputs["decision"]).inputs
    for table in (version.table(t) for t in condition_tables):
        for rule in (r for r in table.rules if r.outputs.get("code") == code):
            used = zip(table.inputs, rule.entries, strict=True)
            names += [n for n, text in used if text not in {"", "-"}]
    return names


def _tier_missing_fields(
    data: dict[str, Any], tier: str, result: dict[str, Any], version: rule_tables.RuleSetVersion
) -> list[dict[str, str]]:
    """Name (field, Chinese title) the blank fields behind a tier's `missing` codes."""
    general = (result.get("innovation") or {}).get("general") or []
    codes = [*result["missing"], *(c["code"] for c in general if c["missing"])]
    return _named(data, [name for code in codes for name in _item_inputs(version, tier, code)])


def figures_check(data: dict[str, Any]) -> dict[str, list[str]]:
    """Check submitted form values (types, ranges, impossible combinations)."""
    return figures.check(data, allowed=EXTRA_FIELDS)


def form(tier: str) -> dict[str, Any]:
    """Return the generated self-evaluation form of a tier (see `FORMS`)."""
    title, description, names, optional = FORMS[tier]
    return figures.form_schema(title, description, names, optional)


FORMS: dict[str, tuple[str, str, list[str], set[str]]] = {
    "specialized": (
        "专精特新中小企业申请表（自评）",
        "企业申请专精特新中小企业认定时填写；金额单位为万元，比例由系统计算。"
        "“上年度”指评价日前最近一个完整会计年度。",
        [
            *figures.COMMON_FIELDS,
            "liabilities_y1",
            "net_profit_y1",
            "main_revenue_y1",
            "main_revenue_y2",
            "main_revenue_y3",
            "rd_expense_y1",
            "rd_expense_y2",
            "rd_staff",
            "niche_years",
            "product_field",
            "digital_level",
            "quality_award",
            "quality_certified",
            "own_brand",
            "standard_setting",
            "jx_industry",
            "jx_operations",
            "jx_product",
            "ip_class",
            "rd_institution_level",
            "provincial_award_rank_3y",
            "national_award_rank_3y",
            "equity_financing_2y",
            "maker_china_top500_3y",
        ],
        {"provincial_award_rank_3y", "national_award_rank_3y"},
    ),
    "little_giant": (
        "专精特新“小巨人”企业申请表（自评）",
        "企业申请专精特新“小巨人”企业认定时填写；金额单位为万元，比例由系统计算。"
        "“上年度”指评价日前最近一个完整会计年度。",
        [
            *figures.COMMON_FIELDS,
            "revenue_y2",
            "liabilities_y1",
            "main_revenue_y1",
            "main_revenue_y2",
            "main_revenue_y3",
            "rd_expense_y1",
            "rd_expense_y2",
            "rd_staff",
            "niche_years",
            "info_system",
            "management_system_certified",
            "intl_product_certified",
            "national_market_share",
            "own_brand",
            "rd_institution_level",
            "class1_ip_applied",
            "equity_financing_2y",
            "national_award_rank_3y",
            "maker_china_top50_3y",
            "chain_key_role",
            "key_field",
        ],
        {"national_award_rank_3y"},
    ),
}
