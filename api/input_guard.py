"""One guard at the API's edge for input no command can store: a NUL character (PostgreSQL's
text cannot hold one), a lone UTF-16 surrogate (not encodable as UTF-8), JSON nested deeper
than MAX_DEPTH (parsers and deep copies recurse), integers beyond the database's 64 bits, and
integers in the path beyond its 32-bit keys. Each is answered 422 naming the field, before any
command runs, so none becomes a 500 and an incident.

The hot path stays cheap: the query string and the raw JSON body are searched once, in C, for
the bytes that could carry such a value ("%00", "\\u0000", "\\ud8".."\\udf", a run of 19 digits,
an exponent of three digits, NaN or Infinity, more than MAX_DEPTH brackets); only a request that
has them is parsed and walked to name the field."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Flask, request

from engine.errors import InvalidInput

MAX_DEPTH = 64
INT64 = (-(2**63), 2**63 - 1)
ID_MAX = 2**31 - 1  # the integer keys (rounds...) are PostgreSQL `integer`
FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")

_SUSPECT = re.compile(rb"\\u0000|\x00|\\u[dD][89abcdefABCDEF]|\d{19}|[eE][+-]?\d{3}|NaN|Infinity")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
NUL_MESSAGE = "不能包含空字符（\\u0000）"
SURROGATE_MESSAGE = "含有无效的 Unicode 字符（孤立的代理项）"


def _text_problem(text: str) -> str | None:
    found = _BAD_CHAR.search(text)
    if found is None:
        return None
    return NUL_MESSAGE if found.group() == "\x00" else SURROGATE_MESSAGE


def _depth(raw: bytes) -> int:
    """How deep the JSON text nests arrays and objects (brackets inside strings not counted)."""
    deepest = depth = 0
    for byte in _STRING.sub(b"", raw).translate(None, b'\t\n\r ",:-+.0123456789eEtruefalsn'):
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return _text_problem(value)
    if type(value) is int and not INT64[0] <= value <= INT64[1]:
        return "整数超出范围（64 位）"
    if type(value) is float and not math.isfinite(value):  # 1e400, NaN, Infinity
        return "数值超出范围（须为有限的数）"
    return None


def _walk(value: Any, path: str) -> tuple[str, str] | None:
    """The first value (or key) no command can store: (its dotted path, why)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        why = _scalar_problem(value)
        return (path or "body", why) if why else None
    for key, inner in items:
        inner_path = f"{path}.{key}" if path else str(key)
        why = _text_problem(key) if isinstance(key, str) else None
        found = (inner_path, why) if why else _walk(inner, inner_path)
        if found:
            return found
    return None


def _reject(field: str, why: str) -> InvalidInput:
    return InvalidInput(f"字段 {field} {why}", errors={field: [why]})


def _check_args(items: Any) -> None:
    for name, value in items:
        why = _text_problem(name) or _text_problem(value)
        if why:
            raise _reject(name, why)


def _check_json(raw: bytes) -> None:
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(raw) > MAX_DEPTH:
        why = f"JSON 嵌套超过 {MAX_DEPTH} 层"
        raise InvalidInput(f"请求体{why}", errors={"body": [why]})
    if _SUSPECT.search(raw) is None:
        return
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:  # not JSON: answered by the view's parser
        return
    except ValueError:  # an integer of thousands of digits
        raise InvalidInput("请求体中的数字位数过多", errors={"body": ["数字位数过多"]}) from None
    found = _walk(body, "")
    if found:
        raise _reject(*found)


def check_request() -> None:
    """before_request: raise InvalidInput (422) naming the first such value."""
    for name, value in (request.view_args or {}).items():
        if type(value) is int and not 0 <= value <= ID_MAX:
            raise _reject(name, f"超出范围（0 到 {ID_MAX}）")
    query = request.query_string
    if query and (b"%00" in query or b"\x00" in query):
        _check_args(request.args.items(multi=True))
    if request.mimetype in FORMS:
        _check_args(request.form.items(multi=True))
        _check_args((name, part.filename or "") for name, part in request.files.items(multi=True))
    elif request.is_json:
        _check_json(request.get_data(cache=True))


def register(app: Flask) -> None:
    app.before_request(check_request)
