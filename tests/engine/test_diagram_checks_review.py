"""Deploy checks a process owner's review found too weak: each defect passed 校验, deployed and
then broke cases (a NameError, a wrong deadline, an English "Invalid duration", a default the
form refuses)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from bench.common import SME_ALIASES
from engine import definitions, lint_messages
from tests import factories as f
from tests.engine.test_deploy_checks import line_of, refused, settings_edit

P1 = f.P1_BPMN
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _delete_node(text: str, node_id: str) -> str:
    """Delete a node as bpmn-js does: its outgoing flow goes, its incoming one is reconnected
    to the next node; lane references and diagram shapes go too."""
    root = etree.fromstring(text.encode())
    node = root.xpath("//*[@id=$i]", i=node_id)[0]
    out = root.xpath("//bpmn:sequenceFlow[@sourceRef=$i]", i=node_id, namespaces=_NS)[0]
    into = root.xpath("//bpmn:sequenceFlow[@targetRef=$i]", i=node_id, namespaces=_NS)[0]
    following = root.xpath("//*[@id=$i]", i=out.get("targetRef"))[0]
    into.set("targetRef", following.get("id"))
    for ref in following.iterfind(f"{BPMN}incoming"):
        if ref.text == out.get("id"):
            ref.text = into.get("id")
    gone = {node_id, out.get("id")}
    for el in [node, out, *root.xpath("//*[@bpmnElement]")]:
        if el is node or el is out or el.get("bpmnElement") in gone:
            el.getparent().remove(el)
    for ref in root.iter(f"{BPMN}flowNodeRef"):
        if ref.text == node_id:
            ref.getparent().remove(ref)
    return etree.tostring(root, encoding="unicode")


_NS = {"bpmn": BPMN[1:-1]}


def _messages(problems: list[dict[str, Any]], element: str) -> list[str]:
    return [p["message"] for p in problems if p["element_id"] == element]


# -- 1. a name provided on one branch only ------------------------------------------------------


def test_a_name_a_deleted_task_provided_is_refused_with_a_path_where_it_is_missing() -> None:
    """Deleting the city's spot check left `result` provided by the province's spot check
    only: the city's spot-check gateway would raise a NameError."""
    files = f.process_files()
    files[P1] = _delete_node(files[P1], "city_spot_check")
    problems = refused(files)
    found = _messages(problems, "flow_city_spot_fail")
    assert len(found) == 1, problems
    message = found[0]
    assert "读取了 result" in message
    assert "并非每条到达这里的路径都给它赋值" in message
    assert "用户任务 province_spot_check（省级实地抽查）" in message  # where it is assigned
    assert "city_draw（市级抽查抽签） → city_spot_check_needed（是否抽中？） → " in message
    assert "city_spot_check_result（抽查结论） → 顺序流 flow_city_spot_fail" in message
    # the outcome script reads `findings`, which the deleted task's preScript reset
    assert any(
        "读取了 findings" in m for m in _messages(problems, "set_outcome_city_spot_check_failed")
    )


def test_a_name_assigned_before_a_loop_and_in_it_is_accepted() -> None:
    """The self-evaluation loop (correction) converges: every shipped diagram still deploys."""
    assert definitions.validate(f.process_files())[1] == []


# -- 2. a user task without a form ----------------------------------------------------------------

FORMLESS = '<bpmn:userTask id="Activity_1i9lc8b" name="省级复核">'
SPOT = '<bpmn:userTask id="city_spot_check" name="市级实地抽查">'


def _with_formless_task(text: str) -> str:
    """A user task 省级复核 without form and instructions, in the city lane, on its own."""
    lane_ref = "<bpmn:flowNodeRef>city_spot_check</bpmn:flowNodeRef>"
    text = text.replace(
        lane_ref, f"{lane_ref}<bpmn:flowNodeRef>Activity_1i9lc8b</bpmn:flowNodeRef>"
    )
    return text.replace(SPOT, f"{FORMLESS}</bpmn:userTask>\n    {SPOT}")


def test_a_user_task_without_form_and_instructions_is_refused() -> None:
    files = f.process_files()
    files[P1] = _with_formless_task(files[P1])
    found = _messages(refused(files), "Activity_1i9lc8b")
    assert any(
        "缺少表单（formJsonSchemaFilename）和中文办理说明（instructionsForEndUser）" in m
        for m in found
    ), found


def test_a_formless_task_does_not_switch_off_the_name_check() -> None:
    files = f.process_files()
    files[P1] = _with_formless_task(files[P1]).replace(
        'decision == "reject"', 'decison == "reject"', 1
    )
    problems = refused(files)
    assert any("读取了 decison" in p["message"] for p in problems), problems


def test_diagrams_without_forms_keep_formless_tasks() -> None:
    """Test and benchmark diagrams use no forms at all: their tasks take what is submitted."""
    bench = f.ROOT_PROCESSES.parent / "bench" / "sme_eval.bpmn"
    files = {"sme_eval.bpmn": bench.read_text(encoding="utf-8")}
    assert definitions.validate(files, SME_ALIASES)[1] == []


# -- 3. a deadline timer and the task's dueAt -----------------------------------------------------


def test_a_deadline_timer_that_differs_from_the_tasks_due_at_is_refused() -> None:
    old = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">application_deadline_at</bpmn:timeDate>'
    new = old.replace("application_deadline_at", '"2026-12-20T00:00:00+08:00"')
    files = f.process_files({P1: (old, new)})
    found = _messages(refused(files), "self_evaluation")
    assert len(found) == 1, found
    assert "dueAt 为 application_deadline_at" in found[0]
    assert (
        'application_window_closed（申报期截止） 的 timeDate "2026-12-20T00:00:00+08:00"'
        in found[0]
    )


# -- 4. a timer of the wrong kind -----------------------------------------------------------------


def test_a_duration_timer_given_a_date_time_is_refused() -> None:
    old = (
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">days_before(correction["ends_at"], '
        "correction_reminder_days)</bpmn:timeDate>"
    )
    new = old.replace("timeDate", "timeDuration")
    files = f.process_files({P1: (old, new)})
    problems = refused(files)
    found = [p for p in problems if "类型是时长（timeDuration）" in p["message"]]
    assert len(found) == 1, problems
    assert "给出的是日期时间" in found[0]["message"]
    assert found[0]["line"] == line_of(files[P1], new)


def test_invalid_duration_in_an_incident_is_told_in_chinese() -> None:
    text = lint_messages.runtime_message("Exception", "Invalid duration", "correction_reminder")
    assert text.startswith("定时器 correction_reminder 的时长无效")
    assert "技术细节：Exception: Invalid duration" in text


# -- 5. a setting the form it pre-fills refuses ---------------------------------------------------


def test_a_setting_beyond_the_bound_of_the_form_field_it_prefills_is_refused() -> None:
    files = settings_edit("400", old="correction_days = 10 ")
    found = [p for p in refused(files) if "correction_days = 400" in p["message"]]
    assert len(found) == 1, found
    message = found[0]["message"]
    assert "forms/review_with_return.schema.json" in message
    assert "不大于 365（maximum）" in message
    assert found[0]["element_id"] == "settings"


# -- 6. a form that is not JSON -------------------------------------------------------------------


def test_a_form_that_is_not_json_is_told_in_chinese_with_its_line() -> None:
    files = f.process_files()
    form = "forms/spot_check.schema.json"
    files[form] = files[form].replace('"type":', '"type"', 1)
    found = [p for p in refused(files) if p["file"] == form]
    assert len(found) == 1, found
    assert "缺少冒号 :" in found[0]["message"]
    assert "Expecting" not in found[0]["message"].split("技术细节")[0]
    assert found[0]["line"] == line_of(files[form], '"type" "')
