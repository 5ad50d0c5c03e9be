"""The modeller as a process owner reviewed it: a diagram of another procedure is refused, edits
are not lost unknowingly (leaving, switching files), a deploy moves the page to the new version,
the canvas fits the window, the panel is readable and dmn-js / bpmn-js speak Chinese."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import definitions
from engine.store import Definition
from tests import factories as f
from tests.browser.conftest import SHOTS

pytestmark = pytest.mark.browser
KEY = "innovative_evaluation"
BPMN_TAB = f"#file-tabs button[data-file='{KEY}.bpmn']"
DMN = "rules/innovative_score.dmn"


def console_of(page: Any) -> list[str]:
    """Errors and warnings the page logs (bpmn-js / dmn-js included)."""
    logged: list[str] = []

    def log(message: Any) -> None:
        # dmn-js's bundle (not ours) announces that it embeds Inferno's development build
        if message.type in ("error", "warning") and "build of Inferno" not in message.text:
            logged.append(f"{message.type}: {message.text}")

    page.on("console", log)
    page.on("pageerror", lambda error: logged.append(f"pageerror: {error}"))
    return logged


def open_modeler(page: Any, version: int = 1, query: str = "") -> None:
    page.goto(f"/ui/design/{KEY}/{version}{query}")
    page.wait_for_selector("body[data-loaded]")
    page.wait_for_selector("#bpmn-canvas g[data-element-id=settings]")


def rename(page: Any, element_id: str, name: str) -> None:
    """Rename an element as the label editor does (one command on the undo stack)."""
    page.evaluate(
        """([id, name]) => {
            const modeler = window.tidu.modeler;
            modeler.get('modeling').updateLabel(modeler.get('elementRegistry').get(id), name);
        }""",
        [element_id, name],
    )


def name_of(page: Any, element_id: str) -> str:
    return page.evaluate(
        "(id) => window.tidu.modeler.get('elementRegistry').get(id).businessObject.name",
        element_id,
    )


def tooltip(page: Any, selector: str) -> str:
    """A palette entry's tooltip (diagram-js 15 writes aria-label, older ones title)."""
    element = page.locator(selector)
    return element.get_attribute("aria-label") or element.get_attribute("title") or ""


def open_file(page: Any, name: str) -> None:
    """Pick a file of the set from its drop-down list (decision tables, forms)."""
    button = page.locator(f"#file-tabs button[data-file='{name}']")
    if not button.is_visible():
        member = page.locator(f"button[data-file='{name}']")
        page.locator("#file-tabs details.file-group", has=member).locator("summary").click()
    button.click()


def versions(ctx: Any, key: str) -> list[int]:
    with ctx.transaction() as session:
        return list(
            session.scalars(
                select(Definition.version)
                .where(Definition.process_key == key)
                .order_by(Definition.version)
            ).all()
        )


def test_a_diagram_of_another_procedure_is_refused(  # type: ignore[no-untyped-def]
    ctx, people, open_browser, tmp_path: Path
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    logged = console_of(page)
    open_modeler(page)
    other = tmp_path / "major_change.bpmn"
    other.write_text(definitions.read_directory(f.ROOT_PROCESSES)["major_change.bpmn"])
    page.set_input_files("#file-input", str(other))
    page.wait_for_selector("#notice.error")
    message = page.inner_text("#notice")
    assert "major_change" in message, message
    assert KEY in message
    assert "不能用它替换" in message
    page.wait_for_selector("#bpmn-canvas g[data-element-id=settings]")  # still this procedure's
    assert page.locator("#bpmn-canvas g[data-element-id=settings]").count() == 1
    assert "dirty" not in (page.get_attribute(BPMN_TAB, "class") or "")
    tab.shot("modeler-other-procedure-refused")

    rename(page, "city_review", "市级初审（修订）")
    page.click("#deploy")
    page.wait_for_selector("#status.ok, #status.error")
    assert page.inner_text("#status") == "已部署为第 2 版", page.inner_text("#problems")
    assert versions(ctx, KEY) == [1, 2]
    assert versions(ctx, "major_change") == [1]
    assert logged == [], logged


def test_deploy_moves_to_the_new_version_and_leaving_with_edits_asks_first(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)
    dialogs: list[str] = []

    def answer(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    prompts = "() => { const e = new Event('beforeunload', { cancelable: true }); "
    prompts += "window.dispatchEvent(e); return e.defaultPrevented; }"
    assert page.evaluate(prompts) is False  # nothing edited: leave freely

    rename(page, "city_review", "市级初审（修订）")
    page.wait_for_selector(f"{BPMN_TAB}.dirty")
    assert page.evaluate(prompts) is True  # the browser asks before unloading
    page.click("a.button >> text=返回列表")  # our own link asks too; dismissed: stay
    assert dialogs == ["confirm"]
    assert page.url.endswith(f"/ui/design/{KEY}/1")
    assert name_of(page, "city_review") == "市级初审（修订）"

    page.click("#deploy")
    page.wait_for_selector("#status.ok, #status.error")
    assert page.inner_text("#status") == "已部署为第 2 版", page.inner_text("#problems")
    # the page now edits version 2: URL, heading, title; nothing dirty, nothing to undo
    assert page.url.endswith(f"/ui/design/{KEY}/2")
    assert "第 2 版" in page.inner_text("h1")
    assert "第 2 版" in page.title()
    assert page.locator("#file-tabs .dirty").count() == 0
    assert not page.is_enabled("#undo")
    assert page.evaluate(prompts) is False
    tab.shot("modeler-deployed-v2")

    rename(page, "city_review", "市级初审（再次修订）")  # a second deploy builds on version 2
    page.click("#deploy")
    page.wait_for_selector("#status >> text=已部署为第 3 版")
    page.click("a.button >> text=返回列表")  # deployed: no question
    page.wait_for_url("**/ui/design")
    assert dialogs == ["confirm"]


def test_undo_history_survives_switching_files(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)
    rename(page, "city_review", "市级初审（修订）")
    open_file(page, DMN)
    page.wait_for_selector("#dmn-canvas .djs-container")
    assert not page.is_visible("#bpmn-pane")
    page.click(BPMN_TAB)
    page.wait_for_selector("#bpmn-canvas g[data-element-id=settings]")
    assert "dirty" in page.get_attribute(BPMN_TAB, "class")
    assert page.is_enabled("#undo")
    page.click("#undo")
    assert name_of(page, "city_review") == "市级初审"
    assert "dirty" not in page.get_attribute(BPMN_TAB, "class")
    page.click("#redo")
    assert name_of(page, "city_review") == "市级初审（修订）"


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)])
def test_canvas_and_toolbar_fit_the_window(  # type: ignore[no-untyped-def]
    people, open_browser, size: tuple[int, int]
) -> None:
    width, height = size
    tab = open_browser(people["owner"].token)
    page = tab.page
    page.set_viewport_size({"width": width, "height": height})
    open_modeler(page)
    canvas = page.locator("#bpmn-canvas").bounding_box()
    assert canvas["y"] < 260, canvas  # the file list takes one row
    assert canvas["y"] + canvas["height"] <= height + 120, canvas
    assert page.locator("#file-tabs").bounding_box()["height"] < 60
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"modeler-layout-{width}.png"))
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    toolbar = page.locator("#validate").bounding_box()
    assert 0 <= toolbar["y"] < 120, toolbar  # sticky: 校验 / 部署 / 撤销 stay at hand
    assert page.is_visible("#undo")

    page.goto("/ui/design")
    page.wait_for_selector("body[data-loaded]")
    row = f"section[data-key={KEY}] tr[data-version='1']"
    link = page.locator(f"{row} a.button").bounding_box()
    assert link["height"] < 40, link  # 打开编辑 on one line
    assert page.locator(f"{row} td.running").bounding_box()["width"] > 40


def test_select_zooms_to_a_readable_level_around_the_element(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    page = open_browser(people["owner"].token).page
    open_modeler(page, query="?select=settings")
    page.wait_for_selector("#properties-panel[data-element=settings]")
    assert page.evaluate("window.tidu.modeler.get('canvas').zoom()") >= 0.9
    canvas = page.locator("#bpmn-canvas").bounding_box()
    shape = page.locator("#bpmn-canvas g[data-element-id=settings]").bounding_box()
    assert shape["width"] > 60, shape
    middle = (shape["x"] + shape["width"] / 2, shape["y"] + shape["height"] / 2)
    assert abs(middle[0] - (canvas["x"] + canvas["width"] / 2)) < 40, (shape, canvas)
    assert abs(middle[1] - (canvas["y"] + canvas["height"] / 2)) < 40, (shape, canvas)


def test_panel_wraps_long_lines_and_counts_a_multiple_selection(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page, query="?select=settings")
    page.wait_for_selector("#properties-panel[data-element=settings] #pp-script")
    fits = """(selector) => {
        const area = document.querySelector(selector);
        return [area.scrollWidth <= area.clientWidth,
                area.scrollHeight <= area.clientHeight + 2];
    }"""
    assert page.evaluate(fits, "#pp-script") == [True, True]  # every comment read whole
    long_line = "；".join(["企业须在申报截止前完成自评并上传证明材料"] * 8)
    page.fill("#pp-script", page.input_value("#pp-script") + f"\n# {long_line}")
    assert page.evaluate(fits, "#pp-script") == [True, True]  # grows with a long line too
    tab.shot("modeler-panel-wrapped")

    page.evaluate("""() => {
        const modeler = window.tidu.modeler;
        const registry = modeler.get('elementRegistry');
        modeler.get('selection').select([registry.get('settings'), registry.get('city_review')]);
    }""")
    page.wait_for_selector("#properties-panel >> text=已选中 2 个元素")


def test_dmn_views_speak_chinese_without_console_errors(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    logged = console_of(page)
    open_modeler(page)
    assert "抓手工具" in tooltip(page, "#bpmn-canvas .djs-palette .entry[data-action=hand-tool]")
    open_file(page, DMN)
    page.wait_for_selector("#dmn-canvas .dmn-definitions")
    tab.shot("modeler-dmn-drd")
    # the definitions' name box does not cover a decision
    name = page.locator("#dmn-canvas .dmn-definitions").bounding_box()
    for shape in page.locator("#dmn-canvas g.djs-shape").all():
        box = shape.bounding_box()
        overlaps = (
            box["x"] < name["x"] + name["width"]
            and name["x"] < box["x"] + box["width"]
            and box["y"] < name["y"] + name["height"]
            and name["y"] < box["y"] + box["height"]
        )
        assert not overlaps, (box, name)
    palette = "#dmn-canvas .djs-palette .entry[data-action='create.decision']"
    assert tooltip(page, palette) == "新建决策"
    page.evaluate("""() => {
        const dmn = window.tidu.dmnModeler;
        dmn.open(dmn.getViews().find((view) => view.type === 'decisionTable'));
    }""")
    page.wait_for_selector("#dmn-canvas .tjs-table")
    head = page.inner_text("#dmn-canvas .tjs-table thead")
    assert "当" in head, head
    assert "则" in head
    assert page.inner_text("#dmn-canvas .view-drd-button") == "查看决策需求图（DRD）"
    assert "命中策略" in page.inner_text("#dmn-canvas .hit-policy")
    tab.shot("modeler-dmn-table")
    assert logged == [], logged


def test_unreadable_file_is_explained_in_chinese_and_cleared_by_the_next_open(  # type: ignore[no-untyped-def]
    people, open_browser, tmp_path: Path
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<definitions>not a diagram", encoding="utf-8")
    page.set_input_files("#file-input", str(broken))
    page.wait_for_selector("#notice.error")
    summary = page.inner_text("#notice p.summary")
    assert "无法打开 broken.bpmn" in summary
    assert "原有文件未作改动" in summary
    assert "unparsable" not in summary
    assert "missing" not in summary
    assert not page.is_visible("#notice details pre")  # the parser's words, folded away
    page.click("#notice details summary")
    assert page.inner_text("#notice details pre").strip()
    tab.shot("modeler-open-broken")

    good = tmp_path / f"{KEY}.bpmn"
    good.write_text(definitions.read_directory(f.ROOT_PROCESSES)[f"{KEY}.bpmn"], encoding="utf-8")
    page.set_input_files("#file-input", str(good))
    page.wait_for_selector("#status.ok")
    assert page.is_hidden("#notice")
