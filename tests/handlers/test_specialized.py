"""专精特新: every band edge (at, one unit below, one above), condition, direct condition."""

import json
from fractions import Fraction
from pathlib import Path

import pytest

EXAMPLE = json.loads(
    (Path(__file__).parents[2] / "docs/examples/score-specialized.json").read_text("utf-8")
)
EPS = Fraction(1, 10000)  # one unit: 0.01 percentage point


def score(call, **changes):
    figures = {k: v for k, v in (EXAMPLE | changes).items() if v is not None}
    return call("scoring.score_specialized", figures=figures)


def points(result, indicator_id):
    return next(i for i in result["indicators"] if i["id"] == indicator_id)["points"]


def edges(*thresholds):
    """(threshold, points at/above, points just below) -> (value, expected) triples."""
    cases = []
    for t, at, below in thresholds:
        t = Fraction(str(t))
        cases += [(t, at), (t - EPS, below), (t + EPS, at)]
    return cases


def money(value):
    return float(value) if value.denominator != 1 else int(value)


@pytest.mark.parametrize(("share", "expected"), edges((0.80, 5, 3), (0.70, 3, 1), (0.60, 1, 0)))
def test_sp1_main_revenue_share(call, share, expected):
    result = score(call, main_revenue_y1=money(share * 10000), revenue_y1=10000)
    assert points(result, "SP-1") == expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    edges((0.10, 10, 8), (0.08, 8, 6), (0.06, 6, 4), (0.04, 4, 2), (0, 2, 0)),
)
def test_sp2_two_year_average_growth(call, rate, expected):
    # y2 -> y1 grows by 2 x rate, y3 -> y2 by 0: the mean is `rate`
    result = score(
        call,
        main_revenue_y1=money(10000 * (1 + 2 * rate)),
        main_revenue_y2=10000,
        main_revenue_y3=10000,
        revenue_y1=20000,
    )
    assert points(result, "SP-2") == expected


def test_sp2_growth_method_setting_switches_to_cagr(call, rules, edit):
    cagr = edit(rules, "rules/specialized_score.dmn", '<text>"mean"</text>', '<text>"cagr"</text>')
    figures = EXAMPLE | {
        "main_revenue_y1": 12100,
        "main_revenue_y2": 12000,
        "main_revenue_y3": 10000,
        "revenue_y1": 20000,
    }
    mean = call("scoring.score_specialized", figures=figures)
    compound = call("scoring.score_specialized", figures=figures, rules=cagr)
    sp2 = [next(i for i in r["indicators"] if i["id"] == "SP-2") for r in (mean, compound)]
    assert (sp2[0]["value"], sp2[0]["points"]) == ("10.42%", 10)  # (0.83% + 20%) / 2
    assert (sp2[1]["value"], sp2[1]["points"]) == ("10.00%", 10)  # sqrt(1.21) - 1 exactly


@pytest.mark.parametrize(
    ("years", "expected"),
    [
        (10, 5),
        (9, 4),
        (11, 5),
        (8, 4),
        (7, 3),
        (6, 3),
        (5, 2),
        (4, 2),
        (3, 1),
        (2, 1),
        (1, 0),
        (30, 5),
    ],
)
def test_sp3_one_point_per_two_whole_years_capped_at_five(call, years, expected):
    assert points(score(call, niche_years=years), "SP-3") == expected


@pytest.mark.parametrize(
    ("choice", "expected"), [("chain_key_link", 5), ("six_foundations", 3), ("none", 0)]
)
def test_sp4_product_field(call, choice, expected):
    assert points(score(call, product_field=choice), "SP-4") == expected


@pytest.mark.parametrize(("level", "expected"), [(3, 5), (2, 3), (4, 5), (1, 0)])
def test_sp5_digital_level(call, level, expected):
    assert points(score(call, digital_level=level), "SP-5") == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ((), 0),
        (("quality_award",), 3),
        (("own_brand",), 3),
        (("quality_award", "own_brand"), 5),
        (("quality_award", "quality_certified", "own_brand", "standard_setting"), 5),
    ],
)
def test_sp6_quality_three_points_each_capped_at_five(call, items, expected):
    flags = {
        k: k in items
        for k in ("quality_award", "quality_certified", "own_brand", "standard_setting")
    }
    assert points(score(call, **flags), "SP-6") == expected


@pytest.mark.parametrize(
    ("margin", "expected"),
    edges((0.10, 10, 8), (0.08, 8, 6), (0.06, 6, 4), (0.04, 4, 2), (0.02, 2, 0)),
)
def test_sp7_net_margin(call, margin, expected):
    result = score(call, net_profit_y1=money(margin * 10000), revenue_y1=10000)
    assert points(result, "SP-7") == expected


def test_sp7_a_loss_is_the_bottom_band(call):
    assert points(score(call, net_profit_y1=-300), "SP-7") == 0


@pytest.mark.parametrize(("debt", "expected"), edges((0.50, 3, 5), (0.60, 1, 3), (0.70, 0, 1)))
def test_sp8_debt_ratio(call, debt, expected):
    result = score(call, liabilities_y1=money(debt * 10000), assets_y1=10000)
    assert points(result, "SP-8") == expected


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("provincial_key", 4), ("city_leading", 3), ("county_leading", 2), ("none", 0)],
)
def test_jx1_single_choice(call, choice, expected):
    assert points(score(call, jx_industry=choice), "JX-1") == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["two_integration_demo"], 6),
        (["green_factory"], 6),
        (["military_qualification"], 6),
        (["listed"], 6),
        (["chain_leader_supplier"], 3),
        (["listing_plan"], 3),
        (["contest_award"], 3),
        (["industrial_cluster"], 3),
        (["listing_plan", "contest_award"], 6),
        (["chain_leader_supplier", "listing_plan", "contest_award"], 6),
        (["listed", "green_factory"], 6),
        (["none"], 0),
        ([], 0),
    ],
)
def test_jx2_items_add_up_to_six(call, items, expected):
    assert points(score(call, jx_operations=items), "JX-2") == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["intl_certification"], 5),
        (["jiangxi_quality_product"], 5),
        (["first_set_equipment"], 5),
        (["top10_market_share"], 3),
        (["special_process"], 2),
        (["top10_market_share", "special_process"], 5),
        (["intl_certification", "special_process"], 5),
        (["none"], 0),
    ],
)
def test_jx3_items_add_up_to_five(call, items, expected):
    assert points(score(call, jx_product=items), "JX-3") == expected


def test_characteristic_group_is_at_most_fifteen(call):
    result = score(
        call,
        jx_industry="provincial_key",
        jx_operations=["listed", "green_factory"],
        jx_product=["intl_certification", "special_process"],
    )
    assert result["groups"]["characteristic"]["points"] == 15
    assert result["groups"]["characteristic"]["max"] == 15


@pytest.mark.parametrize(
    ("ip", "expected"),
    [("high_value_class1", 10), ("own_class1", 8), ("class1", 6), ("class2", 2), ("none", 0)],
)
def test_sp10_ip_class(call, ip, expected):
    assert points(score(call, ip_class=ip), "SP-10") == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (500, 10),
        (499.99, 8),
        (500.01, 10),
        (400, 8),
        (399.99, 6),
        (300, 6),
        (299.99, 4),
        (200, 4),
        (199.99, 2),
        (100, 2),
        (99.99, 0),
        (100.01, 2),
    ],
)
def test_sp11_rd_amount_bands(call, amount, expected):
    result = score(call, rd_expense_y1=amount, revenue_y1=100000)  # ratio below 1%
    assert points(result, "SP-11") == expected


@pytest.mark.parametrize(
    ("ratio", "expected"),
    edges((0.10, 10, 8), (0.08, 8, 6), (0.06, 6, 4), (0.04, 4, 2), (0.03, 2, 0)),
)
def test_sp11_rd_ratio_bands(call, ratio, expected):
    result = score(
        call, rd_expense_y1=float(ratio * 900), revenue_y1=900, main_revenue_y1=800
    )  # amount below 100
    assert points(result, "SP-11") == expected


def test_sp11_takes_the_better_of_amount_and_ratio(call):
    result = score(call, rd_expense_y1=450, revenue_y1=4000, main_revenue_y1=3900)  # 8 vs 10
    sp11 = next(i for i in result["indicators"] if i["id"] == "SP-11")
    assert (sp11["points"], sp11["band"]) == (10, "研发费用占营业收入比重10%以上")


@pytest.mark.parametrize(("share", "expected"), edges((0.20, 5, 3), (0.10, 3, 1), (0.05, 1, 0)))
def test_sp12_rd_staff_share(call, share, expected):
    result = score(call, rd_staff=money(share * 10000), employees=10000)
    assert points(result, "SP-12") == expected


@pytest.mark.parametrize(
    ("level", "expected"),
    [("national", 10), ("provincial", 8), ("city", 4), ("below_city", 2), ("none", 0)],
)
def test_sp13_rd_institution(call, level, expected):
    assert points(score(call, rd_institution_level=level), "SP-13") == expected


def test_example_meets_the_standard_by_score(call):
    result = score(call)
    assert (result["score"], result["passed"], result["basis"], result["failed"]) == (
        85,
        True,
        "score",
        [],
    )
    assert [c["code"] for c in result["conditions"]] == [
        "sp_niche_years",
        "sp_rd_expense",
        "sp_revenue",
        "sp_score_or_direct",
    ]
    assert result["ruleset"]["file"] == "rules/specialized_score.dmn"
    assert json.loads(json.dumps(result)) == result


AT_SIXTY = {
    "jx_industry": "none",
    "jx_operations": ["none"],
    "jx_product": ["none"],
    "product_field": "none",
    "rd_institution_level": "none",
    "digital_level": 2,
}


def test_exactly_sixty_passes_and_fifty_seven_fails_naming_the_condition(call):
    assert score(call, **AT_SIXTY)["score"] == 60
    assert score(call, **AT_SIXTY)["passed"] is True
    result = score(call, **(AT_SIXTY | {"digital_level": 1}))
    assert result["score"] == 57
    assert [f["code"] for f in result["failed"]] == ["sp_score_or_direct"]
    assert result["failed"][0]["name"] == "评价得分达到60分以上，或满足任一直通条件"
    assert "57分" in result["failed"][0]["value"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"provincial_award_rank_3y": 3}, "sp_direct_provincial_award"),
        ({"national_award_rank_3y": 5}, "sp_direct_national_award"),
        ({"rd_expense_y1": 1100, "rd_expense_y2": 900}, "sp_direct_rd_expense"),
        ({"equity_financing_2y": 6000}, "sp_direct_equity"),
        ({"maker_china_top500_3y": True}, "sp_direct_maker_china"),
    ],
)
def test_each_direct_condition_bypasses_the_score(call, changes, code):
    low = AT_SIXTY | {"digital_level": 1}
    result = score(call, **(low | changes))
    assert result["score_passed"] is False
    assert [d["code"] for d in result["direct_conditions_met"]] == [code]
    assert (result["passed"], result["basis"]) == (True, "direct")


@pytest.mark.parametrize(
    "changes",
    [
        {"provincial_award_rank_3y": 4},
        {"national_award_rank_3y": 6},
        {"rd_expense_y1": 1100, "rd_expense_y2": 899},
        {"equity_financing_2y": 5999},
    ],
)
def test_direct_conditions_just_outside_do_not_hold(call, changes):
    assert score(call, **changes)["direct_conditions_met"] == []


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"niche_years": 1}, "sp_niche_years"),
        ({"rd_expense_y1": 99.99, "revenue_y1": 3000, "main_revenue_y1": 2900}, "sp_rd_expense"),
        ({"rd_expense_y1": 240, "revenue_y1": 8001}, "sp_rd_expense"),
        (
            {
                "revenue_y1": 999,
                "main_revenue_y1": 900,
                "rd_expense_y1": 100,
                "equity_financing_2y": 1999,
            },
            "sp_revenue",
        ),
    ],
)
def test_each_general_condition_fails_by_name(call, changes, code):
    result = score(call, **changes)
    assert [f["code"] for f in result["failed"]] == [code]
    assert result["failed"][0]["name"]
    assert result["failed"][0]["value"]


@pytest.mark.parametrize(
    "changes",
    [
        {"niche_years": 2},
        {"rd_expense_y1": 100, "revenue_y1": 3000, "main_revenue_y1": 2900},
        {"rd_expense_y1": 240, "revenue_y1": 8000},
        {"revenue_y1": 1000, "main_revenue_y1": 900, "rd_expense_y1": 100},
        {
            "revenue_y1": 999,
            "main_revenue_y1": 900,
            "rd_expense_y1": 100,
            "equity_financing_2y": 2000,
        },
    ],
)
def test_general_conditions_hold_exactly_at_their_thresholds(call, changes):
    result = score(call, **changes)
    assert [c["passed"] for c in result["conditions"][:3]] == [True, True, True]


def test_missing_figures_are_listed_and_fail_hard_conditions(call):
    result = call("scoring.score_specialized", figures={"niche_years": 5})
    assert {"SP-1", "JX-2"} <= set(result["missing"])
    assert "sp_rd_expense" in result["missing"]
    rd = next(c for c in result["conditions"] if c["code"] == "sp_rd_expense")
    assert (rd["passed"], rd["missing"]) == (False, True)
    sp6 = next(i for i in result["indicators"] if i["id"] == "SP-6")
    assert (sp6["missing"], sp6["points"]) == (False, 0)  # yes/no answers absent = no


def test_young_firm_without_earlier_years_gets_no_growth_points(call):
    result = score(call, main_revenue_y2=None, main_revenue_y3=None)
    assert "SP-2" in result["missing"]
    assert points(result, "SP-2") == 0
