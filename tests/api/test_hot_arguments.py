"""The hot endpoints (inbox, complete) read the common well-formed request without webargs;
what they read must be what webargs and the documented schema give, and everything else
(errors, rarer filters) must be left to them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask, request

from api import TiduFlask, tasks
from api.schemas import (
    CompleteTaskIn,
    StartInstanceIn,
    TaskListArgs,
    fast_complete_task_in,
    fast_start_instance_in,
    fast_task_list_args,
)
from tests import factories as f

FAST_QUERIES = ["", "per_page=5", "page=2&per_page=200", "page=007", "page=1000000"]
# out of range, not plain ASCII digits, repeated, or other filters: webargs reads these
LEFT_QUERIES = [
    "page=1000001",
    "page=99999999999999999999",
    "per_page=201",
    "per_page=0",
    "page=0",
    "page=-1",
    "page=+1",
    "page= 1",
    "page=",
    "page=１",
    "page=1&page=2",
    "state=completed",
    "mine=true",
    "process_key=innovative_evaluation&per_page=5",
    "due_before=2025-09-20T00:00:00%2B08:00",
    "unknown=1",
]

FAST_BODIES: list[Any] = [
    {"data": {}},
    {"data": {"decision": "approve", "comment": "好", "scores": [1, 2], "nested": {"a": None}}},
]
LEFT_BODIES: list[Any] = [
    {"data": []},
    {"data": None},
    {"data": "text"},
    {"decision": "approve"},
    {"data": {}, "extra": 1},
    {},
    [],
    "data",
]


FAST_STARTS: list[Any] = [
    {"process_key": "innovative_evaluation"},
    {"process_key": "innovative_evaluation", "round_id": 3},
    {"process_key": "innovative_evaluation", "round_id": None, "uscc": None},
    {"process_key": "specialized_certification", "uscc": "91360102MA0000001Q", "round_id": 7},
    {"process_key": ""},
]
# webargs reads these: wrong types (some it converts, such as "3" or 3.0), unknown or missing
# fields, not an object
LEFT_STARTS: list[Any] = [
    {"process_key": 1},
    {"process_key": None},
    {"round_id": 1},
    {"process_key": "p", "round_id": "3"},
    {"process_key": "p", "round_id": 3.0},
    {"process_key": "p", "round_id": True},
    {"process_key": "p", "round_id": 2**31},
    {"process_key": "p", "round_id": 0},
    {"process_key": "p", "uscc": 5},
    {"process_key": "p", "extra": 1},
    [],
]


def _webargs(app: Flask, schema: Any, location: str, **sent: Any) -> Any:
    """What the blueprint's webargs parser gives for the request, or the error it raises."""
    with app.test_request_context(**sent):
        try:
            return tasks.bp.ARGUMENTS_PARSER.parse(schema, location=location)
        except Exception as error:  # webargs' error is the expected result here
            return error


def _fast_query(app: Flask, query: str) -> Any:
    with app.test_request_context(query_string=query):
        return fast_task_list_args(request)


def _fast_body(app: Flask, body: Any, fast: Any = fast_complete_task_in) -> tuple[Any, Any]:
    """The fast reading of a JSON body, and webargs' reading of it."""
    sent = {"data": json.dumps(body), "content_type": "application/json", "method": "POST"}
    with app.test_request_context(**sent):
        found = fast(request)
    schema = StartInstanceIn() if fast is fast_start_instance_in else CompleteTaskIn()
    return found, _webargs(app, schema, "json", **sent)


@pytest.mark.parametrize("query", FAST_QUERIES)
def test_plain_inbox_queries_are_read_as_webargs_reads_them(app: Flask, query: str) -> None:
    expected = _webargs(app, TaskListArgs(), "query", query_string=query)
    assert isinstance(expected, dict)
    assert _fast_query(app, query) == expected


@pytest.mark.parametrize("query", LEFT_QUERIES)
def test_other_inbox_queries_are_left_to_webargs(app: Flask, query: str) -> None:
    assert _fast_query(app, query) is None


@pytest.mark.parametrize("body", FAST_BODIES, ids=lambda b: json.dumps(b, ensure_ascii=False))
def test_plain_complete_bodies_are_read_as_webargs_reads_them(app: Flask, body: Any) -> None:
    found, expected = _fast_body(app, body)
    assert isinstance(expected, dict)
    assert found == expected


@pytest.mark.parametrize("body", LEFT_BODIES, ids=lambda b: json.dumps(b, ensure_ascii=False))
def test_other_complete_bodies_are_left_to_webargs(app: Flask, body: Any) -> None:
    found, expected = _fast_body(app, body)
    assert found is None
    assert not isinstance(expected, dict)  # webargs answers them with an error


@pytest.mark.parametrize("body", FAST_STARTS, ids=lambda b: json.dumps(b, ensure_ascii=False))
def test_plain_start_bodies_are_read_as_webargs_reads_them(app: Flask, body: Any) -> None:
    found, expected = _fast_body(app, body, fast_start_instance_in)
    assert isinstance(expected, dict)
    assert found == expected


@pytest.mark.parametrize("body", LEFT_STARTS, ids=lambda b: json.dumps(b, ensure_ascii=False))
def test_other_start_bodies_are_left_to_webargs(app: Flask, body: Any) -> None:
    found, _ = _fast_body(app, body, fast_start_instance_in)
    assert found is None


def test_a_body_not_sent_as_json_is_left_to_webargs(app: Flask) -> None:
    sent = {"data": json.dumps({"data": {}}), "content_type": "text/plain", "method": "POST"}
    with app.test_request_context(**sent):
        assert fast_complete_task_in(request) is None


def test_both_endpoints_keep_their_documented_arguments(client: Any) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    inbox = {p["name"] for p in paths["/api/v1/tasks"]["get"]["parameters"] if p["in"] == "query"}
    assert inbox == {"page", "per_page", "state", "mine", "process_key", "due_before"}
    complete = paths["/api/v1/tasks/{task_id}/complete"]["post"]
    assert "CompleteTaskIn" in json.dumps(complete["requestBody"])
    assert "422" in complete["responses"]


def test_the_fast_and_the_webargs_reading_answer_alike(p1: f.People, p1_round: int) -> None:
    ent = p1["ent"]
    started = ent.post(
        "/api/v1/instances", json={"process_key": "innovative_evaluation", "round_id": p1_round}
    )
    assert started.status_code == 201, started.json
    fast = ent.get("/api/v1/tasks", query_string={"per_page": 5})
    slow = ent.get("/api/v1/tasks", query_string={"per_page": 5, "state": "open"})  # webargs
    assert fast.status_code == slow.status_code == 200
    assert fast.json == slow.json
    assert fast.json["total"] == 1


def test_the_app_asks_once_per_function_whether_it_is_a_coroutine() -> None:
    app = TiduFlask(__name__)
    app.async_to_sync = lambda func: ("wrapped", func)  # type: ignore[method-assign]

    class View:
        def get(self) -> str:
            return "ok"

    def plain() -> str:
        return "ok"

    async def coroutine() -> str:
        return "ok"

    views = [View() for _ in range(50)]
    assert all(app.ensure_sync(v.get) == v.get for v in views)  # each its own bound method
    assert app.ensure_sync(plain) is plain
    assert app.ensure_sync(coroutine) == ("wrapped", coroutine)
    assert app.ensure_sync(coroutine) == ("wrapped", coroutine)
    assert len(app._coroutines) == 3  # View.get, plain, coroutine: not one per view object
