"""小巨人: every condition at its threshold, one unit below and above; every failed name."""

import json
from pathlib import Path

import pytest

EXAMPLE = json.loads(
    (Path(__file__).parents[2] / "docs/examples/score-little_giant.json").read_text("utf-8")
)
CODES = [
    "lg_niche_years",
    "lg_main_revenue_share",
    "lg_main_revenue_growth",
    "lg_info_system",
    "lg_certification",
    "lg_debt_ratio",
    "lg_market_share",
    "lg_own_brand",
    "lg_innovation",
    "lg_chain_role",
    "lg_key_field",
]


def check(call, **changes):
    figures = {k: v for k, v in (EXAMPLE | changes).items() if v is not None}
    return call("scoring.check_little_giant", figures=figures)


def failed(result):
    return [f["code"] for f in result["failed"]]


def test_example_meets_every_condition(call):
    result = check(call)
    assert [c["code"] for c in result["conditions"]] == CODES
    assert (result["passed"], result["failed"], result["basis"]) == (True, [], "conditions")
    assert result["innovation"]["basis"] == "general"
    assert set(result["groups"]) == {
        "specialization",
        "refinement",
        "characteristic",
        "innovation",
        "chain",
        "field",
    }
    assert result["ruleset"]["name"].startswith("专精特新“小巨人”")
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize(
    ("changes", "passes"),
    [({"niche_years": 3}, True), ({"niche_years": 2}, False), ({"niche_years": 4}, True)],
)
def test_lg1a_niche_years(call, changes, passes):
    assert failed(check(call, **changes)) == ([] if passes else ["lg_niche_years"])


@pytest.mark.parametrize(("main", "passes"), [(7000, True), (6999, False), (7001, True)])
def test_lg1b_main_revenue_share(call, main, passes):
    result = check(
        call,
        main_revenue_y1=main,
        revenue_y1=10000,
        revenue_y2=9000,
        rd_expense_y1=400,
        rd_expense_y2=400,
        main_revenue_y2=6000,
        main_revenue_y3=5000,
    )
    assert failed(result) == ([] if passes else ["lg_main_revenue_share"])


@pytest.mark.parametrize(("y1", "passes"), [(11000, True), (10998, False), (11002, True)])
def test_lg1c_two_year_average_growth_of_five_percent(call, y1, passes):
    # y3 -> y2: 0 %, y2 -> y1: 10 % -> mean 5 %
    result = check(call, main_revenue_y1=y1, main_revenue_y2=10000, main_revenue_y3=10000)
    assert failed(result) == ([] if passes else ["lg_main_revenue_growth"])


@pytest.mark.parametrize(("liabilities", "passes"), [(7000, True), (7001, False), (6999, True)])
def test_lg2c_debt_ratio_not_above_seventy_percent(call, liabilities, passes):
    result = check(call, liabilities_y1=liabilities, assets_y1=10000)
    assert failed(result) == ([] if passes else ["lg_debt_ratio"])


@pytest.mark.parametrize(("share", "passes"), [(10, True), (9.99, False), (10.01, True)])
def test_lg3a_national_market_share(call, share, passes):
    assert failed(check(call, national_market_share=share)) == (
        [] if passes else ["lg_market_share"]
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"info_system": False}, "lg_info_system"),
        (
            {"management_system_certified": False, "intl_product_certified": False},
            "lg_certification",
        ),
        ({"own_brand": False}, "lg_own_brand"),
        ({"chain_key_role": False}, "lg_chain_role"),
        ({"key_field": "none"}, "lg_key_field"),
    ],
)
def test_each_yes_no_condition_fails_by_name(call, changes, code):
    result = check(call, **changes)
    assert failed(result) == [code]
    assert result["failed"][0]["name"]


def test_certification_holds_with_either_kind(call):
    changes = {"management_system_certified": False, "intl_product_certified": True}
    assert check(call, **changes)["passed"] is True


@pytest.mark.parametrize("field", ["core_foundation", "manufacturing_key", "network_power"])
def test_lg6_each_key_field(call, field):
    assert check(call, key_field=field)["passed"] is True


def general(result):
    return {c["code"]: c["passed"] for c in result["innovation"]["general"]}


@pytest.mark.parametrize(
    ("revenue", "rd1", "rd2", "passes"),
    [  # 1亿元以上: each year >= 3 %
        (10000, 300, 270, True),
        (10000, 299, 270, False),
        (10000, 301, 271, True),
        (10000, 300, 269, False),
        # 5000万–1亿: each year >= 6 %
        (9999, 599.94, 540, True),
        (9999, 599.93, 540, False),
        (5000, 300, 540, True),
        (5000, 299.99, 540, False),
        (5000, 300.01, 540, True),
    ],
)
def test_g1_rd_ratio_by_revenue_tier(call, revenue, rd1, rd2, passes):
    result = check(
        call,
        revenue_y1=revenue,
        main_revenue_y1=revenue * 0.9,
        rd_expense_y1=rd1,
        revenue_y2=9000,
        rd_expense_y2=rd2,
        main_revenue_y2=revenue * 0.85,
        main_revenue_y3=revenue * 0.8,
    )
    assert general(result)["lg_g1_rd"] is passes
    assert failed(result) == ([] if passes else ["lg_innovation"])


SMALL = {
    "revenue_y1": 4999,
    "main_revenue_y1": 4500,
    "main_revenue_y2": 4000,
    "main_revenue_y3": 3600,
    "revenue_y2": 4500,
    "rd_expense_y1": 1600,
    "rd_expense_y2": 1400,
    "equity_financing_2y": 8000,
    "rd_staff": 130,
    "employees": 260,
}


@pytest.mark.parametrize(
    ("changes", "passes"),
    [
        ({}, True),
        ({"equity_financing_2y": 7999}, False),
        ({"equity_financing_2y": 8001}, True),
        ({"rd_expense_y2": 1399}, False),
        ({"rd_expense_y2": 1401}, True),
        ({"rd_staff": 129}, False),
        ({"rd_staff": 131}, True),
    ],
)
def test_g1_below_fifty_million_needs_equity_rd_total_and_staff(call, changes, passes):
    assert general(check(call, **(SMALL | changes)))["lg_g1_rd"] is passes


@pytest.mark.parametrize(("count", "passes"), [(2, True), (1, False), (3, True)])
def test_g3_two_applied_class1_ip(call, count, passes):
    result = check(call, class1_ip_applied=count)
    assert general(result)["lg_g3_ip"] is passes


@pytest.mark.parametrize(
    ("level", "passes"),
    [
        ("national", True),
        ("provincial", True),
        ("city", True),
        ("below_city", True),
        ("none", False),
    ],
)
def test_g2_any_rd_institution(call, level, passes):
    assert general(check(call, rd_institution_level=level))["lg_g2_rd_institution"] is passes


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"national_award_rank_3y": 3}, "lg_direct_national_award"),
        ({"national_award_rank_3y": 1}, "lg_direct_national_award"),
        ({"maker_china_top50_3y": True}, "lg_direct_maker_china"),
    ],
)
def test_direct_conditions_replace_the_general_innovation_conditions(call, changes, code):
    result = check(call, class1_ip_applied=0, **changes)
    assert general(result)["lg_g3_ip"] is False
    assert [d["code"] for d in result["direct_conditions_met"]] == [code]
    assert (result["passed"], result["innovation"]["basis"]) == (True, "direct")


def test_national_award_ranked_fourth_is_not_a_direct_condition(call):
    result = check(call, class1_ip_applied=0, national_award_rank_3y=4)
    assert failed(result) == ["lg_innovation"]
    assert "拥有2项以上" in result["failed"][0]["value"]


def test_missing_figures_fail_and_are_marked_missing(call):
    result = call("scoring.check_little_giant", figures={"niche_years": 5})
    assert result["passed"] is False
    assert {
        "lg_main_revenue_share",
        "lg_main_revenue_growth",
        "lg_debt_ratio",
        "lg_market_share",
        "lg_innovation",
        "lg_key_field",
    } <= set(result["missing"])
    assert "lg_info_system" not in result["missing"]  # an absent yes/no answer is "no"
    assert set(failed(result)) == set(CODES) - {"lg_niche_years"}


def test_young_firm_without_three_years_fails_growth(call):
    result = check(call, main_revenue_y3=None)
    assert failed(result) == ["lg_main_revenue_growth"]
    assert result["failed"][0]["missing"] is True
