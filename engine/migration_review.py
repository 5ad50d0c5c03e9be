"""What a version change means beyond its elements: 流程参数 values and rule-table cells.

SpecDiff compares task specs, so a 流程参数 edit shows as "the script changed" and a DMN edit
not at all. Here the two versions' files are compared directly: each 流程参数 line with its
value in both, and each decision table cell (table, rule, column) with its text in both. No
database; `Definition` rows only.
"""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.util.task import TaskState

from engine.definitions import settings_of
from engine.store import Definition


def setting_changes(old: Definition, new: Definition) -> list[dict[str, Any]]:
    """Every 流程参数 line added, removed or given another value between two versions."""
    changes = []
    for path in sorted(set(old.files) | set(new.files)):
        if not path.endswith(".bpmn"):
            continue
        before, after = _settings(old.files.get(path)), _settings(new.files.get(path))
        for key in [*before, *(k for k in after if k not in before)]:
            a, b = before.get(key), after.get(key)
            if a is not None and b is not None and a["value"] == b["value"]:
                continue
            changes.append(
                {
                    "file": path,
                    "element_id": key[0],
                    "name": key[1],
                    "note": (b or a or {}).get("note", ""),
                    "old": a["value"] if a else None,
                    "new": b["value"] if b else None,
                    "change": "changed" if a and b else ("added" if b else "removed"),
                }
            )
    return changes


def _settings(xml: str | None) -> dict[tuple[str, str], dict[str, Any]]:
    if not xml:
        return {}
    try:
        return {(s["element_id"], s["name"]): s for s in settings_of(xml)}
    except etree.XMLSyntaxError:
        return {}


def settings_kept(wf: Any, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changed 流程参数 a case has already run: it keeps the values it set (as Camunda keeps
    process variables), so each is named with its value in the case and in the new version."""
    ran: dict[str, Any] = {}
    for task in wf.get_tasks(state=TaskState.COMPLETED):
        if task.task_spec.bpmn_id is not None:
            ran.setdefault(task.task_spec.bpmn_id, task.data)
    kept = []
    for change in changes:
        data = ran.get(change["element_id"])
        if data is None or change["name"] not in data:
            continue  # not run yet: the case will read the new value
        value = data[change["name"]]
        if value != change["new"]:
            kept.append(
                {
                    "element_id": change["element_id"],
                    "name": change["name"],
                    "note": change["note"],
                    "case_value": value,
                    "new_value": change["new"],
                }
            )
    return kept


def rule_changes(old: Definition, new: Definition) -> list[dict[str, Any]]:
    """Every decision table, rule and cell that differs between two versions' DMN files."""
    changes: list[dict[str, Any]] = []
    for path in sorted(set(old.files) | set(new.files)):
        if not path.endswith(".dmn"):
            continue
        before, after = _tables(old.files.get(path)), _tables(new.files.get(path))
        for decision_id in [*before, *(k for k in after if k not in before)]:
            a, b = before.get(decision_id), after.get(decision_id)
            where = {"file": path, "decision_id": decision_id, "decision": (b or a)["name"]}
            if a is None or b is None:
                change = "added" if a is None else "removed"
                changes.append(where | {"change": change, "rule": None, "column": None})
                continue
            changes += [where | c for c in _rule_diff(a, b)]
    return changes


def _rule_diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    rules_b = {r["id"]: r for r in b["rules"]}
    for rule in a["rules"]:
        other = rules_b.get(rule["id"])
        if other is None:
            out.append({"change": "removed", "rule": rule["index"], "rule_id": rule["id"]})
            continue
        for column in [*rule["cells"], *(c for c in other["cells"] if c not in rule["cells"])]:
            old, new = rule["cells"].get(column), other["cells"].get(column)
            if old != new:
                out.append(
                    {
                        "change": "changed",
                        "rule": other["index"],
                        "rule_id": rule["id"],
                        "column": column,
                        "old": old,
                        "new": new,
                    }
                )
    known = {r["id"] for r in a["rules"]}
    out += [
        {"change": "added", "rule": r["index"], "rule_id": r["id"], "new": r["cells"]}
        for r in b["rules"]
        if r["id"] not in known
    ]
    return out


def _local(node: Any) -> str:
    return etree.QName(node).localname


def _tables(xml: str | None) -> dict[str, dict[str, Any]]:
    """decision id -> {name, rules: [{id, index, cells: {column label: text}}]}."""
    if not xml:
        return {}
    try:
        root = etree.fromstring(xml.encode())
    except etree.XMLSyntaxError:
        return {}
    out = {}
    for decision in root.iter("{*}decision"):
        table = decision.find("{*}decisionTable")
        if table is None:
            continue
        inputs = [_column(c) for c in table.findall("{*}input")]
        outputs = [_column(c) for c in table.findall("{*}output")]
        rules = []
        for index, rule in enumerate(table.findall("{*}rule"), start=1):
            cells = {"说明": (rule.findtext("{*}description") or "").strip()}
            for label, kind in ((inputs, "inputEntry"), (outputs, "outputEntry")):
                for column, entry in zip(label, rule.findall(f"{{*}}{kind}"), strict=False):
                    cells[column] = (entry.findtext("{*}text") or "").strip()
            rules.append({"id": rule.get("id") or f"#{index}", "index": index, "cells": cells})
        out[decision.get("id")] = {"name": decision.get("name") or "", "rules": rules}
    return out


def _column(node: Any) -> str:
    text = node.findtext("{*}inputExpression/{*}text")
    return node.get("label") or node.get("name") or (text or "").strip() or node.get("id")
