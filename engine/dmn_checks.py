"""Deploy checks of DMN cell values the handlers interpret (a wrong one would silently fall back).

- A settings table (one input ``item`` -> output ``value``, e.g. ``lg_settings``): every item must
  be one the handlers read, and its value one of the handler's known values
  (``handlers.indicators.TABLE_SETTINGS``: ``growth_method`` mean/cagr, ``rd_expense_2y``
  sum/mean). "median" would score with the mean, "total" with the sum.
- A ``boolean`` output column (e.g. eligibility's ``enabled``): each cell must be ``true``,
  ``false`` or empty. ``"false"`` (a string) is not false: the condition would stay on.
- An output cell left empty where the handlers need a value (``points``, ``band``, ``code``,
  ``max`` …; only the columns in :data:`MAY_BE_EMPTY` may be): it would score 0 or name nothing.
- An input cell that compares a form field with a text the form never gives (``"own_clas1"``
  where the form offers ``own_class1``), or with quoted text where the field is a yes/no or a
  number: the row never matches.
- A lookup table (one input, a choice field of a form, not COLLECT) without a row for a value
  the form offers (划型 without 建筑业): every case with that answer fails to be classified.
- Indicator lists: a band table's points above the indicator's ``max``, and a ``group`` that
  the thresholds/groups table of the file does not list (its minimum would never be checked).
- 划型 rows: every level (large/medium/small) needs at least one lower bound (a level without
  any is "reached" by every enterprise).

Which form's values count: the form named in the file's ``ruleset`` row when it has the field,
else every form of the deployment that has it.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
METADATA = "ruleset"
# output columns a row may leave empty: the ruleset row's optional cells, eligibility's article
# and enabled (empty = checked), and the 划型 bounds (empty = the industry does not use it)
MAY_BE_EMPTY = {"effective_to", "form", "note", "article", "enabled"}
SIZE_BOUND = re.compile(r"^(large|medium|small)_(employees|revenue|assets)$")
LEVELS = {"large": "大型", "medium": "中型", "small": "小型"}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")  # a number cell, as handlers/dmn.py reads one


def _table_settings() -> dict[str, dict[str, str]]:
    """The handlers' allowed settings-table values (read where they are interpreted)."""
    try:
        return importlib.import_module("handlers.indicators").TABLE_SETTINGS
    except ImportError:  # pragma: no cover - the engine always runs with its handlers
        return {}


def _literal(text: str | None) -> Any:
    text = (text or "").strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _problem(file: str, element: Any, message: str) -> dict[str, Any]:
    return {"file": file, "element_id": element.get("id"), "line": element.sourceline,
            "message": message}  # fmt: skip


def _q(tag: str) -> str:
    return f"{{{DMN_NS}}}{tag}"


def check(files: Mapping[str, str]) -> list[dict[str, Any]]:
    """Problems of every DMN file of a deployment (unparsable files are reported elsewhere);
    the deployment's forms (``forms/*.json``) give the values the input cells are checked with."""
    used = tuple(sorted((n, t) for n, t in files.items() if n.endswith((".dmn", ".json"))))
    return [dict(found) for found in _check(used)]


@functools.lru_cache(maxsize=32)  # a deployment's rule tables are validated again and again
def _check(used: tuple[tuple[str, str], ...]) -> tuple[dict[str, Any], ...]:
    files = dict(used)
    problems: list[dict[str, Any]] = []
    known = _table_settings()
    forms = form_fields(files)
    for name, text in sorted(files.items()):
        if not name.endswith(".dmn"):
            continue
        try:
            root = etree.fromstring(text.encode())
        except etree.XMLSyntaxError:
            continue
        fields = _Fields(forms, _ruleset_form(root))
        for table in root.iter(_q("decisionTable")):
            decision = table.getparent()
            problems += _settings_table(name, table, known)
            problems += _boolean_columns(name, table)
            if decision.get("id") != METADATA:
                problems += _empty_outputs(name, table)
                problems += _size_levels(name, table)
            found = _input_values(name, table, fields)
            problems += found or _coverage(name, decision, table, fields)
        problems += _indicator_lists(name, root)
    return tuple(problems)


# -- the forms' fields ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FormField:
    """A property of a form: its JSON type, the values it offers (None: any), where it is."""

    form: str
    name: str
    kind: str  # the JSON Schema type ("array": a multiple choice, `choices` are its items')
    choices: dict[Any, str] | None
    line: int | None


def _choices(prop: Any) -> dict[Any, str] | None:
    if not isinstance(prop, dict):
        return None
    if isinstance(prop.get("enum"), list):
        return {value: "" for value in prop["enum"] if _hashable(value)}
    for key in ("oneOf", "anyOf"):
        options = prop.get(key)
        if (
            isinstance(options, list)
            and options
            and all(isinstance(o, dict) and "const" in o and _hashable(o["const"]) for o in options)
        ):
            return {o["const"]: str(o.get("title") or "") for o in options}
    return None


def _hashable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def form_fields(files: Mapping[str, str]) -> dict[str, dict[str, FormField]]:
    """form file -> field -> FormField, for every readable form of a file set."""
    out: dict[str, dict[str, FormField]] = {}
    for name, text in sorted(files.items()):
        if not (name.startswith("forms/") and name.endswith(".json")):
            continue
        try:
            schema = json.loads(text.removeprefix("\ufeff"))
        except ValueError:
            continue
        props = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(props, dict):
            continue
        fields = {}
        for field, prop in props.items():
            if not isinstance(prop, dict):
                continue
            kind = prop.get("type") if isinstance(prop.get("type"), str) else ""
            choices = _choices(prop.get("items")) if kind == "array" else _choices(prop)
            found = re.search(rf'"{re.escape(field)}"\s*:', text)
            line = text[: found.start()].count("\n") + 1 if found else None
            fields[field] = FormField(name, field, kind, choices, line)
        out[name] = fields
    return out


class _Fields:
    """The form fields a rule file's input columns are compared with."""

    def __init__(self, forms: dict[str, dict[str, FormField]], own_form: str | None) -> None:
        self.forms, self.own_form = forms, own_form

    def of(self, name: str) -> list[FormField]:
        """The definitions of field `name`: its own form's when that form has it, else every
        form's."""
        own = self.forms.get(self.own_form or "", {})
        if name in own:
            return [own[name]]
        return [fields[name] for fields in self.forms.values() if name in fields]


def _ruleset_form(root: Any) -> str | None:
    """The `form` cell of the file's ruleset row."""
    for decision in root.iterfind(_q("decision")):
        if decision.get("id") != METADATA:
            continue
        for table in decision.iterfind(_q("decisionTable")):
            names = [o.get("name") for o in table.iterfind(_q("output"))]
            for rule in table.iterfind(_q("rule")):
                cells = [_cell_text(e) for e in rule.iterfind(_q("outputEntry"))]
                if "form" in names and names.index("form") < len(cells):
                    value = _literal(cells[names.index("form")])
                    return value if isinstance(value, str) and value else None
    return None


# -- helpers over a table -------------------------------------------------------------------------


def _cell_text(entry: Any) -> str:
    return (entry.findtext(_q("text")) or "").strip()


def _inputs(table: Any) -> list[tuple[Any, str]]:
    """(input column, its expression text) of a table."""
    return [(i, (i.findtext(f"{_q('inputExpression')}/{_q('text')}") or "").strip())
            for i in table.iterfind(_q("input"))]  # fmt: skip


def _column_label(column: Any, name: str) -> str:
    label = (column.get("label") or "").strip()
    return f"{name}（{label}）" if label and label != name else name


def _split_list(text: str) -> list[str]:
    """A cell's comma list, commas inside quotes kept (as handlers/dmn.py reads it)."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def _quoted(text: str) -> list[str]:
    """The quoted texts a cell compares with (`"a","b"` -> a, b)."""
    return [p[1:-1] for p in _split_list(text) if len(p) >= 2 and p[0] == p[-1] == '"']


def _shown(choices: dict[Any, str]) -> str:
    return "、".join(
        f"{json.dumps(k, ensure_ascii=False)}（{t}）" if t else json.dumps(k, ensure_ascii=False)
        for k, t in choices.items()
    )


# -- the checks over the forms --------------------------------------------------------------------

_TYPED = {"boolean": "是/否（写 true 或 false，不加引号）", "number": "数字（不加引号）",
          "integer": "整数（不加引号）"}  # fmt: skip


def _input_values(file: str, table: Any, fields: _Fields) -> list[dict[str, Any]]:
    """Input cells comparing a form field with a value its form never gives."""
    problems = []
    columns = _inputs(table)
    for rule in table.iterfind(_q("rule")):
        entries = list(rule.iterfind(_q("inputEntry")))
        for (column, name), entry in zip(columns, entries, strict=False):
            defs = fields.of(name)
            if not defs:
                continue
            quoted = _quoted(_cell_text(entry))
            offered: dict[Any, str] = {}
            for found in defs:
                offered |= found.choices or {}
            where = f"规则 {rule.get('id')} 的输入列 {_column_label(column, name)}"
            forms = "、".join(sorted({d.form for d in defs}))
            if quoted and all(d.kind in _TYPED for d in defs):
                message = (
                    f"{where} 的条件 {_cell_text(entry)} 是带引号的文字，但表单 {forms} 的字段 "
                    f"{name} 是{_TYPED[defs[0].kind]}：这一行永远不会匹配"
                )
                problems.append(_problem(file, entry, message) | {"element_id": rule.get("id")})
                continue
            if not offered:
                continue
            for value in quoted:
                if value in offered:
                    continue
                guess = difflib.get_close_matches(value, [str(k) for k in offered], n=1)
                hint = f"是否应为 {json.dumps(guess[0], ensure_ascii=False)}？" if guess else ""
                message = (
                    f"{where} 的条件 {json.dumps(value, ensure_ascii=False)} 不是表单 {forms} "
                    f"中字段 {name} 的取值，这一行永远不会匹配。{hint}表单可选：{_shown(offered)}"
                )
                problems.append(_problem(file, entry, message) | {"element_id": rule.get("id")})
    return problems


def _matcher() -> Any:
    """handlers.dmn.parse_tests: an input cell as the rule tables are evaluated at run time."""
    try:
        return importlib.import_module("handlers.dmn").parse_tests
    except ImportError:  # pragma: no cover - the engine always runs with its handlers
        return None


def _coverage(file: str, decision: Any, table: Any, fields: _Fields) -> list[dict[str, Any]]:
    """A lookup table (one input, a single-choice form field, not COLLECT) must have a row for
    every value the form offers: a case answering one without a row matches nothing."""
    columns = _inputs(table)
    parse = _matcher()
    if len(columns) != 1 or table.get("hitPolicy") == "COLLECT" or parse is None:
        return []
    name = columns[0][1]
    defs = [d for d in fields.of(name) if d.choices and d.kind != "array"]
    tests = []
    for rule in table.iterfind(_q("rule")):
        entry = rule.find(_q("inputEntry"))
        try:
            tests.append(parse(_cell_text(entry) if entry is not None else ""))
        except ValueError:  # an unparsable cell: the rule-table reader names it
            return []
    offered: dict[Any, tuple[str, list[str]]] = {}  # value -> (title, "form 第 n 行")
    for found in defs:
        assert found.choices is not None
        for value, title in found.choices.items():
            if not any(test(value) for test in tests):
                entry = offered.setdefault(value, (title, []))
                entry[1].append(f"{found.form} 第 {found.line} 行")
    if not offered:
        return []
    missing = {value: title for value, (title, _) in offered.items()}
    where = "、".join(dict.fromkeys(w for _, places in offered.values() for w in places))
    label = decision.get("name") or decision.get("id")
    message = (
        f"决策表 {decision.get('id')}（{label}）没有 {name} 为 {_shown(missing)}的规则行，"
        f"而表单的字段 {name}（{where}）提供这些选项：选择它们的案件在运行时查不到规则"
        "（划型为“无法判定”而不符合申报条件，指标记为缺少数据）。"
        "请补上规则行，或从表单中去掉这些选项"
    )
    return [_problem(file, table, message) | {"element_id": decision.get("id")}]


# -- the checks within a file ---------------------------------------------------------------------


def _empty_outputs(file: str, table: Any) -> list[dict[str, Any]]:
    """Output cells the handlers need a value in, left empty; number columns holding text."""
    columns = list(table.iterfind(_q("output")))
    problems = []
    for rule in table.iterfind(_q("rule")):
        for column, entry in zip(columns, rule.iterfind(_q("outputEntry")), strict=False):
            name, text = column.get("name") or "", _cell_text(entry)
            if text and column.get("typeRef") == "number" and not NUMBER.fullmatch(text):
                message = (
                    f"规则 {rule.get('id')} 的输出列 {_column_label(column, name)} 是数字列，"
                    f"应填数字（不加引号、不带单位），现为 {text}"
                )
                problems.append(_problem(file, entry, message) | {"element_id": rule.get("id")})
            if text or name in MAY_BE_EMPTY or SIZE_BOUND.match(name):
                continue
            message = (
                f"规则 {rule.get('id')} 的输出列 {_column_label(column, name)} 为空："
                "处理器需要这个值（为空时得分按 0 计、名称为空或查不到计分表）。请填写"
            )
            problems.append(_problem(file, entry, message) | {"element_id": rule.get("id")})
    return problems


def _size_levels(file: str, table: Any) -> list[dict[str, Any]]:
    """A 划型 row must give at least one lower bound for each level."""
    names = [o.get("name") or "" for o in table.iterfind(_q("output"))]
    if not any(SIZE_BOUND.match(n) for n in names):
        return []
    problems = []
    for rule in table.iterfind(_q("rule")):
        cells = dict(zip(names, (_cell_text(e) for e in rule.iterfind(_q("outputEntry"))),
                         strict=False))  # fmt: skip
        for level, label in LEVELS.items():
            bounds = [n for n in names if n.startswith(f"{level}_") and SIZE_BOUND.match(n)]
            if bounds and not any(cells.get(n) for n in bounds):
                message = (
                    f"规则 {rule.get('id')} 没有任何{label}下限（{'、'.join(bounds)} 全部为空）："
                    f"每家企业都会被视为达到{label}标准。请至少填写一个下限"
                )
                problems.append(_problem(file, rule, message))
    return problems


def _literal_cells(table: Any, column: str) -> list[tuple[Any, Any, Any]]:
    """(rule, output entry, value) of one output column of a table."""
    names = [o.get("name") for o in table.iterfind(_q("output"))]
    if column not in names:
        return []
    index = names.index(column)
    out = []
    for rule in table.iterfind(_q("rule")):
        entries = list(rule.iterfind(_q("outputEntry")))
        if index < len(entries):
            out.append((rule, entries[index], _literal(_cell_text(entries[index]))))
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _indicator_lists(file: str, root: Any) -> list[dict[str, Any]]:
    """Indicator lists (input ``indicator``; ``max``, ``decision`` …) and condition tables with a
    ``group``: points above an indicator's maximum, groups the file's group table lacks."""
    tables = {d.get("id"): t for d in root.iterfind(_q("decision"))
              for t in d.iterfind(_q("decisionTable"))}  # fmt: skip
    groups: dict[str, set[Any]] = {}  # group table id -> its items
    for decision_id, table in tables.items():
        columns = [name for _, name in _inputs(table)]
        outputs = {o.get("name") for o in table.iterfind(_q("output"))}
        if columns in (["item"], ["group"]) and "label" in outputs:
            items = set()
            for rule in table.iterfind(_q("rule")):
                entry = rule.find(_q("inputEntry"))
                items |= set(_quoted(_cell_text(entry))) if entry is not None else set()
            groups[decision_id] = items
    problems = []
    for decision_id, table in tables.items():
        if decision_id in groups:
            continue
        problems += _unknown_groups(file, decision_id, table, groups)
        if [name for _, name in _inputs(table)] == ["indicator"]:
            problems += _points_above_max(file, table, tables)
    return problems


def _unknown_groups(
    file: str, decision_id: str, table: Any, groups: dict[str, set[Any]]
) -> list[dict[str, Any]]:
    known = set().union(*groups.values()) if groups else set()
    if not groups:
        return []
    problems = []
    for rule, entry, value in _literal_cells(table, "group"):
        if not isinstance(value, str) or not value or value in known:  # empty: _empty_outputs
            continue
        guess = difflib.get_close_matches(value, sorted(known - {"total"}), n=1)
        hint = f"是否应为 {guess[0]}？" if guess else ""
        listed = "、".join(sorted(groups))
        message = (
            f"规则 {rule.get('id')} 的类别（列 group）{value!r} 不在 {listed} 中"
            f"（可用：{'、'.join(sorted(known - {'total'}))}）：它的得分或条件不会计入任何类别，"
            f"类别的最低分或名称也查不到。{hint}"
        )
        problems.append(_problem(file, entry, message) | {"element_id": rule.get("id")})
    return problems


def _points_above_max(file: str, table: Any, tables: dict[str, Any]) -> list[dict[str, Any]]:
    decisions = {rule.get("id"): value for rule, _, value in _literal_cells(table, "decision")}
    problems = []
    for rule, _, maximum in _literal_cells(table, "max"):
        band = tables.get(decisions.get(rule.get("id")))
        top = _number(maximum)
        if band is None or top is None:
            continue
        for band_rule, entry, points in _literal_cells(band, "points"):
            if (found := _number(points)) is None or found <= top:
                continue
            listed = table.getparent().get("id")
            message = (
                f"规则 {band_rule.get('id')} 的得分 {points} 超过指标（{listed} 的规则 "
                f"{rule.get('id')}）的满分 {maximum}：总分和类别分会超出标准"
            )
            found_at = _problem(file, entry, message) | {"element_id": band_rule.get("id")}
            problems.append(found_at)
    return problems


def _settings_table(
    file: str, table: Any, known: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    inputs = [(i.findtext(f"{_q('inputExpression')}/{_q('text')}") or "").strip()
              for i in table.iterfind(_q("input"))]  # fmt: skip
    outputs = [o.get("name") for o in table.iterfind(_q("output"))]
    if inputs != ["item"] or outputs != ["value"]:
        return []
    problems = []
    for rule in table.iterfind(_q("rule")):
        entry = rule.find(_q("inputEntry"))
        value_entry = rule.find(_q("outputEntry"))
        if entry is None or value_entry is None:
            continue
        item = _literal(entry.findtext(_q("text")))
        value = _literal(value_entry.findtext(_q("text")))
        allowed = known.get(item) if isinstance(item, str) else None
        if allowed is None:
            message = (
                f"规则 {rule.get('id')} 的参数（列 item）{item!r} 不是已知参数"
                f"（可用：{'、'.join(known)}），处理器不会读取它"
            )
            problems.append(_problem(file, rule, message))
        elif value not in allowed:
            choices = "；".join(f"{k} = {v}" for k, v in allowed.items())
            message = (
                f"规则 {rule.get('id')} 的参数 {item}（列 value）取值 {value!r} 无效，"
                f"应为以下之一（带引号）：{choices}"
            )
            problems.append(_problem(file, value_entry, message) | {"element_id": rule.get("id")})
    return problems


def _boolean_columns(file: str, table: Any) -> list[dict[str, Any]]:
    columns = list(table.iterfind(_q("output")))
    flags = [i for i, o in enumerate(columns) if o.get("typeRef") == "boolean"]
    problems = []
    for rule in table.iterfind(_q("rule")):
        entries = list(rule.iterfind(_q("outputEntry")))
        for index in flags:
            if index >= len(entries):
                continue
            text = (entries[index].findtext(_q("text")) or "").strip()
            if text in {"", "true", "false"}:
                continue
            column = columns[index]
            label = f"（{column.get('label')}）" if column.get("label") else ""
            message = (
                f"规则 {rule.get('id')} 的列 {column.get('name')}{label} 是布尔值，"
                f"应填 true 或 false（不带引号），现为 {text}"
            )
            found = _problem(file, entries[index], message)
            problems.append(found | {"element_id": rule.get("id")})
    return problems
