"""Score preview: size class, eligibility and every tier's breakdown for one set of figures.

Nothing is stored; the API (`POST /api/v1/evaluations/preview`) and `tidu score` call
`preview_by_tier`, which scores each tier with the rule set of the procedure that decides it.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree

from engine.registry import RuleSet, operator, rule_validator
from handlers import eligibility, figures, little_giant, scoring, size_class, specialized
from handlers import indicators as ind
from handlers import rules as rule_tables
from handlers.dmn import DmnError, parse_literal
from handlers.rules import RuleSetNotInForceError
from handlers.scoring import score_innovative
from handlers.uscc import make_uscc

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
        if unknown := _unknown_industry(data, size):
            return {"invalid": {"industry": [unknown]}}
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


def _unknown_industry(data: dict[str, Any], size: dict[str, Any]) -> str | None:
    """Why an industry the rule set has no 划型 row for cannot be previewed (a deployment whose
    size table lacks an industry the form offers), or None."""
    industry = data.get("industry")
    if not industry or "industry" not in size["missing"]:
        return None
    label = figures.FIELDS["industry"].choice_label(industry) or industry
    return (
        f"所用规则集（{size['ruleset']['name']}，{size['ruleset']['file']}）中没有行业"
        f"“{label}”的划型标准，无法划型；请联系流程负责人补充规则表"
    )


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
    names = [figures.SIZE_FIELDS.get(name, name) for name in size["missing"]]  # or "industry"
    size["missing_fields"] = _named(data, names)
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


# -- deploy: run the rule-based operators as a case will -------------------------------------------

Call = Callable[[RuleSet, str], Any]


def _sample_figures(index: int) -> dict[str, Any]:
    """Form figures with every field answered, the `index`-th choice and size of each."""
    sizes = (0, 1, 10, 100, 1000, 100_000)
    sample: dict[str, Any] = {}
    for name, field in figures.FIELDS.items():
        if field.kind in {"number", "integer"}:
            value = max(sizes[index % len(sizes)], field.minimum or 0)
            sample[name] = min(value, field.maximum) if field.maximum is not None else value
        elif field.kind == "boolean":
            sample[name] = index % 2 == 0
        elif field.choices:
            code = field.choices[index % len(field.choices)][0]
            sample[name] = [code] if field.kind == "multi" else code
    return sample


SAMPLES = [{}, *(_sample_figures(i) for i in range(6))]  # {}: nothing answered


def _size_calls() -> Iterator[tuple[str, Call]]:
    for code, _ in figures.FIELDS["industry"].choices:
        for sample in SAMPLES:
            yield (
                "size_class.classify",
                lambda rules, day, code=code, sample=sample: _size(
                    sample | {"industry": code}, day, rules
                ),
            )


def _eligibility_calls() -> Iterator[tuple[str, Call]]:
    uscc = make_uscc("91360102MA0000001")
    for sample in SAMPLES[:2]:
        yield (
            "eligibility.check",
            lambda rules, day, sample=sample: _eligibility(sample, "small", uscc, day, day, rules),
        )


def _tier_calls(tier: str) -> Callable[[], Iterator[tuple[str, Call]]]:
    name = {"innovative": "scoring.score_innovative", "specialized": "scoring.score_specialized",
            "little_giant": "scoring.check_little_giant"}[tier]  # fmt: skip

    def calls() -> Iterator[tuple[str, Call]]:
        for sample in SAMPLES:
            yield (
                name,
                lambda rules, day, sample=sample: TIERS[tier](
                    figures=sample, reference_on=day, rules=rules
                ),
            )

    return calls


# standard -> the calls a case makes of the operators that read it
RUNS: dict[str, Callable[[], Iterator[tuple[str, Call]]]] = {
    rule_tables.standard_of(size_class.FILE): _size_calls,
    rule_tables.standard_of(eligibility.FILE): _eligibility_calls,
    **{rule_tables.standard_of(TABLES[tier][0]): _tier_calls(tier) for tier in TIERS},
}


def _checked_elsewhere(version: rule_tables.RuleSetVersion, text: str) -> bool:
    """Whether another deploy check already refuses this file (missing decisions or columns,
    cell values): its run-time failure would say the same again."""
    if rule_tables.requirement_problems(version):
        return True
    try:
        static = importlib.import_module("engine.dmn_checks").check({version.file: text})
    except ImportError:  # pragma: no cover - the engine is always installed with its handlers
        static = []
    return bool(static)


@rule_validator
def runs_as_a_case_will(rules: RuleSet) -> list[dict[str, Any]]:
    """Load each version of each standard as the operators do when a case reaches them
    (`rules.in_force`, then the tables its rows name) and run them on sample figures: what
    they refuse at run time (a decision the indicator list names that the file lacks, a rule
    hit twice in a UNIQUE table, a cell of the wrong type …) is refused at deploy, naming the
    file, the element that causes it and its line."""
    if rules.checksum not in _RUNS_CHECKED:  # the same rule set is validated again and again
        if len(_RUNS_CHECKED) >= 16:
            _RUNS_CHECKED.pop(next(iter(_RUNS_CHECKED)))
        _RUNS_CHECKED[rules.checksum] = _run_each_version(rules)
    return [dict(found) for found in _RUNS_CHECKED[rules.checksum]]


_RUNS_CHECKED: dict[str, list[dict[str, Any]]] = {}  # rule set checksum -> problems


def _run_each_version(rules: RuleSet) -> list[dict[str, Any]]:
    by_standard, _ = rule_tables.versions_by_standard(rules)
    problems: list[dict[str, Any]] = []
    for standard, versions in sorted(by_standard.items()):
        runs = RUNS.get(standard)
        usable = {v.file: v for v in versions if not _checked_elsewhere(v, rules.files[v.file])}
        if runs is None or not usable:
            continue
        subset = RuleSet({name: rules.files[name] for name in usable})
        for version in usable.values():
            day = version.effective_from.isoformat()
            for name, call in runs():
                try:
                    call(subset, day)
                except RuleSetNotInForceError:
                    break  # overlapping versions: reported by the rule validator
                except Exception as error:  # what a case would meet at this step
                    problems.append(_run_problem(version, rules.files[version.file], name, error))
                    break
    return problems


def _run_problem(
    version: rule_tables.RuleSetVersion, text: str, operator_name: str, error: Exception
) -> dict[str, Any]:
    """A run-time refusal as a deploy problem: at the element it names, or at the cell that
    names what is missing (with the closest decision of the file)."""
    element, line, where = None, None, ""
    if isinstance(error, DmnError):
        detail = error.message
        element, line = error.element_id, error.line
    else:
        detail = f"技术细节：{type(error).__name__}: {error}"
    root = etree.fromstring(text.encode())
    if element and not root.xpath("//*[@id=$i]", i=element):
        cells = root.xpath("//*[local-name()='text'][normalize-space(.)=$t]", t=f'"{element}"')
        rules_of = (
            a for c in cells for a in c.iterancestors() if etree.QName(a).localname == "rule"
        )
        rule = next(rules_of, None)
        guess = difflib.get_close_matches(element, list(version.tables), n=1)
        hint = f"是否应为 {guess[0]}？" if guess else ""
        if cells and rule is not None:
            where = f"（规则 {rule.get('id')} 引用了它）。{hint}"
            element, line = rule.get("id"), cells[0].sourceline
        else:
            where, element = f"。{hint}", None
    message = (
        f"按案件运行时的方式加载规则集并试算 {operator_name}（{version.name}，"
        f"{version.effective_from} 起施行）时出错：{detail}{where or '。'}"
        "部署后，运行到这一步的案件都会失败"
    )
    return {"file": version.file, "element_id": element, "line": line, "message": message}
