"""Validate submitted task data against the task's JSON schema; errors per field, in Chinese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import registry
from engine.errors import InvalidTaskData
from engine.store import EvidenceFile

EVIDENCE_FORMAT = "evidence-file"

MESSAGES = {
    "required": "必填",
    "type": "类型不正确",
    "minimum": "不能小于 {limit}",
    "maximum": "不能大于 {limit}",
    "exclusiveMinimum": "必须大于 {limit}",
    "enum": "不是允许的取值",
    "const": "不是允许的取值",
    "oneOf": "不是允许的取值",
    "minItems": "至少需要 {limit} 项",
    "maxItems": "最多允许 {limit} 项",
    "minLength": "不能为空",
    "maxLength": "过长",
    "additionalProperties": "包含表单中不存在的字段",
    "pattern": "格式不正确",
    "format": "格式不正确",
}
FORMAT_MESSAGES = {
    "date": "不是有效的日期（格式 YYYY-MM-DD，如 2025-02-28）",
    "date-time": "不是有效的时间（格式 YYYY-MM-DDTHH:MM:SS+08:00）",
}

# the formats forms use that are checked (jsonschema only annotates formats by default, so an
# impossible date such as 2025-02-30 would otherwise pass and stop the case at a later step)
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True  # the type keyword reports it
    if len(value) != 10:
        raise ValueError(value)
    date.fromisoformat(value)
    return True


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(value)
    return True


def _fields(error: ValidationError) -> list[str]:
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return [".".join(str(p) for p in [*path, missing])]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known)
        return [".".join(str(p) for p in [*path, name]) for name in extra] or ["data"]
    return [".".join(str(p) for p in path) or "data"]


def _message(error: ValidationError) -> str:
    blank = isinstance(error.instance, str) and not error.instance.strip()
    if error.validator == "pattern" and blank:  # e.g. `"pattern": "\\S"`: a reason of spaces
        return MESSAGES["minLength"]
    if error.validator == "format" and error.validator_value in FORMAT_MESSAGES:
        return FORMAT_MESSAGES[str(error.validator_value)]
    template = MESSAGES.get(str(error.validator), "不符合要求")
    return template.format(limit=error.validator_value)


def validate(
    schema: dict[str, Any] | None,
    data: dict[str, Any],
    case: dict[str, Any] | None = None,
) -> None:
    """Raise InvalidTaskData with {field: [messages]} if data does not fit the schema (or,
    given the case data it goes into, the case: registry.case_check)."""
    if schema is None:
        return
    errors: dict[str, list[str]] = {}
    found = [
        e
        for e in Draft202012Validator(schema, format_checker=FORMATS).iter_errors(data)
        if e.validator != "if"
    ]
    # a date's pattern and its format say the same thing: the format's message is the clearer
    dated = {tuple(e.absolute_path) for e in found if e.validator == "format"}
    for error in found:
        if error.validator == "pattern" and tuple(error.absolute_path) in dated:
            continue
        for name in _fields(error):
            errors.setdefault(name, []).append(_message(error))
    if not errors:  # values of the right types: do they hold together (registry.data_check)?
        errors = registry.check_data(data)
    if not errors and case is not None:
        errors = registry.check_against_case(data, case)
    if errors:
        raise InvalidTaskData(f"{len(errors)} 个字段未通过校验", errors=errors)


def evidence_fields(schema: dict[str, Any] | None) -> list[str]:
    """Names of top-level array fields whose items are evidence file ids."""
    props = (schema or {}).get("properties", {})
    return [
        name for name, p in props.items() if (p.get("items") or {}).get("format") == EVIDENCE_FORMAT
    ]


def resolve_evidence(
    session: Session, schema: dict[str, Any] | None, data: dict[str, Any], uscc: str | None
) -> dict[str, list[dict[str, Any]]]:
    """Check evidence file ids exist (and belong to the enterprise); return their hashes."""
    found: dict[str, list[dict[str, Any]]] = {}
    errors: dict[str, list[str]] = {}
    for name in evidence_fields(schema):
        ids = [str(i) for i in data.get(name) or []]
        rows = {
            r.id: r for r in session.scalars(select(EvidenceFile).where(EvidenceFile.id.in_(ids)))
        }
        for i, file_id in enumerate(ids):
            row = rows.get(file_id)
            if row is None or (uscc and row.uscc and row.uscc != uscc):
                errors.setdefault(f"{name}.{i}", []).append("佐证材料文件不存在")
        found[name] = [
            {"id": r.id, "filename": r.filename, "sha256": r.sha256, "size": r.size}
            for r in rows.values()
        ]
    if errors:
        raise InvalidTaskData("佐证材料无效", errors=errors)
    return found
