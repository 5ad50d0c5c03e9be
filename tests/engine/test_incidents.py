"""A failing handler rolls the command back into an incident that can be retried (API and CLI)."""

from __future__ import annotations

from typing import Any

import pytest

from engine import registry
from engine.context import EngineContext
from engine.store import HumanTask, Instance
from tests import factories as f
from tests.engine.conftest import Tidu

PROBLEM = "application/problem+json"
Case = dict[str, Any]


def draw_unavailable(**_: Any) -> dict[str, Any]:
    raise RuntimeError("sampling service unavailable: secret-host:5432")


@pytest.fixture
def case(p1: f.People, p1_round: int) -> Case:
    """A 南昌 application waiting for 市级初审."""
    instance_id = f.apply(p1["ent"], p1_round)
    task = p1["city"].task("city_review", instance_id)
    return {"instance_id": instance_id, "task_id": task["id"]}


def instance_state(ctx: EngineContext, instance_id: str) -> tuple[int, str]:
    with ctx.transaction() as session:
        row = session.get(Instance, instance_id)
        return row.version, row.state_json


def task_state(ctx: EngineContext, task_id: str) -> str:
    with ctx.transaction() as session:
        return session.get(HumanTask, task_id).state


def kinds(user: f.Api, instance_id: str) -> list[str]:
    return [e["kind"] for e in user.get(f"/api/v1/instances/{instance_id}/history").json]


def fail_city_review(ctx: EngineContext, p1: f.People, case: Case) -> str:
    """Complete 市级初审 while the draw handler fails; return the incident id of the 500 problem."""
    before = instance_state(ctx, case["instance_id"])
    with registry.override("sampling.draw", draw_unavailable):
        response = p1["city"].post(
            f"/api/v1/tasks/{case['task_id']}/complete", json={"data": {"decision": "approve"}}
        )
    assert response.status_code == 500, response.json
    assert response.mimetype == PROBLEM
    assert response.json["type"].endswith("/processing-failed")
    assert "secret-host" not in response.get_data(as_text=True)  # never the exception text
    assert instance_state(ctx, case["instance_id"]) == before
    assert task_state(ctx, case["task_id"]) == "open"
    return response.json["incident_id"]


def incidents(user: f.Api, status: str = "open") -> list[dict[str, Any]]:
    response = user.get("/api/v1/incidents", query_string={"status": status})
    assert response.status_code == 200, response.json
    return response.json


def test_failing_handler_keeps_nothing_and_raises_an_incident(
    ctx: EngineContext, p1: f.People, case: Case
) -> None:
    province = p1["province"]
    before = kinds(province, case["instance_id"])
    incident_id = fail_city_review(ctx, p1, case)
    [incident] = incidents(province)
    assert (incident["id"], incident["instance_id"]) == (incident_id, case["instance_id"])
    assert (incident["element_id"], incident["command"]) == ("city_draw", "complete_task")
    assert "sampling service unavailable" in incident["message"]
    assert kinds(province, case["instance_id"]) == [*before, "incident.raised"]
    assert p1["city"].task("city_review", case["instance_id"])["id"] == case["task_id"]


def test_retry_after_the_handler_is_fixed_moves_the_case_on_and_resolves(
    ctx: EngineContext, p1: f.People, case: Case
) -> None:
    province, city = p1["province"], p1["city"]
    incident_id = fail_city_review(ctx, p1, case)
    retried = province.post(f"/api/v1/incidents/{incident_id}/retry")
    assert retried.status_code == 200, retried.json
    assert retried.json["id"] == case["instance_id"]
    assert task_state(ctx, case["task_id"]) == "completed"
    events = province.get(f"/api/v1/instances/{case['instance_id']}/history").json
    assert any(e["kind"] == "handler.decision" and e["bpmn_id"] == "city_draw" for e in events)
    [completed] = [
        e for e in events if e["kind"] == "task.completed" and e["task_id"] == case["task_id"]
    ]
    assert completed["actor"] == city.user_id  # the command re-ran as its original actor
    assert incidents(province) == []
    [resolved] = incidents(province, "resolved")
    assert (resolved["id"], resolved["status"]) == (incident_id, "resolved")
    assert resolved["resolved_by"] == province.user_id  # who retried, not who failed
    [event] = [e for e in events if e["kind"] == "incident.resolved"]
    assert (event["actor"], event["data"]["incident_id"]) == (province.user_id, incident_id)


def test_retry_of_a_resolved_incident_is_409(ctx: EngineContext, p1: f.People, case: Case) -> None:
    incident_id = fail_city_review(ctx, p1, case)
    assert p1["province"].post(f"/api/v1/incidents/{incident_id}/retry").status_code == 200
    again = p1["province"].post(f"/api/v1/incidents/{incident_id}/retry")
    assert again.status_code == 409
    assert again.mimetype == PROBLEM


def test_retry_that_fails_again_keeps_the_incident_open_counting_attempts(
    ctx: EngineContext, p1: f.People, case: Case
) -> None:
    incident_id = fail_city_review(ctx, p1, case)
    with registry.override("sampling.draw", draw_unavailable):
        response = p1["province"].post(f"/api/v1/incidents/{incident_id}/retry")
    assert response.status_code == 500
    assert response.json["incident_id"] == incident_id
    [incident] = incidents(p1["province"])
    assert (incident["id"], incident["attempts"]) == (incident_id, 2)
    assert task_state(ctx, case["task_id"]) == "open"


def test_only_province_or_process_owner_may_retry(
    ctx: EngineContext, p1: f.People, case: Case
) -> None:
    incident_id = fail_city_review(ctx, p1, case)
    for role in ("city", "auditor", "ent"):
        assert p1[role].post(f"/api/v1/incidents/{incident_id}/retry").status_code == 403
    assert p1["city"].get("/api/v1/incidents").status_code == 403
    assert [i["id"] for i in incidents(p1["auditor"])] == [incident_id]


def test_cli_incidents_retry_resolves_the_incident(
    ctx: EngineContext, p1: f.People, case: Case, tidu: Tidu
) -> None:
    incident_id = fail_city_review(ctx, p1, case)
    listed = tidu("incidents", "list")
    assert listed.exit_code == 0, listed.output
    assert f"{incident_id} complete_task city_draw attempts=1" in listed.output
    result = tidu("incidents", "retry", incident_id)
    assert result.exit_code == 0, result.output
    assert f"异常 {incident_id} 已处理" in result.output
    assert task_state(ctx, case["task_id"]) == "completed"
    assert incidents(p1["province"]) == []
    again = tidu("incidents", "retry", incident_id)
    assert again.exit_code == 1
    assert "已处理" in again.output
