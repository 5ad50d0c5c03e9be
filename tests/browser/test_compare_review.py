"""The compare page shows every change (lanes, called processes, 流程参数, rule tables); the
migration panel is the process owners'; a migrated case reads as migrated."""

from __future__ import annotations

from datetime import date

import pytest

from engine import definitions
from engine.context import Actor
from tests import factories as f

pytestmark = pytest.mark.browser
OWNER = Actor(id="owner", role="process_owner")
P1 = "innovative_evaluation"


def p1_v2() -> dict[str, str]:
    """P1 with 市级推荐上报 renamed and moved to the province's lane, a 3-day 公示 and a pass
    line of 65."""
    files = f.process_files(
        {
            "rules/innovative_score.dmn": (
                '<outputEntry id="inn_thr_total_o1"><text>60</text>',
                '<outputEntry id="inn_thr_total_o1"><text>65</text>',
            )
        }
    )
    text = files[f.P1_BPMN]
    for old, new in (
        ("notice_working_days = 5 ", "notice_working_days = 3 "),
        ("        <bpmn:flowNodeRef>city_report</bpmn:flowNodeRef>\n", ""),
        (
            "<bpmn:flowNodeRef>province_review</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>province_review</bpmn:flowNodeRef>"
            "<bpmn:flowNodeRef>city_report</bpmn:flowNodeRef>",
        ),
        ('name="市级推荐上报"', 'name="省级汇总上报"'),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return files | {f.P1_BPMN: text}


def at_notice(people: f.People) -> str:
    round_ = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    instance_id = f.apply(people["ent"], round_["id"])
    people["city"].complete("city_review", {"decision": "approve"}, instance_id)
    if any(t["bpmn_id"] == "city_spot_check" for t in people["city"].inbox()):
        people["city"].complete(
            "city_spot_check", {"result": "pass", "findings": "属实"}, instance_id
        )
    return instance_id


def test_owner_compares_sees_every_change_and_migrates_a_case_that_keeps_its_settings(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    case = at_notice(people)
    definitions.deploy(ctx, files=p1_v2(), actor=OWNER)
    tab = open_browser(people["owner"].token)
    page = tab.page
    page.goto(f"/ui/design/{P1}/compare?a=1&b=2")
    page.wait_for_selector("#diff tr[data-element=city_report]")
    row = page.inner_text("#diff tr[data-element=city_report]")
    assert "名称 “市级推荐上报” → “省级汇总上报”" in row
    assert "泳道 设区市中小企业主管部门 → 省工信厅" in row
    assert "notice_working_days（公示期（工作日））：5 → 3" in page.inner_text(
        "#diff tr[data-element=settings]"
    )
    settings = page.inner_text("#settings-diff tr[data-setting=notice_working_days]")
    assert "5" in settings
    assert "3" in settings
    rules = page.inner_text("#rules-diff tr[data-decision=inn_thresholds]")
    assert "第 1 条" in rules
    assert "最低分（含）" in rules
    assert "60" in rules
    assert "65" in rules
    box = page.locator("#canvas-b").bounding_box()
    assert box["height"] >= 500
    assert box["width"] >= 900
    tab.shot("compare-review")

    page.click("#m-preview")
    page.wait_for_selector(f"#m-report tr[data-instance='{case}']")
    report = page.inner_text(f"#m-report tr[data-instance='{case}']")
    assert "notice_working_days（公示期（工作日））案件中为 5，新版本为 3" in report
    assert "24:00" in report
    assert "00:00:00" not in report
    assert "规则表：" in page.inner_text("#m-summary")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#m-run")
    page.wait_for_selector("#notice.ok")

    page = open_browser(people["auditor"].token).page
    page.goto(f"/ui/audit/cases/{case}")
    page.wait_for_selector("#case-meta dd")
    assert "第 1 版迁移至第 2 版" in page.inner_text("#case-meta")
    page.goto("/ui/audit")
    page.wait_for_selector(f"#cases tr[data-instance='{case}']")
    assert "第 1 版迁移至第 2 版" in page.inner_text(f"#cases tr[data-instance='{case}']")


def test_auditor_compares_called_process_changes_without_the_migration_panel(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    files = f.process_files(
        {"shared/spot_check.bpmn": ('name="市级实地抽查"', 'name="市级实地核查"')},
        bpmn="specialized_certification.bpmn",
    )
    definitions.deploy(ctx, files=files, actor=OWNER)
    tab = open_browser(people["auditor"].token)
    page = tab.page
    page.goto("/ui/design/specialized_certification/compare?a=1&b=2")
    row = "#diff tr[data-element='shared_spot_check/city_spot_check']"
    page.wait_for_selector(row)
    assert "市级实地核查" in page.inner_text(row)
    assert "两个版本的流程元素相同" not in page.inner_text("#diff")
    assert page.locator("#migration").is_hidden()
