"""Anyone in the browser: look up valid qualifications without signing in."""

from __future__ import annotations

from datetime import date

import pytest

from tests import factories as f
from tests.browser.conftest import REGION

pytestmark = pytest.mark.browser


def test_anyone_looks_up_a_valid_qualification_without_signing_in(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    for serial, tier, number, name in (
        (1, "specialized", "JX-ZJTX-1", "洪城精密机械有限公司"),
        (2, "innovative", "JX-CX-2", "赣江新材料有限公司"),
    ):
        f.issue_qualification(
            ctx,
            uscc_code=f.uscc(REGION, serial),
            tier=tier,
            number=number,
            region=REGION,
            issued_on=date(2025, 9, 1),
            enterprise_name=name,
        )
    tab = open_browser()  # no token
    page = tab.page
    page.goto("/ui/public")
    page.wait_for_selector("body[data-loaded]")
    assert page.locator("#results tr[data-number]").count() == 2
    page.fill("input[name=keyword]", "洪城")
    page.click("#filters button[type=submit]")
    row = page.locator("#results tr[data-number=JX-ZJTX-1]")
    row.wait_for()
    page.wait_for_function("document.querySelectorAll('#results tr[data-number]').length === 1")
    assert "专精特新中小企业" in row.inner_text()
    assert "南昌市" in row.inner_text()
    tab.shot("public-lookup")
    page.fill("input[name=keyword]", "JX-CX-2")
    page.click("#filters button[type=submit]")
    page.locator("#results tr[data-number=JX-CX-2]").wait_for()
    page.fill("input[name=keyword]", "不存在的企业")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#results >> text=没有查到在有效期内的资质。")


def test_the_results_page_through_twenty_at_a_time(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    for serial in range(1, 24):
        f.issue_qualification(
            ctx,
            uscc_code=f.uscc(REGION, serial),
            tier="innovative",
            number=f"JX-CX-{serial:02d}",
            region=REGION,
            issued_on=date(2025, 9, 1),
            enterprise_name=f"企业{serial:02d}",
        )
    page = open_browser().page
    page.goto("/ui/public")
    page.wait_for_selector("body[data-loaded]")
    assert page.locator("#results tr[data-number]").count() == 20
    assert "第 1 / 2 页，共 23 项" in page.inner_text("#pager")
    assert page.locator("#pager button", has_text="上一页").is_disabled()
    page.locator("#pager button", has_text="下一页").click()
    page.wait_for_selector("#pager >> text=第 2 / 2 页")
    assert page.locator("#results tr[data-number]").count() == 3
    assert page.locator("#pager button", has_text="下一页").is_disabled()
    page.locator("#pager button", has_text="上一页").click()
    page.wait_for_selector("#pager >> text=第 1 / 2 页")
    assert page.locator("#results tr[data-number]").count() == 20
