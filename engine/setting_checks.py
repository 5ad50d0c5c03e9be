"""Deploy checks of a diagram's `settings` task (流程参数) and of the outcomes it sets.

The `settings` script runs at deploy in the engine's own restricted script environment
(:class:`engine.runtime.HostScriptEngine`), statement by statement; every value it assigns is
checked against :data:`CATALOG` (type, range, format, Chinese description). Limits the handlers
already enforce at run time are read from them (the 第十二条 minimum ban, the spot-check rate's
range, what a "MM-DD" date must be) rather than repeated here.

A name `settings` assigns that is neither in the catalog nor read anywhere else in the diagram
(or the diagrams it calls) is refused as a probable misspelling; a catalog setting the diagram
reads that no step assigns (the `settings` task lost it) is refused too, and so are settings that
contradict each other (:data:`ORDERED`). A script setting ``outcome`` must use one of the
outcomes the engine knows (``engine.store.OUTCOME_LABELS``).

:func:`check_names`: a name that scripts, conditions, timers, service-task parameters or
message payloads read and that nothing provides (no step assigns it, no form has it, the engine
does not start cases with it — :data:`START_DATA`) is refused with the closest known name:
it would stop the case with a NameError when reached.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import json
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from engine import name_flow, registry, task_checks
from engine.bpmnlint import BPMN_NS, ISO_UNQUOTED, NS, problem, syntax_problem
from engine.lint_messages import kind_label
from engine.store import OUTCOME_LABELS, TIER_LABELS

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
BPMN_TAG = "{" + BPMN_NS + "}"
SETTINGS_NAME = "流程参数"
SETTINGS_ID = "settings"
# outcome labels that describe a case's status, never set by a diagram
STATUS_ONLY = {"completed", "running"}
ALLOWED_OUTCOMES = {k: v for k, v in OUTCOME_LABELS.items() if k not in STATUS_ONLY}
# data the engine puts into every new instance (docs/modelling.md §4)
ENGINE_DATA = {"uscc", "enterprise_name", "region", "round_id", "round_label",
               "application_deadline_at", "case_ref", "ban_until"}  # fmt: skip
# what a case may start with besides, by how it is started (tests/engine/test_lint_names.py
# keeps this in step with the start paths)
START_DATA = ENGINE_DATA | {
    # an application or a report (engine/instances.py `_start_data`, enterprises.start_facts,
    # `_prerequisite`)
    "round_opens_on", "ban_reason", "held_tiers", "held_qualifications", "started_by_role",
    "prerequisite",
    # a qualification's lifecycle (engine/lifecycle.py `start_data`; a new period continues
    # with the diagram's `continue_with`)
    "qualification_id", "number", "tier", "issued_on", "expires_on", "renewal_eligible",
    "source", "period", "last_update_due_on", "enterprise_updated_on",
    # a complaint (engine/complaints.py)
    "tier_label", "qualification_number", "authority", "complainant_ref", "subject", "content",
    "evidence", "filed_on",
}  # fmt: skip
DAYS, YEARS, MONTHS = 3650, 20, 240  # the most a count setting may be (10 years in days …)
_CEILINGS = {DAYS: "天数最多十年", YEARS: "年数最多二十年", MONTHS: "月数最多二十年"}
# settings that must come in this order: (smaller, larger, may they be equal, why, fix)
ORDERED = (
    ("update_opens", "update_deadline", True, "更新任务要到截止日之后才开放，企业无法按期更新",
     "请让开放日不晚于截止日"),
    ("correction_reminder_days", "correction_days", False, "提醒会在补正期开始时或之前发出",
     "提醒天数应小于补正期限"),
    ("rectification_reminder_days", "rectification_days", False,
     "提醒会在整改期开始时或之前发出", "提醒天数应小于整改期限"),
)  # fmt: skip


def _ban_minimum() -> int:
    """第十二条's floor, as `ban.record` enforces it."""
    try:
        return int(importlib.import_module("handlers.sanctions").MIN_BAN_YEARS)
    except (ImportError, AttributeError):  # pragma: no cover - handlers always installed
        return 3


@dataclass(frozen=True)
class Setting:
    """One known setting: what kind of value it takes and what it means."""

    kind: str  # count | rate | month_day | text | tier | mapping | flag
    label: str
    minimum: int | Callable[[], int] = 1
    keys: Callable[[], dict[str, str]] | None = None  # a mapping's allowed keys (with labels)
    from_settings: bool = True  # only ever assigned by `settings` (else also by start data)
    maximum: int | None = None  # a count's upper bound (DAYS, YEARS, MONTHS)

    def least(self) -> int:
        return self.minimum() if callable(self.minimum) else self.minimum


def _days(label: str, minimum: int = 1) -> Setting:
    return Setting("count", label, minimum, maximum=DAYS)


CATALOG: dict[str, Setting] = {
    # P1/P2/P3 (innovative_evaluation, specialized_certification, little_giant_recommendation)
    "tier": Setting("tier", "梯度", from_settings=False),
    "notice_working_days": _days("公示期（工作日）"),
    "spot_check_rate": Setting("rate", "实地抽查比例"),
    "correction_days": _days("退回补正期限（自然日）"),
    "correction_reminder_days": _days("补正期满前几天提醒企业（自然日）"),
    "validity_years": Setting("count", "资格有效期（年）", maximum=YEARS),
    "defaults": Setting("mapping", "以上参数的快照（用于重置逐案修改）"),
    # article12_incident, complaint
    "ban_years": Setting(
        "count", "禁止申请年限（第十二条：至少三年）", minimum=_ban_minimum, maximum=YEARS
    ),
    "ban_basis": Setting("text", "禁止申请的依据"),
    "answer_days": _days("企业答复期限（工作日）"),
    "answer_reminder_days": _days("答复截止前几天提醒企业（自然日）"),
    "rectification_days": _days("整改期限默认值（自然日）"),
    "rectification_reminder_days": _days("整改截止前几天提醒企业（自然日）"),
    "outcome_labels": Setting("mapping", "结果的中文说明", keys=lambda: ALLOWED_OUTCOMES),
    # major_change
    "report_months": Setting("count", "变化发生后报告期限（月，第十一条）", maximum=MONTHS),
    "report_reminder_days": _days("报告截止前几天提醒企业（自然日）"),
    "outside_region": Setting("text", "迁出江西省时的迁入地代码"),
    "tier_labels": Setting("mapping", "梯度的中文名称", keys=lambda: TIER_LABELS),
    # qualification_lifecycle
    "update_deadline": Setting("month_day", "每年企业信息更新截止日（月-日，第十条）"),
    "update_opens": Setting("month_day", "年度更新任务开放日（月-日）"),
    "update_reminder_days": _days("更新截止前几天提醒企业（自然日）"),
    "renewal_lead_days": _days("有效期届满前多少天开启复核（自然日）"),
    "renewal_grace_days": _days("有效期届满后仍可完成复核的天数（自然日）", minimum=0),
    "first_update_min_days": _days("首个年度更新截止日距颁发至少多少天（自然日）", 0),
    "little_giant_revocation_by_miit": Setting(
        "flag", "“小巨人”资格的撤销报工信部决定（否：省工信厅直接撤销）"
    ),
    "miit_revocation_days": _days("工信部决定是否撤销“小巨人”资格的期限（自收到请求起，自然日）"),
}


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _probe(name: str, operator: bool, **kwargs: Any) -> str | None:
    """Run a handler (operator or script function) on a value: its refusal, or None."""
    try:
        fn = registry.get(name).fn if operator else registry.script_functions()[name]
    except (KeyError, registry.UnknownOperator):
        return None
    try:
        fn(**kwargs)
    except Exception as error:  # the handler's own refusal
        return str(error)
    return None


def value_problem(name: str, value: Any) -> str | None:
    """Why `value` is not acceptable for the catalog setting `name`, or None."""
    setting = CATALOG[name]
    if setting.kind == "count":
        least = setting.least()
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            return f"应为不小于 {least} 的整数"
        if setting.maximum is not None and value > setting.maximum:
            return f"应为不大于 {setting.maximum} 的整数（{_CEILINGS[setting.maximum]}）"
        return None
    if setting.kind == "flag":
        return None if isinstance(value, bool) else "应为 True（是）或 False（否），不加引号"
    if setting.kind in {"text", "tier", "mapping"}:
        return _other_problem(setting, value)
    return _dated_problem(setting.kind, value)


def _dated_problem(kind: str, value: Any) -> str | None:
    """Rates and month-days, as the handlers that read them accept them."""
    if kind == "rate":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            return "应为 0 到 1 之间的数（如 0.2 表示 20%，不加引号和百分号）"
        if refused := _probe("sampling.draw", True, seed="deploy", rate=value):
            return f"抽签处理器拒绝该值：{refused}"
        return None
    if kind == "month_day":
        if not isinstance(value, str) or not re.fullmatch(r"\d{2}-\d{2}", value):
            return '应为"月-日"格式的文字（MM-DD，如 "04-30"）'
        if _probe("next_annual_date", False, after_on="2023-01-01", month_day=value):
            return "不是每年都有的日期（月份 01–12，日期不超过该月天数，不可为 02-29）"
        return None
    return None


def _other_problem(setting: Setting, value: Any) -> str | None:
    kind = setting.kind
    if kind == "text":
        return None if isinstance(value, str) and value.strip() else "应为非空文字"
    if kind == "tier":
        if value not in TIER_LABELS:
            return f"应为梯度代码之一：{'、'.join(f'{k}（{v}）' for k, v in TIER_LABELS.items())}"
        return None
    if not isinstance(value, dict):
        return "应为字典 {…}"
    if setting.keys is not None:
        allowed = setting.keys()
        if unknown := [k for k in value if k not in allowed]:
            return f"含未知的键 {_show(unknown)}（可用：{'、'.join(allowed)}）"
    return None


# -- what the diagram reads and writes ------------------------------------------------------------


def is_settings_task(task: Any) -> bool:
    return task.get("name") == SETTINGS_NAME or task.get("id") == SETTINGS_ID


def _owner(el: Any) -> Any:
    """The flow element (or lane, flow …) an XML node belongs to."""
    while el is not None and (
        el.get("id") is None
        or not el.tag.startswith(BPMN_TAG)
        or etree.QName(el).localname.endswith("Definition")
    ):
        el = el.getparent()
    return el


def code_of(root: Any) -> Iterator[tuple[Any, str, str]]:
    """(flow element, code, mode) for every Python snippet of a diagram outside `settings`."""
    for script in root.iterfind(".//bpmn:script", NS):
        task = script.getparent()
        if not is_settings_task(task):
            yield task, script.text or "", "exec"
    for tag in ("conditionExpression", "timeDate", "timeDuration", "timeCycle",
                "loopCardinality", "completionCondition"):  # fmt: skip
        for el in root.iterfind(f".//bpmn:{tag}", NS):
            yield _owner(el), el.text or "", "eval"
    yield from _extension_code(root)


def _extension_code(root: Any) -> Iterator[tuple[Any, str, str]]:
    """SpiffWorkflow's extensions: pre/post scripts, payloads, parameters, instructions."""
    for tag in ("preScript", "postScript"):
        for el in root.iter(f"{{{SPIFF_NS}}}{tag}"):
            yield _owner(el), el.text or "", "exec"
    for el in root.iter(f"{{{SPIFF_NS}}}messagePayload"):
        yield _owner(el), el.text or "", "eval"
    for tag in ("parameter", "property"):
        for el in root.iter(f"{{{SPIFF_NS}}}{tag}"):
            yield _owner(el), el.get("value") or "", "eval"
    for el in root.iter(f"{{{SPIFF_NS}}}instructionsForEndUser"):
        for block in re.findall(r"\{\{(.*?)\}\}|\{%(.*?)%\}", el.text or "", re.S):
            yield _owner(el), " ".join(block), "text"


def names_in(code: str, mode: str) -> tuple[set[str], set[str]]:
    """(names read, names assigned) by a snippet; unparsable text: every identifier is read."""
    try:
        tree = ast.parse(code.strip(), mode="eval" if mode == "eval" else "exec")
    except SyntaxError:
        return set(re.findall(r"[A-Za-z_]\w*", code)), set()
    read, written = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (written if isinstance(node.ctx, ast.Store) else read).add(node.id)
    return read, written


def _reads_and_writes(root: Any) -> tuple[dict[str, Any], set[str]]:
    """Names a diagram reads outside `settings` (-> first reading element) and names it assigns."""
    reads: dict[str, Any] = {}
    writes: set[str] = set()
    for owner, code, mode in code_of(root):
        read, written = names_in(code, mode)
        for name in read:
            reads.setdefault(name, owner)
        writes |= written
    for op in root.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"):
        writes.add(op.get("resultVariable") or "")
    for el in root.iter(f"{{{SPIFF_NS}}}messageVariable"):
        writes.add((el.text or "").strip())
    return reads, writes


def _form_fields(root: Any, files: dict[str, str]) -> set[str]:
    fields: set[str] = set()
    for prop in root.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == "formJsonSchemaFilename" and prop.get("value") in files:
            try:
                schema = json.loads(files[prop.get("value")])
            except ValueError:
                continue
            fields |= set((schema.get("properties") or {}) if isinstance(schema, dict) else ())
    return fields


# -- the checks -----------------------------------------------------------------------------------


def _environment() -> Any:
    from engine.clock import SystemClock
    from engine.runtime import HostScriptEngine

    return HostScriptEngine(SystemClock(), "Asia/Shanghai").environment


def _error_line(error: BaseException) -> int | None:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == "<string>"]
    return frames[-1].lineno if frames else None


def _run_settings(file: str, task: Any, script: str, first_line: int) -> tuple[dict, list]:
    """Run the settings script statement by statement: {name: (value, line)} and problems.

    A statement that reads task data (NameError) leaves its names unchecked."""
    problems: list[dict[str, Any]] = []
    assigned: dict[str, tuple[Any, int, bool]] = {}  # name -> (value, line, evaluated)
    try:
        tree = ast.parse(script)
    except SyntaxError as error:  # the code check finds it too: the same problem, reported once
        what = f"{kind_label(task)} 的脚本"
        return {}, [syntax_problem(file, task.get("id"), first_line, what, "", error)]
    environment = _environment()
    context: dict[str, Any] = {}
    for stmt in tree.body:
        line = first_line + stmt.lineno - 1
        targets = [n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
                   and isinstance(n.ctx, ast.Store)]  # fmt: skip
        source = ast.get_source_segment(script, stmt) or ""
        evaluated = True
        try:
            environment.execute(source, context)
        except NameError:
            evaluated = False
        except Exception as error:
            where = line + (_error_line(error) or 1) - 1
            message = f"流程参数脚本运行出错：{type(error).__name__}: {error}"
            problems.append(problem(file, task.get("id"), where, message))
            evaluated = False
        for name in targets:
            assigned[name] = (context.get(name), line, evaluated and name in context)
    return assigned, problems


def check_settings(
    file: str, root: Any, files: dict[str, str], called: list[str]
) -> list[dict[str, Any]]:
    """Values, misspelt names and missing names of a top-level diagram's `settings`."""
    problems: list[dict[str, Any]] = []
    assigned: dict[str, tuple[Any, int, bool]] = {}
    tasks = [t for t in root.iterfind(".//bpmn:scriptTask", NS) if is_settings_task(t)]
    for task in tasks:
        script_el = task.find("bpmn:script", NS)
        if script_el is None:
            continue
        found, run_problems = _run_settings(
            file, task, script_el.text or "", script_el.sourceline or 1
        )
        problems += run_problems
        if run_problems and not found:  # a syntax error: nothing is assigned because of it
            return problems  # (not because a setting was lost), so that is all there is to say
        for name, (value, line, evaluated) in found.items():
            assigned[name] = (value, line, evaluated)
            if name in CATALOG and evaluated and (why := value_problem(name, value)):
                label = CATALOG[name].label
                message = f"流程参数 {name}（{label}）= {_show(value)} 不合法：{why}"
                problems.append(problem(file, task.get("id"), line, message))
    problems += _contradictions(file, tasks, assigned)
    valid = {
        n: (v, line)
        for n, (v, line, ok) in assigned.items()
        if ok and n in CATALOG and not value_problem(n, v)
    }
    first = tasks[0].get("id") if tasks else None
    problems += task_checks.setting_bounds(file, root, files, valid, first)
    reads, writes = _reads_and_writes(root)
    task_id = tasks[0].get("id") if tasks else None
    problems += _unread(file, task_id, assigned, _read_elsewhere(root, reads, files, called))
    provided = writes | _form_fields(root, files) | ENGINE_DATA
    for name, owner in sorted(reads.items()):
        setting = CATALOG.get(name)
        if setting is None or not setting.from_settings or name in assigned or name in provided:
            continue
        message = (
            f"{kind_label(owner)} 读取流程参数 {name}（{setting.label}），"
            f"但流程参数任务 {task_id or SETTINGS_ID}（{SETTINGS_NAME}）没有给它赋值。"
            f"请在该任务的脚本中加一行 {name} = …（{setting.label}）"
        )
        problems.append(problem(file, owner.get("id"), owner.sourceline, message))
    return problems


def _contradictions(
    file: str, tasks: list[Any], assigned: dict[str, tuple[Any, int, bool]]
) -> list[dict[str, Any]]:
    """Pairs of valid settings in the wrong order (:data:`ORDERED`), at the first one's line."""
    problems = []
    for earlier, later, equal, why, fix in ORDERED:
        if earlier not in assigned or later not in assigned:
            continue
        (first, line, ok_first), (second, _, ok_second) = assigned[earlier], assigned[later]
        if not (ok_first and ok_second) or value_problem(earlier, first):
            continue
        if value_problem(later, second) or first < second or (equal and first == second):
            continue
        relation = "晚于" if equal else "不小于"
        message = (
            f"流程参数 {earlier}（{CATALOG[earlier].label}）= {_show(first)} {relation} "
            f"{later}（{CATALOG[later].label}）= {_show(second)}：{why}。{fix}"
        )
        problems.append(problem(file, tasks[0].get("id"), line, message))
    return problems


def _read_elsewhere(
    root: Any, reads: dict[str, Any], files: dict[str, str], called: list[str]
) -> set[str]:
    """Names read outside `settings`: by this diagram, the diagrams it calls, its rule tables."""
    elsewhere = set(reads)
    for called_file in called:
        try:
            called_root = etree.fromstring(files[called_file].encode())
        except (KeyError, etree.XMLSyntaxError):
            continue
        elsewhere |= set(_reads_and_writes(called_root)[0])
    if root.find(".//bpmn:businessRuleTask", NS) is not None:
        for name, text in files.items():
            if name.endswith(".dmn"):
                elsewhere |= set(re.findall(r"<text>\s*([A-Za-z_]\w*)\s*</text>", text))
    return elsewhere


def _unread(
    file: str, task_id: str | None, assigned: dict[str, Any], elsewhere: set[str]
) -> list[dict[str, Any]]:
    """Names `settings` assigns that nothing reads and the catalog does not know."""
    problems = []
    for name, (_, line, _) in assigned.items():
        if name in CATALOG or name in elsewhere:
            continue
        guess = difflib.get_close_matches(name, [*CATALOG, *elsewhere], n=1)
        if guess:
            known = f"（{CATALOG[guess[0]].label}）" if guess[0] in CATALOG else ""
            hint = f"是否应为 {guess[0]}{known}？如果是，请把这一行的 {name} 改成 {guess[0]}。"
        else:
            hint = "请检查拼写，或删除这一行（不被读取的参数不起作用）。"
        message = (
            f"流程参数 {name} 不是已知参数，流程中也没有其他步骤读取它，可能是拼写错误。{hint}"
        )
        problems.append(problem(file, task_id, line, message))
    return problems


def _constants(node: ast.AST) -> Iterator[Any]:
    """The string constants an assigned expression may give (a literal or a literal if/else)."""
    if isinstance(node, ast.Constant):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _constants(node.body)
        yield from _constants(node.orelse)


def _outcomes_set(root: Any) -> Iterator[tuple[Any, int, str]]:
    """(script task, line, value) for every literal string a script gives `outcome`."""
    for script in root.iterfind(".//bpmn:script", NS):
        try:
            tree = ast.parse(script.text or "")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "outcome" for t in node.targets
            ):
                for value in _constants(node.value):
                    if isinstance(value, str):
                        yield script.getparent(), (script.sourceline or 1) + node.lineno - 1, value


def check_outcomes(file: str, root: Any) -> list[dict[str, Any]]:
    """Every literal a script gives `outcome` must be one of the engine's outcomes.

    A diagram none of whose outcomes is one of them (a test or tool process with its own
    codes) is left alone: the list applies to diagrams that use it."""
    found = list(_outcomes_set(root))
    if not any(value in ALLOWED_OUTCOMES for _, _, value in found):
        return []
    problems = []
    for task, line, value in found:
        if value in ALLOWED_OUTCOMES:
            continue
        guess = difflib.get_close_matches(value, list(ALLOWED_OUTCOMES), n=1)
        hint = f"是否应为 {guess[0]!r}（{ALLOWED_OUTCOMES[guess[0]]}）？" if guess else ""
        allowed = "、".join(f"{k}（{v}）" for k, v in ALLOWED_OUTCOMES.items())
        message = (
            f"{kind_label(task)} 把 outcome 设为 {value!r}，不是允许的结果。{hint}可用：{allowed}"
        )
        problems.append(problem(file, task.get("id"), line, message))
    return problems


# -- names nothing provides -----------------------------------------------------------------------

_CODE_TAGS = {  # BPMN element -> (mode, how the message names it)
    "script": ("exec", "脚本"),
    "conditionExpression": ("eval", "条件"),
    "timeDate": ("eval", "定时器表达式"),
    "timeDuration": ("eval", "定时器表达式"),
    "timeCycle": ("eval", "定时器表达式"),
    "loopCardinality": ("eval", "循环次数"),
    "completionCondition": ("eval", "完成条件"),
}
_SPIFF_CODE = {  # spiffworkflow extension -> (mode, how the message names it)
    "preScript": ("exec", "任务开始前脚本（preScript）"),
    "postScript": ("exec", "任务完成后脚本（postScript）"),
    "messagePayload": ("eval", "消息内容（messagePayload）"),
    "payloadExpression": ("eval", "信号内容（payloadExpression）"),
}


def _snippets(root: Any) -> Iterator[tuple[Any, Any, str, str, str, int]]:
    """(owner, holder, code, mode, what, first line) of every Python snippet a case runs
    (`dueAt` is checked with the properties, instructions are templates)."""
    for tag, (mode, what) in _CODE_TAGS.items():
        for el in root.iterfind(f".//bpmn:{tag}", NS):
            yield _owner(el), el, el.text or "", mode, what, el.sourceline or 1
    for tag, (mode, what) in _SPIFF_CODE.items():
        for el in root.iter(f"{{{SPIFF_NS}}}{tag}"):
            yield _owner(el), el, el.text or "", mode, what, el.sourceline or 1
    for el in root.iter(f"{{{SPIFF_NS}}}parameter"):
        what = f"参数 {el.get('id')}"
        yield _owner(el), el, el.get("value") or "", "eval", what, el.sourceline or 1


def _tree(code: str, mode: str) -> tuple[ast.AST | None, int]:
    """The parsed snippet and how many lines its text starts below its tag (None: it does not
    parse, which the syntax check reports)."""
    lead = code[: len(code) - len(code.lstrip())].count("\n")
    try:
        return ast.parse(code.strip(), mode="eval" if mode == "eval" else "exec"), lead
    except SyntaxError:
        return None, lead


def _bound(tree: ast.AST) -> set[str]:
    """Names a snippet binds: assignments, loop and comprehension targets, arguments, handlers."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.Lambda | ast.ExceptHandler):
            found.add(getattr(node, "name", None) or "")
    return found


def _provided(root: Any, files: dict[str, str]) -> set[str]:
    """Names a diagram's steps put into the case data: what its code assigns, operators' results,
    messages' and signals' variables, data objects, multi-instance items, its forms' fields."""
    names: set[str] = set()
    for _, _, code, mode, _, _ in _snippets(root):
        tree, _ = _tree(code, mode)
        names |= _bound(tree) if tree is not None else set()
    for op in root.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"):
        names.add(op.get("resultVariable") or "")
    for tag in ("messageVariable", "variableName"):
        names |= {(el.text or "").strip() for el in root.iter(f"{{{SPIFF_NS}}}{tag}")}
    for tag in ("dataObject", "inputDataItem", "outputDataItem", "dataInput", "dataOutput"):
        for el in root.iterfind(f".//bpmn:{tag}", NS):
            names |= {el.get("id") or "", el.get("name") or ""}
    return names | _form_fields(root, files)


def _script_names() -> set[str]:
    """What every snippet may use: the builtins and functions of the engine's environment."""
    from engine.runtime import SAFE_BUILTINS

    return set(SAFE_BUILTINS) | {n for n in _environment().globals if not n.startswith("__")}


def check_names(
    file: str, root: Any, files: dict[str, str], called: list[str]
) -> list[dict[str, Any]]:
    """Names a top-level diagram (and the diagrams it calls) read that are not provided on every
    path to where they are read (:mod:`engine.name_flow`): the case would stop there with a
    NameError. A name nothing provides at all is named with a guess; one provided only on some
    paths with a path where it is missing."""
    trees = [(file, root)]
    for name in called:
        try:
            trees.append((name, etree.fromstring(files[name].encode())))
        except (KeyError, etree.XMLSyntaxError):
            continue
    functions = _script_names()
    anywhere = START_DATA | functions
    for _, tree in trees:
        anywhere |= _provided(tree, files) | _dmn_outputs(tree, files)
    known = sorted(anywhere - functions)
    lenient = not any(_uses_forms(tree) for _, tree in trees)
    problems: list[dict[str, Any]] = []
    for where, tree in trees:
        # a setting the `settings` task lost is named by check_settings (of the top level only)
        lost = {n for n, s in CATALOG.items() if s.from_settings} if where == file else set()
        others = frozenset().union(*(_provided(t, files) for w, t in trees if w != where))
        always = START_DATA | functions | lost | _global_names(tree)
        if where != file:  # a called diagram starts with what its caller may pass
            always |= _provided(root, files)
        flow = name_flow.analyse(tree, _assigns(files, lenient), others)
        for snippet in _snippets(tree):
            usable = _usable(flow, snippet, always, anywhere | lost)
            for at, owner, what, name in _unprovided(snippet, usable or set()):
                if usable is None:
                    break  # after a formless user task of a diagram without forms
                if name in anywhere:
                    message = _missing_on_a_path(flow, owner, what, name)
                else:
                    message = _unknown(owner, what, name, known)
                problems.append(problem(where, owner.get("id"), at, message))
    return problems


def _usable(
    flow: name_flow.Flow, snippet: tuple[Any, ...], always: set[str], anywhere: set[str]
) -> set[str] | None:
    """Names a snippet may read where it runs (None: any name)."""
    if not name_flow.placed(flow, snippet[0]):
        return anywhere  # a signal's payload …: whatever some step provides
    here = name_flow.available_at(flow, snippet[0], snippet[1])
    if here is name_flow.EVERY:
        return None
    own, _ = _tree(snippet[2], snippet[3])
    return always | here | (_bound(own) if own is not None else set())


def _dmn_outputs(tree: Any, files: dict[str, str]) -> set[str]:
    if tree.find(".//bpmn:businessRuleTask", NS) is None:
        return set()
    found: set[str] = set()
    for text in (t for n, t in files.items() if n.endswith(".dmn")):
        found |= set(re.findall(r'<(?:\w+:)?output\b[^>]*\bname="(\w+)"', text))
    return found


def _global_names(tree: Any) -> set[str]:
    """Names available everywhere: data objects, multi-instance items, the variables of messages
    and signals declared outside a flow node."""
    names: set[str] = set()
    for tag in ("dataObject", "inputDataItem", "outputDataItem", "dataInput", "dataOutput"):
        for el in tree.iterfind(f".//bpmn:{tag}", NS):
            names |= {el.get("id") or "", el.get("name") or ""}
    for tag in ("message", "signal"):
        for el in tree.iterfind(f".//bpmn:{tag}", NS):
            names |= {(v.text or "").strip() for v in el.iter(f"{{{SPIFF_NS}}}*")}
    return names


def _assigns(files: dict[str, str], lenient: bool) -> Callable[[Any], frozenset[str] | None]:
    """What a flow node assigns itself (None: any name, a formless user task of a diagram
    without forms)."""

    def assigns(el: Any) -> frozenset[str] | None:
        local = etree.QName(el).localname
        if local in {"subProcess", "transaction", "adHocSubProcess"}:
            return frozenset()  # what its steps assign is analysed inside it
        names = _own_assignments(el)
        if names is None:
            return None  # its code does not parse (reported so): do not guess what it assigns
        if local == "businessRuleTask":
            names |= _dmn_outputs(el.getroottree().getroot(), files)
        if local == "userTask":
            form = _form_of_task(el)
            if form is None and lenient:
                return None
            names |= _fields_of(files.get(form or ""))
        return frozenset(names)

    return assigns


def _own_assignments(el: Any) -> set[str] | None:
    """Scripts, pre/post scripts, an operator's result, a message's or signal's variable (None:
    some of its code does not parse)."""
    names: set[str] = set()
    codes = [c.text or "" for c in el.iterfind("bpmn:extensionElements/*", NS)
             if c.tag in {f"{{{SPIFF_NS}}}preScript", f"{{{SPIFF_NS}}}postScript"}]  # fmt: skip
    codes += [s.text or "" for s in el.iterfind("bpmn:script", NS)]
    for code in codes:
        try:
            ast.parse(code)  # as the syntax check parses it
        except SyntaxError:
            return None
        names |= name_flow.bound(code)
    for op in el.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"):
        names.add(op.get("resultVariable") or "")
    for tag in ("messageVariable", "variableName"):
        names |= {(v.text or "").strip() for v in el.iter(f"{{{SPIFF_NS}}}{tag}")}
    return names


def _form_of_task(task: Any) -> str | None:
    for prop in task.iter(f"{{{SPIFF_NS}}}property"):
        if prop.get("name") == "formJsonSchemaFilename" and (prop.get("value") or "").strip():
            return prop.get("value")
    return None


def _fields_of(text: str | None) -> set[str]:
    try:
        schema = json.loads(text or "")
    except ValueError:
        return set()
    return set((schema.get("properties") or {}) if isinstance(schema, dict) else ())


def _uses_forms(root: Any) -> bool:
    """Whether any user task of a diagram has a form (then every one must, §12)."""
    return any(_form_of_task(t) for t in root.iterfind(".//bpmn:userTask", NS))


def _missing_on_a_path(flow: name_flow.Flow, owner: Any, what: str, name: str) -> str:
    target = owner.get("sourceRef") if owner.tag.endswith("sequenceFlow") else owner.get("id")
    path = name_flow.path_without(flow, target, name) if target in flow.nodes else []
    if owner.tag.endswith("sequenceFlow") and path:
        path_text = f"{name_flow.shown_path(flow, path)} → {kind_label(owner)}"
    else:
        path_text = name_flow.shown_path(flow, path) if path else "（某条路径）"
    givers = [kind_label(flow.nodes[n]) for n in name_flow.providers(flow, name)][:3]
    given = f"只有{'、'.join(givers)}给它赋值，" if givers else ""
    return (
        f"{kind_label(owner)} 的{what} 读取了 {name}，但并非每条到达这里的路径都给它赋值："
        f"{given}沿路径 {path_text} 没有任何步骤给 {name} 赋值，案件走这条路径时会在这里出错"
        f"（NameError）。请在这条路径上加上提供 {name} 的步骤（如含该字段的表单），"
        "或改为读取这条路径上已有的数据。"
    )


def _unprovided(
    snippet: tuple[Any, Any, str, str, str, int], available: set[str]
) -> Iterator[tuple[int, Any, str, str]]:
    """(line, owner, what, name) for each name one snippet reads that is not available."""
    owner, holder, code, mode, what, line = snippet
    parsed, lead = _tree(code, mode)
    if parsed is None or owner is None or (mode == "eval" and ISO_UNQUOTED.match(code)):
        return  # a syntax error or unquoted ISO text: the code check names it
    reported: set[str] = set()
    for node in ast.walk(parsed):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in available or node.id in reported:
                continue
            reported.add(node.id)
            in_attribute = holder.tag.endswith("parameter")  # one line, whatever its text
            yield (line if in_attribute else line + lead + node.lineno - 1), owner, what, node.id


def _unknown(owner: Any, what: str, name: str, known: list[str]) -> str:
    guess = difflib.get_close_matches(name, known, n=1)
    hint = f"是否应为 {guess[0]}？" if guess else "请检查拼写。"
    return (
        f"{kind_label(owner)} 的{what} 读取了 {name}，但流程中没有任何步骤给它赋值，它也不是"
        f"表单字段或案件开始时引擎提供的数据：运行到这里会出错（NameError）。{hint}"
    )
