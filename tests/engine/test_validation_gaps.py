"""Defects a process owner can make in the web modeller that deploy used to accept, or answered
in English or on the wrong element: a deleted sequence flow, a misspelt user-task property, a
syntax error in `settings`, a `=` in a branch condition, a file that is not XML."""

from __future__ import annotations

import re
from typing import Any

import pytest
from lxml import etree

from engine import structure
from tests import factories as f
from tests.engine.test_deploy_checks import line_of, only, refused

P1 = f.P1_BPMN
LIFECYCLE = "qualification_lifecycle.bpmn"
P2 = "specialized_certification.bpmn"
ENGLISH = re.compile(r"\b(invalid|syntax|unterminated|unexpected|never closed|cannot|literal|"
                     r"Non-default|without condition|unparsable|missing)\b")  # fmt: skip


def without_flow(flow_id: str, bpmn: str = P1) -> dict[str, str]:
    """The file set with one sequence flow deleted as the modeller deletes it: the flow, its
    source's `outgoing` and target's `incoming` references, and its diagram edge."""
    files = f.process_files(bpmn=bpmn)
    text = files[bpmn]
    flow = rf'\s*<bpmn:sequenceFlow id="{flow_id}"[^>]*?(/>|>.*?</bpmn:sequenceFlow>)'
    text, found = re.subn(flow, "", text, flags=re.S)
    assert found == 1, flow_id
    text = re.sub(rf"\s*<bpmn:(incoming|outgoing)>{flow_id}</bpmn:\1>", "", text)
    edge = rf'\s*<bpmndi:BPMNEdge id="[^"]*" bpmnElement="{flow_id}".*?</bpmndi:BPMNEdge>'
    files[bpmn] = re.sub(edge, "", text, flags=re.S)
    return files


# -- 1. structure: outgoing flows and reachability ----------------------------------------------


@pytest.mark.parametrize(
    ("flow_id", "stuck", "unreachable"),
    [
        ("flow_settings", ("settings", "流程参数"), ("self_evaluation", "企业自评")),
        ("flow_score", ("score_innovative", "创新型评价打分"), ("auto_check", "符合条件且达标？")),
        ("flow_city_return", None, ("correction_deadline", "计算补正期限")),
        ("flow_city_draw", ("city_draw", "市级抽查抽签"), ("city_spot_check_needed", "是否抽中？")),
        (
            "flow_correction_reminder",
            ("correction_reminder", "补正期满前提醒"),
            ("send_correction_reminder", "提醒企业补正"),
        ),
    ],
)
def test_a_deleted_sequence_flow_is_refused_naming_both_ends(
    flow_id: str, stuck: tuple[str, str] | None, unreachable: tuple[str, str]
) -> None:
    files = without_flow(flow_id)
    problems = refused(files)
    if flow_id == "flow_city_return":  # the decision "return" now has no exit at its gateway
        stopped = only([p for p in problems if p["element_id"] == "city_review_decision"])
        assert '"return"' in stopped["message"]
        problems = [p for p in problems if p is not stopped]
    expected = {unreachable[0]} | ({stuck[0]} if stuck else set())
    assert {p["element_id"] for p in problems} == expected, problems
    for element_id, name in filter(None, (stuck, unreachable)):
        found = only([p for p in problems if p["element_id"] == element_id])
        assert found["line"] == line_of(files[P1], f'id="{element_id}"')
        assert f"{element_id}（{name}）" in found["message"]
        assert found["file"] == P1
    if stuck:
        assert (
            "没有出口顺序流"
            in only([p for p in problems if p["element_id"] == stuck[0]])["message"]
        )
    lost = only([p for p in problems if p["element_id"] == unreachable[0]])
    assert "无法到达" in lost["message"]


def test_a_deleted_flow_inside_a_nested_subprocess_is_refused() -> None:
    files = without_flow("flow_city_renewal_drawn", LIFECYCLE)
    problems = refused(files)
    assert {p["element_id"] for p in problems} == {"city_renewal_draw", "city_renewal_spot_needed"}
    assert all(p["file"] == LIFECYCLE and p["line"] for p in problems)


def _diagram(body: str) -> Any:
    return etree.fromstring(
        f'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
        f'<process id="p" isExecutable="true">{body}</process></definitions>'.encode()
    )


def flows(*pairs: str) -> str:
    return "".join(
        f'<sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(p.split(">") for p in pairs)
    )


def test_event_subprocesses_links_and_compensation_are_entry_points() -> None:
    root = _diagram(
        '<startEvent id="s"/><task id="t"/><endEvent id="e"/>'
        '<intermediateThrowEvent id="go"><linkEventDefinition name="L"/></intermediateThrowEvent>'
        '<intermediateCatchEvent id="come"><linkEventDefinition name="L"/></intermediateCatchEvent>'
        '<task id="undo" isForCompensation="true"/>'
        '<boundaryEvent id="comp" attachedToRef="t"><compensateEventDefinition/></boundaryEvent>'
        '<subProcess id="handler" triggeredByEvent="true">'
        '<startEvent id="hs"><errorEventDefinition/></startEvent><endEvent id="he"/>'
        f"{flows('hs>he')}</subProcess>" + flows("s>t", "t>go", "come>e")
    )
    assert structure.lint_structure(root, "x.bpmn") == []


def test_an_unreachable_loop_and_a_missing_start_event_are_refused() -> None:
    root = _diagram(
        '<startEvent id="s"/><endEvent id="e"/><task id="a" name="甲"/><task id="b"/>'
        f'<subProcess id="sub" name="子"><task id="x"/><endEvent id="xe"/>{flows("x>xe")}'
        "</subProcess>" + flows("s>sub", "sub>e", "a>b", "b>a")
    )
    problems = structure.lint_structure(root, "x.bpmn")
    assert {p["element_id"] for p in problems} == {"a", "sub"}
    loop = only([p for p in problems if p["element_id"] == "a"])
    assert "a（甲）" in loop["message"]
    assert "其后的 1 个元素" in loop["message"]
    assert "没有开始事件" in only([p for p in problems if p["element_id"] == "sub"])["message"]


# -- 2. spiffworkflow:property names and values -------------------------------------------------

CITY_FORM = 'name="formJsonSchemaFilename" value="forms/review_with_return.schema.json"/>'


def test_a_misspelt_property_name_is_refused_with_the_closest_known_name() -> None:
    misspelt = CITY_FORM.replace("Filename", "Filname")
    files = f.process_files({P1: (CITY_FORM, misspelt)})
    found = only(refused(files))
    assert found["element_id"] == "city_review"
    assert found["line"] == line_of(files[P1], misspelt)
    assert "formJsonSchemaFilname" in found["message"]
    assert "是否应为 formJsonSchemaFilename" in found["message"]
    assert "city_review（市级初审）" in found["message"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("P10D", "未加引号的 ISO 文本"),
        ("&quot;P10D&quot;", "日期时间"),
        ("correction[&quot;ends&quot;] + ", "语法错误"),
        ("corection[&quot;ends_at&quot;]", "是否应为 correction"),
    ],
)
def test_a_bad_due_at_is_refused(value: str, expected: str) -> None:
    prop = f'<spiffworkflow:property name="dueAt" value="{value}"/>'
    files = f.process_files({P1: (CITY_FORM, CITY_FORM + prop)})
    found = only(refused(files))
    assert found["element_id"] == "city_review"
    assert found["line"] == line_of(files[P1], prop)
    assert expected in found["message"]
    assert not ENGLISH.search(found["message"].split("技术细节")[0]), found["message"]


def test_an_unknown_required_qualification_is_refused() -> None:
    old = 'name="requiresQualification" value="innovative"'
    files = f.process_files({P2: (old, old.replace("innovative", "innovativ"))}, bpmn=P2)
    found = only(refused(files))
    assert found["element_id"] == "start"
    assert "不是梯度代码" in found["message"]


# -- 3. a syntax error in settings --------------------------------------------------------------


def test_a_settings_syntax_error_comes_alone_in_chinese_at_its_line() -> None:
    bad = "notice_working_days = 7天 "
    files = f.process_files({P1: ("notice_working_days = 5 ", bad)})
    found = only(refused(files))
    assert found["element_id"] == "settings"
    assert found["line"] == line_of(files[P1], bad)
    assert "没有给它赋值" not in found["message"]
    assert "语法错误" in found["message"]
    assert "引号" in found["message"]
    assert not ENGLISH.search(found["message"]), found["message"]


# -- 4. English reaching users ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "chinese"),
    [
        ("x = (1", "括号 ( 没有闭合"),
        ('x = "abc', "缺少结尾的引号"),
        (" x = 1", "多余的缩进"),
        ("f() = 1", "不能给函数调用赋值"),
        ("x = 1a", "无效的数字写法"),
        ("x = 1 +", "语法无效"),
        ("x = 1，2", "中文标点"),
    ],
)
def test_python_syntax_errors_are_reported_in_chinese(code: str, chinese: str) -> None:
    files = f.process_files({P1: ('outcome = "ineligible"', code)})
    found = only(refused(files))
    assert found["element_id"] == "set_outcome_ineligible"
    assert chinese in found["message"]
    assert "代码第 1 行" in found["message"]
    assert not ENGLISH.search(found["message"]), found["message"]


def test_a_missing_condition_is_reported_once_in_chinese() -> None:
    old = 'targetRef="city_draw">\n      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "approve"</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>'  # noqa: E501
    found = only(refused(f.process_files({P1: (old, 'targetRef="city_draw"/>')})))
    assert found["element_id"] == "flow_city_approve"
    assert "既无条件也不是默认路径" in found["message"]
    assert "city_review_decision（初审结论）" in found["message"]


def test_a_file_that_is_not_xml_is_refused_in_chinese_with_the_detail_after() -> None:
    files = f.process_files()
    files[P1] = "这不是 BPMN 文件"
    found = only(refused(files))
    assert found["file"] == P1
    chinese, _, detail = found["message"].partition("技术细节：")
    assert "不是有效的 XML" in chinese
    assert not ENGLISH.search(chinese)
    assert detail


# -- 5. branch conditions on their sequence flow ------------------------------------------------


def test_an_assignment_in_a_condition_is_reported_on_its_flow() -> None:
    old = '>decision == "approve"</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>\n    <bpmn:sequenceFlow id="flow_city_draw"'  # noqa: E501
    files = f.process_files({P1: (old, old.replace("==", "="))})
    found = only(refused(files))
    assert found["element_id"] == "flow_city_approve"
    assert found["line"] == line_of(files[P1], '>decision = "approve"<')
    assert "`=` 应为 `==`" in found["message"]
    assert "flow_city_approve（通过）" in found["message"]


# -- 6. names and no repository paths -----------------------------------------------------------


def test_a_misspelt_setting_describes_the_fix_inline() -> None:
    files = f.process_files({P1: ("spot_check_rate = 0.2 ", "spot_check_ratio = 0.2 ")})
    problems = refused(files)
    assert not any("docs/" in p["message"] for p in problems)
    misspelt = only([p for p in problems if "spot_check_ratio" in p["message"]])
    assert "把这一行的 spot_check_ratio 改成 spot_check_rate" in misspelt["message"]
    missed = only([p for p in problems if "没有给它赋值" in p["message"]])
    assert "city_draw（市级抽查抽签）" in missed["message"]


def test_a_condition_on_a_value_the_form_does_not_offer_is_refused() -> None:
    old = '>decision == "approve"</bpmn:conditionExpression>\n    </bpmn:sequenceFlow>\n    <bpmn:sequenceFlow id="flow_city_draw"'  # noqa: E501
    files = f.process_files({P1: (old, old.replace('"approve"', '"approved"'))})
    found = only(refused(files))
    assert found["element_id"] == "flow_city_approve"
    assert found["line"] == line_of(files[P1], '>decision == "approved"<')
    for allowed in ('"approve"（通过）', '"return"（退回补正）', '"reject"（不予通过）'):
        assert allowed in found["message"]
