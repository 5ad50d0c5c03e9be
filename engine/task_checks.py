"""Deploy checks of user tasks, their deadlines and timer kinds (docs/modelling.md §5, §8, §12).

- In a diagram that uses forms, every user task has a form and Chinese instructions (a task
  without a form takes any submitted field and shows the doer nothing to fill in).
- A user task with an interrupting ``timeDate`` boundary timer gives the same expression as its
  ``dueAt``: the inbox shows ``dueAt``, the timer decides; two expressions show a wrong deadline.
- A timer whose expression calls a script function (``days_before``, ``working_days_end`` …) or
  reads an operator's ``ends_at`` gives a date-time: fine for ``timeDate``, never a duration
  (SpiffWorkflow would fail with "Invalid duration" when the case gets there).
- A 流程参数 that pre-fills a form field of the same name must be a value the form accepts
  (``correction_days = 400`` against a form's ``maximum: 365`` blocks every return).
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from engine.bpmnlint import NS, problem
from engine.lint_messages import kind_label, label

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
CJK = re.compile(r"[\u4e00-\u9fff]")
# what the script functions give (engine/runtime.py and handlers registered as script functions)
RETURNS = {"days_before": "datetime", "working_days_end": "datetime",
           "next_annual_date": "datetime", "months_after_end": "datetime", "now": "datetime",
           "today": "date", "is_after": "bool"}  # fmt: skip
KIND_CN = {"datetime": "日期时间", "date": "日期（无时刻和时区）", "bool": "真/假"}
TIMER_CN = {"timeDuration": "时长", "timeDate": "日期", "timeCycle": "周期"}


def lint(root: Any, file: str, files: dict[str, str]) -> list[dict[str, Any]]:
    """All checks of this module for one diagram."""
    problems = _forms_and_instructions(root, file)
    problems += _due_at_matches_timer(root, file)
    problems += _timer_kinds(root, file)
    return problems


def _property(task: Any, name: str) -> str | None:
    for prop in task.iter(f"{SPIFF}property"):
        if prop.get("name") == name and (prop.get("value") or "").strip():
            return prop.get("value")
    return None


def _forms_and_instructions(root: Any, file: str) -> list[dict[str, Any]]:
    tasks = list(root.iterfind(".//bpmn:userTask", NS))
    if not any(_property(t, "formJsonSchemaFilename") for t in tasks):
        return []  # a test or benchmark diagram without forms: tasks take what is submitted
    problems = []
    for task in tasks:
        missing = []
        values = [p.get("value") or "" for p in task.iter(f"{SPIFF}property")]
        if not _property(task, "formJsonSchemaFilename") and not any(
            v.endswith(".json")
            for v in values  # a misspelt property name: named there
        ):
            missing.append("表单（formJsonSchemaFilename）")
        words = "".join(t.text or "" for t in task.iter(f"{SPIFF}instructionsForEndUser"))
        if not CJK.search(words):
            missing.append("中文办理说明（instructionsForEndUser）")
        if missing:
            message = (
                f"{kind_label(task)} 缺少{'和'.join(missing)}。没有表单的任务可以提交任意字段，"
                "办理人也看不到要填写什么；请在“属性”面板中为它选择表单并填写办理说明"
                "（docs/modelling.md 第 12 节第 3 条）"
            )
            problems.append(problem(file, task.get("id"), task.sourceline, message))
    return problems


def _same(a: str, b: str) -> bool:
    try:
        return ast.dump(ast.parse(a.strip(), mode="eval")) == ast.dump(
            ast.parse(b.strip(), mode="eval")
        )
    except SyntaxError:
        return a.strip() == b.strip()


def _due_at_matches_timer(root: Any, file: str) -> list[dict[str, Any]]:
    problems = []
    for event in root.iterfind(".//bpmn:boundaryEvent", NS):
        if event.get("cancelActivity") == "false":
            continue
        found = event.find("bpmn:timerEventDefinition/bpmn:timeDate", NS)
        host = root.xpath("//*[@id=$i]", i=event.get("attachedToRef") or "")
        if found is None or not (found.text or "").strip() or not host:
            continue
        task, timer = host[0], (found.text or "").strip()
        if not task.tag.endswith("}userTask"):
            continue
        due = _property(task, "dueAt")
        if due is not None and _same(due, timer):
            continue
        shown = "没有 dueAt" if due is None else f"的 dueAt 为 {due}"
        message = (
            f"{kind_label(task)} {shown}，但它的期限由中断型定时器 {label(event)} 的 timeDate "
            f"{timer} 决定：待办和案件环节显示的期限会与实际截止时间不一致。"
            f"请把该任务的 dueAt 设为同一表达式 {timer}（docs/modelling.md 第 8 节）"
        )
        problems.append(problem(file, task.get("id"), task.sourceline, message))
    return problems


def _assigned_kinds(root: Any) -> dict[str, str]:
    """Names every script assignment of which gives one kind (`x = days_before(...)`)."""
    kinds: dict[str, set[str | None]] = {}
    for el in [*root.iterfind(".//bpmn:script", NS), *root.iter(f"{SPIFF}preScript")]:
        try:
            tree = ast.parse(el.text or "")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        kinds.setdefault(target.id, set()).add(expression_kind(node.value, {}))
    return {n: next(iter(k)) for n, k in kinds.items() if len(k) == 1 and None not in k}


def expression_kind(node: ast.AST, names: dict[str, str]) -> str | None:
    """What kind of value an expression gives, when it is known without task data."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return RETURNS.get(node.func.id)
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return "datetime" if node.slice.value == "ends_at" else None  # calendar operators
    return None


def _timer_kinds(root: Any, file: str) -> list[dict[str, Any]]:
    names = _assigned_kinds(root)
    problems = []
    for definition in root.iterfind(".//bpmn:timerEventDefinition", NS):
        for tag, wrong in (("timeDuration", {"datetime", "date", "bool"}),
                           ("timeDate", {"bool", "date"}),
                           ("timeCycle", {"datetime", "date", "bool"})):  # fmt: skip
            el = definition.find(f"bpmn:{tag}", NS)
            if el is None or not (el.text or "").strip():
                continue
            try:
                kind = expression_kind(ast.parse(el.text.strip(), mode="eval").body, names)
            except SyntaxError:
                continue
            if kind in wrong:
                event = definition.getparent()
                message = (
                    f"定时器 {label(event)} 的类型是{TIMER_CN[tag]}（{tag}），但表达式 "
                    f"{el.text.strip()} 给出的是{KIND_CN[kind]}：运行到这里会出错。"
                    + _kind_fix(tag, kind)
                )
                problems.append(problem(file, event.get("id"), el.sourceline, message))
    return problems


def _kind_fix(tag: str, kind: str) -> str:
    if tag != "timeDate" and kind == "datetime":
        return '请把类型改为“日期”（timeDate），或写时长（如 "P10D"）'
    if kind == "date":
        return '日期定时器需要带时区的日期时间，如 today() + "T00:00:00+08:00"'
    return '请写日期时间（如 "2030-07-01T00:00:00+08:00"）或时长（如 "P10D"）'


# -- 流程参数 against the forms they pre-fill ---------------------------------------------------


def setting_bounds(
    file: str, root: Any, files: dict[str, str], values: dict[str, tuple[Any, int]],
    settings_id: str | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """A setting whose value a form field of the same name (pre-filled with it) refuses."""
    problems, seen = [], set()
    for task in root.iterfind(".//bpmn:userTask", NS):
        form = _property(task, "formJsonSchemaFilename")
        try:
            fields = json.loads(files.get(form or "", "")).get("properties") or {}
        except (ValueError, AttributeError):
            continue
        for name, (value, line) in values.items():
            field = fields.get(name)
            if not isinstance(field, dict) or (name, form) in seen:
                continue
            if why := _refused_by(field, value):
                seen.add((name, form))
                message = (
                    f"流程参数 {name} = {json.dumps(value, ensure_ascii=False)} 会预填"
                    f"{kind_label(task)} 的表单 {form} 中的字段 {name}，但该表单要求{why}："
                    "办理人提交预填值时会被拒绝。请改流程参数，或同时修改表单的限制"
                )
                problems.append(problem(file, settings_id, line, message))
    return problems


def _refused_by(field: dict[str, Any], value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        allowed = field.get("enum") or [c.get("const") for c in field.get("oneOf") or []]
        return f"取值之一 {allowed}" if allowed and value not in allowed else None
    if "maximum" in field and value > field["maximum"]:
        return f"不大于 {field['maximum']}（maximum）"
    if "minimum" in field and value < field["minimum"]:
        return f"不小于 {field['minimum']}（minimum）"
    if "exclusiveMaximum" in field and value >= field["exclusiveMaximum"]:
        return f"小于 {field['exclusiveMaximum']}（exclusiveMaximum）"
    if "exclusiveMinimum" in field and value <= field["exclusiveMinimum"]:
        return f"大于 {field['exclusiveMinimum']}（exclusiveMinimum）"
    return None
