from fractions import Fraction

import pytest

from handlers.dmn import DmnError, parse_dmn, parse_literal, parse_tests

TABLE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="t" name="t">
  <decision id="d" name="测试">
    <decisionTable id="dt" hitPolicy="{policy}">
      <input id="i1">
        <inputExpression id="e1" typeRef="number"><text>x</text></inputExpression>
      </input>
      <output id="o1" name="points" typeRef="number" />
      <rule id="r1"><description>高</description>
        <inputEntry id="a1"><text>&gt;= 0.05</text></inputEntry>
        <outputEntry id="b1"><text>20</text></outputEntry></rule>
      <rule id="r2"><description>中</description>
        <inputEntry id="a2"><text>{cell}</text></inputEntry>
        <outputEntry id="b2"><text>15</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def table(policy="FIRST", cell="[0.03..0.05["):
    return parse_dmn(TABLE.format(policy=policy, cell=cell))["d"]


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [
        ("-", None, True),
        ("", "anything", True),
        ('"a"', "a", True),
        ('"a"', "b", False),
        ('"a","b"', "b", True),
        ("true", True, True),
        ("true", None, False),
        ("false", 0, False),
        ("< 0.01", Fraction(1, 100), False),
        ("<= 0.01", 0.01, True),
        ("> 5", 5, False),
        ("5", 5.0, True),
        ("[0.03..0.05[", Fraction(3, 100), True),
        ("[0.03..0.05[", Fraction(5, 100), False),
        ("[0.03..0.05)", Fraction(5, 100), False),
        ("]0.03..0.05]", Fraction(3, 100), False),
        ("]0.03..0.05]", Fraction(5, 100), True),
        ("(0.03..0.05]", Fraction(3, 100), False),
        (">= 1", None, False),
        (">= 1", True, False),
        (">= 1", "2", False),
    ],
)
def test_unary_tests(cell, value, expected):
    assert parse_tests(cell)(value) is expected


def test_comparisons_are_exact_not_binary_floating_point():
    assert parse_tests(">= 0.03")(Fraction(300, 10000))
    assert parse_tests(">= 0.3")(0.3)  # the float's decimal text, not its binary value
    assert parse_tests("[0.03..0.05[")(Fraction(5, 100)) is False


def test_output_literals():
    assert parse_literal('"中型"') == "中型"
    assert parse_literal("20") == 20
    assert parse_literal("0.5") == Fraction(1, 2)
    assert parse_literal("true") is True
    assert parse_literal("") is None


def test_first_hit_names_the_rule_and_description():
    match = table().first(x=Fraction(4, 100))
    assert (match.rule_id, match.description, match["points"]) == ("r2", "中", 15)


def test_no_match_returns_none():
    assert table().first(x=Fraction(1, 100)) is None


def test_unique_policy_refuses_overlapping_rules():
    with pytest.raises(DmnError, match="命中多条规则"):
        table("UNIQUE", ">= 0.01").first(x=1)


def test_collect_returns_every_match():
    assert [m.rule_id for m in table("COLLECT", ">= 0.01").evaluate({"x": 1})] == ["r1", "r2"]


def test_unparseable_cell_reports_rule_id_and_line():
    with pytest.raises(DmnError) as caught:
        table(cell="between 1 and 2")
    assert caught.value.element_id == "r2"
    assert caught.value.line == 13  # the inputEntry's line


def test_unsupported_hit_policy_is_refused():
    with pytest.raises(DmnError, match="命中策略"):
        table("PRIORITY")


def test_malformed_xml_reports_its_line():
    with pytest.raises(DmnError) as caught:
        parse_dmn("<definitions>\n<decision>\n</definitions>")
    assert caught.value.line is not None
