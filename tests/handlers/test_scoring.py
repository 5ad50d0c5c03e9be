import json

import pytest

# 60 points, every group at its minimum: INN-1 10 + INN-2 10 | INN-3 10 + INN-4 5 | 5 + 20
AT_THE_LINE = {
    "ip_class": "class1",
    "rd_expense_y1": 200,
    "revenue_y1": 10000,
    "main_revenue_y1": 9000,
    "main_revenue_y2": 8500,
    "liabilities_y1": 600,
    "assets_y1": 1000,
    "strategic_emerging": False,
}


def score(call, **figures):
    return call("scoring.score_innovative", figures=figures)


def points(result, indicator_id):
    return next(i for i in result["indicators"] if i["id"] == indicator_id)


@pytest.mark.parametrize(
    ("rd", "revenue", "expected"),
    [
        (500, 10000, 20),
        (499, 10000, 15),
        (300, 10000, 15),
        (299, 10000, 10),
        (200, 10000, 10),
        (100, 10000, 5),
        (99, 10000, 0),
        (0, 10000, 0),
    ],
)
def test_rd_ratio_bands_include_their_lower_edge(call, rd, revenue, expected):
    result = score(call, rd_expense_y1=rd, revenue_y1=revenue)
    assert points(result, "INN-2")["points"] == expected


def test_rd_ratio_of_exactly_three_percent_is_exact(call):
    indicator = points(score(call, rd_expense_y1=300, revenue_y1=10000), "INN-2")
    assert (indicator["value"], indicator["band"], indicator["points"]) == ("3.00%", "3%-5%", 15)


@pytest.mark.parametrize(
    ("y1", "y2", "expected"),
    [
        (115, 100, 20),
        (114.99, 100, 15),
        (110, 100, 15),
        (105, 100, 10),
        (100, 100, 5),
        (99.99, 100, 0),
    ],
)
def test_growth_bands(call, y1, y2, expected):
    result = score(call, main_revenue_y1=y1, main_revenue_y2=y2)
    assert points(result, "INN-3")["points"] == expected


@pytest.mark.parametrize(
    ("liabilities", "expected"), [(54.99, 10), (55, 5), (74.99, 5), (75, 0), (120, 0)]
)
def test_debt_ratio_bands(call, liabilities, expected):
    result = score(call, liabilities_y1=liabilities, assets_y1=100)
    assert points(result, "INN-4")["points"] == expected


@pytest.mark.parametrize(
    ("main", "expected"), [(70, 20), (69.99, 15), (60, 15), (55, 10), (50, 5), (49.99, 0)]
)
def test_main_revenue_share_bands(call, main, expected):
    assert points(score(call, main_revenue_y1=main, revenue_y1=100), "INN-6")["points"] == expected


@pytest.mark.parametrize(
    ("ip_class", "expected"),
    [("high_value_class1", 20), ("own_class1", 15), ("class1", 10), ("class2", 5), ("none", 0)],
)
def test_ip_class_is_a_single_choice(call, ip_class, expected):
    assert points(score(call, ip_class=ip_class), "INN-1")["points"] == expected


@pytest.mark.parametrize(("answer", "expected"), [(True, 10), (False, 5), (None, 5)])
def test_strategic_field_never_drops_below_five(call, answer, expected):
    indicator = points(score(call, strategic_emerging=answer), "INN-5")
    assert (indicator["points"], indicator["missing"]) == (expected, False)


def test_exactly_sixty_with_every_group_minimum_passes(call):
    result = score(call, **AT_THE_LINE)
    assert result["score"] == 60
    assert {k: g["points"] for k, g in result["groups"].items()} == {
        "innovation": 20,
        "growth": 15,
        "specialization": 25,
    }
    assert (result["score_passed"], result["passed"], result["basis"]) == (True, True, "score")
    assert result["failed"] == []


def test_sixty_with_growth_ten_fails_on_the_group_minimum(call):
    figures = AT_THE_LINE | {"main_revenue_y2": 9000, "ip_class": "own_class1"}
    result = score(call, **figures)
    assert result["score"] == 60
    assert result["groups"]["growth"] == {
        "label": "成长性",
        "points": 10,
        "max": 30,
        "min": 15,
        "ok": False,
    }
    assert result["passed"] is False
    assert result["failed"] == [
        {"code": "inn_growth_group", "name": "成长性得分未达到15分", "value": 10}
    ]


def test_below_the_pass_line_is_named(call):
    result = score(call, **(AT_THE_LINE | {"ip_class": "class2"}))
    assert result["score"] == 55
    assert [f["code"] for f in result["failed"]] == ["inn_total_score", "inn_innovation_group"]


def test_missing_figures_and_zero_denominators_score_zero_and_are_flagged(call):
    result = score(call, revenue_y1=0, rd_expense_y1=10, main_revenue_y1=50)
    missing = {i["id"] for i in result["indicators"] if i["missing"]}
    assert missing == {"INN-1", "INN-2", "INN-3", "INN-4", "INN-6"}
    assert all(i["points"] == 0 for i in result["indicators"] if i["missing"])
    assert result["score"] == 5


def test_young_firm_can_reach_sixty_and_still_fail_on_growth(call):
    result = score(
        call,
        ip_class="high_value_class1",
        rd_expense_y1=500,
        revenue_y1=1000,
        main_revenue_y1=800,
        liabilities_y1=10,
        assets_y1=100,
        strategic_emerging=True,
    )
    assert result["score"] == 80
    assert [f["code"] for f in result["failed"]] == ["inn_growth_group"]


@pytest.mark.parametrize(
    ("figures", "code"),
    [
        ({"sci_award_3y": True}, "inn_direct_sci_award"),
        ({"valid_honours": True}, "inn_direct_honours"),
        ({"provincial_rd_institution": True}, "inn_direct_rd_institution"),
        ({"equity_financing_3y": 500}, "inn_direct_equity"),
    ],
)
def test_any_direct_condition_bypasses_the_score(call, figures, code):
    result = score(call, **figures)
    assert result["score_passed"] is False
    assert [d["code"] for d in result["direct_conditions_met"]] == [code]
    assert (result["passed"], result["basis"], result["failed"]) == (True, "direct", [])


def test_equity_just_below_the_threshold_is_not_a_direct_condition(call):
    assert score(call, equity_financing_3y=499.99)["direct_conditions_met"] == []


def test_editing_a_band_cell_changes_the_score(call, rules, edit):
    stricter = edit(rules, "rules/innovative_score.dmn", "&gt;= 0.05", "&gt;= 0.06")
    stricter = edit(stricter, "rules/innovative_score.dmn", "[0.03..0.05[", "[0.03..0.06[")
    before = points(score(call, rd_expense_y1=5, revenue_y1=100), "INN-2")
    after = call(
        "scoring.score_innovative", figures={"rd_expense_y1": 5, "revenue_y1": 100}, rules=stricter
    )
    assert before["points"] == 20
    assert points(after, "INN-2")["points"] == 15
    assert after["rule_version"] != score(call)["rule_version"]


def test_editing_the_pass_line_changes_the_result(call, rules, edit):
    lower = edit(
        rules,
        "rules/innovative_score.dmn",
        'inn_thr_total_o1"><text>60',
        'inn_thr_total_o1"><text>55',
    )
    figures = AT_THE_LINE | {"main_revenue_y1": 6500, "main_revenue_y2": 6100}
    assert score(call, **figures)["failed"][0]["code"] == "inn_total_score"
    result = call("scoring.score_innovative", figures=figures, rules=lower)
    assert (result["score"], result["pass_line"], result["score_passed"]) == (55, 55, True)


def test_result_is_json_native(call):
    result = score(call, **AT_THE_LINE)
    assert json.loads(json.dumps(result)) == result


# Every band edge: exactly at the threshold, one unit (0.01 percentage point) below, one above.
EDGES = {
    "INN-2": [
        (500, 20),
        (499, 15),
        (501, 20),
        (300, 15),
        (299, 10),
        (301, 15),
        (200, 10),
        (199, 5),
        (201, 10),
        (100, 5),
        (99, 0),
        (101, 5),
    ],
    "INN-3": [
        (11500, 20),
        (11499, 15),
        (11501, 20),
        (11000, 15),
        (10999, 10),
        (11001, 15),
        (10500, 10),
        (10499, 5),
        (10501, 10),
        (10000, 5),
        (9999, 0),
        (10001, 5),
    ],
    "INN-4": [(5500, 5), (5499, 10), (5501, 5), (7500, 0), (7499, 5), (7501, 0)],
    "INN-6": [
        (7000, 20),
        (6999, 15),
        (7001, 20),
        (6000, 15),
        (5999, 10),
        (6001, 15),
        (5500, 10),
        (5499, 5),
        (5501, 10),
        (5000, 5),
        (4999, 0),
        (5001, 5),
    ],
}
FIGURE = {  # indicator -> the figure varied (over a base of 10000)
    "INN-2": ("rd_expense_y1", {"revenue_y1": 10000}),
    "INN-3": ("main_revenue_y1", {"main_revenue_y2": 10000, "revenue_y1": 20000}),
    "INN-4": ("liabilities_y1", {"assets_y1": 10000}),
    "INN-6": ("main_revenue_y1", {"revenue_y1": 10000}),
}


@pytest.mark.parametrize(
    ("indicator_id", "value", "expected"),
    [(i, v, e) for i, cases in EDGES.items() for v, e in cases],
)
def test_every_innovative_band_edge(call, indicator_id, value, expected):
    name, base = FIGURE[indicator_id]
    assert points(score(call, **base, **{name: value}), indicator_id)["points"] == expected


def test_innovative_result_names_its_ruleset_and_missing_indicators(call):
    result = score(call, ip_class="class1")
    assert result["ruleset"]["standard"] == "innovative_score"
    assert result["ruleset"]["effective_from"] == "2022-08-01"
    assert result["missing"] == ["INN-2", "INN-3", "INN-4", "INN-6"]
