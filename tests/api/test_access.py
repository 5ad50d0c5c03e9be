"""Who sees what: other regions and enterprises get 404, auditors read but never work, 401s."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from engine.context import EngineContext
from tests import factories as f

PROBLEM = "application/problem+json"
Case = dict[str, Any]


@pytest.fixture
def case(p1: f.People, p1_round: int) -> Case:
    """A 南昌 application waiting for 市级初审."""
    instance_id = f.apply(p1["ent"], p1_round)
    return {"instance_id": instance_id, "task": p1["city"].task("city_review", instance_id)}


@pytest.fixture
def other_city(ctx: EngineContext, client: FlaskClient) -> f.Api:
    return f.user(ctx, client, role="city", user_id="city-jdz", region="360200")


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404, response.json
    assert response.mimetype == PROBLEM
    assert response.json["type"].endswith("/not-found")


def test_city_of_another_region_cannot_see_the_task(case: Case, other_city: f.Api) -> None:
    assert_not_found(other_city.get(f"/api/v1/tasks/{case['task']['id']}"))
    assert other_city.inbox() == []


def test_city_of_another_region_cannot_complete_or_claim_the_task(
    case: Case, p1: f.People, other_city: f.Api
) -> None:
    task_id = case["task"]["id"]
    approve = {"data": {"decision": "approve"}}
    assert_not_found(other_city.post(f"/api/v1/tasks/{task_id}/complete", json=approve))
    assert_not_found(other_city.post(f"/api/v1/tasks/{task_id}/claim"))
    assert p1["city"].get(f"/api/v1/tasks/{task_id}").json["state"] == "open"


def test_city_of_another_region_cannot_see_or_list_the_instance(
    case: Case, other_city: f.Api
) -> None:
    instance_id = case["instance_id"]
    assert_not_found(other_city.get(f"/api/v1/instances/{instance_id}"))
    assert_not_found(other_city.get(f"/api/v1/instances/{instance_id}/history"))
    listed = other_city.get("/api/v1/instances").json
    assert (listed["items"], listed["total"]) == ([], 0)


def test_city_of_the_region_sees_and_lists_the_instance(case: Case, p1: f.People) -> None:
    listed = p1["city"].get("/api/v1/instances").json
    assert [i["id"] for i in listed["items"]] == [case["instance_id"]]


def test_the_case_list_reads_no_case_state(ctx: EngineContext, case: Case, p1: f.People) -> None:
    # a page of cases shows none of their state (5-35 KB each), so it never reads it
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(ctx.db, "before_cursor_execute", seen)
    try:
        listed = p1["province"].get("/api/v1/instances").json
    finally:
        event.remove(ctx.db, "before_cursor_execute", seen)
    assert [i["id"] for i in listed["items"]] == [case["instance_id"]]
    assert any("FROM process_instance" in s for s in statements)
    assert not any("state_json" in s for s in statements)


def test_enterprise_cannot_see_another_enterprises_case_or_task(
    p1: f.People, p1_round: int
) -> None:
    instance_id = f.start(p1["ent"], p1_round)["id"]
    task = p1["ent"].task("self_evaluation", instance_id)
    intruder = p1["ent2"]
    assert_not_found(intruder.get(f"/api/v1/instances/{instance_id}"))
    assert_not_found(intruder.get(f"/api/v1/instances/{instance_id}/history"))
    assert_not_found(intruder.get(f"/api/v1/tasks/{task['id']}"))
    data = f.self_evaluation([intruder.upload()["id"]])
    assert_not_found(intruder.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}))
    assert intruder.get("/api/v1/instances").json["total"] == 0
    assert intruder.inbox() == []


def test_enterprise_cannot_see_the_city_task_of_its_own_case(case: Case, p1: f.People) -> None:
    assert_not_found(p1["ent"].get(f"/api/v1/tasks/{case['task']['id']}"))
    assert p1["ent"].get(f"/api/v1/instances/{case['instance_id']}").status_code == 200


def test_auditor_reads_instances_history_and_tasks(case: Case, p1: f.People) -> None:
    auditor, instance_id = p1["auditor"], case["instance_id"]
    assert auditor.get(f"/api/v1/instances/{instance_id}").status_code == 200
    assert [i["id"] for i in auditor.get("/api/v1/instances").json["items"]] == [instance_id]
    history = auditor.get(f"/api/v1/instances/{instance_id}/history")
    assert history.status_code == 200
    assert history.json[0]["kind"] == "instance.started"
    assert auditor.get(f"/api/v1/tasks/{case['task']['id']}").status_code == 200


def test_auditor_completing_or_claiming_a_task_is_forbidden(case: Case, p1: f.People) -> None:
    task_id = case["task"]["id"]
    for action, body in (("complete", {"data": {"decision": "approve"}}), ("claim", None)):
        response = p1["auditor"].post(f"/api/v1/tasks/{task_id}/{action}", json=body)
        assert response.status_code == 403, response.json
        assert response.mimetype == PROBLEM
        assert response.json["type"].endswith("/forbidden")
    assert p1["city"].get(f"/api/v1/tasks/{task_id}").json["state"] == "open"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-token", "Basic dXNlcjpwYXNz"])
def test_missing_or_invalid_token_is_401_problem(
    client: FlaskClient, p1: f.People, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    for url in ("/api/v1/tasks", "/api/v1/instances", "/api/v1/definitions"):
        response = client.get(url, headers=headers)
        assert response.status_code == 401, (url, response.json)
        assert response.mimetype == PROBLEM
        assert response.json["type"].endswith("/unauthorized")
        assert response.json["status"] == 401


@pytest.mark.parametrize(
    ("process_key", "message"),
    [
        ("article12_incident", "当前角色不能发起流程 article12_incident"),
        ("complaint", "POST /complaints"),
        ("qualification_lifecycle", "资格颁发或存量导入时自动开始"),
    ],
)
def test_an_enterprise_cannot_start_what_others_start(
    ctx: EngineContext, p1: f.People, process_key: str, message: str
) -> None:
    refused = p1["ent"].post("/api/v1/instances", json={"process_key": process_key})
    assert refused.status_code == 403, refused.json
    assert message in refused.json["detail"]
    assert p1["province"].get("/api/v1/incidents").json == []


def test_an_application_without_a_round_is_422_naming_it(p1: f.People) -> None:
    refused = p1["ent"].post("/api/v1/instances", json={"process_key": "innovative_evaluation"})
    assert refused.status_code == 422, refused.json
    assert "round_id" in refused.json["errors"]
    assert p1["province"].get("/api/v1/incidents").json == []


def test_a_caller_without_a_valid_token_is_401_before_its_body_is_read(
    client: FlaskClient,
) -> None:
    for token in (None, "not-a-token"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = client.put("/api/v1/calendars/2030", json={"holidays": 5}, headers=headers)
        assert answer.status_code == 401, answer.json  # not 422 naming `holidays`
        assert "errors" not in answer.json
    assert client.get("/api/v1/public/qualifications").status_code == 200


def test_miit_reads_the_provinces_little_giant_cases_only(  # type: ignore[no-untyped-def]
    ctx: EngineContext, client: FlaskClient, case: Case, p1: f.People
) -> None:
    f.deploy_processes(ctx)  # the lifecycle too
    miit = f.user(ctx, client, role="miit", user_id="miit")
    assert_not_found(miit.get(f"/api/v1/instances/{case['instance_id']}"))  # a P1 evaluation
    assert_not_found(miit.get(f"/api/v1/instances/{case['instance_id']}/history"))
    little_giant = f.issue_qualification(
        ctx, uscc_code=f.uscc("360100", 1), tier="little_giant", region="360100"
    )
    innovative = f.issue_qualification(
        ctx, uscc_code=f.uscc("360100", 2), tier="innovative", region="360100"
    )
    assert miit.get(f"/api/v1/instances/{little_giant.lifecycle_instance_id}").status_code == 200
    assert_not_found(miit.get(f"/api/v1/instances/{innovative.lifecycle_instance_id}"))
    listed = miit.get("/api/v1/instances?per_page=100").json
    assert [i["id"] for i in listed["items"]] == [little_giant.lifecycle_instance_id]
    # the province still reads every case
    assert p1["province"].get(f"/api/v1/instances/{case['instance_id']}").status_code == 200
