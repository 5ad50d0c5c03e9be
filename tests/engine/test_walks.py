"""TiduWorkflow's walks (engine/walks.py) find what SpiffWorkflow's iterators find, in the same
order, on trees deeper than SpiffWorkflow's depth limit too; the process tests cross-check
every walk of every diagram (tests/fixtures/codec_check.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState

from engine import walks
from engine.runtime import BASELINE_SERIALIZER, SERIALIZER, cached_spec, make_parser, spec_to_json
from tests.fixtures.codec_check import walk_check  # noqa: F401

MASKS = [
    TaskState.READY,
    TaskState.WAITING,
    TaskState.NOT_FINISHED_MASK,
    TaskState.FINISHED_MASK,
    TaskState.ANY_MASK,
    TaskState.MAYBE | TaskState.COMPLETED,
]

# start -> count (script) -> more? -> count ... -> wait (user task) -> end: each pass of the
# loop adds tasks below the last, so the tree grows as deep as the loop runs
LOOP = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs_loop"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="loop" name="循环" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="count" name="计数"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:incoming>f_again</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="more" default="f_done"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_again</bpmn:outgoing><bpmn:outgoing>f_done</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="wait" name="等待"><bpmn:incoming>f_done</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count" />
    <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="more" />
    <bpmn:sequenceFlow id="f_again" sourceRef="more" targetRef="count">
      <bpmn:conditionExpression>n &lt; limit</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_done" sourceRef="more" targetRef="wait" />
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def loop_spec() -> tuple[Any, Any]:
    parser = make_parser()
    parser.add_bpmn_str(LOOP.encode())
    spec, subs = parser.get_spec("loop"), parser.get_subprocess_specs("loop")
    return cached_spec("test-walks:loop", lambda: spec_to_json(spec, subs))


def ids(tasks: Any) -> list[Any]:
    return [t.id for t in tasks]


def same_walks(wf: Any) -> None:
    for mask in MASKS:
        assert ids(walks.walk(wf.task_tree, mask)) == ids(TaskIterator(wf.task_tree, state=mask))
        assert ids(walks.walk_bpmn(wf.task_tree, mask)) == ids(
            BpmnTaskIterator(wf.task_tree, state=mask)
        )


def shape(wf: Any) -> list[tuple[str, int, int]]:
    return [
        (t.task_spec.name, t.state, t.depth) for t in TaskIterator(wf.task_tree, max_depth=5000)
    ]


@pytest.mark.parametrize("limit", [3, 600])
def test_walks_match_spiffworkflows_iterators(limit: int) -> None:
    spec, subs = loop_spec()
    wf, stock = walks.TiduWorkflow(spec, subs), BpmnWorkflow(spec, subs)
    for one in (wf, stock):
        one.task_tree.data |= {"n": 0, "limit": limit}
    same_walks(wf)
    wf.do_engine_steps()
    stock.do_engine_steps()
    same_walks(wf)
    assert shape(wf) == shape(stock)
    deepest = max(t.depth for t in wf.tasks.values())
    assert deepest > (1000 if limit == 600 else 5)  # past SpiffWorkflow's depth limit
    ready = wf.get_tasks(state=TaskState.READY)
    if limit == 600:  # the loop's next task lies below the limit: no walk reaches it
        assert ready == []
        assert any(t.state == TaskState.READY for t in wf.tasks.values())
        assert max(t.data.get("n", 0) for t in wf.tasks.values()) < 600
        return
    assert [t.task_spec.name for t in ready] == ["wait"]
    for one in (wf, stock):
        one.get_tasks(state=TaskState.READY)[0].run()
        one.do_engine_steps()
    same_walks(wf)
    assert shape(wf) == shape(stock)
    assert wf.is_completed()
    assert wf.data["n"] == limit


def test_a_case_is_saved_as_a_bpmn_workflow_and_restored_as_tidu_workflow() -> None:
    spec, subs = loop_spec()
    wf = walks.TiduWorkflow(spec, subs)
    wf.task_tree.data |= {"n": 0, "limit": 2}
    wf.do_engine_steps()
    text = SERIALIZER.serialize_json(wf)
    assert json.loads(text)["typename"] == "BpmnWorkflow"
    assert text == BASELINE_SERIALIZER.serialize_json(wf)
    assert type(SERIALIZER.deserialize_json(text)) is walks.TiduWorkflow
    assert type(BASELINE_SERIALIZER.deserialize_json(text)) is BpmnWorkflow
    stock = BpmnWorkflow(spec, subs)  # a stock workflow still saves with the engine's serializer
    assert type(SERIALIZER.deserialize_json(SERIALIZER.serialize_json(stock))) is walks.TiduWorkflow


def test_other_queries_go_to_spiffworkflow() -> None:
    spec, subs = loop_spec()
    wf = walks.TiduWorkflow(spec, subs)
    wf.task_tree.data |= {"n": 0, "limit": 2}
    wf.do_engine_steps()
    assert isinstance(wf.get_tasks_iterator(state=TaskState.READY, manual=True), TaskIterator)
    assert not isinstance(wf.get_tasks_iterator(state=TaskState.READY), TaskIterator)
    assert [t.task_spec.name for t in wf.get_tasks(spec_name="wait")] == ["wait"]


def test_the_cross_check_follows_every_walk_and_catches_a_wrong_one(
    walk_check: list[int],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec, subs = loop_spec()
    wf = walks.TiduWorkflow(spec, subs)
    wf.task_tree.data |= {"n": 0, "limit": 3}
    wf.do_engine_steps()
    assert walk_check[0] > 3
    monkeypatch.setattr(walks, "walk_bpmn", lambda root, mask: iter([]))
    with pytest.raises(AssertionError):
        wf.get_tasks(state=TaskState.READY)  # finds nothing where SpiffWorkflow finds "wait"
    monkeypatch.setattr(walks, "walk", lambda root, mask: iter([root]))
    with pytest.raises(AssertionError):
        wf.update_waiting_tasks()  # the root is not waiting
