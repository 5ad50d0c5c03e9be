"""Auditors in the browser: search a case, its diagram with the path taken, decisions, export."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from tests import factories as f

pytestmark = pytest.mark.browser


def test_auditor_traces_a_case_and_exports_its_history(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    round_ = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    started = people["ent"].post(
        "/api/v1/instances", json={"process_key": "innovative_evaluation", "round_id": round_["id"]}
    )
    instance_id = started.json["id"]
    evidence = people["ent"].upload()["id"]
    people["ent"].complete("self_evaluation", f.self_evaluation([evidence]), instance_id)
    people["city"].complete(
        "city_review", {"decision": "approve", "flag_for_spot_check": True}, instance_id
    )

    tab = open_browser(people["auditor"].token)
    page = tab.page
    page.goto("/ui/audit")
    page.fill("input[name=enterprise_name]", "洪城精密")
    page.click("#filters button[type=submit]")
    page.wait_for_selector(f"tr[data-instance='{instance_id}']")
    page.fill("input[name=enterprise_name]", "不存在的企业")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#cases >> text=没有符合条件的案件")
    page.fill("input[name=enterprise_name]", "")
    page.select_option("select[name=status]", "running")
    page.click("#filters button[type=submit]")
    page.wait_for_selector(f"tr[data-instance='{instance_id}']")
    assert "创新型中小企业评价（第 1 版）" in page.inner_text(f"tr[data-instance='{instance_id}']")
    assert page.inner_text(f"tr[data-instance='{instance_id}'] td.stage").startswith("市级实地抽查")
    tab.shot("audit-search")

    page.click(f"tr[data-instance='{instance_id}'] a")
    page.wait_for_selector("#canvas[data-current]")
    assert "创新型中小企业评价（第 1 版）" in page.inner_text("#case-meta")
    assert "南昌市（360100）" in page.inner_text("#case-meta")
    assert "当前环节\n市级实地抽查" in page.inner_text("#case-meta")
    assert "市级主管部门 南昌市" in page.inner_text("#waiting")  # who the open task waits on
    done = page.get_attribute("#canvas", "data-done").split()
    current = page.get_attribute("#canvas", "data-current").split()
    assert {"self_evaluation", "check_eligibility", "city_review", "city_draw"} <= set(done)
    assert current == ["city_spot_check"]
    assert page.locator("#canvas g[data-element-id=self_evaluation].tidu-done").count() >= 1
    assert page.locator("#canvas g[data-element-id=city_spot_check].tidu-current").count() >= 1
    assert page.locator("#canvas .djs-connection.tidu-done").count() >= 3
    assert "sampling.draw" in page.inner_text("#decisions")
    draw = next(
        e
        for e in people["auditor"].get(f"/api/v1/instances/{instance_id}/history").json
        if e["kind"] == "handler.decision" and e["bpmn_id"] == "city_draw"
    )
    assert page.inner_text("#draws code.seed") == str(draw["data"]["outputs"]["seed"])
    assert "city-360100" in page.inner_text("#events")
    tab.shot("audit-case")

    with page.expect_download() as got:
        page.click("#export-json")
    exported = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))
    assert exported[0]["kind"] == "instance.started"
    assert any(e["kind"] == "task.completed" and e["actor"] == "city-360100" for e in exported)
    with page.expect_download() as got:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == len(exported)
    assert rows[0]["哈希"] == exported[0]["hash"]  # the CSV heads its columns in Chinese

    page.click("#verify")
    page.wait_for_selector("#status.ok >> text=所有哈希链校验通过")

    page.goto("/ui/audit")  # 操作记录: what city-360100 did on the case's day
    page.wait_for_selector("body[data-loaded]")
    page.fill("#event-filters input[name=actor]", "city-360100")
    page.select_option("#f-kind", "task.completed")
    page.fill("#event-filters input[name=since]", "2025-09-01")
    page.fill("#event-filters input[name=until]", "2025-09-01")
    page.click("#event-filters button[type=submit]")
    row = page.locator("#event-list tr[data-kind='task.completed']")
    row.wait_for()
    assert row.count() == 1
    assert "市级初审" in row.inner_text()  # the step by name, its id as the tooltip
    assert row.locator("span[title=city_review]").count() == 1
    assert instance_id[:8] in row.inner_text()
    tab.shot("audit-events")
    page.fill("#event-filters input[name=since]", "2025-09-02")  # a later day: nothing
    page.fill("#event-filters input[name=until]", "2025-09-02")
    page.click("#event-filters button[type=submit]")
    page.wait_for_selector("#event-list >> text=没有符合条件的记录。")
