"""Shared evaluation of rule tables against reported figures, with explanations.

A band table scores one indicator (FIRST: the first matching row; COLLECT, or a multi-choice
input: the matched rows' points summed and capped at the indicator's maximum). A condition
table (COLLECT, outputs ``code`` and ``name``) lists every way to meet each condition; a
condition holds when any of its rows matches. Table inputs name form fields or the derived
ratios in :data:`DERIVED`, computed exactly (``Fraction``) and never rounded before banding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from handlers import figures as fields
from handlers.dmn import DecisionTable, Match, parse_literal, to_fraction
from handlers.rules import RuleSetVersion

Getter = Callable[[str], Any]


def ratio(top: Any, bottom: Any) -> Fraction | None:
    """Return top/bottom exactly; None when either is missing or the base is 0."""
    a, b = to_fraction(top), to_fraction(bottom)
    return None if a is None or b is None or b == 0 else a / b


def growth(current: Any, previous: Any) -> Fraction | None:
    """Return current/previous - 1; undefined (None) from a zero or missing base."""
    r = ratio(current, previous)
    return None if r is None else r - 1


# values a rule set's settings table (input ``item`` -> output ``value``) may give; the deploy
# check (engine/dmn_checks.py) refuses any other, which would silently fall back to the first
GROWTH_METHODS = {"mean": "两年增长率的算术平均", "cagr": "复合增长率"}
RD_EXPENSE_2Y = {"sum": "两年合计", "mean": "两年均值"}
TABLE_SETTINGS = {"growth_method": GROWTH_METHODS, "rd_expense_2y": RD_EXPENSE_2Y}


def growth_2y(get: Getter, method: str) -> Fraction | None:
    """Average growth over two years: mean of the yearly rates, or CAGR (setting)."""
    m1, m2, m3 = (get(f"main_revenue_y{y}") for y in (1, 2, 3))
    if method == "cagr":
        r = ratio(m1, m3)
        if r is None or r < 0:
            return None
        with localcontext() as context:
            context.prec = 40
            root = (Decimal(r.numerator) / Decimal(r.denominator)).sqrt()
        return Fraction(root) - 1
    g1, g2 = growth(m1, m2), growth(m2, m3)
    return None if g1 is None or g2 is None else (g1 + g2) / 2


def _both(a: Fraction | None, b: Fraction | None, combine: Callable[..., Any]) -> Any:
    return None if a is None or b is None else combine(a, b)


@dataclass(frozen=True)
class Derived:
    label: str
    unit: str  # "ratio" shows as a percentage
    uses: tuple[str, ...]
    compute: Callable[[Getter, Mapping[str, Any]], Fraction | None]


DERIVED: dict[str, Derived] = {
    "rd_ratio": Derived(
        "上年度研发费用占营业收入比重",
        "ratio",
        ("rd_expense_y1", "revenue_y1"),
        lambda g, s: ratio(g("rd_expense_y1"), g("revenue_y1")),
    ),
    "rd_ratio_min_2y": Derived(
        "近2年研发费用占营业收入比重（较低的一年）",
        "ratio",
        ("rd_expense_y1", "revenue_y1", "rd_expense_y2", "revenue_y2"),
        lambda g, s: _both(
            ratio(g("rd_expense_y1"), g("revenue_y1")),
            ratio(g("rd_expense_y2"), g("revenue_y2")),
            min,
        ),
    ),
    "rd_expense_avg_2y": Derived(
        "近2年研发费用总额均值",
        "万元",
        ("rd_expense_y1", "rd_expense_y2"),
        lambda g, s: _both(g("rd_expense_y1"), g("rd_expense_y2"), lambda a, b: (a + b) / 2),
    ),
    "rd_expense_2y": Derived(
        "近2年研发费用总额",
        "万元",
        ("rd_expense_y1", "rd_expense_y2"),
        lambda g, s: _both(
            g("rd_expense_y1"),
            g("rd_expense_y2"),
            lambda a, b: (a + b) / (2 if s.get("rd_expense_2y") == "mean" else 1),
        ),
    ),
    "main_revenue_share": Derived(
        "上年度主营业务收入占营业收入比重",
        "ratio",
        ("main_revenue_y1", "revenue_y1"),
        lambda g, s: ratio(g("main_revenue_y1"), g("revenue_y1")),
    ),
    "main_revenue_growth": Derived(
        "上年度主营业务收入增长率",
        "ratio",
        ("main_revenue_y1", "main_revenue_y2"),
        lambda g, s: growth(g("main_revenue_y1"), g("main_revenue_y2")),
    ),
    "main_revenue_growth_2y": Derived(
        "近2年主营业务收入平均增长率",
        "ratio",
        ("main_revenue_y1", "main_revenue_y2", "main_revenue_y3"),
        lambda g, s: growth_2y(g, str(s.get("growth_method") or "mean")),
    ),
    "debt_ratio": Derived(
        "上年末资产负债率",
        "ratio",
        ("liabilities_y1", "assets_y1"),
        lambda g, s: ratio(g("liabilities_y1"), g("assets_y1")),
    ),
    "net_margin": Derived(
        "上年度净利润率",
        "ratio",
        ("net_profit_y1", "revenue_y1"),
        lambda g, s: ratio(g("net_profit_y1"), g("revenue_y1")),
    ),
    "rd_staff_share": Derived(
        "研发人员占从业人员比重",
        "ratio",
        ("rd_staff", "employees"),
        lambda g, s: ratio(g("rd_staff"), g("employees")),
    ),
    "market_share": Derived(
        "主导产品全国细分市场占有率",
        "ratio",
        ("national_market_share",),
        lambda g, s: ratio(g("national_market_share"), 100),
    ),
}


def percent(value: Fraction) -> str:
    return f"{float(value * 100):.2f}%"


class Values:
    """Table inputs computed from reported figures: raw fields, derived ratios, extras."""

    def __init__(
        self,
        figures: Mapping[str, Any],
        settings: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.figures, self.settings = figures, settings or {}
        self.extra: dict[str, Any] = dict(extra or {})
        self._derived: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name in self.extra:
            return self.extra[name]
        if name in DERIVED:
            if name not in self._derived:
                self._derived[name] = DERIVED[name].compute(self._raw, self.settings)
            return self._derived[name]
        field = fields.FIELDS.get(name)
        if field is not None and field.kind == "boolean":
            return self.figures.get(name) is True  # an absent yes/no answer is "no"
        return self._raw(name)

    def _raw(self, name: str) -> Any:
        value = self.figures.get(name)
        field = fields.FIELDS.get(name)
        if field is not None and field.kind in {"number", "integer"}:
            return to_fraction(value)
        return value

    def is_flag(self, name: str) -> bool:
        field = fields.FIELDS.get(name)
        return (field is not None and field.kind == "boolean") or isinstance(
            self.extra.get(name), bool
        )

    def answered(self, name: str) -> bool:
        return self.is_flag(name) or self[name] is not None

    def label(self, name: str) -> str:
        if name in DERIVED:
            return DERIVED[name].label
        field = fields.FIELDS.get(name)
        return field.title if field else name

    def filled(self, name: str) -> bool:
        """Whether the figures behind `name` were given (a ratio of them may still be undefined:
        growth from a zero base)."""
        if name in DERIVED:
            return all(self.answered(u) for u in DERIVED[name].uses)
        return self.answered(name)

    def show(self, name: str) -> str | None:
        value = self[name]
        if name in DERIVED and value is not None:
            unit = DERIVED[name].unit
            return percent(value) if unit == "ratio" else fields.display("revenue_y1", value)
        if name in DERIVED and self.filled(name):  # e.g. growth from 0: the figures, not 未填
            given = "，".join(f"{self.label(u)} {self.show(u)}" for u in DERIVED[name].uses)
            return f"无法计算（{given}）"
        if name in self.extra and isinstance(value, bool):
            return "满足" if value else "不满足"
        return fields.display(name, value)

    def row(self, table: DecisionTable) -> dict[str, Any]:
        return {name: self[name] for name in table.inputs}

    def describe(self, names: list[str] | tuple[str, ...]) -> str:
        return "；".join(f"{self.label(n)}：{self.show(n) or '未填'}" for n in names)


def settings(version: RuleSetVersion, decision_id: str) -> dict[str, Any]:
    """Read a settings table (input ``item`` -> output ``value``) into a dict."""
    table = version.table(decision_id)
    return {parse_literal(rule.entries[0]): rule.outputs.get("value") for rule in table.rules}


def number(value: Any) -> int | float:
    """Return a table number as int when whole, else float (JSON-native)."""
    found = to_fraction(value) or Fraction(0)
    return found.numerator if found.denominator == 1 else float(found)


def _band_matches(table: DecisionTable, values: Values) -> tuple[list[Match], bool]:
    """Return the matching rows and whether the indicator sums several rows."""
    row = values.row(table)
    if len(table.inputs) == 1 and isinstance(row[table.inputs[0]], list):
        name = table.inputs[0]
        found = [table.first(**{name: item}) for item in row[name] if item != "none"]
        return [m for m in found if m is not None], True
    if table.hit_policy == "COLLECT":
        return table.evaluate(row), True
    return table.evaluate(row), False


def indicator(version: RuleSetVersion, indicator_id: str, meta: Match, values: Values) -> dict:
    """Score one indicator; when its data are missing it scores 0 and says so."""
    table = version.table(meta["decision"])
    data_inputs = [n for n in table.inputs if not values.is_flag(n)]
    maximum = number(meta["max"])
    result = {
        "id": indicator_id,
        "label": meta["label"],
        "group": meta["group"],
        "value": values.show(table.inputs[0])
        if len(table.inputs) == 1
        else values.describe(table.inputs),
        "band": None,
        "rule_id": None,
        "points": 0,
        "max": maximum,
        "missing": False,
    }
    if data_inputs and not any(values.answered(n) for n in data_inputs):
        return result | {"missing": True}
    matches, summed = _band_matches(table, values)
    if summed:
        total = sum((to_fraction(m["points"]) or Fraction(0) for m in matches), Fraction(0))
        return result | {
            "points": min(number(total), maximum),
            "band": "、".join(m["band"] for m in matches) or "无",
            "rule_id": ",".join(m.rule_id for m in matches) or None,
        }
    if not matches:
        return result | {"missing": True}
    return result | {
        "points": number(matches[0]["points"]),
        "band": matches[0]["band"],
        "rule_id": matches[0].rule_id,
    }


def indicators(version: RuleSetVersion, table_id: str, values: Values) -> list[dict[str, Any]]:
    """Score every indicator listed (in order) in an indicators table."""
    table = version.table(table_id)
    out = []
    for rule in table.rules:
        indicator_id = parse_literal(rule.entries[0])
        meta = Match(rule.id, rule.description, rule.outputs)
        out.append(indicator(version, indicator_id, meta, values))
    return out


def groups(version: RuleSetVersion, table_id: str, scored: list[dict[str, Any]]) -> dict:
    """Subtotal indicators per group, with each group's label and minimum from the table."""
    thresholds = version.table(table_id)
    out: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys(i["group"] for i in scored):
        row = thresholds.first(item=key)
        members = [i for i in scored if i["group"] == key]
        points = sum(i["points"] for i in members)
        minimum = number(row["min"]) if row else 0
        out[key] = {
            "label": row["label"] if row else key,
            "points": points,
            "max": sum(i["max"] for i in members),
            "min": minimum,
            "ok": points >= minimum,
        }
    return out


def pass_line(version: RuleSetVersion, table_id: str) -> int | float:
    row = version.table(table_id).first(item="total")
    return number(row["min"]) if row else 60


def conditions(table: DecisionTable, values: Values) -> list[dict[str, Any]]:
    """Evaluate a condition table: one entry per code, passed if any of its rows matched."""
    matched = {m.rule_id for m in table.evaluate(values.row(table))}
    found: dict[str, dict[str, Any]] = {}
    used: dict[str, list[str]] = {}
    for rule in table.rules:
        code = rule.outputs["code"]
        extra = {k: v for k, v in rule.outputs.items() if k != "code"}
        entry = found.setdefault(code, {"code": code, **extra, "passed": False, "rule_id": None})
        names = used.setdefault(code, [])
        names += [
            n
            for n, text in zip(table.inputs, rule.entries, strict=True)
            if text not in {"", "-"} and n not in names
        ]
        if rule.id in matched and not entry["passed"]:
            entry |= {"passed": True, "rule_id": rule.id}
    for code, entry in found.items():
        names = used[code]
        entry["value"] = values.describe(names)
        entry["missing"] = not entry["passed"] and any(not values.answered(n) for n in names)
    return list(found.values())


def failure(condition: dict[str, Any]) -> dict[str, Any]:
    """The failed-condition record: code, name, the value that failed it, missing flag."""
    return {
        "code": condition["code"],
        "name": condition["name"],
        "value": condition["value"],
        "missing": condition["missing"],
    }


def table_inputs(version: RuleSetVersion, decision_ids: list[str]) -> list[str]:
    """Every input column of the given tables (of indicator decisions too), in order."""
    names: list[str] = []
    for decision_id in decision_ids:
        table = version.tables.get(decision_id)
        for name in table.inputs if table else ():
            if name not in names:
                names.append(name)
    return names


def form_fields(version: RuleSetVersion, decision_ids: list[str]) -> dict[str, str]:
    """The form fields (name -> label) the given tables read, derived ratios expanded."""
    needed: dict[str, str] = {}
    for name in table_inputs(version, decision_ids):
        for field in DERIVED[name].uses if name in DERIVED else (name,):
            if field in fields.FIELDS:
                needed[field] = fields.FIELDS[field].title
            elif name not in DERIVED and field not in INTERNAL:
                needed[field] = field
    for field in fields.COMMON_FIELDS:
        needed.setdefault(field, fields.FIELDS[field].title)
    return needed


INTERNAL = {"innovation_ok", "indicator", "item"}  # computed by the handlers, not reported
