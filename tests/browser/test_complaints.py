"""The public in the browser: a real-name complaint (第十三条), every missing element named."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import factories as f
from tests.browser.conftest import REGION

pytestmark = pytest.mark.browser


def test_a_complainant_files_a_real_name_complaint_with_evidence(  # type: ignore[no-untyped-def]
    ctx, clock, client, people, open_browser, tmp_path: Path
) -> None:
    target = f.uscc(REGION, 1)
    f.grant_qualification(ctx, uscc_code=target, tier="innovative", region=REGION)
    public = f.user(ctx, client, role="public", user_id="zhangsan")
    tab = open_browser(public.token)
    page = tab.page
    page.goto("/ui/complaints")
    page.wait_for_selector("body[data-loaded]")
    page.fill("#c-uscc", target)
    page.click("#file")  # anonymous, without evidence: refused, each element named
    page.wait_for_selector("[data-field='complainant.name'].invalid")
    assert "匿名投诉不予受理" in page.inner_text("[data-error-for='complainant.name']")
    assert "无证据的投诉不予受理" in page.inner_text("[data-error-for=evidence]")
    assert page.inner_text("[data-error-for=uscc]") == ""
    tab.shot("complaint-refused")

    proof = tmp_path / "虚报研发费用.pdf"
    proof.write_bytes(b"%PDF-1.4 evidence")
    page.set_input_files("#c-evidence", str(proof))
    page.wait_for_selector("#c-files li code")
    page.fill("#c-content", "该企业申报材料中的研发费用与审计报告不一致。")
    page.fill("#c-name", "张三")
    page.fill("#c-id", "36010219800101001X")
    page.fill("#c-contact", "13800000000")
    page.click("#file")
    page.wait_for_selector("#notice.ok >> text=投诉已登记")
    assert "所在地市级中小企业主管部门" in page.inner_text("#notice")
    row = page.locator("#complaints tr[data-complaint]")
    row.wait_for()
    assert "进行中" in row.inner_text()
    assert target in row.inner_text()
    [filed] = public.get("/api/v1/complaints").json["items"]
    assert filed["complainant"] is None  # the filer's list never echoes an identity
