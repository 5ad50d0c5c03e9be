"""Errors as RFC 9457 problem+json; the only place that maps engine errors to HTTP statuses."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from engine.errors import (
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
    409: "操作冲突",
    413: "上传文件过大",
    415: "不支持的内容类型",
    422: "提交的数据不合法",
    500: "服务器内部错误",
    503: "服务暂不可用",
}
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
    errors = None
    data = getattr(
        error, "data", None
    )  # webargs/marshmallow validation: {"messages": {"json": {...}}}
    detail = error.description if status not in (422,) else "请求参数未通过校验"
    if isinstance(data, dict) and "messages" in data:
        errors = {}
        for where, location in data["messages"].items():
            if not isinstance(location, dict):  # the body as a whole, e.g. JSON that does not parse
                errors[where] = [_translate(m) for m in _as_list(location)]
                continue
            for field, messages in location.items():
                errors[field] = [_translate(m) for m in _as_list(messages)]
        if status == 400 and "json" in errors:
            detail = "请求体不是有效的 JSON"
    code = "invalid-request" if status == 422 else f"http-{status}"
    return problem_response(
        status, code, HTTP_TITLES.get(status, error.name), detail, errors=errors
    )


def _as_list(messages: Any) -> list[Any]:
    return messages if isinstance(messages, list) else [messages]


def _translate(message: Any) -> Any:
    known = {
        "Missing data for required field.": "必填",
        "Not a valid integer.": "应为整数",
        "Not a valid string.": "应为字符串",
        "Unknown field.": "未知字段",
        "Not a valid UUID.": "不是有效的编号",
        "Not a valid datetime.": "不是有效的时间",
        "Not a valid date.": "不是有效的日期",
        "Not a valid mapping type.": "应为对象",
        "Field may not be null.": "不能为空",
        "Invalid JSON body.": "JSON 格式错误",
    }
    return known.get(message, message) if isinstance(message, str) else message


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
