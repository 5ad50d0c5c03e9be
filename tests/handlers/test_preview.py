"""The score preview: validation of form values, missing data, tier selection."""

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "docs/examples"


def example(tier):
    return json.loads((EXAMPLES / f"score-{tier}.json").read_text("utf-8"))


def run(call, figures, **kwargs):
    return call(
        "evaluation.preview",
        figures=figures,
        evaluated_on="2025-09-01",
        reference_on="2025-09-01",
        **kwargs,
    )


@pytest.mark.parametrize("tier", ["innovative", "specialized", "little_giant"])
def test_each_example_file_qualifies_for_its_tier(call, tier):
    result = run(call, example(tier), tiers=tier)
    assert list(result["tiers"]) == [tier]
    assert result["size"]["size_class"] == "small"
    assert result["eligibility"]["eligible"] is True
    assert result["tiers"][tier]["qualifies"] is True
    assert {r["standard"] for r in result["rulesets"]} >= {"size_class", "eligibility"}
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"revenue_y1": -1}, "revenue_y1", "不能小于 0"),
        ({"employees": 12.5}, "employees", "应为整数"),
        ({"niche_years": "seven"}, "niche_years", "应为整数"),
        ({"national_market_share": 100.5}, "national_market_share", "不能大于 100"),
        ({"national_award_rank_3y": 0}, "national_award_rank_3y", "不能小于 1"),
        (
            {"main_revenue_y1": 9000, "revenue_y1": 8000},
            "main_revenue_y1",
            "主营业务收入不能大于营业收入",
        ),
        ({"rd_staff": 300, "employees": 200}, "rd_staff", "研发人员不能多于从业人员"),
        ({"jx_operations": ["none", "listed"]}, "jx_operations", "“不属于”不能与其他选项同时选择"),
        ({"jx_operations": "listed"}, "jx_operations", "应为选项列表"),
        ({"industry": "mining"}, "industry", "不是允许的取值"),
        ({"own_brand": "yes"}, "own_brand", "应为是/否（true/false）"),
        ({"revenue": 100}, "revenue", "包含表单中不存在的字段"),
    ],
)
def test_bad_values_are_refused_naming_the_field(call, changes, field, message):
    result = run(call, example("specialized") | changes)
    assert result == {"invalid": {field: [message]}}


def test_missing_indicators_are_explicit_not_silent_zeros(call):
    result = run(call, {"industry": "industry", "employees": 50, "revenue_y1": 1000})
    innovative = result["tiers"]["innovative"]
    assert innovative["missing"] == ["INN-1", "INN-2", "INN-3", "INN-4", "INN-6"]
    assert result["eligibility"]["missing"] == ["uscc"]
    assert result["size"]["size_class"] == "small"
    assert "lg_market_share" in result["tiers"]["little_giant"]["missing"]


def test_undetermined_size_fails_eligibility_by_name(call):
    result = run(call, example("innovative") | {"employees": None})
    assert result["size"]["size_class"] == "undetermined"
    assert [f["code"] for f in result["eligibility"]["failed"]] == ["elig_sme"]
    assert result["tiers"]["innovative"]["passed"] is True
    assert result["tiers"]["innovative"]["qualifies"] is False
