"""Structural checks of a diagram's sequence flows, per process and per embedded subprocess.

A flow node other than an end event needs an outgoing sequence flow (else a case stops there
for good), and every flow node must be reachable from a start event of its scope (else it
never runs). Entry points besides start events: boundary events (reachable when their host is),
event subprocesses (and their own start events), link catch events and compensation handlers.
SpiffWorkflow 3.2 accepts both defects silently: deleting one flow in the modeller would deploy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from engine.bpmnlint import NS, problem
from engine.lint_messages import BPMN_NS, kind_label, label

B = "{" + BPMN_NS + "}"
ACTIVITIES = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask",
              "sendTask", "receiveTask", "callActivity", "subProcess", "transaction",
              "adHocSubProcess"}  # fmt: skip
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
            "complexGateway"}  # fmt: skip
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
          "boundaryEvent"}  # fmt: skip
FLOW_NODES = ACTIVITIES | GATEWAYS | EVENTS
SCOPES = ("process", "subProcess", "transaction")  # ad hoc subprocesses need no flows


def _local(el: Any) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _has(el: Any, definition: str) -> bool:
    return el.find(f"bpmn:{definition}", NS) is not None


def _event_subprocess(el: Any) -> bool:
    return _local(el) in {"subProcess", "transaction"} and el.get("triggeredByEvent") == "true"


def _compensation(el: Any) -> bool:
    """A compensation handler (no flows) or a compensation boundary event (an association)."""
    return el.get("isForCompensation") == "true" or (
        _local(el) == "boundaryEvent" and _has(el, "compensateEventDefinition")
    )


def _needs_outgoing(el: Any) -> bool:
    kind = _local(el)
    if kind == "endEvent" or _event_subprocess(el) or _compensation(el):
        return False
    return not (kind == "intermediateThrowEvent" and _has(el, "linkEventDefinition"))


def _entry(el: Any) -> bool:
    kind = _local(el)
    return (
        kind == "startEvent"
        or _event_subprocess(el)
        or _compensation(el)
        or (kind == "intermediateCatchEvent" and _has(el, "linkEventDefinition"))
    )


def lint_structure(root: Any, file: str) -> list[dict[str, Any]]:
    """Missing outgoing flows and unreachable nodes of every process and embedded subprocess."""
    problems: list[dict[str, Any]] = []
    for scope in root.iter(*(B + tag for tag in SCOPES)):
        problems += _scope_problems(scope, file)
    return problems


def _scope_problems(scope: Any, file: str) -> list[dict[str, Any]]:
    nodes = [c for c in scope if _local(c) in FLOW_NODES and c.get("id")]
    if not nodes:
        return []
    ids = {n.get("id") for n in nodes}
    targets: dict[str, list[str]] = {i: [] for i in ids}
    incoming: dict[str, int] = dict.fromkeys(ids, 0)
    dangling: set[str] = set()  # ends of flows to or from missing elements (lint_references)
    for flow in scope.iterfind("bpmn:sequenceFlow", NS):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source in ids and target in ids:
            targets[source].append(target)
            incoming[target] += 1
        elif source in ids or target in ids:
            dangling.add(source if source in ids else target)
    for node in nodes:  # a boundary event continues its host's path
        host = node.get("attachedToRef")
        if _local(node) == "boundaryEvent" and host in ids:
            targets[host].append(node.get("id"))
    problems = [
        problem(
            file,
            node.get("id"),
            node.sourceline,
            f"{kind_label(node)} 没有出口顺序流：流程运行到这里会停住，永远不会结束。"
            "请从它连一条顺序流到下一步（流程在此结束时，连到一个结束事件）",
        )
        for node in nodes
        if _needs_outgoing(node)
        and node.get("id") not in dangling
        and not [t for t in targets[node.get("id")] if t in ids]
    ]
    entries = [n.get("id") for n in nodes if _entry(n) or n.get("id") in dangling]
    if not any(_local(n) == "startEvent" for n in nodes) and not _event_subprocess(scope):
        where = "流程" if _local(scope) == "process" else f"子流程 {label(scope)}"
        message = f"{where} 没有开始事件：请添加一个开始事件，并从它连顺序流到第一步"
        problems.append(problem(file, scope.get("id"), scope.sourceline, message))
        return problems
    reached = _walk(entries, targets)
    problems += _unreachable(file, nodes, reached, targets, incoming)
    return problems


def _walk(start: Iterable[str], targets: dict[str, list[str]]) -> set[str]:
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in targets.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _unreachable(
    file: str,
    nodes: list[Any],
    reached: set[str],
    targets: dict[str, list[str]],
    incoming: dict[str, int],
) -> list[dict[str, Any]]:
    """One problem per unreachable part: at the node where it starts (the one that lost its
    incoming flow), counting the nodes after it that are unreachable because of it."""
    by_id = {n.get("id"): n for n in nodes}
    left = [n.get("id") for n in nodes if n.get("id") not in reached]
    roots = [i for i in left if incoming[i] == 0 and _local(by_id[i]) != "boundaryEvent"]
    problems = []
    covered: set[str] = set()
    while True:
        for root_id in roots:
            if root_id in covered:
                continue
            part = _walk([root_id], {k: v for k, v in targets.items() if k not in reached})
            part -= reached
            after = len(part - covered - {root_id})
            covered |= part
            node = by_id[root_id]
            why = "没有入口顺序流" if incoming[root_id] == 0 else "只在一个没有入口的循环中"
            tail = f"；其后的 {after} 个元素也因此不会运行" if after else ""
            message = (
                f"{kind_label(node)} {why}，从开始事件无法到达：流程永远不会运行到这里{tail}。"
                "请从上一步连一条顺序流到它（或删除它）"
            )
            problems.append(problem(file, root_id, node.sourceline, message))
        rest = [i for i in left if i not in covered and _local(by_id[i]) != "boundaryEvent"]
        if not rest:
            return problems
        roots = rest[:1]  # a cycle nothing leads into
