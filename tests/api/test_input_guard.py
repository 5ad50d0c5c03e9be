"""Input no command can store (NUL characters, lone surrogates, JSON nested without end,
integers beyond the database's range, out-of-range pages, dates and labels) is answered 422
naming the field, never 500 with an incident an enterprise could raise at will."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests import factories as f

PROBLEM = "application/problem+json"


def assert_names(response: Any, field: str) -> None:
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == PROBLEM
    assert field in response.json["errors"], response.json


def no_incidents(p1: f.People) -> None:
    assert p1["province"].get("/api/v1/incidents").json == []


def raw_post(user: f.Api, path: str, text: str) -> Any:
    return user.client.post(
        path,
        data=text.encode("utf-8", "surrogatepass"),
        headers={"Authorization": f"Bearer {user.token}", "Content-Type": "application/json"},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"process_key": "innovative_evaluation", "round_id": 10**20}, "round_id"),
        ({"process_key": "innovative_evaluation", "round_id": 2**40}, "round_id"),
        ({"process_key": "innovative\u0000", "round_id": 1}, "process_key"),
    ],
)
def test_starting_with_unstorable_input_is_422(
    p1: f.People, p1_round: int, body: dict[str, Any], field: str
) -> None:
    assert_names(p1["ent"].post("/api/v1/instances", json=body), field)
    no_incidents(p1)


def test_task_data_with_a_lone_surrogate_nul_or_deep_nesting_is_422(
    p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    city = p1["city"]
    task_id = city.task("city_review", instance_id)["id"]
    path = f"/api/v1/tasks/{task_id}/complete"
    lone = raw_post(city, path, '{"data": {"decision": "return", "reason": "\\ud800x"}}')
    assert_names(lone, "data.reason")
    nul = city.post(path, json={"data": {"decision": "return", "reason": "a\u0000"}})
    assert_names(nul, "data.reason")
    deep = raw_post(city, path, '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert_names(deep, "body")
    huge = city.post(path, json={"data": {"decision": "return", "correction_days": 10**30}})
    assert_names(huge, "data.correction_days")
    days = city.post(
        path, json={"data": {"decision": "return", "reason": "补材料", "correction_days": 10**9}}
    )
    assert days.status_code == 422, days.json  # the form's maximum (365 days)
    assert "correction_days" in days.get_data(as_text=True)
    for number in ("1e400", "-1E+999", "NaN", "Infinity", "-Infinity"):  # Python reads them
        body = '{"data": {"decision": "return", "days": ' + number + "}}"
        endless = raw_post(city, path, body)
        assert_names(endless, "data.days")
    paired = raw_post(city, path, '{"data": {"decision": "return", "reason": "\\ud83d\\ude00"}}')
    assert paired.status_code == 200, paired.json  # a surrogate pair is a character
    no_incidents(p1)


@pytest.mark.parametrize(
    ("who", "path", "field"),
    [
        (None, "/api/v1/public/qualifications?keyword=a%00b", "keyword"),
        ("city", "/api/v1/tasks?process_key=a%00b", "process_key"),
        ("province", "/api/v1/instances?enterprise_name=a%00b", "enterprise_name"),
        ("auditor", "/api/v1/audit/events?actor=a%00b", "actor"),
        ("province", "/api/v1/qualifications?uscc=a%00b", "uscc"),
        ("city", "/api/v1/tasks?page=99999999999999", "page"),
        ("city", "/api/v1/tasks?page=99999999999999&state=open", "page"),
        ("province", "/api/v1/rounds/99999999999999/cases", "round_id"),
    ],
)
def test_unstorable_query_arguments_are_422(
    client: FlaskClient, p1: f.People, who: str | None, path: str, field: str
) -> None:
    response = p1[who].get(path) if who else client.get(path)
    assert_names(response, field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"label": "x" * 201}, "label"),
        ({"label": ""}, "label"),
        ({"label": "a\u0000b"}, "label"),
        ({"opens_on": "9999-12-31", "window_days": 366}, "opens_on"),
        ({"opens_on": "0001-01-01"}, "opens_on"),
    ],
)
def test_rounds_with_a_bad_label_or_date_are_422(
    p1: f.People, change: dict[str, Any], field: str
) -> None:
    body = {"process_key": "innovative_evaluation", "label": "第1批", "opens_on": "2026-12-01"}
    assert_names(p1["province"].post("/api/v1/rounds", json=body | change), field)
    no_incidents(p1)
