"""Problem bodies speak Chinese: validation messages, Werkzeug's routing errors, export format."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from flask import Flask, abort
from flask.testing import FlaskClient
from marshmallow import Schema, ValidationError, fields, validate

from api.errors import _translate
from engine.context import EngineContext
from tests import factories as f

PROBLEM = "application/problem+json"
CJK = re.compile(r"[\u4e00-\u9fff]")


def messages(errors: Any) -> Iterator[str]:
    """Every message string in a problem's `errors`, however deeply nested."""
    if isinstance(errors, str):
        yield errors
    elif isinstance(errors, dict):
        for value in errors.values():
            yield from messages(value)
    elif isinstance(errors, list):
        for value in errors:
            yield from messages(value)


def english(errors: Any) -> list[str]:
    """Messages that are ASCII-only sentences, i.e. left in English."""
    return [m for m in messages(errors) if m.isascii() and re.search(r"[A-Za-z]{2}", m)]


@pytest.fixture
def province(ctx: EngineContext, client: FlaskClient) -> f.Api:
    return f.user(ctx, client, role="province", user_id="prov")


PUBLIC = "/api/v1/public/qualifications"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"keyword": "a"}, {"keyword": ["长度应在 2 到 100 之间"]}),
        ({"tier": "bogus"}, {"tier": ["应为以下之一：innovative、specialized、little_giant"]}),
        ({"per_page": 0}, {"per_page": ["应在 1 到 200 之间"]}),
        ({"page": -1}, {"page": ["不能小于 1"]}),
        ({"page": "x"}, {"page": ["应为整数"]}),
    ],
)
def test_public_list_query_errors_are_in_chinese(
    client: FlaskClient, query: dict[str, Any], expected: dict[str, list[str]]
) -> None:
    response = client.get(PUBLIC, query_string=query)
    assert (response.status_code, response.mimetype) == (422, PROBLEM)
    assert response.json["errors"] == expected


def test_validation_errors_of_several_endpoints_leave_no_english(
    province: f.Api, client: FlaskClient
) -> None:
    uscc = f.uscc("360100", 1)
    null_body = client.post(
        f"/api/v1/enterprises/{uscc}/region",
        data="null",
        content_type="application/json",
        headers={"Authorization": f"Bearer {province.token}"},
    )
    responses = {
        "qualifications": province.get(
            "/api/v1/qualifications",
            query_string={"renewal_eligible": "maybe", "expiring_before": "soon", "tier": "x"},
        ),
        "objection": province.post(
            f"/api/v1/instances/{uuid4()}/objections", json={"submitted_by": "", "content": ""}
        ),
        "region": province.post(f"/api/v1/enterprises/{uscc}/region", json={"reason": ""}),
        "null_body": null_body,
        "summary": province.get("/api/v1/qualifications/summary?expiring_days=5000"),
        "events": province.get("/api/v1/audit/events?since=yesterday&page=0"),
    }
    for name, response in responses.items():
        assert (response.status_code, response.mimetype) == (422, PROBLEM), name
        assert response.json["errors"], name
        assert english(response.json["errors"]) == [], name
    assert responses["qualifications"].json["errors"]["renewal_eligible"] == [
        "应为布尔值（true 或 false）"
    ]
    assert responses["objection"].json["errors"] == {
        "submitted_by": ["不能为空"],
        "content": ["不能为空"],
    }
    assert responses["region"].json["errors"] == {
        "region": ["必填"],
        "reason": ["长度应在 1 到 500 之间"],
    }
    assert responses["null_body"].json["errors"] == {"_schema": ["应为 JSON 对象"]}


def test_nested_fields_are_named_by_their_path(province: f.Api) -> None:
    body = {"evidence": ["a", 1], "complainant": {"name": 5}}
    response = province.post("/api/v1/complaints", json=body)
    assert (response.status_code, response.mimetype) == (422, PROBLEM)
    assert response.json["errors"] == {
        "evidence.1": ["应为字符串"],
        "complainant.name": ["应为字符串"],
    }


class Everything(Schema):
    """One field of each kind marshmallow offers, with each of its standard validators."""

    text = fields.String(required=True, validate=validate.Length(min=3))
    short = fields.String(validate=validate.Length(max=2))
    exact = fields.String(validate=validate.Length(equal=4))
    not_null = fields.String(allow_none=False)
    integer = fields.Integer(validate=validate.Range(min=0, max=9, min_inclusive=False))
    upper = fields.Integer(validate=validate.Range(max=9, max_inclusive=False))
    lower = fields.Integer(validate=validate.Range(min=1))
    at_most = fields.Integer(validate=validate.Range(max=9))
    half_open = fields.Integer(validate=validate.Range(min=0, max=9, max_inclusive=False))
    word = fields.String()
    whole = fields.Integer()
    number = fields.Float()
    huge = fields.Float()
    flag = fields.Boolean()
    day = fields.Date()
    moment = fields.DateTime()
    aware = fields.AwareDateTime()
    naive = fields.NaiveDateTime()
    time = fields.Time()
    span = fields.TimeDelta()
    uuid = fields.UUID()
    items = fields.List(fields.Integer())
    pair = fields.Tuple((fields.String(), fields.String()))
    mapping = fields.Dict()
    nested = fields.Nested(Schema.from_dict({"name": fields.String(required=True)}))
    nested_type = fields.Nested(Schema.from_dict({"name": fields.String()}))
    email = fields.Email()
    url = fields.URL()
    ip = fields.IP()
    ipv4 = fields.IPv4()
    ipv6 = fields.IPv6()
    ip_interface = fields.IPInterface()
    ipv4_interface = fields.IPv4Interface()
    ipv6_interface = fields.IPv6Interface()
    choice = fields.String(validate=validate.OneOf(["a", "b"]))
    equal = fields.String(validate=validate.Equal("yes"))
    pattern = fields.String(validate=validate.Regexp(r"^\d+$"))
    contains_only = fields.List(fields.String(), validate=validate.ContainsOnly(["a"]))
    contains_none = fields.List(fields.String(), validate=validate.ContainsNoneOf(["a"]))
    predicate = fields.String(validate=validate.Predicate("isdigit"))
    special = fields.Float(allow_nan=False)


BAD = {
    "short": "abc",
    "exact": "abc",
    "not_null": None,
    "integer": 0,
    "upper": 9,
    "lower": 0,
    "at_most": 10,
    "half_open": 9,
    "word": 5,
    "whole": "x",
    "number": "x",
    "huge": 10**400,
    "flag": "maybe",
    "day": "x",
    "moment": "x",
    "aware": "2025-09-01T09:00:00",
    "naive": "2025-09-01T09:00:00+08:00",
    "time": "x",
    "span": "x",
    "uuid": "x",
    "items": "x",
    "pair": "x",
    "mapping": "x",
    "nested": {},
    "nested_type": "x",
    "email": "x",
    "url": "x",
    "ip": "x",
    "ipv4": "x",
    "ipv6": "x",
    "ip_interface": "x",
    "ipv4_interface": "x",
    "ipv6_interface": "x",
    "choice": "c",
    "equal": "no",
    "pattern": "x",
    "contains_only": ["b"],
    "contains_none": ["a"],
    "predicate": "x",
    "special": "nan",
    "unknown": 1,
}


def test_every_standard_marshmallow_message_is_translated() -> None:
    with pytest.raises(ValidationError) as raised:
        Everything().load(BAD)
    found = raised.value.messages
    assert set(found) == {*BAD, "text"}  # each bad value was refused
    with pytest.raises(ValidationError) as wrong_type:
        Everything().load([])
    found = {**found, "_schema": wrong_type.value.messages}  # type: ignore[dict-item]
    translated = {field: _translate(m) for field, m in found.items()}
    untranslated = [m for m in messages(translated) if not CJK.search(m)]
    assert untranslated == [], untranslated


def test_unknown_messages_pass_through_unchanged() -> None:
    assert _translate("Must be a prime number.") == "Must be a prime number."
    assert _translate(["统一社会信用代码校验位错误"]) == ["统一社会信用代码校验位错误"]
    assert _translate({"0": ["Not a valid string.", "Odd."]}) == {"0": ["应为字符串", "Odd."]}
    assert _translate(42) == 42


@pytest.mark.parametrize(
    ("english_text", "chinese"),
    [
        ("Must be greater than 0.", "应大于 0"),
        ("Must be less than 10.", "应小于 10"),
        ("Must be less than or equal to 10.", "不能大于 10"),
        ("Must be greater than 0 and less than 10.", "应大于 0 且小于 10"),
        ("Must be greater than or equal to 0 and less than 10.", "应不小于 0 且小于 10"),
        ("Must be greater than 0 and less than or equal to 10.", "应大于 0 且不大于 10"),
        ("Length must be 18.", "长度应为 18"),
        ("Longer than maximum length 500.", "长度不能超过 500"),
        ("Shorter than minimum length 2.", "长度不能少于 2"),
        ("Invalid value.", "值无效"),
    ],
)
def test_parameters_of_a_message_are_kept(english_text: str, chinese: str) -> None:
    assert _translate(english_text) == chinese


# -- Werkzeug's own HTTP errors ---------------------------------------------------------------


def test_an_unknown_url_is_404_in_chinese(client: FlaskClient) -> None:
    response = client.get("/api/v1/instances/nope")
    assert (response.status_code, response.mimetype) == (404, PROBLEM)
    assert response.json["title"] == "未找到该资源"
    assert CJK.search(response.json["detail"]), response.json
    assert "requested URL" not in response.json["detail"]


def test_an_unsupported_method_is_405_in_chinese_with_allow(client: FlaskClient) -> None:
    response = client.put("/api/v1/instances")
    assert (response.status_code, response.mimetype) == (405, PROBLEM)
    assert response.json["title"] == "不支持该请求方法"
    assert response.json["detail"].startswith("该地址不支持 PUT 请求")
    assert "not allowed" not in response.json["detail"]
    assert {"GET", "POST"} <= set(response.headers["Allow"].split(", "))


def test_an_upload_over_the_limit_is_413_in_chinese(app: Flask, province: f.Api) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 10
    response = province.post(
        "/api/v1/files",
        json=None,
        data={"file": (io.BytesIO(b"%PDF-1.4" + b"x" * 100), "evidence.pdf")},
        content_type="multipart/form-data",
    )
    assert (response.status_code, response.mimetype) == (413, PROBLEM)
    assert response.json["title"] == "上传文件过大"
    assert CJK.search(response.json["detail"]), response.json


@pytest.mark.parametrize("status", [400, 403, 404, 405, 406, 409, 410, 415, 429, 501, 503])
def test_werkzeug_errors_have_a_chinese_title_and_detail(app: Flask, status: int) -> None:
    app.add_url_rule("/boom", "boom", lambda: abort(status))
    response = app.test_client().get("/boom")
    assert (response.status_code, response.mimetype) == (status, PROBLEM)
    assert CJK.search(response.json["title"]), response.json
    assert CJK.search(response.json["detail"]), response.json


def test_a_description_given_by_the_application_is_kept(app: Flask) -> None:
    app.add_url_rule("/ours", "ours", lambda: abort(404, description="该页面已下线"))
    response = app.test_client().get("/ours")
    assert response.status_code == 404
    assert response.json["detail"] == "该页面已下线"


def test_engine_errors_keep_their_own_detail(province: f.Api) -> None:
    response = province.get(f"/api/v1/instances/{uuid4()}")
    assert (response.status_code, response.mimetype) == (404, PROBLEM)
    assert response.json["type"].endswith("/not-found"), response.json
    assert response.json["detail"] == "案件不存在"


# -- GET /audit/instances/{id}/export?format= ---------------------------------------------


def test_export_refuses_an_unknown_format_naming_the_field(p1: f.People, p1_round: int) -> None:
    auditor, case = p1["auditor"], f.start(p1["ent"], p1_round)["id"]
    url = f"/api/v1/audit/instances/{case}/export"
    for bad in ("xml", "CSV", ""):
        response = auditor.get(url, query_string={"format": bad})
        assert (response.status_code, response.mimetype) == (422, PROBLEM), bad
        assert response.json["errors"] == {"format": ["应为以下之一：json、csv"]}
    as_json = auditor.get(url, query_string={"format": "json"})
    assert (as_json.status_code, as_json.mimetype) == (200, "application/json")
    assert auditor.get(url).mimetype == "application/json"
    as_csv = auditor.get(url, query_string={"format": "csv"})
    assert (as_csv.status_code, as_csv.mimetype) == (200, "text/csv")
