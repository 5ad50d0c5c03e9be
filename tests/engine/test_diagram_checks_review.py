"""Deploy checks a process owner's review found too weak: each defect passed 校验, deployed and
then broke cases (a NameError, a wrong deadline, an English "Invalid duration", a default the
form refuses)."""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine import definitions
from tests import factories as f
from tests.engine.test_deploy_checks import refused

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
