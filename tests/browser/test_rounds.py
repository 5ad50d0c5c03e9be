"""Staff in the browser: the province opens a round; a city follows its cases by stage and
exports its report list as CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from tests import factories as f
from tests.browser.conftest import REGION

pytestmark = pytest.mark.browser


def test_province_opens_a_round_and_a_city_exports_its_cases(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    tab = open_browser(people["province"].token)
    page = tab.page
    page.goto("/ui/rounds")
    page.wait_for_selector("body[data-loaded]")
    assert page.inner_text("#rounds") == "还没有申报批次。"
    planned = page.locator("#schedule-list tr[data-opens]").first  # what opens by itself next
    planned.wait_for()
    assert "2026年第1批创新型中小企业评价" in planned.inner_text()
    assert "2026-01-30 24:00" in planned.inner_text()
    page.select_option("#o-process", "innovative_evaluation")
    page.fill("#open-form [name=label]", "2025年下半年创新型中小企业评价")
    page.fill("#open-form [name=opens_on]", "2025-09-01")
    page.fill("#open-form [name=window_days]", "30")
    page.click("#open-form button[type=submit]")
    row = page.locator("#rounds tr[data-round]")
    row.wait_for()
    assert "申报中" in row.inner_text()
    assert "2025/9/30 24:00" in row.inner_text()
    tab.shot("rounds-province")
    (opened,) = people["province"].get("/api/v1/rounds").json
    assert (opened["window"], opened["opens_on"]) == ("open", "2025-09-01")

    started = people["ent"].post(
        "/api/v1/instances", json={"process_key": "innovative_evaluation", "round_id": opened["id"]}
    )
    people["ent"].complete(
        "self_evaluation", f.self_evaluation([people["ent"].upload()["id"]]), started.json["id"]
    )

    city = open_browser(people["city"].token)
    page = city.page
    page.goto(f"/ui/rounds?round={opened['id']}")
    case = page.locator("#round-cases tr[data-instance]")
    case.wait_for()
    assert case.get_attribute("data-stage") == "city_review"
    assert "洪城精密机械有限公司" in case.inner_text()
    assert "市级初审（1）" in page.inner_text("#stages")
    city.shot("rounds-city-cases")
    page.click("#stages [data-stage=city_review]")
    page.wait_for_selector("#stages button[data-stage=city_review]:not(.secondary)")
    assert page.locator("#round-cases tr[data-instance]").count() == 1

    with page.expect_download() as got:
        page.click("[data-export=city-report]")
    text = Path(got.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["序号", "统一社会信用代码", "企业名称"]
    assert got.value.suggested_filename == f"round-{opened['id']}-city-report-{REGION}.csv"
    assert page.locator("#open-round").is_hidden()  # only the province opens rounds


def test_an_enterprise_sees_the_rounds_and_is_sent_to_its_inbox_to_apply(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    f.open_round(people["province"], opens_on=date(2025, 9, 1))
    page = open_browser(people["ent"].token).page
    page.goto("/ui/rounds")
    page.wait_for_selector("body[data-loaded]")
    assert "申报中" in page.inner_text("#rounds tr[data-round]")
    assert page.locator("#rounds button").count() == 0  # cases by stage are for staff
    assert "请在“待办”页申报" in page.inner_text("#notice")


def test_the_province_imports_miits_list_into_a_recommendation_round(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser, tmp_path
) -> None:
    opened = f.open_round_of(
        people["province"],
        "little_giant_recommendation",
        opens_on=date(2025, 9, 1),
        label="2025年度“小巨人”推荐",
    )
    listed = tmp_path / "小巨人名单.csv"
    listed.write_text(
        "统一社会信用代码,企业名称\n91360100MA35XXXX0X,某某科技有限公司\n", encoding="utf-8"
    )
    tab = open_browser(people["province"].token)
    page = tab.page
    page.goto(f"/ui/rounds?round={opened['id']}")
    page.wait_for_selector("#miit-form:not([hidden])")
    page.set_input_files("#miit-form input[type=file]", str(listed))
    page.click("#miit-form button[type=submit]")
    row = page.locator("#miit-report tr[data-unmatched]")
    row.wait_for()
    assert "91360100MA35XXXX0X" in row.inner_text()
    assert "未匹配 1 家" in page.inner_text("#miit-report")
    tab.shot("rounds-miit-list")

    innovative = f.open_round(people["province"], opens_on=date(2025, 9, 1))  # no MIIT list
    page.goto(f"/ui/rounds?round={innovative['id']}")
    page.wait_for_selector("body[data-loaded]")
    assert page.locator("#miit-form").is_hidden()


def test_city_registers_an_objection_received_during_the_notice(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    round_id = f.open_round(people["province"], opens_on=date(2025, 9, 1))["id"]
    case = f.apply(people["ent"], round_id)
    city = people["city"]
    city.complete("city_review", {"decision": "approve", "flag_for_spot_check": False}, case)
    if any(t["bpmn_id"] == "city_spot_check" for t in city.inbox()):
        city.complete("city_spot_check", {"result": "pass", "findings": "属实"}, case)
    tab = open_browser(city.token)
    page = tab.page
    page.goto(f"/ui/rounds?round={round_id}")
    link = page.locator(f"tr[data-instance='{case}'] a.objection")  # the case is in 公示
    link.wait_for()
    link.click()
    page.wait_for_selector("#objection:not([hidden])")
    page.click("#objection-form button[type=submit]")  # empty: each field named, nothing sent
    page.wait_for_selector("[data-field=submitted_by].invalid")
    assert page.inner_text("[data-error-for=content]")
    page.fill("#o-submitted_by", "张三 13800000000")
    page.fill("#o-content", "研发人员数量与社保缴纳记录不符")
    page.click("#objection-form button[type=submit]")
    page.wait_for_selector("#notice.ok >> text=异议已登记")
    tab.shot("case-objection")
    page.wait_for_selector("#waiting >> text=异议")  # reloaded: the case waits on its review
    assert page.locator("#objection").is_hidden()  # no second objection form meanwhile
    review = city.task("city_objection_review", case)
    page.goto(f"/ui/tasks/{review['id']}")  # the review shows what was received, in Chinese
    page.wait_for_selector("#case-checks >> text=收到的异议")
    shown = page.inner_text("#case-checks")
    assert "研发人员数量与社保缴纳记录不符（提出人：张三 13800000000）" in shown
    assert "objection" not in page.inner_text("#instructions")
    auditor = open_browser(people["auditor"].token).page  # auditors read, never register
    auditor.goto(f"/ui/audit/cases/{case}")
    auditor.wait_for_selector("#canvas[data-current]")
    assert auditor.locator("#objection").is_hidden()
