import pytest

from handlers.uscc import make_uscc

JIANGXI = make_uscc("91360100MA35A1B2C")

CLEAN = {
    "uscc": JIANGXI,
    "size_class": "small",
    "independent_legal_person": True,
    "on_abnormal_list": False,
    "on_serious_dishonesty_list": False,
    "prohibited_product": False,
    "major_accident_3y": False,
    "tax_violation_3y": False,
    "ban_until": None,
    "evaluated_on": "2025-10-20",
}


def check(call, **changes):
    return call("eligibility.check", **(CLEAN | changes))


def test_clean_applicant_is_eligible_and_every_condition_was_checked(call):
    result = check(call)
    assert result["eligible"] is True
    assert result["failed"] == []
    assert len(result["checked"]) == 10
    assert len(result["rule_version"]) == 12


@pytest.mark.parametrize(
    ("changes", "code", "name"),
    [
        (
            {"uscc": JIANGXI[:17] + ("0" if JIANGXI[17] != "0" else "1")},
            "elig_uscc_invalid",
            "统一社会信用代码无效",
        ),
        ({"uscc": make_uscc("91350100MA35A1B2C")}, "elig_jiangxi", "未在江西省内注册"),
        ({"independent_legal_person": False}, "elig_legal_person", "不具有独立法人资格"),
        ({"independent_legal_person": None}, "elig_legal_person", "不具有独立法人资格"),
        ({"size_class": "not_sme"}, "elig_sme", "中小企业划型"),
        ({"size_class": "undetermined"}, "elig_sme", "中小企业划型"),
        ({"on_abnormal_list": True}, "elig_abnormal_list", "经营异常名录"),
        ({"on_serious_dishonesty_list": True}, "elig_serious_dishonesty", "严重失信"),
        ({"prohibited_product": True}, "elig_prohibited_product", "禁止、限制或淘汰"),
        ({"major_accident_3y": True}, "elig_major_accident", "事故"),
        ({"tax_violation_3y": True}, "elig_tax_violation", "偷漏税"),
        ({"ban_until": "2025-10-21"}, "elig_ban", "限制期"),
    ],
)
def test_each_failure_is_reported_by_code_and_name(call, changes, code, name):
    result = check(call, **changes)
    assert result["eligible"] is False
    assert [f["code"] for f in result["failed"]] == [code]
    assert name in result["failed"][0]["name"]


def test_ban_article_is_twelve_and_others_four(call):
    result = check(call, ban_until="2026-01-01", on_abnormal_list=True)
    articles = {f["code"]: f["article"] for f in result["failed"]}
    assert articles == {"elig_abnormal_list": "第四条", "elig_ban": "第十二条"}


def test_failure_value_shows_the_offending_input(call):
    result = check(call, uscc=make_uscc("91440300MA35A1B2C"))
    assert result["failed"][0]["value"] == "440300"


def test_ban_ending_on_the_evaluation_date_no_longer_applies(call):
    assert check(call, ban_until="2025-10-20")["eligible"] is True


def test_unanswered_list_declarations_count_as_not_listed(call):
    unanswered = dict.fromkeys(
        [
            "on_abnormal_list",
            "on_serious_dishonesty_list",
            "prohibited_product",
            "major_accident_3y",
            "tax_violation_3y",
        ]
    )
    assert check(call, **unanswered)["eligible"] is True


def test_every_failure_is_named_at_once(call):
    result = check(
        call,
        uscc="X",
        size_class="not_sme",
        independent_legal_person=None,
        on_abnormal_list=True,
        ban_until="2030-01-01",
    )
    assert [f["code"] for f in result["failed"]] == [
        "elig_uscc_invalid",
        "elig_jiangxi",
        "elig_legal_person",
        "elig_sme",
        "elig_abnormal_list",
        "elig_ban",
    ]


@pytest.mark.parametrize(
    ("facts", "eligible", "value"),
    [
        (None, True, None),  # the preview: no database facts
        ({"region": None}, True, None),  # an enterprise recorded without a region
        ({"region": "360700"}, True, None),  # moved within Jiangxi (赣州)
        ({"region": "000000"}, False, "000000"),  # moved out of Jiangxi (第十一条)
    ],
)
def test_the_registered_region_the_engine_passes_counts_for_jiangxi(call, facts, eligible, value):
    # a Jiangxi USCC stays on an enterprise that moved out: its registered region decides
    result = check(call, facts=facts)
    assert result["eligible"] is eligible
    failed = [(f["code"], f["name"], f["value"]) for f in result["failed"]]
    assert failed == ([] if eligible else [("elig_jiangxi", "未在江西省内注册", value)])
