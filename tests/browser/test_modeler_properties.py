"""The modeller's properties panel and 从文件打开: a process owner changes what SpiffWorkflow runs
(the 流程参数 script, timers, conditions, spiffworkflow extensions) without touching XML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine import definitions
from tests import factories as f

pytestmark = pytest.mark.browser
KEY = "innovative_evaluation"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
OLD_LINE = "notice_working_days = 5        # 公示期（工作日）"


def open_modeler(page: Any, version: int = 1, query: str = "") -> None:
    page.goto(f"/ui/design/{KEY}/{version}{query}")
    page.wait_for_selector("body[data-loaded]")
    page.wait_for_selector("#bpmn-canvas g[data-element-id=settings]")


def reveal(page: Any, element_id: str) -> None:
    """Zoom to 100% with the element in the middle of the canvas (as a user scrolls to it)."""
    page.evaluate(
        """(id) => {
            const canvas = window.tidu.modeler.get('canvas');
            const element = window.tidu.modeler.get('elementRegistry').get(id);
            canvas.zoom(1);
            const box = canvas.viewbox();
            canvas.viewbox({
                x: element.x + element.width / 2 - box.width / 2,
                y: element.y + element.height / 2 - box.height / 2,
                width: box.width, height: box.height });
        }""",
        element_id,
    )


def pick(page: Any, element_id: str, **kw: Any) -> None:
    """Click an element of the diagram, as a user does to select it."""
    reveal(page, element_id)
    page.click(f"#bpmn-canvas g[data-element-id={element_id}]", **kw)


def commit(page: Any) -> None:
    """Leave the field being edited (its change event commits the edit), as clicking away does."""
    page.evaluate("document.activeElement && document.activeElement.blur()")


def exported(page: Any) -> etree._Element:
    """The open diagram as bpmn-js exports it (what 部署 and 下载 send)."""
    xml = page.evaluate("async () => (await window.tidu.modeler.saveXML({ format: true })).xml")
    return etree.fromstring(xml.encode())


def by_id(root: etree._Element, element_id: str) -> etree._Element:
    (found,) = root.xpath("//*[@id=$id]", id=element_id)
    return found


def test_owner_changes_a_setting_in_the_panel_and_deploys_it(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    page.goto("/ui/design")
    page.wait_for_selector("body[data-loaded]")
    box = page.locator(f"section[data-key={KEY}] details.settings")
    box.locator("summary").click()
    assert "属性面板" in box.inner_text()
    box.locator("a.edit-settings").click()  # opens the latest version with 流程参数 selected
    page.wait_for_selector("#properties-panel[data-element=settings]")
    assert page.input_value("#pp-id") == "settings"
    assert page.get_attribute("#pp-id", "readonly") is None  # editable, checked before applied

    page.click("#bpmn-canvas", position={"x": 5, "y": 5})  # deselect, then pick it on the diagram
    page.wait_for_selector("#properties-panel[data-element='']")
    pick(page, "settings")
    page.wait_for_selector("#properties-panel[data-element=settings] #pp-script")
    assert "流程参数" in page.inner_text("#properties-panel h3 >> nth=1")
    script = page.input_value("#pp-script")
    assert OLD_LINE in script
    page.fill("#pp-script", script.replace(OLD_LINE, OLD_LINE.replace("= 5", "= 7")))
    commit(page)
    bpmn_tab = f"#file-tabs button[data-file='{KEY}.bpmn']"
    page.wait_for_selector(f"{bpmn_tab}.dirty")
    assert page.is_enabled("#undo")
    tab.shot("design-properties-settings")

    page.click("#deploy")
    page.wait_for_selector("#status.ok, #status.error")
    assert page.inner_text("#status") == "已部署为第 2 版", page.inner_text("#problems")
    xml = people["owner"].get(f"/api/v1/definitions/{KEY}/2/xml").get_data(as_text=True)
    assert "notice_working_days = 7        # 公示期（工作日）" in xml
    assert OLD_LINE not in xml
    # the spiffworkflow extensions survive the re-serialization (typed by the moddle descriptor)
    root = etree.fromstring(xml.encode())
    props = by_id(root, "self_evaluation").xpath(".//spiffworkflow:property", namespaces=NS)
    assert {p.get("name"): p.get("value") for p in props} == {
        "formJsonSchemaFilename": "forms/innovative_self_evaluation.schema.json",
        "dueAt": "application_deadline_at",
    }
    settings = people["owner"].get(f"/api/v1/definitions/{KEY}/2/settings").json
    assert {"name": "notice_working_days", "value": 7} in [
        {"name": s["name"], "value": s["value"]} for s in settings
    ]


def test_timer_and_condition_edits_are_exported_and_undo_reverts_them(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)

    # a timer: 日期 → 时长 with a quoted ISO duration (SpiffWorkflow evaluates it as Python)
    pick(page, "correction_reminder", position={"x": 8, "y": 28})
    page.wait_for_selector("#properties-panel[data-element=correction_reminder] #pp-timer-kind")
    assert page.input_value("#pp-timer-kind") == "timeDate"
    assert page.input_value("#pp-timer-expression") == (
        'days_before(correction["ends_at"], correction_reminder_days)'
    )
    page.select_option("#pp-timer-kind", "timeDuration")
    page.wait_for_function("document.querySelector('#pp-timer-kind').value === 'timeDuration'")
    page.fill("#pp-timer-expression", '"P10D"')
    commit(page)
    page.wait_for_function("document.querySelector('#pp-timer-expression').value === '\"P10D\"'")
    tab.shot("design-properties-timer")
    timer = by_id(exported(page), "correction_reminder_timer")
    assert [(child.tag.split("}")[1], child.text) for child in timer] == [
        ("timeDuration", '"P10D"')
    ]

    # a condition of a flow leaving the 初审结论 gateway, picked by its label
    pick(page, "flow_city_reject_label")
    page.wait_for_selector("#properties-panel[data-element=flow_city_reject] #pp-condition")
    assert page.input_value("#pp-condition") == 'decision == "reject"'
    page.fill("#pp-condition", 'decision == "reject" and not appeal_pending')
    commit(page)
    condition = by_id(exported(page), "flow_city_reject").find("bpmn:conditionExpression", NS)
    assert condition.text == 'decision == "reject" and not appeal_pending'

    # undo (the toolbar button, then the keyboard) reverts the panel edits, the panel follows
    page.click("#undo")
    page.wait_for_function(
        "document.querySelector('#pp-condition').value === 'decision == \"reject\"'"
    )
    condition = by_id(exported(page), "flow_city_reject").find("bpmn:conditionExpression", NS)
    assert condition.text == 'decision == "reject"'
    page.click("#redo")
    page.wait_for_function("document.querySelector('#pp-condition').value.includes('appeal')")
    page.click("#undo")
    pick(page, "settings")  # the keyboard acts on the focused canvas
    page.keyboard.press("Control+z")  # the timer expression
    page.keyboard.press("Control+z")  # the timer kind
    timer = by_id(exported(page), "correction_reminder_timer")
    assert [(child.tag.split("}")[1], child.text) for child in timer] == [
        ("timeDate", 'days_before(correction["ends_at"], correction_reminder_days)')
    ]
    assert not page.is_enabled("#undo")

    # what 下载当前文件 saves is the same export
    pick(page, "flow_city_reject_label")
    page.wait_for_selector("#properties-panel[data-element=flow_city_reject] #pp-condition")
    page.fill("#pp-condition", 'decision == "reject" or withdrawn')
    commit(page)
    with page.expect_download() as download:
        page.click("#download")
    saved = etree.fromstring(Path(download.value.path()).read_bytes())
    condition = by_id(saved, "flow_city_reject").find("bpmn:conditionExpression", NS)
    assert condition.text == 'decision == "reject" or withdrawn'


def test_user_task_extension_properties_are_edited_and_still_validate(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)
    pick(page, "self_evaluation")
    panel = "#properties-panel[data-element=self_evaluation]"
    page.wait_for_selector(f"{panel} tr[data-property=dueAt]")
    assert page.input_value(f"{panel} tr[data-property=formJsonSchemaFilename] input >> nth=1") == (
        "forms/innovative_self_evaluation.schema.json"
    )
    assert "申报截止前" in page.input_value("#pp-instructions")
    assert page.input_value("#pp-pre-script") == ""

    page.fill(
        f"{panel} tr[data-property=dueAt] input >> nth=1", "days_before(application_deadline_at, 1)"
    )
    commit(page)
    page.fill(f"{panel} tr.pp-new-property input >> nth=0", "handledBy")
    page.fill(f"{panel} tr.pp-new-property input >> nth=1", "innovative:city")
    page.click(f"{panel} tr.pp-new-property button")
    page.wait_for_selector(f"{panel} tr[data-property=handledBy]")
    page.fill("#pp-pre-script", "draft_started = True")
    commit(page)
    page.fill("#pp-post-script", "self_evaluated = True")
    commit(page)
    tab.shot("design-properties-user-task")

    task = by_id(exported(page), "self_evaluation")
    props = task.xpath("bpmn:extensionElements/spiffworkflow:properties/*", namespaces=NS)
    assert [(p.get("name"), p.get("value")) for p in props] == [
        ("formJsonSchemaFilename", "forms/innovative_self_evaluation.schema.json"),
        ("dueAt", "days_before(application_deadline_at, 1)"),
        ("handledBy", "innovative:city"),
    ]
    (pre,) = task.xpath(".//spiffworkflow:preScript", namespaces=NS)
    assert pre.text == "draft_started = True"
    (post,) = task.xpath(".//spiffworkflow:postScript", namespaces=NS)
    assert post.text == "self_evaluated = True"

    page.click(f"{panel} tr[data-property=handledBy] button")  # delete a row; blank removes
    page.wait_for_selector(f"{panel} tr[data-property=handledBy]", state="detached")
    page.fill("#pp-pre-script", "")
    commit(page)
    task = by_id(exported(page), "self_evaluation")
    assert not task.xpath(".//spiffworkflow:preScript", namespaces=NS)
    assert len(task.xpath(".//spiffworkflow:property", namespaces=NS)) == 2

    page.click("#validate")  # the task's deadline no longer is its timer's: named
    page.wait_for_selector("#status.ok, #status.error")
    assert page.inner_text("#status") == "发现 1 个问题", page.inner_text("#problems")
    assert "application_window_closed" in page.inner_text("#problems")
    page.fill(f"{panel} tr[data-property=dueAt] input >> nth=1", "application_deadline_at")
    commit(page)
    page.click("#validate")  # SpiffWorkflow still parses the re-serialized extensions
    page.wait_for_selector("#status.ok, #status.error")
    page.wait_for_function("document.querySelector('#status').textContent === '校验通过'")


def test_every_spiffworkflow_element_of_the_processes_is_typed_and_round_trips(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    page = open_browser(people["owner"].token).page
    open_modeler(page)
    files = definitions.read_directory(f.ROOT_PROCESSES)
    for name, text in files.items():
        if not name.endswith(".bpmn"):
            continue
        answer = page.evaluate(
            """async (xml) => {
                const moddle = window.tidu.modeler.get('moddle');
                const { rootElement, warnings } = await moddle.fromXML(xml, 'bpmn:Definitions');
                const generic = [];
                const seen = new Set();
                (function walk(value) {
                    if (!value || typeof value !== 'object' || seen.has(value)) return;
                    seen.add(value);
                    if (Array.isArray(value)) { value.forEach(walk); return; }
                    if (value.$descriptor && value.$descriptor.isGeneric) generic.push(value.$type);
                    for (const [key, child] of Object.entries(value)) {
                        if (key !== '$parent') walk(child);
                    }
                })(rootElement);
                const { xml: out } = await moddle.toXML(rootElement, { format: true });
                return { generic, warnings: warnings.map((w) => w.message), xml: out };
            }""",
            text,
        )
        assert answer["generic"] == [], (name, answer["generic"])
        assert answer["warnings"] == [], (name, answer["warnings"])
        before, after = (etree.fromstring(x.encode()) for x in (text, answer["xml"]))
        assert spiff_elements(before), name
        assert spiff_elements(after) == spiff_elements(before), name


def spiff_elements(root: etree._Element) -> list[tuple[str, dict[str, str], str]]:
    """Every spiffworkflow:* element in document order: tag, attributes, text."""
    return [(e.tag, dict(e.attrib), (e.text or "").strip()) for e in root.iter(f"{{{SPIFF_NS}}}*")]


def test_owner_opens_an_edited_file_from_disk_and_deploys_it(  # type: ignore[no-untyped-def]
    people, open_browser, tmp_path: Path
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)
    files = definitions.read_directory(f.ROOT_PROCESSES)
    bpmn_tab = f"#file-tabs button[data-file='{KEY}.bpmn']"

    broken = tmp_path / "broken.bpmn"
    broken.write_text("<definitions>not a diagram", encoding="utf-8")
    page.set_input_files("#file-input", str(broken))
    page.wait_for_selector("#notice.error")
    assert "无法打开 broken.bpmn" in page.inner_text("#notice")
    page.wait_for_selector("#bpmn-canvas g[data-element-id=settings]")  # the diagram is kept
    assert "dirty" not in (page.get_attribute(bpmn_tab, "class") or "")

    edited = tmp_path / "downloads" / f"{KEY} (1).bpmn"  # as a browser names a second download
    edited.parent.mkdir()
    edited.write_text(
        files[f"{KEY}.bpmn"]
        .replace(OLD_LINE, OLD_LINE.replace("= 5", "= 9"))
        .replace('name="市级初审"', 'name="市级初审（本地修订）"'),
        encoding="utf-8",
    )
    page.set_input_files("#file-input", str(edited))
    page.wait_for_selector("#status.ok")
    assert page.inner_text("#status").startswith(f"已用 {edited.name} 替换 {KEY}.bpmn")
    page.wait_for_selector(f"{bpmn_tab}.dirty")
    pick(page, "settings")
    page.wait_for_selector("#properties-panel[data-element=settings] #pp-script")
    assert "notice_working_days = 9" in page.input_value("#pp-script")
    tab.shot("design-open-from-disk")

    dmn_name = "rules/eligibility.dmn"
    dmn = tmp_path / "eligibility.dmn"
    dmn.write_text(files[dmn_name], encoding="utf-8")  # same text: replaced, but not changed
    page.set_input_files("#file-input", str(dmn))
    page.wait_for_selector(  # in the closed 决策表 list, which names it
        f"#file-tabs button[data-file='{dmn_name}'].active", state="attached"
    )
    assert "eligibility.dmn" in page.inner_text("#file-tabs details[data-kind=dmn] summary")
    assert page.is_visible("#dmn-canvas")
    assert not page.is_visible("#properties-panel")

    page.click("#deploy")
    page.wait_for_selector("#status.ok, #status.error")
    assert page.inner_text("#status") == "已部署为第 2 版", page.inner_text("#problems")
    xml = people["owner"].get(f"/api/v1/definitions/{KEY}/2/xml").get_data(as_text=True)
    assert "notice_working_days = 9" in xml
    assert "市级初审（本地修订）" in xml
    assert xml == edited.read_text(encoding="utf-8")  # a file from disk is deployed as is
