"""What an API integrator reads in /api/openapi.json is what the API does: paging bounds,
errors as the documented problem+json, the incidents filter, what opening a round answers,
the role checked before the body, described query parameters and request bodies."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient

from engine.context import EngineContext
from tests import factories as f

UNKNOWN = "00000000-0000-4000-8000-000000000000"  # a case / incident id nobody has

PROBLEM = "application/problem+json"
OPERATIONS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    return client.get("/api/openapi.json").json


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in OPERATIONS
    ]


def _response(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """A response object, its `$ref` to components.responses followed."""
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def _problem_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """components.schemas.Problem as a JSON Schema (its references resolved within the spec)."""
    return {**spec["components"]["schemas"]["Problem"], "components": spec["components"]}


def _assert_documented_problem(spec: dict[str, Any], response: Any, status: int) -> None:
    assert response.status_code == status, response.json
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    jsonschema.validate(body, _problem_schema(spec))
    assert body["status"] == status


def _query_parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    found = [p for p in operation.get("parameters", []) if p["in"] == "query" and p["name"] == name]
    assert found, f"query parameter {name} not documented"
    return found[0]


# 1. paging of GET /api/v1/complaints


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=99999999999999999999", "page"),
        ("page=0", "page"),
        ("page=1000001", "page"),
        ("page=-1&per_page=0", "page"),
        ("page=-1&per_page=0", "per_page"),
        ("per_page=100000000", "per_page"),
        ("per_page=201", "per_page"),
    ],
)
def test_complaint_paging_out_of_bounds_is_422(
    ctx: EngineContext, client: FlaskClient, spec: dict[str, Any], query: str, field: str
) -> None:
    public = f.user(ctx, client, role="public", user_id="citizen-1")
    response = public.get(f"/api/v1/complaints?{query}")
    _assert_documented_problem(spec, response, 422)
    assert field in response.json["errors"], response.json


def test_complaint_paging_within_bounds_is_echoed(ctx: EngineContext, client: FlaskClient) -> None:
    public = f.user(ctx, client, role="public", user_id="citizen-1")
    response = public.get("/api/v1/complaints?page=3&per_page=200")
    assert response.status_code == 200, response.json
    assert (response.json["page"], response.json["per_page"]) == (3, 200)
    assert public.get("/api/v1/complaints").json["per_page"] == 20


def test_complaint_paging_bounds_are_documented(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/api/v1/complaints"]["get"]
    page = _query_parameter(operation, "page")["schema"]
    per_page = _query_parameter(operation, "per_page")["schema"]
    assert (page["minimum"], per_page["minimum"], per_page["maximum"]) == (1, 1, 200)
    assert page["maximum"] >= 1000


# 2. errors documented as they are answered


def test_errors_are_documented_as_problem_json(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "Error" not in schemas  # flask-smorest's {code, status, message, errors}
    problem = schemas["Problem"]
    assert problem["properties"]["status"]["type"] == "integer"
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    assert set(problem["required"]) == {"type", "title", "status"}
    default = spec["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == [PROBLEM]
    assert default["content"][PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                continue
            content = _response(spec, response).get("content", {})
            assert list(content) == [PROBLEM], (method, path, status)
            assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}


def test_real_errors_match_the_documented_problem(
    ctx: EngineContext, client: FlaskClient, spec: dict[str, Any], p1: f.People
) -> None:
    province = p1["province"]
    _assert_documented_problem(spec, client.get("/api/v1/complaints"), 401)
    _assert_documented_problem(spec, p1["city"].post("/api/v1/rounds", json={}), 403)
    _assert_documented_problem(
        spec, province.get("/api/v1/complaints/00000000-0000-0000-0000-000000000000"), 404
    )
    _assert_documented_problem(spec, province.post("/api/v1/rounds", json={}), 422)
    body = {"process_key": "innovative_evaluation", "label": "第一批", "opens_on": "2025-10-01"}
    assert province.post("/api/v1/rounds", json=body).status_code == 201
    conflict = province.post("/api/v1/rounds", json=body)
    _assert_documented_problem(spec, conflict, 409)
    assert conflict.json["rule"] == "round-exists"
    refused = province.post(  # a file set's problems: a list, not a mapping of fields
        "/api/v1/qualifications/import",
        data={"file": (io.BytesIO(b"number\n"), "legacy.csv")},
        content_type="multipart/form-data",
    )
    _assert_documented_problem(spec, refused, 422)
    assert isinstance(refused.json["errors"], list)


def test_every_call_that_needs_a_token_documents_401(spec: dict[str, Any]) -> None:
    for path, method, operation in _operations(spec):
        if operation.get("security") == []:
            assert "401" not in operation["responses"], (method, path)
        else:
            assert "401" in operation["responses"], (method, path)
    assert spec["paths"]["/api/v1/public/qualifications"]["get"]["security"] == []


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("post", "/api/v1/rounds", {"403", "404", "409", "422"}),
        ("put", "/api/v1/calendars/{year}", {"403", "409", "422"}),
        ("post", "/api/v1/complaints", {"403", "422"}),
        ("get", "/api/v1/complaints/{complaint_id}", {"404"}),
        ("post", "/api/v1/enterprises/{uscc}/region", {"403", "404", "422"}),
        ("post", "/api/v1/messages", {"403", "422"}),
        ("post", "/api/v1/notifications/{notification_id}/read", {"404"}),
        ("get", "/api/v1/qualifications/{qualification_id}", {"404"}),
        ("post", "/api/v1/qualifications/import", {"403", "409", "422"}),
        ("get", "/api/v1/incidents", {"403", "422"}),
        ("post", "/api/v1/incidents/{incident_id}/resolve", {"403", "422"}),
        ("get", "/api/v1/tasks", {"422"}),
        ("get", "/api/v1/tasks/{task_id}", {"404"}),
        ("post", "/api/v1/tasks/{task_id}/claim", {"403", "404", "409"}),
        ("post", "/api/v1/tasks/{task_id}/unclaim", {"404", "409"}),
        ("post", "/api/v1/tasks/{task_id}/complete", {"403", "404", "409", "422"}),
        ("get", "/api/v1/instances", {"422"}),
        ("post", "/api/v1/instances", {"403", "404", "409", "422"}),
        ("get", "/api/v1/instances/{instance_id}", {"404"}),
        ("get", "/api/v1/instances/{instance_id}/history", {"404"}),
        ("post", "/api/v1/instances/{instance_id}/messages", {"403", "404", "409", "422"}),
        ("post", "/api/v1/instances/{instance_id}/objections", {"403", "404", "409", "422"}),
        ("post", "/api/v1/definitions/{process_key}/migrations", {"403", "422"}),
    ],
)
def test_error_statuses_are_documented_where_they_occur(
    spec: dict[str, Any], method: str, path: str, statuses: set[str]
) -> None:
    responses = spec["paths"][path][method]["responses"]
    assert statuses <= set(responses), sorted(responses)
    for status in statuses:
        assert _response(spec, responses[status])["description"]


# 3. GET /api/v1/incidents?status=


def test_incident_status_filter_is_validated_and_documented(
    ctx: EngineContext, client: FlaskClient, spec: dict[str, Any]
) -> None:
    owner = f.user(ctx, client, role="process_owner", user_id="owner-1")
    for status in ("open", "resolved", "all"):
        response = owner.get(f"/api/v1/incidents?status={status}")
        assert response.status_code == 200, response.json
    assert owner.get("/api/v1/incidents").status_code == 200
    response = owner.get("/api/v1/incidents?status=bogus")
    _assert_documented_problem(spec, response, 422)
    assert "status" in response.json["errors"]
    parameter = _query_parameter(spec["paths"]["/api/v1/incidents"]["get"], "status")
    assert parameter["schema"]["enum"] == ["open", "resolved", "all"]
    assert parameter["schema"]["default"] == "open"
    assert parameter["description"]


# 4. POST /api/v1/rounds answers as GET /api/v1/rounds lists


def test_opening_a_round_answers_what_the_list_shows(
    client: FlaskClient, spec: dict[str, Any], p1: f.People
) -> None:
    province = p1["province"]
    opened = f.open_round(province, opens_on=date(2025, 9, 1))
    upcoming = f.open_round(province, opens_on=date(2025, 12, 1), label="下一批")
    documented = spec["components"]["schemas"]["RoundOut"]["properties"]
    assert set(opened) == set(documented)
    assert (opened["counts"], opened["window"], opened["accepting"]) == ({}, "open", True)
    assert (upcoming["window"], upcoming["accepting"]) == ("upcoming", False)
    listed = {r["id"]: r for r in province.get("/api/v1/rounds").json}
    assert listed[opened["id"]] == opened
    assert listed[upcoming["id"]] == upcoming


def test_rounds_list_documents_and_applies_its_process_filter(
    spec: dict[str, Any], p1: f.People
) -> None:
    province = p1["province"]
    f.open_round(province, opens_on=date(2025, 9, 1))
    assert len(province.get("/api/v1/rounds?process_key=innovative_evaluation").json) == 1
    assert province.get("/api/v1/rounds?process_key=other").json == []
    parameter = _query_parameter(spec["paths"]["/api/v1/rounds"]["get"], "process_key")
    assert parameter["description"]


# 5. the caller's role before the body


def test_a_city_may_not_open_a_round_however_wrong_the_body(p1: f.People) -> None:
    for body in ({}, {"label": "第一批"}, {"process_key": 5, "opens_on": "never"}):
        response = p1["city"].post("/api/v1/rounds", json=body)
        assert response.status_code == 403, response.json


def test_an_enterprise_may_not_upload_a_calendar_however_wrong_the_body(p1: f.People) -> None:
    for body in ({}, {"bad": 1}, {"holidays": "x"}):
        response = p1["ent"].put("/api/v1/calendars/2027", json=body)
        assert response.status_code == 403, response.json


@pytest.mark.parametrize(
    ("who", "method", "path", "body"),
    [
        ("city", "post", f"/api/v1/enterprises/{f.uscc()}/region", {}),
        ("city", "post", "/api/v1/messages", {"name": 5}),
        ("auditor", "post", "/api/v1/complaints", {"bogus": 1}),
        ("ent", "get", "/api/v1/incidents?status=bogus", None),
        ("auditor", "post", "/api/v1/instances", {"process_key": 5}),
        ("owner", "post", "/api/v1/instances", {}),
        ("auditor", "post", f"/api/v1/instances/{UNKNOWN}/messages", {"name": 5}),
        ("ent", "post", f"/api/v1/instances/{UNKNOWN}/objections", {}),
        ("auditor", "post", f"/api/v1/incidents/{UNKNOWN}/resolve", {"note": 5}),
        ("city", "post", "/api/v1/definitions/innovative_evaluation/migrations", {"to": "x"}),
        ("ent", "get", "/api/v1/definitions/innovative_evaluation/migrations/preview?to=x", None),
        (
            "auditor",
            "post",
            f"/api/v1/definitions/innovative_evaluation/migrations/instances/{UNKNOWN}",
            {},
        ),
    ],
)
def test_the_role_is_checked_before_the_body_or_arguments(
    p1: f.People, who: str, method: str, path: str, body: Any
) -> None:
    caller = p1[who]
    response = caller.get(path) if method == "get" else caller.post(path, json=body)
    assert response.status_code == 403, response.json


def test_only_the_province_may_import_even_without_a_file(p1: f.People) -> None:
    city = p1["city"]
    response = city.client.post("/api/v1/qualifications/import", headers=city._headers(), data={})
    assert response.status_code == 403, response.json


def test_the_right_role_with_a_wrong_body_still_gets_422(p1: f.People) -> None:
    assert p1["province"].post("/api/v1/rounds", json={}).status_code == 422
    assert p1["ent"].post("/api/v1/instances", json={"process_key": 5}).status_code == 422
    assert p1["city"].post(f"/api/v1/instances/{UNKNOWN}/objections", json={}).status_code == 422
    resolve = f"/api/v1/incidents/{UNKNOWN}/resolve"
    assert p1["owner"].post(resolve, json={"note": 5}).status_code == 422
    migrate = "/api/v1/definitions/innovative_evaluation/migrations"
    assert p1["owner"].post(migrate, json={"to": "x"}).status_code == 422
    assert p1["owner"].put("/api/v1/calendars/2027", json={"bad": 1}).status_code == 422
    assert p1["province"].post("/api/v1/messages", json={}).status_code == 422


# 6. query parameters described


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/api/v1/tasks", ("page", "per_page", "state", "mine", "process_key", "due_before")),
        ("/api/v1/instances", ("page", "per_page", "process_key", "status", "uscc", "round_id")),
        ("/api/v1/qualifications", ("page", "per_page", "tier", "uscc", "status")),
        ("/api/v1/qualifications/export", ("tier", "uscc", "status")),
        ("/api/v1/public/qualifications", ("page", "per_page", "tier", "region")),
        ("/api/v1/complaints", ("page", "per_page")),
        ("/api/v1/notifications", ("page", "per_page")),
        ("/api/v1/bans", ("page", "per_page", "uscc")),
        ("/api/v1/audit/events", ("page", "per_page", "instance_id")),
    ],
)
def test_query_parameters_are_described(
    spec: dict[str, Any], path: str, names: tuple[str, ...]
) -> None:
    operation = spec["paths"][path]["get"]
    for name in names:
        assert _query_parameter(operation, name).get("description"), name


# 7. request bodies read without @arguments, and what validation answers


@pytest.mark.parametrize(
    ("path", "content_type", "field"),
    [
        ("/api/v1/files", "multipart/form-data", "file"),
        ("/api/v1/definitions", "multipart/form-data", "files"),
        ("/api/v1/definitions/validate", "multipart/form-data", "files"),
        ("/api/v1/qualifications/import", "multipart/form-data", "file"),
        ("/api/v1/audit/verify", "application/json", "heads"),
    ],
)
def test_request_bodies_read_by_hand_are_documented(
    spec: dict[str, Any], path: str, content_type: str, field: str
) -> None:
    body = spec["paths"][path]["post"]["requestBody"]
    assert body["required"] is True
    schema = body["content"][content_type]["schema"]
    assert field in schema["required"]
    if content_type == "multipart/form-data":
        part = schema["properties"][field]
        binary = part["items"] if part.get("type") == "array" else part
        assert (binary["type"], binary["format"]) == ("string", "binary")
        assert part["description"]


def test_validation_answers_as_documented(spec: dict[str, Any], p1: f.People) -> None:
    documented = spec["paths"]["/api/v1/definitions/validate"]["post"]["responses"]["200"]
    schema = documented["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ValidationOut"}
    out = spec["components"]["schemas"]["ValidationOut"]["properties"]
    problem = spec["components"]["schemas"]["DefinitionProblemOut"]["properties"]
    owner = p1["owner"]
    valid = f.post_files(owner, "/api/v1/definitions/validate", f.process_files())
    assert valid.status_code == 200, valid.json
    assert set(valid.json) == set(out)
    assert valid.json["valid"] is True
    assert valid.json["errors"] == []
    broken = f.post_files(
        owner, "/api/v1/definitions/validate", {"broken.bpmn": "<definitions><process"}
    )
    assert broken.status_code == 200, broken.json
    assert set(broken.json) == set(out)
    assert broken.json["valid"] is False
    assert broken.json["errors"]
    for found in broken.json["errors"]:
        assert set(problem) <= set(found), found


def test_chain_verification_answers_as_documented(spec: dict[str, Any], p1: f.People) -> None:
    for method in ("get", "post"):
        responses = spec["paths"]["/api/v1/audit/verify"][method]["responses"]
        schema = responses["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/VerifyOut"}
    out = spec["components"]["schemas"]["VerifyOut"]["properties"]
    answer = p1["auditor"].get("/api/v1/audit/verify")
    assert answer.status_code == 200, answer.json
    assert set(answer.json) == set(out)
