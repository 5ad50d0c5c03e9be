"""Deploy-time check: every figure a standard's rules read is a field of its form."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from engine.registry import RuleSet, file_validator
from handlers.rules import RuleSetVersion, missing, versions_by_standard

FieldNeeds = Callable[[RuleSetVersion], dict[str, str]]
_FIELD_NEEDS: dict[str, FieldNeeds] = {}


def needs_fields(standard: str) -> Callable[[FieldNeeds], FieldNeeds]:
    """Register the function listing the form fields (name -> label) a standard's rules use."""

    def register(fn: FieldNeeds) -> FieldNeeds:
        _FIELD_NEEDS[standard] = fn
        return fn

    return register


def _form_properties(files: Mapping[str, str], form: str) -> dict[str, Any] | None:
    try:
        schema = json.loads(files[form])
    except (KeyError, ValueError):
        return None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else {}


@file_validator
def validate_forms(files: Mapping[str, str]) -> list[dict[str, Any]]:
    """Check that every figure a standard's rules use is a field of that standard's form.

    The form is the one named in each rule file's ``ruleset`` row; unreadable rule files are
    reported by the rule validator, not here.
    """
    dmn = RuleSet({name: text for name, text in files.items() if name.endswith(".dmn")})
    by_standard, _ = versions_by_standard(dmn)
    problems = []
    for standard, versions in sorted(by_standard.items()):
        needs = _FIELD_NEEDS.get(standard)
        for version in versions:
            if not version.form or needs is None:
                continue
            properties = _form_properties(files, version.form)
            if properties is None:
                message = f"缺少表单文件或表单不是有效的 JSON（{version.file} 的规则需要它）"
                problems.append(missing(version.form, None, message))
                continue
            for field, label in needs(version).items():
                if field not in properties:
                    message = f"表单缺少规则所需的字段 {field}（{label}，{version.file} 使用）"
                    problems.append(missing(version.form, field, message))
    return problems
