"""The diagram interchange (BPMNDI) of P1, P2, P3 and P5 stays complete and readable in the modeler:
every node has a shape inside its lane (and is listed in exactly one lane), every sequence flow
an edge from its source to its target, no two shapes overlap and no edge runs through a shape."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from lxml import etree

from tests import factories as f

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
NODES = {
    "userTask",
    "serviceTask",
    "scriptTask",
    "callActivity",
    "exclusiveGateway",
    "eventBasedGateway",
    "startEvent",
    "endEvent",
    "intermediateCatchEvent",
    "intermediateThrowEvent",
    "boundaryEvent",
}
Box = tuple[float, float, float, float]


def read(
    name: str,
) -> tuple[Any, dict[str, Any], dict[str, Box], dict[str, list[tuple[float, float]]]]:
    tree = etree.parse(str(f.ROOT_PROCESSES / name))
    process = tree.find("bpmn:process", NS)
    nodes = {el.get("id"): el for el in process if etree.QName(el).localname in NODES}
    shapes = {
        s.get("bpmnElement"): tuple(float(s.find("dc:Bounds", NS).get(k)) for k in "xy")
        + tuple(float(s.find("dc:Bounds", NS).get(k)) for k in ("width", "height"))
        for s in tree.iterfind(".//bpmndi:BPMNShape", NS)
    }
    edges = {
        e.get("bpmnElement"): [
            (float(w.get("x")), float(w.get("y"))) for w in e.iterfind("di:waypoint", NS)
        ]
        for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)
    }
    return process, nodes, shapes, edges  # type: ignore[return-value]


def inside(inner: Box, outer: Box) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and x + w <= ox + ow and oy <= y and y + h <= oy + oh


def touches(point: tuple[float, float], box: Box, slack: float = 2) -> bool:
    x, y, w, h = box
    return x - slack <= point[0] <= x + w + slack and y - slack <= point[1] <= y + h + slack


def through(a: tuple[float, float], b: tuple[float, float], box: Box) -> bool:
    """Whether the horizontal or vertical segment a-b runs through the inside of box."""
    x, y, w, h = box
    if a[0] == b[0]:
        return x < a[0] < x + w and max(a[1], b[1]) > y and min(a[1], b[1]) < y + h
    return y < a[1] < y + h and max(a[0], b[0]) > x and min(a[0], b[0]) < x + w


def lane_problems(process: Any, nodes: dict[str, Any], shapes: dict[str, Box]) -> list[str]:
    lane_of: dict[str, list[str]] = {}
    for lane in process.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lane_of.setdefault(ref.text, []).append(lane.get("id"))
    problems = [f"{n}: lanes {lane_of.get(n)}" for n in nodes if len(lane_of.get(n, [])) != 1]
    problems += [f"lane lists unknown {n}" for n in lane_of if n not in nodes]
    return problems + [
        f"{n} outside lane {lanes[0]}"
        for n, lanes in lane_of.items()
        if n in shapes and not inside(shapes[n], shapes[lanes[0]])
    ]


def overlaps(solid: list[str], shapes: dict[str, Box]) -> list[str]:
    found = []
    for i, a in enumerate(solid):
        for b in solid[i + 1 :]:
            (ax, ay, aw, ah), (bx, by, bw, bh) = shapes[a], shapes[b]
            if ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah:
                found.append(f"{a} overlaps {b}")
    return found


def edge_problems(
    flow: Any, points: list[tuple[float, float]], solid: list[str], shapes: dict[str, Box]
) -> list[str]:
    fid, source, target = flow.get("id"), flow.get("sourceRef"), flow.get("targetRef")
    problems = []
    if not touches(points[0], shapes[source]):
        problems.append(f"{fid} does not start at {source}")
    if not touches(points[-1], shapes[target]):
        problems.append(f"{fid} does not end at {target}")
    for a, b in itertools.pairwise(points):
        if a[0] != b[0] and a[1] != b[1]:
            problems.append(f"{fid}: diagonal segment {a} {b}")
        problems += [
            f"{fid} runs through {n}"
            for n in solid
            if n not in (source, target) and through(a, b, shapes[n])
        ]
    return problems


@pytest.mark.parametrize(
    "name",
    [
        "innovative_evaluation.bpmn",
        "specialized_certification.bpmn",
        "little_giant_recommendation.bpmn",
        "major_change.bpmn",
    ],
)
def test_the_diagram_interchange_is_complete_and_nothing_overlaps(name: str) -> None:
    process, nodes, shapes, edges = read(name)
    flows = {fl.get("id"): fl for fl in process.iterfind("bpmn:sequenceFlow", NS)}
    problems = [f"no shape: {n}" for n in nodes if n not in shapes]
    problems += [f"no edge: {fl}" for fl in flows if fl not in edges]
    problems += [f"edge of no flow: {e}" for e in edges if e not in flows]
    assert problems == []
    solid = [n for n, el in nodes.items() if etree.QName(el).localname != "boundaryEvent"]
    problems = lane_problems(process, nodes, shapes) + overlaps(solid, shapes)
    for fid, flow in flows.items():
        problems += edge_problems(flow, edges[fid], solid, shapes)
    assert problems == []
