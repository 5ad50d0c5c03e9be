"""专精特新“小巨人”企业认定标准 (工信部企业〔2022〕63号 annex 3): pass/fail per condition."""

from __future__ import annotations

from typing import Any

from engine.registry import RuleSet, operator
from handlers import indicators as ind
from handlers import rule_forms
from handlers import rules as rule_tables
from handlers.scoring import direct

FILE = "rules/little_giant.dmn"
SETTINGS = rule_tables.require(FILE, "lg_settings", inputs=("item",), outputs=("value",))
GROUPS = rule_tables.require(FILE, "lg_groups", inputs=("group",), outputs=("label",))
CONDITIONS = rule_tables.require(
    FILE, "lg_conditions", inputs=("innovation_ok",), outputs=("code", "name", "group")
)
GENERAL = rule_tables.require(FILE, "lg_innovation_general", outputs=("code", "name"))
DIRECT_TABLE = rule_tables.require(FILE, "lg_direct_conditions", outputs=("code", "name"))
INNOVATION = "lg_innovation"


@rule_forms.needs_fields("little_giant")
def needed_fields(version: rule_tables.RuleSetVersion) -> dict[str, str]:
    """Form fields the little-giant conditions read."""
    return ind.form_fields(version, [CONDITIONS, GENERAL, DIRECT_TABLE])


def _innovation(version: rule_tables.RuleSetVersion, values: ind.Values) -> dict[str, Any]:
    """LG-4: every general condition, or any direct condition."""
    general = ind.conditions(version.table(GENERAL), values)
    direct_conditions = direct(version, DIRECT_TABLE, values)
    general_ok = all(c["passed"] for c in general)
    met = [{"code": c["code"], "name": c["name"]} for c in direct_conditions if c["passed"]]
    passed = general_ok or bool(met)
    return {
        "passed": passed,
        "basis": ("general" if general_ok else "direct") if passed else None,
        "general": general,
        "direct_conditions": direct_conditions,
        "direct_conditions_met": met,
    }


def _explain_innovation(condition: dict[str, Any], innovation: dict[str, Any]) -> None:
    unmet = [c for c in innovation["general"] if not c["passed"]]
    held = "、".join(d["name"] for d in innovation["direct_conditions_met"]) or "无"
    general = "；".join(f"{c['name']}（{c['value']}）" for c in unmet) or "无（全部满足）"
    condition["value"] = f"未满足的一般性条件：{general}。满足的直通条件：{held}"
    condition["missing"] = not condition["passed"] and any(c["missing"] for c in unmet)


def _groups(version: rule_tables.RuleSetVersion, conditions: list[dict[str, Any]]) -> dict:
    table = version.table(GROUPS)
    out = {}
    for key in dict.fromkeys(c.get("group") for c in conditions):
        row = table.first(group=key)
        members = [c for c in conditions if c.get("group") == key]
        out[str(key)] = {
            "label": row["label"] if row else key,
            "conditions": [c["code"] for c in members],
            "ok": all(c["passed"] for c in members),
        }
    return out


@operator("scoring.check_little_giant")
def check_little_giant(
    *, figures: dict[str, Any], reference_on: str | None = None, rules: RuleSet
) -> dict[str, Any]:
    """Check every 小巨人 condition (专、精、特、新、链、品); name each that fails.

    The tables are those in force on `reference_on` (the round's opening date).
    """
    version = rule_tables.in_force(rules, FILE, reference_on)
    values = ind.Values(figures or {}, ind.settings(version, SETTINGS))
    innovation = _innovation(version, values)
    values.extra["innovation_ok"] = innovation["passed"]
    conditions = ind.conditions(version.table(CONDITIONS), values)
    for condition in conditions:
        if condition["code"] == INNOVATION:
            _explain_innovation(condition, innovation)
    failed = [ind.failure(c) for c in conditions if not c["passed"]]
    return {
        "tier": "little_giant",
        "score": None,
        "pass_line": None,
        "groups": _groups(version, conditions),
        "conditions": conditions,
        "innovation": innovation,
        "missing": [c["code"] for c in conditions if c["missing"]],
        "direct_conditions": innovation["direct_conditions"],
        "direct_conditions_met": innovation["direct_conditions_met"],
        "passed": not failed,
        "basis": "conditions" if not failed else None,
        "failed": failed,
        "ruleset": version.info(),
        "rule_version": rule_tables.rule_version(rules),
    }
