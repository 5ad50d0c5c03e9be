"""Host-side checks SpiffWorkflow leaves to us: lanes, operators, forms, Python snippets, timers."""

from __future__ import annotations

import ast
import functools
import inspect
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine import registry
from engine.lint_messages import json_message, kind_label, label, named, syntax_message
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
                    f"泳道 {label(lane)} 不对应已知角色"
                    f"（泳道 id 应为 {', '.join(TASK_ROLES)} 之一）",
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


SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
_SNIPPET_TAGS = {"script": f"{{{BPMN_NS}}}script", "prescript": f"{SPIFF}preScript",
                 "postscript": f"{SPIFF}postScript"}  # fmt: skip
_WHERE = {"script": "脚本", "prescript": "任务开始前脚本（preScript）",
          "postscript": "任务完成后脚本（postScript）"}  # fmt: skip


def _by_id(root: etree._Element, element_id: str) -> etree._Element | None:
    found = root.xpath("//*[@id=$i]", i=element_id)
    return found[0] if found else None


def code_location(
    root: etree._Element, bid: str, where: str, code: str, mode: str
) -> tuple[str, int | None, str]:
    """(element id, line of the snippet's first line, how to name it) of a spec's snippet: a
    condition is the sequence flow's own, a script the line of its text."""
    if mode == "timer":
        element, line = timer_location(root, bid, code)
        return element, line, f"{named(root, element)} 的定时器表达式"
    el = _by_id(root, bid)
    if el is None:
        return bid, None, f"{bid} 的{where}"
    return _located(root, el, bid, where, code)


def _located(
    root: etree._Element, el: etree._Element, bid: str, where: str, code: str
) -> tuple[str, int | None, str]:
    if where in _SNIPPET_TAGS:
        found = next(el.iter(_SNIPPET_TAGS[where]), None)
        line = found.sourceline if found is not None else el.sourceline
        return bid, line, f"{kind_label(el)} 的{_WHERE[where]}"
    if where.startswith("条件"):
        for flow in root.xpath("//bpmn:sequenceFlow[@sourceRef=$i]", namespaces=NS, i=bid):
            cond = flow.find("bpmn:conditionExpression", NS)
            if cond is not None and (cond.text or "").strip() == code.strip():
                return flow.get("id"), cond.sourceline, f"{kind_label(flow)} 的条件"
    if where.startswith("参数 ") or where == "dueAt":  # a parameter's id, a property's name
        tag, key, value = (
            ("property", "name", where) if where == "dueAt" else ("parameter", "id", where[3:])
        )
        for found in el.iter(f"{SPIFF}{tag}"):
            if found.get(key) == value:
                return bid, found.sourceline, f"{kind_label(el)} 的{where}"
    return bid, el.sourceline, f"{kind_label(el)} 的{where}"


def syntax_problem(
    file: str, element: str | None, line: int | None, what: str, code: str, error: SyntaxError
) -> dict[str, Any]:
    """A snippet that does not parse, at the line of the error, in Chinese."""
    at = line + (error.lineno or 1) - 1 if line is not None else None
    if _is_assignment(code):
        target = code.split("=", 1)[0].strip()
        value = code.split("=", 1)[1].strip()
        message = (
            f"{what} {code.strip()!r} 是赋值而不是比较：`=` 应为 `==`（如 {target} == {value}）"
        )
        return problem(file, element, at, message)
    return problem(file, element, at, f"{what}语法错误：{syntax_message(error)}")


def _is_assignment(code: str) -> bool:
    """Whether an expression that does not parse is one `name = value` assignment."""
    try:
        tree = ast.parse(code.strip(), mode="exec")
    except SyntaxError:
        return False
    return len(tree.body) == 1 and isinstance(tree.body[0], ast.Assign | ast.AugAssign)


def lint_code(spec: Any, root: etree._Element, file: str) -> list[dict[str, Any]]:
    problems = []
    for bid, where, code, mode in snippets(spec):
        element, line, what = code_location(root, bid, where, code, mode)
        if mode == "timer" and ISO_UNQUOTED.match(code):
            problems.append(
                problem(
                    file,
                    element,
                    line,
                    f'{what} {code!r} 是未加引号的 ISO 文本，应写成 "{code.strip()}"',
                )
            )
            continue
        try:
            check_code(code, "exec" if mode == "exec" else "eval")
        except SyntaxError as error:
            problems.append(
                syntax_problem(file, element, line, what, code, error)
                if mode != "exec"
                else syntax_problem(file, element, line, what, "", error)
            )
        except UnsafeScript as error:
            problems.append(problem(file, element, line, f"{what}：{error}"))
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
            problems += _lint_service(ts, bid, line, file, known, named(root, bid))
        if getattr(ts, "manual", False) and bid:
            if bid not in lanes and not _in_a_lane(root, bid):  # else: the lane is named
                message = f"{named(root, bid)} 是人工任务，但不在任何角色泳道中"
                problems.append(problem(file, bid, line, message))
            form = (ts.extensions or {}).get("properties", {}).get("formJsonSchemaFilename")
            if form:
                problems += lint_form(form, files, file, bid, line)
    return problems


def _in_a_lane(root: etree._Element, element_id: str) -> bool:
    """Whether a lane of the diagram lists the element (a lane of no known role included:
    `lane_map` reports that lane, and so the role its tasks lack)."""
    refs = root.xpath("//bpmn:lane/bpmn:flowNodeRef", namespaces=NS)
    return any((ref.text or "").strip() == element_id for ref in refs)


def _lint_service(
    ts: Any, bid: str, line: int | None, file: str, known: set[str], name: str = ""
) -> list[dict[str, Any]]:
    who = f"服务任务 {name or bid}"
    if ts.operation_name not in known:
        return [problem(file, bid, line, f"{who} 使用了未注册的处理器 {ts.operation_name!r}")]
    op = registry.get(ts.operation_name)
    accepted = set(op.parameters())
    given = set(ts.operation_params or {})
    out = []
    if unknown := given - accepted:
        out.append(
            problem(file, bid, line, f"{who}：处理器 {op.name} 不接受参数 {sorted(unknown)}")
        )
    required = {
        n
        for n, p in inspect.signature(op.fn).parameters.items()
        if p.default is inspect.Parameter.empty and n not in registry.INJECTED
    }
    if missing := required - given:
        out.append(problem(file, bid, line, f"{who}：处理器 {op.name} 缺少参数 {sorted(missing)}"))
    return out


def lint_form(
    form: str, files: dict[str, str], file: str, bid: str, line: int | None
) -> list[dict[str, Any]]:
    """A user task's form: present, JSON Schema 2020-12, `additionalProperties: false`.

    Problems of the schema itself name the form's property (not the task: a form shared by
    several tasks is reported once)."""
    if form not in files:
        return [problem(file, bid, line, f"表单文件 {form!r} 不在部署文件中")]
    return [problem(form, where, at, message) for where, at, message in form_problems(files[form])]


def json_line(text: str, key: str | None) -> int | None:
    """The line of the first `"key":` in a JSON text (None when not found)."""
    if key is None:
        return None
    found = re.search(rf'"{re.escape(key)}"\s*:', text)
    return text[: found.start()].count("\n") + 1 if found else None


@functools.lru_cache(maxsize=256)
def form_problems(text: str) -> tuple[tuple[str | None, int | None, str], ...]:
    """(property, line, message) for what is wrong with a form schema (cached: the metaschema
    check is slow)."""
    try:
        schema = json.loads(text)
    except ValueError as error:
        line = getattr(error, "lineno", None)
        return ((None, line, json_message(error)),)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        path = [str(p) for p in error.path]
        prop = path[path.index("properties") + 1] if "properties" in path[:-1] else None
        where = "/".join(path) or "（顶层）"
        key = prop or (path[-1] if path else None)
        message = f"表单 JSON Schema 无效：{where} 处 {error.message}"
        return ((prop, json_line(text, key), message),)
    if not isinstance(schema, dict) or schema.get("additionalProperties") is not False:
        message = (
            '表单 JSON Schema 顶层缺少 "additionalProperties": false'
            "（否则表单会接受未声明的字段，见 docs/modelling.md 第 5 节）"
        )
        return (("additionalProperties", json_line(text, "additionalProperties") or 1, message),)
    return ()


def schema_problem(text: str) -> str | None:
    """Why a form's JSON Schema is invalid, or None."""
    found = form_problems(text)
    return found[0][2] if found else None


_TIMER_TAGS = ("timeDate", "timeDuration", "timeCycle")


def _evaluates_alone(code: str) -> bool:
    """Whether an expression reads no task data and not the clock (only literals, builtins and
    the registered script functions): its value is known at deploy."""
    from engine.runtime import SAFE_BUILTINS

    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return False
    known = set(SAFE_BUILTINS) | set(registry.script_functions())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    return names <= known


def _evaluate(code: str) -> Any:
    from engine.clock import SystemClock
    from engine.runtime import HostScriptEngine

    return HostScriptEngine(SystemClock(), "Asia/Shanghai").environment.evaluate(code.strip(), {})


def timer_value_problem(kind: str, value: Any) -> str | None:
    """Why a timer's value would fail in SpiffWorkflow 3.2 (or break the docs' rules), or None."""
    if not isinstance(value, str) or not value.strip():
        return "应为 ISO 8601 文字"
    text = value.strip()
    if kind == "timeDuration":
        try:
            parsed = TimerEventDefinition.parse_iso_duration(text)
        except Exception:
            parsed = None
        if not text.upper().startswith("P") or not parsed:
            return '不是有效的 ISO 8601 时长（如 "P10D"、"PT12H"、"P1Y2M"）'
        return None
    if kind == "timeDate":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return (
                '不是有效的 ISO 8601 日期时间（须是真实存在的日期，如 "2030-07-01T00:00:00+08:00"）'
            )
        if moment.tzinfo is None:
            return '缺少时区偏移（如 "2030-07-01T00:00:00+08:00"）'
        return None
    try:
        if not text.upper().startswith("R"):
            raise ValueError
        TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception:
        return '不是有效的 ISO 8601 循环（如 "R3/2030-07-01T00:00:00+08:00/P1D" 或 "R/P1D"）'
    return None


def lint_timers(root: etree._Element, file: str) -> list[dict[str, Any]]:
    """Empty timers, and literal timers SpiffWorkflow would fail to parse when reached."""
    problems = []
    for definition in root.iterfind(".//bpmn:timerEventDefinition", NS):
        event = definition.getparent()
        event_id = event.get("id") if event is not None else definition.get("id")
        found = [c for c in definition if etree.QName(c).localname in _TIMER_TAGS]
        code = (found[0].text or "").strip() if found else ""
        if not code:
            at = (found[0] if found else definition).sourceline
            message = (
                f"定时器 {named(root, event_id)} 没有时间表达式"
                "（timeDate、timeDuration 或 timeCycle）"
            )
            problems.append(problem(file, event_id, at, message))
            continue
        kind = etree.QName(found[0]).localname
        if ISO_UNQUOTED.match(code) or not _evaluates_alone(code):
            continue  # unquoted ISO text is reported by lint_code; task data: checked when run
        try:
            value = _evaluate(code)
        except Exception:
            continue  # e.g. a year without a working-day calendar yet: an incident when reached
        if why := timer_value_problem(kind, value):
            message = f"定时器 {named(root, event_id)} 的 {kind} {code} 无效：{why}"
            problems.append(problem(file, event_id, found[0].sourceline, message))
    return problems


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
                        f"排他网关 {label(gw)} 的出口 {label(flow[0])} 既无条件也不是默认路径"
                        '：请给它加条件（如 decision == "approve"），或把它设为网关的默认路径',
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
                message = f"{kind_label(el)} 的 {attribute} 指向不存在的{kind} {target!r}"
                problems.append(problem(file, el.get("id"), el.sourceline, message))
    for node in root.iterfind(".//bpmn:process//*[@id]", NS):
        for ref in (*node.iterfind("bpmn:incoming", NS), *node.iterfind("bpmn:outgoing", NS)):
            if (ref.text or "").strip() not in flows:
                side = etree.QName(ref).localname
                message = f"{kind_label(node)} 的 {side} 指向不存在的顺序流 {ref.text!r}"
                problems.append(problem(file, node.get("id"), ref.sourceline, message))
        default = node.get("default")
        if default is not None and default not in flows:
            message = f"{kind_label(node)} 的默认路径指向不存在的顺序流 {default!r}"
            problems.append(problem(file, node.get("id"), node.sourceline, message))
    return problems


def _choices(field: Any) -> dict[Any, str] | None:
    """A form field's allowed values (-> title): `enum`, or `oneOf`/`anyOf` of `const`s."""
    if not isinstance(field, dict):
        return None
    if isinstance(field.get("enum"), list):
        return {value: "" for value in field["enum"]}
    for key in ("oneOf", "anyOf"):
        options = field.get(key)
        if (
            isinstance(options, list)
            and options
            and all(isinstance(o, dict) and "const" in o for o in options)
        ):
            return {o["const"]: str(o.get("title") or "") for o in options}
    return None


def _constant_list(node: ast.AST) -> tuple[Any, ...] | None:
    """The literals of `("a", "b")`, `["a"]`, `{"a"}` (None: not all literals)."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set) and all(
        isinstance(item, ast.Constant) for item in node.elts
    ):
        return tuple(item.value for item in node.elts)  # type: ignore[attr-defined]
    return None


def _pairs(node: ast.Compare) -> Iterator[tuple[str, bool, tuple[Any, ...]]]:
    """(name, positive, literals) for each `name == "a"` / `"a" == name` / `name != "a"` /
    `name in ("a", "b")` / `name not in (…)` link of a comparison (chains included)."""
    operands = [node.left, *node.comparators]
    for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
        if isinstance(op, ast.Eq | ast.NotEq):
            named_side, other = (left, right) if isinstance(left, ast.Name) else (right, left)
            if isinstance(named_side, ast.Name) and isinstance(other, ast.Constant):
                yield named_side.id, isinstance(op, ast.Eq), (other.value,)
        elif isinstance(op, ast.In | ast.NotIn) and isinstance(left, ast.Name):
            values = _constant_list(right)
            if values is not None:
                yield left.id, isinstance(op, ast.In), values


def _parsed(code: str) -> ast.AST | None:
    try:
        return ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return None


def _compared(code: str) -> Iterator[tuple[str, bool, tuple[Any, ...]]]:
    """(name, positive, literals) for every comparison of a name with literals in a condition."""
    tree = _parsed(code)
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.Compare):
            yield from _pairs(node)


def _truth(node: ast.AST, name: str, value: Any) -> bool | None:
    """A condition's value when `name` is `value`: True, False, or None when it depends on
    anything else."""
    if isinstance(node, ast.Expression):
        return _truth(node.body, name, value)
    if isinstance(node, ast.BoolOp):
        found = [_truth(item, name, value) for item in node.values]
        decided = isinstance(node.op, ast.Or)  # the value that decides an `or`
        if decided in found:
            return decided
        return None if None in found else not decided
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _truth(node.operand, name, value)
        return None if inner is None else not inner
    if isinstance(node, ast.Constant):
        return bool(node.value)
    if isinstance(node, ast.Compare):
        pairs = list(_pairs(node))
        if len(pairs) != len(node.ops) or any(n != name for n, _, _ in pairs):
            return None
        return all((value in values) is positive for _, positive, values in pairs)
    return None


def _shown_choices(allowed: dict[Any, str]) -> str:
    return "、".join(
        f'"{k}"（{t}）' if t else json.dumps(k, ensure_ascii=False) for k, t in allowed.items()
    )


def _form_of(task: Any, files: dict[str, str]) -> dict[str, Any] | None:
    for prop in task.iter("{http://spiffworkflow.org/bpmn/schema/1.0/core}property"):
        if prop.get("name") == "formJsonSchemaFilename" and prop.get("value") in files:
            try:
                schema = json.loads(files[prop.get("value")])
            except ValueError:
                return None
            return schema if isinstance(schema, dict) else None
    return None


def lint_condition_values(
    root: etree._Element, file: str, files: dict[str, str]
) -> list[dict[str, Any]]:
    """The conditions of a gateway right after a user task against the values its form offers:

    - a branch comparing a field with a value the form does not allow (`decision == "approved"`
      where the form offers approve/return/reject) is never taken (`!=`: always taken);
    - without a default, the branches must handle every value the form offers for a field they
      test (else a case choosing it stops: "No conditions satisfied"), and the field must be
      required (else a form left blank stops it the same way)."""
    problems = []
    for gw in root.iterfind(".//bpmn:exclusiveGateway", NS):
        sources = root.xpath(
            "//bpmn:sequenceFlow[@targetRef=$i]/@sourceRef", namespaces=NS, i=gw.get("id")
        )
        if len(sources) != 1:
            continue  # a merge: which form set the field is not certain
        task = _by_id(root, sources[0])
        if task is None or etree.QName(task).localname != "userTask":
            continue
        schema = _form_of(task, files) or {}
        fields = schema.get("properties") or {}
        flows = root.xpath("//bpmn:sequenceFlow[@sourceRef=$i]", namespaces=NS, i=gw.get("id"))
        tested: dict[str, dict[Any, str]] = {}
        misspelt: set[str] = set()  # fields compared with a value the form lacks (named here)
        for flow in flows:
            cond = flow.find("bpmn:conditionExpression", NS)
            for name, positive, values in _compared(cond.text or "") if cond is not None else ():
                allowed = _choices(fields.get(name))
                if allowed is None:
                    continue
                tested[name] = allowed
                if any(v in allowed for v in values):
                    continue
                misspelt.add(name)
                shown = "、".join(json.dumps(v, ensure_ascii=False) for v in values)
                outcome = "这条路径永远不会走到" if positive else "这个比较总是成立，可能是拼写错误"
                message = (
                    f"{kind_label(flow)} 的条件把 {name} 与 {shown} 比较，但{kind_label(task)} "
                    f"的表单只允许 {name} 取 {_shown_choices(allowed)}：{outcome}"
                )
                problems.append(problem(file, flow.get("id"), cond.sourceline, message))
        if gw.get("default") is None and len(flows) > 1:
            left = {name: allowed for name, allowed in tested.items() if name not in misspelt}
            problems += _uncovered(file, gw, task, flows, left, schema)
    return problems


def _uncovered(
    file: str,
    gw: etree._Element,
    task: etree._Element,
    flows: list[etree._Element],
    tested: dict[str, dict[Any, str]],
    schema: dict[str, Any],
) -> list[dict[str, Any]]:
    """Values of the fields a gateway without a default tests that none of its branches takes,
    and tested fields its form does not require."""
    codes = []
    for flow in flows:
        cond = flow.find("bpmn:conditionExpression", NS)
        codes.append(_parsed(cond.text or "") if cond is not None else None)
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    problems = []
    for name, allowed in tested.items():
        left = {
            value: title
            for value, title in allowed.items()
            if all(code is not None and _truth(code, name, value) is False for code in codes)
        }
        if left:
            message = (
                f"{kind_label(gw)} 没有默认路径，但它的出口条件都不处理{kind_label(task)} 表单中 "
                f"{name} 的取值 {_shown_choices(left)}：选择它时案件会停在这个网关"
                "（No conditions satisfied）。请为这些取值加出口（或设默认路径），"
                "或从表单中去掉这些选项"
            )
            problems.append(problem(file, gw.get("id"), gw.sourceline, message))
        if name not in required:
            message = (
                f"{kind_label(gw)} 没有默认路径，它的出口条件检查{kind_label(task)} 表单的 {name}，"
                f"但表单没有把 {name} 列为必填（required）：不填就提交时没有出口可走，"
                "案件会停在这个网关。请在表单的 required 中加上它，或给网关设默认路径"
            )
            problems.append(problem(file, gw.get("id"), gw.sourceline, message))
    return problems
