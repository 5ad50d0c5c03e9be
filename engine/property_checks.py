"""Deploy checks of `spiffworkflow:property` names and values.

The engine reads five properties (a misspelt name is silently ignored by SpiffWorkflow, so a
user task would lose its form or its due date):

- `formJsonSchemaFilename` on a user task (engine/projections.py, engine/migration.py);
- `dueAt` on a user task (engine/projections.py `due_at_of`): a Python expression giving an
  ISO date-time with offset;
- `prefill` on a user task (engine/task_views.py): `true` opens its form with the case's
  current values of its fields (a correction resubmits the application);
- `requiresQualification` and `handledBy` on a start event (engine/definitions.py).
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass
from typing import Any

from engine import bpmnlint, registry, setting_checks
from engine.lint_messages import kind_label
from engine.store import TIER_LABELS

SPIFF = "{" + setting_checks.SPIFF_NS + "}"


@dataclass(frozen=True)
class Known:
    kinds: tuple[str, ...]  # element kinds (BPMN local names) that the engine reads it on
    meaning: str


KNOWN: dict[str, Known] = {
    "formJsonSchemaFilename": Known(
        ("userTask",), "用户任务的表单文件，如 forms/review.schema.json"
    ),
    "dueAt": Known(
        ("userTask",),
        '用户任务的办理期限：给出带时区的 ISO 日期时间的 Python 表达式，如 correction["ends_at"]',
    ),
    "prefill": Known(
        ("userTask",),
        "true：表单以案件中本表单各字段的现值预填（如补正材料时重新提交的申报表）；决定类表单不要预填",
    ),
    "requiresQualification": Known(("startEvent",), "申报须持有的资格梯度，如 innovative"),
    "handledBy": Known(("startEvent",), "各梯度的案件由哪个角色办理，如 innovative:city"),
}


def _kind(el: Any) -> str:
    return el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""


def _guess(name: str) -> str | None:
    lowered = {k.lower(): k for k in KNOWN}
    if name.strip().lower() in lowered:
        return lowered[name.strip().lower()]
    found = difflib.get_close_matches(name, list(KNOWN), n=1, cutoff=0.6)
    return found[0] if found else None


def lint_properties(root: Any, file: str, files: dict[str, str]) -> list[dict[str, Any]]:
    """Unknown property names (with the closest known one), properties on elements the engine
    does not read them on, and values whose format is known."""
    problems: list[dict[str, Any]] = []
    available: set[str] | None = None
    for prop in root.iter(f"{SPIFF}property"):
        owner = setting_checks._owner(prop)
        if owner is None:
            continue
        name = prop.get("name") or ""
        value = (prop.get("value") or "").strip()
        where = kind_label(owner)
        known = KNOWN.get(name)
        line = prop.sourceline
        if known is None:
            guess = _guess(name)
            hint = f"是否应为 {guess}（{KNOWN[guess].meaning}）？" if guess else ""
            listed = "、".join(KNOWN)
            message = (
                f"{where} 的扩展属性 {name!r} 不是引擎认识的属性，会被忽略。{hint}"
                f"可用的属性：{listed}"
            )
            problems.append(bpmnlint.problem(file, owner.get("id"), line, message))
            continue
        if _kind(owner) not in known.kinds:
            message = f"扩展属性 {name} 只在{_kinds_cn(known.kinds)}上有效，{where} 上的会被忽略"
            problems.append(bpmnlint.problem(file, owner.get("id"), line, message))
            continue
        if not value:
            message = f"{where} 的扩展属性 {name} 没有填写值（{known.meaning}）"
            problems.append(bpmnlint.problem(file, owner.get("id"), line, message))
            continue
        if message := _value_problem(name, value, where):
            problems.append(bpmnlint.problem(file, owner.get("id"), line, message))
        if name == "dueAt":
            if available is None and not file.startswith("shared/"):
                available = _available_names(root, files)  # a called diagram: its caller's
            if why := _due_at_problem(value, available):
                message = f"{where} 的 dueAt {value!r} 无效：{why}"
                problems.append(bpmnlint.problem(file, owner.get("id"), line, message))
    return problems


def _value_problem(name: str, value: str, where: str) -> str | None:
    """What is wrong with a fixed-format property's value (a tier code, a flag), if anything."""
    if name == "requiresQualification" and value not in TIER_LABELS:
        tiers = "、".join(f"{k}（{v}）" for k, v in TIER_LABELS.items())
        return f"{where} 的 requiresQualification {value!r} 不是梯度代码，应为：{tiers}"
    if name == "prefill" and value.lower() not in {"true", "false"}:
        return f"{where} 的 prefill {value!r} 无效：应为 true 或 false"
    return None


def _kinds_cn(kinds: tuple[str, ...]) -> str:
    from engine.lint_messages import ELEMENT_KINDS

    return "、".join(ELEMENT_KINDS.get(k, k) for k in kinds)


def _available_names(root: Any, files: dict[str, str]) -> set[str]:
    """Names a dueAt expression may read: engine data, what the diagram's steps assign (scripts,
    operators' results, messages), its forms' fields, builtins and script functions."""
    from lxml import etree

    from engine.runtime import SAFE_BUILTINS

    trees = [root]
    for name, text in files.items():  # called diagrams hand their data back
        if name.startswith("shared/") and name.endswith(".bpmn"):
            try:
                trees.append(etree.fromstring(text.encode()))
            except etree.XMLSyntaxError:
                continue
    written: set[str] = set()
    for tree in trees:
        written |= setting_checks._reads_and_writes(tree)[1]
        for script in tree.iterfind(".//bpmn:script", bpmnlint.NS):
            written |= setting_checks.names_in(script.text or "", "exec")[1]
    return (
        written
        | setting_checks._form_fields(root, files)
        | setting_checks.ENGINE_DATA
        | set(SAFE_BUILTINS)
        | set(registry.script_functions())
    )


def _due_at_problem(value: str, available: set[str] | None) -> str | None:
    if bpmnlint.ISO_UNQUOTED.match(value):
        return (
            "这是未加引号的 ISO 文本，会被当作变量名读取而在运行时出错。dueAt 应给出截止的"
            '日期时间（带时区），如 correction["ends_at"] 或 application_deadline_at；'
            "时长（如 P10D）不能直接使用：先用服务任务 calendar.add_days 算出截止日，"
            "再引用它的 ends_at"
        )
    try:
        tree = ast.parse(value, mode="eval")
    except SyntaxError:
        return None  # reported by the code check, with the syntax error
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if available is not None and (unknown := sorted(names - available)):
        guesses = [g for n in unknown for g in difflib.get_close_matches(n, available, n=1)]
        hint = f"是否应为 {'、'.join(guesses)}？" if guesses else ""
        return f"读取的 {'、'.join(unknown)} 没有任何步骤赋值，也不是引擎提供的数据。{hint}"
    if bpmnlint._evaluates_alone(value):
        try:
            result = bpmnlint._evaluate(value)
        except Exception:
            return None
        if why := bpmnlint.timer_value_problem("timeDate", result):
            return f"它的值 {result!r} {why}"
    return None
