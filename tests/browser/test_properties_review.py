"""The properties panel as a process owner reviewed it: the 编号 of an element (a user task added
in the modeller gets Activity_1i9lc8b) is editable, checked before it is applied; switching a
timer's 类型 drops an expression of another kind instead of keeping it to fail when reached."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.test_modeler_properties import NS, by_id, commit, exported, open_modeler, pick

pytestmark = pytest.mark.browser
NCNAME_RULE = "编号须以字母或下划线开头，只含字母、数字、下划线、连字符和点"
REMINDER = 'days_before(correction["ends_at"], correction_reminder_days)'


def add_user_task(page: Any) -> str:
    """Add a user task beside 市级初审 as the palette does; select it; return its id."""
    return page.evaluate(
        """() => {
            const modeler = window.tidu.modeler;
            const near = modeler.get('elementRegistry').get('city_review');
            const shape = modeler.get('elementFactory').createShape({ type: 'bpmn:UserTask' });
            const created = modeler.get('modeling').createShape(
                shape, { x: near.x + near.width / 2, y: near.y + near.height + 90 }, near.parent);
            modeler.get('selection').select(created);
            return created.id;
        }"""
    )


def type_id(page: Any, value: str) -> None:
    page.fill("#pp-id", value)
    commit(page)


def id_error(page: Any) -> str:
    page.wait_for_selector("#properties-panel [data-field=id] .pp-error")
    return page.inner_text("#properties-panel [data-field=id] .pp-error")


def timer_children(page: Any) -> list[tuple[str, str]]:
    timer = by_id(exported(page), "correction_reminder_timer")
    return [(child.tag.split("}")[1], child.text or "") for child in timer]


def test_owner_renames_an_added_user_task_and_a_bad_id_is_refused_with_its_reason(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)
    added = add_user_task(page)
    assert added.startswith("Activity_")
    page.wait_for_selector(f"#properties-panel[data-element={added}] #pp-id")
    assert page.input_value("#pp-id") == added
    assert page.get_attribute("#pp-id", "readonly") is None

    refused = {
        "city_review": "编号已被用户任务“市级初审”使用",
        "correction_reminder_timer": "编号已被定时器定义使用",  # not drawn, still in the diagram
        "city_review_di": "编号已被图形使用",
        "1st_check": NCNAME_RULE,
        "城市复核": NCNAME_RULE,
        "city review": NCNAME_RULE,
        "   ": "编号不能为空",
    }
    for value, reason in refused.items():
        type_id(page, value)
        assert id_error(page) == f"{reason}；编号仍为 {added}", value
        assert page.get_attribute("#pp-id", "aria-invalid") == "true"
        assert page.evaluate(
            "(id) => !!window.tidu.modeler.get('elementRegistry').get(id)", added
        ), value
    tab.shot("design-properties-id-refused")
    assert len(exported(page).xpath("//*[@id='city_review']")) == 1
    page.fill("#pp-id", "city_re")  # typing again clears the old reason
    assert page.locator("#properties-panel [data-field=id] .pp-error").count() == 0

    type_id(page, "city_second_review")
    page.wait_for_selector("#properties-panel[data-element=city_second_review]")
    assert page.locator("#properties-panel .pp-error").count() == 0
    assert page.input_value("#pp-id") == "city_second_review"
    root = exported(page)
    assert by_id(root, "city_second_review").tag == f"{{{NS['bpmn']}}}userTask"
    assert root.xpath("//*[@bpmnElement='city_second_review']")  # its shape follows
    assert not root.xpath("//*[@id=$id]", id=added)
    page.wait_for_selector("#bpmn-canvas g[data-element-id=city_second_review]")

    page.click("#undo")  # the rename is one undoable command; the panel follows
    page.wait_for_selector(f"#properties-panel[data-element={added}]")
    assert page.input_value("#pp-id") == added
    page.click("#redo")
    page.wait_for_selector("#properties-panel[data-element=city_second_review]")


def test_renaming_a_connected_element_keeps_its_references(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    page = open_browser(people["owner"].token).page
    open_modeler(page)
    pick(page, "correct_application")
    page.wait_for_selector("#properties-panel[data-element=correct_application] #pp-id")
    type_id(page, "enterprise_correction.v2")  # dots and hyphens are NCName characters
    page.wait_for_selector("#properties-panel[data-element='enterprise_correction.v2']")
    root = exported(page)
    assert not root.xpath("//*[@id='correct_application']")
    assert by_id(root, "correction_reminder").get("attachedToRef") == "enterprise_correction.v2"
    incoming = root.xpath(
        "//bpmn:sequenceFlow[@targetRef='enterprise_correction.v2']", namespaces=NS
    )
    assert incoming


def test_switching_a_timer_kind_clears_an_expression_of_another_kind(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    open_modeler(page)
    pick(page, "correction_reminder", position={"x": 8, "y": 28})
    panel = "#properties-panel[data-element=correction_reminder]"
    page.wait_for_selector(f"{panel} #pp-timer-kind")
    assert page.input_value("#pp-timer-kind") == "timeDate"
    assert page.input_value("#pp-timer-expression") == REMINDER

    page.select_option("#pp-timer-kind", "timeDuration")  # a date is no duration
    page.wait_for_selector(f"{panel} [data-field=timer-expression] .pp-notice")
    notice = page.inner_text(f"{panel} [data-field=timer-expression] .pp-notice")
    assert notice.startswith(f"原表达式 {REMINDER} 不是时长，已清除")
    assert '时长应为 ISO 8601 时长，如 "P10D"' in notice
    assert "返回时长的表达式" in notice
    assert page.input_value("#pp-timer-kind") == "timeDuration"
    assert page.input_value("#pp-timer-expression") == ""
    assert timer_children(page) == []
    tab.shot("design-properties-timer-kind-cleared")

    page.click("#undo")  # kind and expression come back in one step
    page.wait_for_function(
        "document.querySelector('#pp-timer-expression').value.startsWith('days_before')"
    )
    assert page.input_value("#pp-timer-kind") == "timeDate"
    assert page.locator(f"{panel} .pp-notice").count() == 0
    assert timer_children(page) == [("timeDate", REMINDER)]
    assert not page.is_enabled("#undo")

    page.select_option("#pp-timer-kind", "timeCycle")
    page.wait_for_selector(f"{panel} .pp-notice")
    assert "周期应为 ISO 8601 重复周期" in page.inner_text(f"{panel} .pp-notice")
    page.fill("#pp-timer-expression", '"R3/PT1H"')  # the notice goes with the new expression
    commit(page)
    page.wait_for_function("document.querySelector('#pp-timer-expression').value === '\"R3/PT1H\"'")
    assert page.locator(f"{panel} .pp-notice").count() == 0
    assert timer_children(page) == [("timeCycle", '"R3/PT1H"')]

    page.select_option("#pp-timer-kind", "timeDuration")  # a cycle is no duration either
    page.wait_for_selector(f"{panel} .pp-notice")
    assert timer_children(page) == []
    page.fill("#pp-timer-expression", 'f"P{correction_reminder_days}D"')
    commit(page)
    page.wait_for_function("document.querySelector('#pp-timer-expression').value.startsWith('f')")
    page.select_option("#pp-timer-kind", "timeDate")  # a duration is no date
    page.wait_for_selector(f"{panel} .pp-notice")
    assert '日期应为带时区的 ISO 8601 日期时间，如 "2025-10-01T00:00:00+08:00"' in page.inner_text(
        f"{panel} .pp-notice"
    )
    assert timer_children(page) == []


def test_switching_a_timer_kind_keeps_an_expression_that_fits_it(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    page = open_browser(people["owner"].token).page
    open_modeler(page)
    pick(page, "correction_reminder", position={"x": 8, "y": 28})
    panel = "#properties-panel[data-element=correction_reminder]"
    page.wait_for_selector(f"{panel} #pp-timer-kind")
    page.fill("#pp-timer-expression", '"P10D"')  # a duration typed under 日期 by mistake
    commit(page)
    page.wait_for_function("document.querySelector('#pp-timer-expression').value === '\"P10D\"'")
    page.select_option("#pp-timer-kind", "timeDuration")
    page.wait_for_function("document.querySelector('#pp-timer-kind').value === 'timeDuration'")
    assert page.input_value("#pp-timer-expression") == '"P10D"'
    assert page.locator(f"{panel} .pp-notice").count() == 0
    assert timer_children(page) == [("timeDuration", '"P10D"')]


KINDS = {
    '"P10D"': "timeDuration",
    "'PT2H'": "timeDuration",
    'f"P{correction_days}D"': "timeDuration",
    '"P" + str(days) + "D"': "timeDuration",
    '"R3/PT1H"': "timeCycle",
    '"R/P1D"': "timeCycle",
    'f"R{times}/PT1H"': "timeCycle",
    '"2025-10-01T00:00:00+08:00"': "timeDate",
    'correction["ends_at"]': "timeDate",
    "days_before(application_deadline_at, 3)": "timeDate",
    "Period_days": "timeDate",  # a name: only a leading string literal tells a duration
}


def test_the_kind_of_a_timer_expression_is_told_by_its_leading_literal(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    page = open_browser(people["owner"].token).page
    open_modeler(page)
    found = page.evaluate(
        """async (bodies) => {
            const script = document.querySelector('script[type=module][src*="modeler.js"]');
            const panel = await import(new URL('properties_panel.js', script.src).href);
            return Object.fromEntries(bodies.map((body) => [body, panel.timerKindOf(body)]));
        }""",
        list(KINDS),
    )
    assert found == KINDS
