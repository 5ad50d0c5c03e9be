"""Deploy checks of DMN cell values the handlers interpret (a wrong one would silently fall back).

- A settings table (one input ``item`` -> output ``value``, e.g. ``lg_settings``): every item must
  be one the handlers read, and its value one of the handler's known values
  (``handlers.indicators.TABLE_SETTINGS``: ``growth_method`` mean/cagr, ``rd_expense_2y``
  sum/mean). "median" would score with the mean, "total" with the sum.
- A ``boolean`` output column (e.g. eligibility's ``enabled``): each cell must be ``true``,
  ``false`` or empty. ``"false"`` (a string) is not false: the condition would stay on.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Mapping
from typing import Any

from lxml import etree

DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


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
    """Problems of every DMN file of a deployment (unparsable files are reported elsewhere)."""
    problems: list[dict[str, Any]] = []
    known = _table_settings()
    for name, text in sorted(files.items()):
        if not name.endswith(".dmn"):
            continue
        try:
            root = etree.fromstring(text.encode())
        except etree.XMLSyntaxError:
            continue
        for table in root.iter(_q("decisionTable")):
            problems += _settings_table(name, table, known)
            problems += _boolean_columns(name, table)
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
