"""A small DMN 1.3 decision-table evaluator with exact arithmetic and explanations.

Only what the rule tables need: input entries are simple unary tests (``-``, ``"text"``,
``true``/``false``, numbers, ``< 0.01``, ``>= 0.05``, intervals ``[0.03..0.05[``, comma lists);
hit policies FIRST, UNIQUE, ANY and COLLECT. Every evaluation names the rule that matched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from lxml import etree

HIT_POLICIES = {"FIRST", "UNIQUE", "ANY", "COLLECT"}
Test = Callable[[Any], bool]

_NUMBER = r"-?\d+(?:\.\d+)?"
_COMPARISON = re.compile(rf"^(<=|>=|<|>|=)\s*({_NUMBER})$")
_INTERVAL = re.compile(rf"^([\[\]\(])\s*({_NUMBER})\s*\.\.\s*({_NUMBER})\s*([\[\]\)])$")
_OPERATORS: dict[str, Callable[[Fraction, Fraction], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "=": lambda a, b: a == b,
}


class DmnError(ValueError):
    """A DMN file or cell that cannot be parsed or evaluated."""

    def __init__(self, message: str, *, element_id: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.element_id = element_id
        self.line = line


@dataclass(frozen=True)
class Rule:
    """One row of a decision table."""

    id: str
    description: str
    tests: tuple[Test, ...]
    outputs: Mapping[str, Any]
    line: int | None = None
    entries: tuple[str, ...] = ()  # the input cells' text, as written


@dataclass(frozen=True)
class Match:
    """The rule that matched an evaluation, with its outputs."""

    rule_id: str
    description: str
    outputs: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.outputs[name]


@dataclass(frozen=True)
class DecisionTable:
    """A parsed decision table: input variable names, output names, rules."""

    id: str
    name: str
    hit_policy: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    rules: tuple[Rule, ...]

    def evaluate(self, values: Mapping[str, Any]) -> list[Match]:
        """Return the matching rules according to the hit policy."""
        row = [values.get(name) for name in self.inputs]
        matches = [
            Match(rule.id, rule.description, rule.outputs)
            for rule in self.rules
            if all(test(value) for test, value in zip(rule.tests, row, strict=True))
        ]
        if self.hit_policy == "COLLECT":
            return matches
        if self.hit_policy == "UNIQUE" and len(matches) > 1:
            ids = ", ".join(m.rule_id for m in matches)
            raise DmnError(f"决策表 {self.id} 命中多条规则：{ids}", element_id=self.id)
        return matches[:1]

    def first(self, **values: Any) -> Match | None:
        """Evaluate and return the single match, or None when no rule applies."""
        matches = self.evaluate(values)
        return matches[0] if matches else None


def to_fraction(value: Any) -> Fraction | None:
    """Convert a JSON number (or numeric text) to an exact Fraction; None if not numeric."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Fraction | int):
        return Fraction(value)
    if isinstance(value, float | Decimal | str):
        try:
            return Fraction(str(value).strip())
        except (ValueError, ZeroDivisionError):
            return None
    return None


def parse_tests(text: str | None) -> Test:
    """Parse one input entry (a unary test or comma-separated list of them)."""
    text = (text or "").strip()
    if text in {"", "-"}:
        return lambda _value: True
    parts = [_single_test(part.strip()) for part in _split_list(text)]
    return lambda value: any(test(value) for test in parts)


def _split_list(text: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _single_test(text: str) -> Test:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        expected = text[1:-1]
        return lambda value: isinstance(value, str) and value == expected
    if text in {"true", "false"}:
        flag = text == "true"
        return lambda value: isinstance(value, bool) and value is flag
    if text == "null":
        return lambda value: value is None
    if re.fullmatch(_NUMBER, text):
        return _numeric("=", Fraction(text))
    if match := _COMPARISON.match(text):
        return _numeric(match[1], Fraction(match[2]))
    if match := _INTERVAL.match(text):
        return _interval(match[1], Fraction(match[2]), Fraction(match[3]), match[4])
    raise DmnError(f"无法解析的条件：{text}")


def _numeric(op: str, bound: Fraction) -> Test:
    compare = _OPERATORS[op]

    def test(value: Any) -> bool:
        number = to_fraction(value) if not isinstance(value, str) else None
        return number is not None and compare(number, bound)

    return test


def _interval(opening: str, low: Fraction, high: Fraction, closing: str) -> Test:
    low_test = _numeric(">=" if opening == "[" else ">", low)
    high_test = _numeric("<=" if closing == "]" else "<", high)
    return lambda value: low_test(value) and high_test(value)


def parse_literal(text: str | None) -> Any:
    """Parse an output entry: "text", number, true/false, or empty/null (None)."""
    text = (text or "").strip()
    if text in {"", "null", "-"}:
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    if text in {"true", "false"}:
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(_NUMBER, text):
        return Fraction(text)
    raise DmnError(f"无法解析的输出值：{text}")


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str) and _local(child) == name]


def _text(element: etree._Element, name: str) -> str:
    found = _children(element, name)
    return (found[0].text or "") if found else ""


def parse_dmn(xml: str) -> dict[str, DecisionTable]:
    """Parse every decision table of a DMN document, keyed by decision id."""
    try:
        root = etree.fromstring(xml.encode())
    except etree.XMLSyntaxError as exc:
        raise DmnError(f"XML 格式错误：{exc.msg}", line=exc.lineno) from None
    if _local(root) != "definitions":
        raise DmnError("根元素不是 DMN definitions", line=root.sourceline)
    tables = {}
    for decision in _children(root, "decision"):
        for table in _children(decision, "decisionTable"):
            parsed = _parse_table(decision, table)
            tables[parsed.id] = parsed
    return tables


def _parse_table(decision: etree._Element, table: etree._Element) -> DecisionTable:
    decision_id = decision.get("id", "")
    hit_policy = table.get("hitPolicy", "UNIQUE")
    if hit_policy not in HIT_POLICIES:
        raise DmnError(
            f"不支持的命中策略：{hit_policy}", element_id=decision_id, line=table.sourceline
        )
    inputs = tuple(
        _text(_children(col, "inputExpression")[0], "text").strip()
        if _children(col, "inputExpression")
        else ""
        for col in _children(table, "input")
    )
    outputs = tuple(col.get("name", "") for col in _children(table, "output"))
    rules = tuple(_parse_rule(rule, inputs, outputs) for rule in _children(table, "rule"))
    return DecisionTable(
        decision_id, decision.get("name", decision_id), hit_policy, inputs, outputs, rules
    )


def _parse_rule(rule: etree._Element, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> Rule:
    rule_id = rule.get("id", "")
    in_cells = _children(rule, "inputEntry")
    out_cells = _children(rule, "outputEntry")
    if len(in_cells) != len(inputs) or len(out_cells) != len(outputs):
        raise DmnError("规则的单元格数与列数不一致", element_id=rule_id, line=rule.sourceline)
    tests = tuple(_cell(cell, rule_id, parse_tests) for cell in in_cells)
    values = {
        name: _cell(cell, rule_id, parse_literal)
        for name, cell in zip(outputs, out_cells, strict=True)
    }
    description = _text(rule, "description").strip()
    entries = tuple(_text(cell, "text").strip() for cell in in_cells)
    return Rule(rule_id, description, tests, values, rule.sourceline, entries)


def _cell(cell: etree._Element, rule_id: str, parse: Callable[[str], Any]) -> Any:
    """Parse one cell's text, locating errors at the rule id and the cell's line."""
    try:
        return parse(_text(cell, "text"))
    except DmnError as exc:
        raise DmnError(exc.message, element_id=rule_id, line=cell.sourceline) from None
