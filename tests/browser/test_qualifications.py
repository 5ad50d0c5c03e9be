"""Staff in the browser: the province imports legacy qualifications (第二十条), every bad row
named; staff search the registry and open a certificate's lifecycle."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests import factories as f
from tests.browser.conftest import REGION

pytestmark = pytest.mark.browser

HEADER = "number,tier,uscc,enterprise_name,certified_on,expires_on,region\n"


def test_province_imports_legacy_qualifications_and_opens_one(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser, tmp_path
) -> None:
    good = f"赣专精〔2022〕0012,specialized,{f.uscc(REGION, 11)},洪都精工有限公司,2022-10-15,,\n"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + good + f"赣专精〔2022〕0013,specialized,{f.uscc(REGION, 12)},某公司,"
        "2024-01-05,,\n",
        encoding="utf-8",
    )  # certified after 2023-06-20: not legacy
    ok = tmp_path / "legacy.csv"
    ok.write_text(HEADER + good, encoding="utf-8")

    tab = open_browser(people["province"].token)
    page = tab.page
    page.goto("/ui/qualifications")
    page.wait_for_selector("body[data-loaded]")
    page.set_input_files("#import-form input[type=file]", str(bad))
    page.click("#import-form button[type=submit]")
    line = page.locator("#import-result tr[data-line='3']")
    line.wait_for()  # the bad row, by its line; nothing imported
    assert "未导入任何记录" in page.inner_text("#import-result")
    assert page.inner_text("#qualifications") == "没有符合条件的资质。"
    tab.shot("qualifications-import-refused")

    page.set_input_files("#import-form input[type=file]", str(ok))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result >> text=已导入 1 条")
    row = page.locator("#qualifications tr[data-qualification]")
    row.wait_for()
    assert "洪都精工有限公司" in row.inner_text()
    page.reload()  # the summary counts it: 南昌市, one 专精特新, expiring within 90 days
    nanchang = page.locator("#summary tr[data-region='360100']")
    nanchang.wait_for()
    assert nanchang.locator("td[data-key=specialized]").inner_text() == "1"
    assert nanchang.locator("td[data-key=expiring]").inner_text() == "1"
    nanchang.locator("a").click()  # a region's name filters the list
    assert page.locator("#f-region").input_value() == "360100"
    row.wait_for()
    assert "存量导入" in row.inner_text()
    assert "南昌市" in row.inner_text()
    row.locator("button").click()
    page.wait_for_selector("#detail:not([hidden]) #detail-lifecycle table")
    assert "2022-10-15 至 2025-10-14" in page.inner_text("#detail-meta")
    assert "进行中" in page.inner_text("#detail-lifecycle")
    assert "（新登记） → 有效：第二十条存量资格导入" in page.inner_text("#detail-lifecycle")
    tab.shot("qualifications-detail")

    city = open_browser(people["city"].token).page  # the same registry, no import
    city.goto("/ui/qualifications")
    city.wait_for_selector("#qualifications tr[data-qualification]")
    assert city.locator("#import").is_hidden()
    city.select_option("select[name=tier]", "specialized")
    with city.expect_download() as got:  # the registry as CSV, with the form's filters
        city.click("#export")
    text = Path(got.value.path()).read_text(encoding="utf-8-sig")
    assert got.value.suggested_filename.startswith("qualifications-")
    assert text.splitlines()[0].startswith("证书编号,梯度,企业名称")
    assert "赣专精〔2022〕0012,专精特新中小企业,洪都精工有限公司" in text


def test_province_opens_an_article12_incident_from_a_certificate(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser, tmp_path
) -> None:
    uscc = f.uscc(REGION, 1)  # the demo enterprise ent-1, registered
    f.issue_qualification(
        ctx,
        uscc_code=uscc,
        tier="innovative",
        number="JX-CX-0001",
        region=REGION,
        issued_on=date(2025, 8, 1),
    )
    tab = open_browser(people["province"].token)
    page = tab.page
    page.on("dialog", lambda dialog: dialog.accept())  # 对…发起第十二条事件处理？
    page.goto("/ui/qualifications")
    page.wait_for_selector("#bans-list >> text=当前没有禁止申报的企业。")
    page.locator("#qualifications tr[data-qualification] button").click()
    page.wait_for_selector("#detail-actions:not([hidden]) tr[data-process=article12_incident]")
    assert "至少三年内不得再次申报" in page.inner_text("#detail-actions")
    tab.shot("qualifications-open-case")
    page.click("#detail-actions tr[data-process=article12_incident] button")
    page.wait_for_url("**/ui/tasks/*")  # straight to the province's first task of the case
    page.wait_for_selector("#form-fields [data-field=incident_type]")
    assert page.inner_text("#task-title") == "核实确认事件"
    assert uscc in page.inner_text("#task-meta")

    page.click("#claim")
    page.wait_for_selector("#unclaim:not([hidden])")
    page.select_option("#f-incident_type", '"environmental_accident"')
    page.fill("#f-occurred_on", "2025-08-20")
    page.fill("#f-description", "废水超标排放，经生态环境部门查实")
    proof = tmp_path / "处罚决定书.pdf"
    proof.write_bytes(b"%PDF-1.4 decision")
    page.set_input_files("#f-evidence", str(proof))
    page.wait_for_selector("[data-field=evidence] li code")
    page.select_option("#f-decision", '"confirm"')
    page.focus("#complete")
    page.keyboard.press("Enter")
    page.wait_for_selector("#notice.ok >> text=任务已完成")

    page.goto("/ui/qualifications")  # revoked, and the enterprise on the ban list
    ban = page.locator(f"#bans-list tr[data-uscc='{uscc}']")
    ban.wait_for()
    assert "2025-09-01 起，2028-09-01 起可再次申报" in ban.inner_text()
    assert "有效" in ban.inner_text()
    assert "已撤销" in page.inner_text("#qualifications tr[data-qualification]")
    tab.shot("qualifications-bans")

    ent = open_browser(people["ent"].token).page  # the enterprise is told why it cannot apply
    ent.goto("/ui/inbox")
    notice = ent.locator("#my-ban p[data-ban]")
    notice.wait_for()
    told = "根据第十二条，本企业自 2025-09-01 起不得申报，2028-09-01 起可再次申报"
    assert told in notice.inner_text()

    city = open_browser(people["city"].token).page  # a city sees the certificate, opens nothing
    city.goto("/ui/qualifications")
    city.locator("#qualifications tr[data-qualification] button").click()
    city.wait_for_selector("#detail:not([hidden]) #detail-lifecycle")
    assert city.locator("#detail-actions").is_hidden()
    assert city.locator(f"#bans-list tr[data-uscc='{uscc}']").count() == 1  # its region's bans


def test_province_makes_another_city_responsible_for_an_enterprise(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    uscc = f.uscc(REGION, 1)
    f.issue_qualification(
        ctx,
        uscc_code=uscc,
        tier="innovative",
        number="JX-CX-0002",
        region=REGION,
        issued_on=date(2025, 8, 1),
    )
    page = open_browser(people["province"].token).page
    page.goto("/ui/qualifications")
    page.locator("#qualifications tr[data-qualification] button").click()
    page.wait_for_selector("#region-form")
    assert "现由南昌市负责" in page.inner_text("#region-form")
    page.click("#region-form button[type=submit]")  # nothing chosen: both fields named
    page.wait_for_selector("[data-field=reason].invalid")
    page.select_option("#r-region", "360700")
    page.fill("#r-reason", "企业已迁至赣州市，营业执照变更登记")
    page.click("#region-form button[type=submit]")
    page.wait_for_selector("#notice.ok >> text=已改由赣州市负责")
    page.wait_for_selector("#region-form >> text=现由赣州市负责")
    assert "赣州市" in page.inner_text("#qualifications tr[data-qualification]")
    city = people["city"].get("/api/v1/qualifications").json  # Nanchang no longer sees it
    assert city["total"] == 0
