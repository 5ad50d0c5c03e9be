"""Errors as RFC 9457 problem+json; the only place that maps engine errors to HTTP statuses."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from flask import Flask, Response, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    CalendarMissing,
    Conflict,
    DatabaseUnavailable,
    EngineError,
    Forbidden,
    InvalidInput,
    NotFound,
    ProcessingFailed,
    Unauthorized,
)

PROBLEM_BASE = "https://tidu.example.org/problems"
PROBLEM_JSON = "application/problem+json"
STATUS = {
    CalendarMissing: 503,  # before ProcessingFailed: its subclass
    NotFound: 404,
    Unauthorized: 401,
    Forbidden: 403,
    Conflict: 409,
    InvalidInput: 422,
    ProcessingFailed: 500,
    DatabaseUnavailable: 503,
}
HTTP_TITLES = {
    400: "请求格式错误",
    401: "未登录或令牌无效",
    403: "无权执行该操作",
    404: "未找到该资源",
    405: "不支持该请求方法",
    406: "无法提供所要求的格式",
    408: "请求超时",
    409: "操作冲突",
    410: "该资源已不存在",
    411: "缺少内容长度",
    412: "前提条件不满足",
    413: "上传文件过大",
    414: "请求地址过长",
    415: "不支持的内容类型",
    416: "请求的范围无效",
    417: "无法满足 Expect 要求",
    418: "无法处理该请求",
    421: "请求发往了错误的服务器",
    422: "提交的数据不合法",
    423: "资源已锁定",
    424: "所依赖的操作失败",
    428: "缺少前提条件",
    429: "请求过于频繁",
    431: "请求头过大",
    451: "因法律原因不可用",
    500: "服务器内部错误",
    501: "不支持该操作",
    502: "网关错误",
    503: "服务暂不可用",
    504: "网关超时",
    505: "不支持该 HTTP 版本",
}
# details in place of Werkzeug's English descriptions; a description the application gave
# (abort(404, description="...")) is kept
HTTP_DETAILS = {
    400: "服务器无法理解该请求，请检查请求的格式",
    401: "请先登录，或提供有效的访问令牌",
    403: "没有访问该资源的权限",
    404: "请求的地址不存在，请检查网址是否正确",
    405: "该地址不支持此请求方法",
    406: "无法按请求的 Accept 头提供内容",
    408: "等待请求超时，请重试",
    409: "请求与资源的当前状态冲突",
    410: "请求的资源已被永久删除",
    411: "请求缺少 Content-Length 头",
    412: "请求的前提条件未满足",
    413: "上传的数据超过大小上限（单个佐证材料文件不超过 20 MB）",
    414: "请求的地址过长",
    415: "不支持请求的内容类型（Content-Type）",
    416: "无法提供所请求的数据范围",
    417: "无法满足请求的 Expect 头",
    418: "服务器无法处理该请求",
    421: "该服务器无法处理此请求",
    422: "请求参数未通过校验",
    423: "请求的资源已被锁定",
    424: "所依赖的操作失败，请求未能完成",
    428: "该请求须带有前提条件（如 If-Match 头）",
    429: "请求过于频繁，请稍后再试",
    431: "请求头过大",
    451: "因法律原因无法提供该资源",
    500: "服务器内部错误，请稍后重试",
    501: "服务器不支持所请求的操作",
    502: "上游服务返回了无效的响应",
    503: "服务暂不可用，请稍后重试",
    504: "上游服务响应超时",
    505: "服务器不支持该 HTTP 版本",
}
# marshmallow's and webargs' standard messages, English template -> Chinese template; {name}
# stands for what marshmallow filled in (a bound, the allowed choices)
MESSAGES = {
    "Missing data for required field.": "必填",
    "Field may not be null.": "不能为空",
    "Unknown field.": "未知字段",
    "Invalid value.": "值无效",
    "Invalid type.": "类型错误",
    "Invalid input.": "输入无效",
    "Invalid input type.": "应为 JSON 对象",
    "Invalid JSON body.": "JSON 格式错误",
    "Not a valid string.": "应为字符串",
    "Not a valid utf-8 string.": "不是有效的 UTF-8 字符串",
    "Not a valid integer.": "应为整数",
    "Not a valid number.": "应为数字",
    "Number too large.": "数值过大",
    "Special numeric values (nan or infinity) are not permitted.": "不能为 NaN 或无穷大",
    "Not a valid boolean.": "应为布尔值（true 或 false）",
    "Not a valid date.": "不是有效的日期",
    "Not a valid datetime.": "不是有效的时间",
    "Not a valid aware datetime.": "时间应带时区（如 +08:00）",
    "Not a valid naive datetime.": "时间不应带时区",
    "Not a valid time.": "不是有效的时刻",
    "Not a valid aware time.": "时刻应带时区（如 +08:00）",
    "Not a valid naive time.": "时刻不应带时区",
    "Not a valid period of time.": "不是有效的时长",
    "Not a valid UUID.": "不是有效的编号",
    "Not a valid list.": "应为列表",
    "Not a valid tuple.": "应为数组",
    "Not a valid mapping type.": "应为对象",
    "Not a valid email address.": "不是有效的电子邮箱地址",
    "Not a valid URL.": "不是有效的网址",
    "Not a valid IP address.": "不是有效的 IP 地址",
    "Not a valid IPv4 address.": "不是有效的 IPv4 地址",
    "Not a valid IPv6 address.": "不是有效的 IPv6 地址",
    "Not a valid IP interface.": "不是有效的 IP 接口地址",
    "Not a valid IPv4 interface.": "不是有效的 IPv4 接口地址",
    "Not a valid IPv6 interface.": "不是有效的 IPv6 接口地址",
    "String does not match expected pattern.": "格式不正确",
    "Must be one of: {choices}.": "应为以下之一：{choices}",
    "Must be equal to {other}.": "应等于 {other}",
    "One or more of the choices you made was not in: {choices}.": "所选项应在以下范围内：{choices}",
    "One or more of the choices you made was in: {values}.": "所选项不能包含：{values}",
    "Shorter than minimum length 1.": "不能为空",
    "Shorter than minimum length {min}.": "长度不能少于 {min}",
    "Longer than maximum length {max}.": "长度不能超过 {max}",
    "Length must be between {min} and {max}.": "长度应在 {min} 到 {max} 之间",
    "Length must be {equal}.": "长度应为 {equal}",
    "Must be greater than or equal to {min}.": "不能小于 {min}",
    "Must be greater than {min}.": "应大于 {min}",
    "Must be less than or equal to {max}.": "不能大于 {max}",
    "Must be less than {max}.": "应小于 {max}",
    "Must be greater than or equal to {min} and less than or equal to {max}.": (
        "应在 {min} 到 {max} 之间"
    ),
    "Must be greater than or equal to {min} and less than {max}.": "应不小于 {min} 且小于 {max}",
    "Must be greater than {min} and less than or equal to {max}.": "应大于 {min} 且不大于 {max}",
    "Must be greater than {min} and less than {max}.": "应大于 {min} 且小于 {max}",
}
PARAMETER = re.compile(r"\{(\w+)\}")


def _templates() -> list[tuple[re.Pattern[str], str]]:
    """MESSAGES as patterns, the longest literal text first: "Must be greater than {min}." must
    not take "Must be greater than or equal to 1." with min = "or equal to 1"."""
    by_literal = sorted(MESSAGES.items(), key=lambda item: -len(PARAMETER.sub("", item[0])))
    return [(_pattern(english), chinese) for english, chinese in by_literal]


def _pattern(template: str) -> re.Pattern[str]:
    parts = PARAMETER.split(template)  # literal, name, literal, ...
    return re.compile(
        "".join(f"(?P<{p}>.+?)" if i % 2 else re.escape(p) for i, p in enumerate(parts))
    )


TEMPLATES = _templates()
log = logging.getLogger("tidu.api")


def problem_response(
    status: int, code: str, title: str, detail: str = "", **extra: Any
) -> Response:
    body: dict[str, Any] = {"type": f"{PROBLEM_BASE}/{code}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(
        json.dumps(body, ensure_ascii=False, default=str), status, mimetype=PROBLEM_JSON
    )


def problem(error: EngineError) -> Response:
    status = next((s for kind, s in STATUS.items() if isinstance(error, kind)), 500)
    return problem_response(
        status, error.code, error.title, error.detail, errors=error.errors, **error.extra
    )


def _http(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None)  # webargs/marshmallow: {"messages": {"json": {...}}}
    errors = _validation_errors(data["messages"]) if isinstance(data, dict) else None
    detail = _detail(error, status)
    if status == 400 and errors and "json" in errors:
        detail = "请求体不是有效的 JSON"
    code = "invalid-request" if status == 422 else f"http-{status}"
    response = problem_response(
        status, code, HTTP_TITLES.get(status, "请求未能完成"), detail, errors=errors
    )
    for name, value in error.get_headers():  # Allow (405), Retry-After, WWW-Authenticate
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _detail(error: HTTPException, status: int) -> str:
    """The application's own description, or Chinese in place of Werkzeug's English one."""
    if not _stock(error):
        return error.description or ""
    if status == 405:
        allowed = sorted(getattr(error, "valid_methods", None) or [])
        also = f"，可用的方法：{'、'.join(allowed)}" if allowed else ""
        return f"该地址不支持 {request.method} 请求{also}"
    return HTTP_DETAILS.get(status, "")


def _stock(error: HTTPException) -> bool:
    """Whether the error carries a description of Werkzeug's (none given to abort or raise)."""
    return not error.description or any(
        error.description == vars(kind).get("description")
        for kind in type(error).__mro__
        if kind.__module__ == "werkzeug.exceptions"
    )


def _validation_errors(messages: Any) -> dict[str, list[Any]] | None:
    if not isinstance(messages, dict):
        return None
    errors: dict[str, list[Any]] = {}
    for where, location in messages.items():
        if not isinstance(location, dict):  # the body as a whole, e.g. JSON that does not parse
            errors[where] = _translate(_as_list(location))
            continue
        for field, found in location.items():
            _flatten(str(field), found, errors)
    return errors


def _flatten(name: str, messages: Any, into: dict[str, list[Any]]) -> None:
    """A nested field's messages under a dotted name (`items.0.name`), as engine errors do."""
    if isinstance(messages, dict):
        for key, inner in messages.items():
            _flatten(f"{name}.{key}", inner, into)
    else:
        into.setdefault(name, []).extend(_translate(_as_list(messages)))


def _as_list(messages: Any) -> list[Any]:
    return messages if isinstance(messages, list) else [messages]


def _translate(message: Any) -> Any:
    """Chinese for marshmallow's standard messages, in lists and dicts; others as they are."""
    if isinstance(message, list):
        return [_translate(m) for m in message]
    if isinstance(message, dict):
        return {key: _translate(m) for key, m in message.items()}
    if not isinstance(message, str):
        return message
    for pattern, chinese in TEMPLATES:
        if found := pattern.fullmatch(message):
            return chinese.format(**{k: _listed(v) for k, v in found.groupdict().items()})
    return message


def _listed(value: str) -> str:
    """marshmallow joins choices with ", "; Chinese lists them with "、"."""
    return value.replace(", ", "、")


def _unexpected(error: Exception) -> Response:
    if isinstance(error, DBAPIError) and error.connection_invalidated:  # a read lost its link
        log.warning("database connection lost: %s", error)
        return problem(DatabaseUnavailable())
    log.exception("unexpected error")
    return problem_response(500, "internal-error", "服务器内部错误")


def register(app: Flask) -> None:
    app.register_error_handler(EngineError, problem)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
