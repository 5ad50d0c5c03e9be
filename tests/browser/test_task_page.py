"""A reviewer's task page: the enterprise by name, the submitted figures under their Chinese
names, evidence files to download (name, size, sha256), the raw JSON folded away."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest

from tests import factories as f
from tests.browser.conftest import REGION

pytestmark = pytest.mark.browser

REPORT = b"%PDF-1.4 2024 audit report of the enterprise"


def test_city_reviews_the_figures_and_downloads_the_evidence(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    ent = people["ent"]
    round_ = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    uploaded = ent.upload(REPORT, "审计报告.pdf")
    instance_id = f.apply(ent, round_["id"], evidence=[uploaded["id"]])
    task = people["city"].task("city_review", instance_id)
    tab = open_browser(people["city"].token)
    page = tab.page
    page.goto(f"/ui/tasks/{task['id']}")
    page.wait_for_selector("#case-figures table")
    assert f"洪城精密机械有限公司（{f.uscc(REGION, 1)}）" in page.inner_text("#task-meta")

    figures = page.locator("#case-figures")
    assert figures.locator("tr[data-name=revenue_y1]").inner_text().split("\t") == [
        "上年度营业收入",
        "8,000 万元",
    ]
    assert "工业（采矿业" in figures.locator("tr[data-name=industry]").inner_text()
    assert figures.locator("tr[data-name=on_abnormal_list] td").inner_text() == "否"
    assert figures.locator("tr[data-name=decision]").count() == 0  # this task's own form asks it
    evidence = figures.locator("tr[data-name=evidence]")
    assert evidence.locator("th").inner_text() == "佐证材料"
    item = evidence.locator(f"li[data-file='{uploaded['id']}']")
    sha256 = hashlib.sha256(REPORT).hexdigest()
    assert f"{len(REPORT)} B" in item.inner_text()
    assert f"sha256 {sha256[:12]}" in item.inner_text()
    assert item.locator("code").get_attribute("title") == f"sha256 {sha256}"
    checks = page.locator("#case-checks dd").all_inner_texts()
    assert checks[:2] == ["小型（工业）", "符合"]
    assert checks[2].startswith("95 分（及格线 60 分），创新能力 35/40")
    raw = page.locator("#case-data")  # the raw JSON, for experts: folded
    assert raw.get_attribute("open") is None
    assert not page.locator("#case-data-body pre").is_visible()
    raw.locator("summary").click()
    assert uploaded["id"] in page.inner_text("#case-data-body pre")
    tab.shot("task-city-review-figures")

    with page.expect_download() as caught:
        item.locator("a").click()
    download = caught.value
    assert download.suggested_filename == "审计报告.pdf"
    assert Path(download.path()).read_bytes() == REPORT


def test_miit_sees_the_revocation_it_is_asked_to_decide(  # type: ignore[no-untyped-def]
    ctx, clock, people, client, open_browser
) -> None:
    miit = f.user(ctx, client, role="miit", user_id="miit")
    q = f.issue_qualification(ctx, uscc_code=f.uscc(REGION, 1), tier="little_giant", region=REGION)
    sent = people["province"].post(
        f"/api/v1/instances/{q.lifecycle_instance_id}/messages",
        json={
            "name": "revoke_qualification",
            "payload": {"reason": "查实数据造假", "basis": "第十二条"},
        },
    )
    assert sent.status_code == 200, sent.json
    task = miit.task("miit_revocation_review", q.lifecycle_instance_id)
    tab = open_browser(miit.token)
    page = tab.page
    page.goto(f"/ui/tasks/{task['id']}")
    page.wait_for_selector("#case-checks dd")
    assert page.locator("#case-checks dt").all_inner_texts() == ["撤销请求"]
    assert page.locator("#case-checks dd").all_inner_texts() == ["查实数据造假（依据：第十二条）"]
    assert "决定是否撤销“小巨人”资格" in page.inner_text("body")
