"""Host-side checks SpiffWorkflow leaves to us: lanes, operators, forms, Python snippets, timers."""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree

from engine import registry
from engine.runtime import UnsafeScript, check_code
from engine.settings import TASK_ROLES

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {"bpmn": BPMN_NS}
ISO_UNQUOTED = re.compile(r"^\s*R?\d*/?P[\dYMWDTHS.]+\s*$|^\s*\d{4}-\d{2}-\d{2}T")


def problem(file: str, element_id: str | None, line: int | None, message: str) -> dict[str, Any]:
    return {"file": file, "element_id": element_id, "line": line, "message": message}


def role_of_lane(
    lane_id: str, lane_name: str = "", aliases: dict[str, str] | None = None
) -> str | None:
    """Lane ids name roles (`city`, `lane_city`); settings may alias other lane ids or names."""
    aliases = aliases or {}
    for key in (lane_id, lane_name):
        if key in aliases:
            return aliases[key]
    role = lane_id.removeprefix("lane_")
    return role if role in TASK_ROLES else None


def lane_map(
    root: etree._Element, file: str, aliases: dict[str, str] | None = None
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Map each flow node id to the role of its lane; report unknown lanes and dangling refs."""
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    lanes: dict[str, str] = {}
    problems = []
    for lane in root.iterfind(".//bpmn:lane", NS):
        role = role_of_lane(lane.get("id", ""), lane.get("name", ""), aliases)
        if role is None:
            problems.append(
                problem(
                    file,
                    lane.get("id"),
                    lane.sourceline,
                    f"泳道 {lane.get('id')!r} 不对应已知角色（{', '.join(TASK_ROLES)}）",
                )
            )
            continue
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            node = (ref.text or "").strip()
            if node not in ids:
                problems.append(
                    problem(
                        file, lane.get("id"), ref.sourceline, f"泳道引用了不存在的元素 {node!r}"
                    )
                )
            lanes[node] = role
    return lanes, problems


def element_line(root: etree._Element, element_id: str | None) -> int | None:
    if not element_id:
        return None
    found = root.xpath("//*[@id=$i]", i=element_id)
    return found[0].sourceline if found else None


def snippets(spec: Any) -> Iterator[tuple[str, str, str, str]]:
    """Yield (element id, where, code, mode) for every Python snippet of a parsed spec."""
    for ts in spec.task_specs.values():
        bid = getattr(ts, "bpmn_id", None) or ts.name
        for attr in ("script", "prescript", "postscript"):
            code = getattr(ts, attr, None)
            if code:
                yield bid, attr, code, "exec"
        for cond, target in getattr(ts, "cond_task_specs", []):
            if cond is not None:
                yield bid, f"条件→{target}", cond.args[0], "eval"
        event = getattr(ts, "event_definition", None)
        for ed in getattr(event, "event_definitions", None) or [event]:
            if ed is not None and getattr(ed, "expression", None):
                yield bid, "定时器表达式", ed.expression, "timer"
        for pid, param in (getattr(ts, "operation_params", None) or {}).items():
            yield bid, f"参数 {pid}", param["value"], "eval"
        props = (getattr(ts, "extensions", None) or {}).get("properties", {})
        if props.get("dueAt"):
            yield bid, "dueAt", props["dueAt"], "eval"


def timer_location(root: etree._Element, bid: str, code: str) -> tuple[str, int | None]:
    """The event that holds a timer expression, and the expression's line.

    SpiffWorkflow moves the timers of an event-based gateway's catch events onto the gateway,
    so the spec names the gateway; the modeller must edit the catch event.
    """
    targets = set(root.xpath("//bpmn:sequenceFlow[@sourceRef=$i]/@targetRef", namespaces=NS, i=bid))
    found = [
        (expr.getparent().getparent().get("id"), expr.sourceline)
        for expr in root.iterfind(".//bpmn:timerEventDefinition/*", NS)
        if (expr.text or "").strip() == code.strip()
    ]
    for owner, line in found:
        if owner == bid or owner in targets:
            return owner, line
    return bid, element_line(root, bid)


def lint_code(spec: Any, root: etree._Element, file: str) -> list[dict[str, Any]]:
    problems = []
    for bid, where, code, mode in snippets(spec):
        if mode == "timer":
            element, line = timer_location(root, bid, code)
        else:
            element, line = bid, element_line(root, bid)
        if mode == "timer" and ISO_UNQUOTED.match(code):
            problems.append(
                problem(
                    file,
                    element,
                    line,
                    f'{where} {code!r} 是未加引号的 ISO 文本，应写成 "{code.strip()}"',
                )
            )
            continue
        try:
            check_code(code, "exec" if mode == "exec" else "eval")
        except SyntaxError as error:
            problems.append(
                problem(
                    file,
                    element,
                    line,
                    f"{where} 语法错误：{error.msg}（第 {error.lineno} 行第 {error.offset} 列）",
                )
            )
        except UnsafeScript as error:
            problems.append(problem(file, element, line, f"{where}：{error}"))
    return problems


def lint_tasks(
    spec: Any, root: etree._Element, file: str, lanes: dict[str, str], files: dict[str, str]
) -> list[dict[str, Any]]:
    """Check user tasks (lane, form) and service tasks (operator, parameters)."""
    problems = []
    known = registry.names()
    for ts in spec.task_specs.values():
        bid = getattr(ts, "bpmn_id", None)
        kind = type(ts).__name__
        line = element_line(root, bid)
        if kind == "ServiceTask":
            problems += _lint_service(ts, bid, line, file, known)
        if getattr(ts, "manual", False) and bid:
            if bid not in lanes:
                problems.append(problem(file, bid, line, f"人工任务 {bid!r} 不在任何角色泳道中"))
            form = (ts.extensions or {}).get("properties", {}).get("formJsonSchemaFilename")
            if form:
                problems += lint_form(form, files, file, bid, line)
    return problems


def _lint_service(
    ts: Any, bid: str, line: int | None, file: str, known: set[str]
) -> list[dict[str, Any]]:
    if ts.operation_name not in known:
        return [problem(file, bid, line, f"服务任务使用了未注册的处理器 {ts.operation_name!r}")]
    op = registry.get(ts.operation_name)
    accepted = set(op.parameters())
    given = set(ts.operation_params or {})
    out = []
    if unknown := given - accepted:
        out.append(problem(file, bid, line, f"处理器 {op.name} 不接受参数 {sorted(unknown)}"))
    required = {
        n
        for n, p in inspect.signature(op.fn).parameters.items()
        if p.default is inspect.Parameter.empty and n not in registry.INJECTED
    }
    if missing := required - given:
        out.append(problem(file, bid, line, f"处理器 {op.name} 缺少参数 {sorted(missing)}"))
    return out


def lint_form(
    form: str, files: dict[str, str], file: str, bid: str, line: int | None
) -> list[dict[str, Any]]:
    if form not in files:
        return [problem(file, bid, line, f"表单文件 {form!r} 不在部署文件中")]
    if reason := schema_problem(files[form]):
        return [problem(form, bid, None, f"表单 JSON Schema 无效：{reason}")]
    return []


@functools.lru_cache(maxsize=256)
def schema_problem(text: str) -> str | None:
    """Why a form's JSON Schema is invalid, or None (cached: the metaschema check is slow)."""
    try:
        Draft202012Validator.check_schema(json.loads(text))
    except (ValueError, SchemaError) as error:
        return str(getattr(error, "message", error))
    return None


def lint_gateways(root: etree._Element, file: str) -> list[dict[str, Any]]:
    """Exclusive gateway flows need a condition unless they are the default."""
    problems = []
    for gw in root.iterfind(".//bpmn:exclusiveGateway", NS):
        outgoing = [o.text for o in gw.iterfind("bpmn:outgoing", NS)]
        if len(outgoing) < 2:
            continue
        for flow_id in outgoing:
            if flow_id == gw.get("default"):
                continue
            flow = root.xpath("//bpmn:sequenceFlow[@id=$i]", namespaces=NS, i=flow_id)
            if flow and flow[0].find("bpmn:conditionExpression", NS) is None:
                problems.append(
                    problem(
                        file,
                        flow_id,
                        flow[0].sourceline,
                        f"排他网关 {gw.get('id')} 的出口 {flow_id} 既无条件也不是默认路径",
                    )
                )
    return problems


_REFERENCES = (  # (element, attribute, what it must name) checked before SpiffWorkflow parses
    ("sequenceFlow", "sourceRef", "元素"),
    ("sequenceFlow", "targetRef", "元素"),
    ("boundaryEvent", "attachedToRef", "任务"),
)


def lint_references(root: etree._Element, file: str) -> list[dict[str, Any]]:
    """References to elements that do not exist, named by the referring element and its line.

    SpiffWorkflow reports a flow to a missing element against another element, with an unrelated
    cause ("perhaps a form has the same ID?"), so these are checked first."""
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    flows = {el.get("id") for el in root.iterfind(".//bpmn:sequenceFlow", NS)}
    problems = []
    for tag, attribute, kind in _REFERENCES:
        for el in root.iterfind(f".//bpmn:{tag}", NS):
            target = el.get(attribute)
            if target is not None and target not in ids:
                message = f"{el.get('id')} 的 {attribute} 指向不存在的{kind} {target!r}"
                problems.append(problem(file, el.get("id"), el.sourceline, message))
    for node in root.iterfind(".//bpmn:process//*[@id]", NS):
        for ref in (*node.iterfind("bpmn:incoming", NS), *node.iterfind("bpmn:outgoing", NS)):
            if (ref.text or "").strip() not in flows:
                side = etree.QName(ref).localname
                message = f"{node.get('id')} 的 {side} 指向不存在的顺序流 {ref.text!r}"
                problems.append(problem(file, node.get("id"), ref.sourceline, message))
        default = node.get("default")
        if default is not None and default not in flows:
            message = f"{node.get('id')} 的默认路径指向不存在的顺序流 {default!r}"
            problems.append(problem(file, node.get("id"), node.sourceline, message))
    return problems
