"""An enterprise checks in the browser whether it would qualify before applying (nothing kept)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.store import Instance
from tests import factories as f
from tests.browser.conftest import fill_self_evaluation

pytestmark = pytest.mark.browser


def test_enterprise_self_checks_its_figures_against_the_standard(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    tab = open_browser(people["ent"].token)
    page = tab.page
    page.goto("/ui/self-check")
    page.wait_for_selector("body[data-loaded]")
    assert page.inner_text("#form-title") == "创新型中小企业自评表"
    assert page.locator("#f-evidence").count() == 0  # no uploads in a self-check

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
