"""An enterprise checks in the browser whether it would qualify before applying (nothing kept)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from engine.store import Instance
from handlers.figures import COMMON_FIELDS
from tests import factories as f
from tests.browser.conftest import REGION, fill_self_evaluation

pytestmark = pytest.mark.browser
# what a missing-data message must not show: field names, condition codes, indicator ids
SNAKE = re.compile(r"[a-z]+_[a-z0-9_]+")
CODES = re.compile(rf"{SNAKE.pattern}|\b(?:INN|SP|JX|LG)-\d")


def test_enterprise_self_checks_its_figures_against_the_standard(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    tab = open_browser(people["ent"].token)
    page = tab.page
    page.goto("/ui/self-check")
    page.wait_for_selector("body[data-loaded]")
    assert page.inner_text("#form-title") == "创新型中小企业自评表"
    assert page.locator("#f-evidence").count() == 0  # no uploads in a self-check
    assert page.input_value("#f-uscc") == f.uscc(REGION, 1)  # its own, not to be changed
    assert page.get_attribute("#f-uscc", "readonly") is not None

    fill_self_evaluation(page, f.self_evaluation([]))
    page.click("#check")
    page.wait_for_selector("#result:not([hidden])")
    assert "达到创新型中小企业标准，且符合申报条件" in page.inner_text("#verdict")
    assert page.inner_text("#score") == "95 分（及格线 60 分）"
    assert page.inner_text("#size").startswith("小型")
    assert page.locator("#result tr[data-indicator]").count() == 6
    tab.shot("self-check-pass")

    page.set_checked("#f-on_abnormal_list", True)  # 第四条: refused, the condition named
    page.click("#check")
    page.wait_for_selector("#verdict.error")
    assert "被列入经营异常名录" in page.inner_text("#reasons")
    assert page.inner_text("#eligibility") == "不符合"

    page.fill("#f-revenue_y1", "-5")  # impossible values: 422 next to the field
    page.click("#check")
    page.wait_for_selector("[data-field=revenue_y1].invalid")
    assert page.inner_text("[data-error-for=revenue_y1]") == "不能小于 0"

    page.select_option("#f-tier", "little_giant")  # another tier, its own form
    page.wait_for_selector("#form-title >> text=小巨人")
    assert page.locator("#result").is_hidden()
    with ctx.reading() as session:  # nothing stored
        assert session.scalar(select(func.count()).select_from(Instance)) == 0


@pytest.mark.parametrize("who", ["city", "province"])
def test_staff_check_an_enterprise_by_the_uscc_they_type(people, open_browser, who) -> None:  # type: ignore[no-untyped-def]
    page = open_browser(people[who].token).page
    page.goto("/ui/self-check")
    page.wait_for_selector("body[data-loaded]")
    assert page.input_value("#f-uscc") == ""
    fill_self_evaluation(page, f.self_evaluation([]))

    page.click("#check")  # no USCC: named next to its field, nothing scored
    page.wait_for_selector("[data-field=uscc].invalid")
    assert page.inner_text("[data-error-for=uscc]") == "请填写统一社会信用代码"
    assert page.locator("#result").is_hidden()

    valid = f.uscc(REGION, 7)
    wrong = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    page.fill("#f-uscc", wrong)
    page.click("#check")
    page.wait_for_selector("[data-error-for=uscc] >> text=校验位不符")
    assert page.locator("#result").is_hidden()

    page.fill("#f-uscc", valid.lower())  # typed in lower case: still the same code
    page.click("#check")
    page.wait_for_selector("#result:not([hidden])")
    assert page.inner_text("[data-error-for=uscc]") == ""
    assert page.input_value("#f-uscc") == valid
    assert "达到创新型中小企业标准，且符合申报条件" in page.inner_text("#verdict")
    assert page.inner_text("#eligibility") == "符合"
    assert page.locator("#reasons").count() == 0


@pytest.mark.parametrize(
    ("tier", "named"),
    [
        ("innovative", ["与主导产品相关的有效知识产权", "上年度研发费用总额"]),
        ("specialized", ["从事特定细分市场年限", "上年度研发费用总额", "研发人员"]),
        ("little_giant", ["从事特定细分市场年限", "主导产品全国细分市场占有率"]),
    ],
)
def test_missing_figures_are_named_by_their_field_titles(people, open_browser, tier, named) -> None:  # type: ignore[no-untyped-def]
    tab = open_browser(people["ent"].token)
    page = tab.page
    page.goto("/ui/self-check")
    page.wait_for_selector("body[data-loaded]")
    if tier != "innovative":
        page.select_option("#f-tier", tier)
        page.wait_for_function(
            "() => document.getElementById('form-title').textContent.includes('申请表')"
        )
    common = {k: v for k, v in f.self_evaluation([]).items() if k in COMMON_FIELDS}
    fill_self_evaluation(page, common)  # the 第四条 and size figures only
    page.click("#check")
    page.wait_for_selector("#verdict.error")
    reasons = page.inner_text("#reasons")
    missing = next(line for line in reasons.splitlines() if line.startswith("未填："))
    for title in named:
        assert title in missing.removeprefix("未填：").split("、")
    assert not CODES.search(reasons), reasons
    for row in page.locator("#result tr[data-condition]").all():  # named, not by their codes
        assert not SNAKE.search(row.inner_text()), row.inner_text()
    tab.shot(f"self-check-missing-{tier}")
