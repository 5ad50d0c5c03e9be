"""The design page does not lose edits: a deploy from an older version is stopped (409) with a
choice, a fully undone DMN edit is no change, forms can be added and files removed, and the
whole file set downloads at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import definitions, deploy_safety
from engine.context import Actor
from tests import factories as f
from tests.browser.test_modeler_review import KEY, open_file, open_modeler, rename, versions

pytestmark = pytest.mark.browser
DMN = "rules/innovative_score.dmn"
DMN_TAB = f"#file-tabs button[data-file='{DMN}']"


def _accept(page: Any) -> list[str]:
    seen: list[str] = []

    def answer(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    return seen


def test_deploying_from_an_older_version_asks_and_offers_compare_or_deploy_anyway(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    files = definitions.read_directory(f.ROOT_PROCESSES)
    files[f.P1_BPMN] = files[f.P1_BPMN].replace('name="市级初审"', 'name="市级初审（他人）"', 1)
    owner = Actor(id="owner", role="process_owner")
    definitions.deploy_set(ctx, files=files, actor=owner, source=deploy_safety.UPLOAD)
    tab = open_browser(people["owner"].token)
    page = tab.page
    asked = _accept(page)
    open_modeler(page, version=1)
    rename(page, "province_review", "省级审核（修订）")
    page.click("#deploy")
    page.wait_for_selector("#deploy-anyway")
    text = page.inner_text("#notice")
    assert "第 1 版" in text
    assert "第 2 版" in text
    assert "href" in page.locator("#compare-latest").evaluate("a => a.outerHTML")
    assert versions(ctx, KEY) == [1, 2]
    tab.shot("design-safety-outdated")
    page.click("#deploy-anyway")
    page.wait_for_selector("#status >> text=已部署为第 3 版")
    assert asked
    assert versions(ctx, KEY) == [1, 2, 3]


def test_a_fully_undone_dmn_edit_is_no_change(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)
    open_file(page, DMN)
    page.wait_for_selector("#dmn-canvas .djs-container")
    page.evaluate("""() => {
        const viewer = window.tidu.dmnModeler.getActiveViewer();
        const decision = viewer.get('elementRegistry').filter((e) => e.type === 'dmn:Decision')[0];
        viewer.get('modeling').updateLabel(decision, '改过的名称');
    }""")
    page.wait_for_selector(f"{DMN_TAB}.dirty", state="attached")
    page.click("#undo")
    page.wait_for_selector(f"{DMN_TAB}:not(.dirty)", state="attached")
    page.click("#deploy")
    page.wait_for_selector("#status.ok, #status.error")
    assert "内容没有变化" in page.inner_text("#status")
    assert versions(ctx, KEY) == [1]


def test_a_form_can_be_added_and_a_file_removed(  # type: ignore[no-untyped-def]
    people, open_browser, tmp_path: Path
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    asked = _accept(page)
    open_modeler(page)
    form = tmp_path / "extra_check.schema.json"
    form.write_text('{"type": "object", "title": "补充核查", "properties": {}}', encoding="utf-8")
    page.set_input_files("#file-input", str(form))
    page.wait_for_selector("#status >> text=已新增表单 forms/extra_check.schema.json")
    names = page.evaluate("Object.keys(window.tidu.state.files)")
    assert "forms/extra_check.schema.json" in names
    page.click("#remove-file")
    page.wait_for_selector("#status >> text=已移除 forms/extra_check.schema.json")
    assert asked
    assert "forms/extra_check.schema.json" not in page.evaluate(
        "Object.keys(window.tidu.state.files)"
    )
    open_file(page, DMN)
    page.wait_for_selector("#dmn-canvas .djs-container")
    page.click("#remove-file")
    page.wait_for_selector(f"#status >> text=已移除 {DMN}")
    assert DMN not in page.evaluate("Object.keys(window.tidu.state.files)")


def test_the_whole_file_set_downloads_as_a_zip(people, open_browser) -> None:  # type: ignore[no-untyped-def]
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)
    with page.expect_download() as info:
        page.click("#download-all")
    assert info.value.suggested_filename == f"{KEY}-v1.zip"
