"""The task API: form validation, task state conflicts, claims, evidence, inbox filters, OpenAPI."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.clock import SimulatedClock
from engine.context import EngineContext
from tests import factories as f

PROBLEM = "application/problem+json"
Case = dict[str, Any]


@pytest.fixture
def case(p1: f.People, p1_round: int) -> Case:
    """A 南昌 application waiting for 市级初审."""
    instance_id = f.apply(p1["ent"], p1_round)
    task = p1["city"].task("city_review", instance_id)
    return {"instance_id": instance_id, "task_id": task["id"]}


def history(user: f.Api, instance_id: str) -> list[dict[str, Any]]:
    response = user.get(f"/api/v1/instances/{instance_id}/history")
    assert response.status_code == 200, response.json
    return response.json


def complete(user: f.Api, task_id: str, data: dict[str, Any]) -> Any:
    return user.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "decision"),
        ({"reason": "材料齐全"}, "decision"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "reject"}, "reason"),
        ({"decision": "return", "reason": "   "}, "reason"),
        ({"decision": "approve", "correction_days": 0}, "correction_days"),
        ({"decision": "approve", "score": 99}, "score"),
    ],
)
def test_invalid_form_data_is_422_per_field_and_changes_nothing(
    p1: f.People, case: Case, data: dict[str, Any], field: str
) -> None:
    city, task_id = p1["city"], case["task_id"]
    before = history(city, case["instance_id"])
    response = complete(city, task_id, data)
    assert response.status_code == 422, response.json
    assert response.mimetype == PROBLEM
    assert response.json["type"].endswith("/invalid-task-data")
    assert field in response.json["errors"], response.json["errors"]
    assert all(isinstance(m, str) and m for m in response.json["errors"][field])
    assert city.get(f"/api/v1/tasks/{task_id}").json["state"] == "open"
    assert history(city, case["instance_id"]) == before


def test_missing_data_envelope_is_422_invalid_request(p1: f.People, case: Case) -> None:
    url = f"/api/v1/tasks/{case['task_id']}/complete"
    response = p1["city"].post(url, json={"decision": "approve"})
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert "data" in response.json["errors"]


def test_a_body_that_is_not_json_is_400_and_changes_nothing(p1: f.People, case: Case) -> None:
    city = p1["city"]
    before = history(city, case["instance_id"])
    response = city.post(
        f"/api/v1/tasks/{case['task_id']}/complete",
        data='{"data": {"decision": }',
        content_type="application/json",
    )
    assert response.status_code == 400, response.json
    assert response.mimetype == PROBLEM
    assert response.json["detail"] == "请求体不是有效的 JSON"
    assert response.json["errors"] == {"json": ["JSON 格式错误"]}
    assert history(city, case["instance_id"]) == before


def test_completing_a_completed_task_is_409_task_not_open(p1: f.People, case: Case) -> None:
    city, task_id = p1["city"], case["task_id"]
    assert complete(city, task_id, {"decision": "approve"}).status_code == 200
    events = history(city, case["instance_id"])
    again = complete(city, task_id, {"decision": "approve"})
    assert again.status_code == 409
    assert again.mimetype == PROBLEM
    assert again.json["type"].endswith("/task-not-open")
    assert history(city, case["instance_id"]) == events
    assert city.get(f"/api/v1/tasks/{task_id}").json["state"] == "completed"


def test_task_claimed_by_one_user_cannot_be_completed_or_claimed_by_another(
    p1: f.People, case: Case
) -> None:
    a, b, task_id = p1["city"], p1["city_b"], case["task_id"]
    claimed = a.post(f"/api/v1/tasks/{task_id}/claim")
    assert claimed.status_code == 200
    assert claimed.json["assignee"] == a.user_id
    for response in (
        complete(b, task_id, {"decision": "approve"}),
        b.post(f"/api/v1/tasks/{task_id}/claim"),
        b.post(f"/api/v1/tasks/{task_id}/unclaim"),
    ):
        assert response.status_code == 409
        assert response.json["type"].endswith("/task-already-claimed")
    assert b.inbox() == []
    assert [t["id"] for t in a.inbox(mine="true")] == [task_id]


def test_unclaimed_task_can_be_claimed_and_completed_by_another(p1: f.People, case: Case) -> None:
    a, b, task_id = p1["city"], p1["city_b"], case["task_id"]
    assert a.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
    released = a.post(f"/api/v1/tasks/{task_id}/unclaim")
    assert (released.status_code, released.json["assignee"]) == (200, None)
    assert b.post(f"/api/v1/tasks/{task_id}/claim").json["assignee"] == b.user_id
    assert complete(b, task_id, {"decision": "approve"}).status_code == 200
    kinds = [e["kind"] for e in history(b, case["instance_id"]) if e["task_id"] == task_id]
    assert kinds == [
        "task.created",
        "task.claimed",
        "task.unclaimed",
        "task.claimed",
        "task.completed",
    ]


def test_unknown_evidence_file_is_422_naming_its_position(p1: f.People, p1_round: int) -> None:
    ent = p1["ent"]
    task = ent.task("self_evaluation", f.start(ent, p1_round)["id"])
    unknown = "00000000-0000-4000-8000-000000000000"
    response = complete(ent, task["id"], f.self_evaluation([unknown, ent.upload()["id"]]))
    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == ["evidence.0"]
    assert ent.get(f"/api/v1/tasks/{task['id']}").json["state"] == "open"


def test_figures_that_cannot_hold_together_are_422_as_in_the_preview(
    p1: f.People, p1_round: int
) -> None:
    ent = p1["ent"]
    task = ent.task("self_evaluation", f.start(ent, p1_round)["id"])
    data = f.self_evaluation([ent.upload()["id"]], revenue_y1=7000, main_revenue_y1=7600)
    preview = ent.post("/api/v1/evaluations/preview", json={"data": data})
    assert preview.status_code == 422, preview.json
    response = complete(ent, task["id"], data)
    assert response.status_code == 422, response.json
    assert response.json["errors"] == {"main_revenue_y1": ["主营业务收入不能大于营业收入"]}
    assert response.json["errors"]["main_revenue_y1"] == preview.json["errors"]["main_revenue_y1"]
    assert ent.get(f"/api/v1/tasks/{task['id']}").json["state"] == "open"


def test_another_enterprises_evidence_file_is_rejected(p1: f.People, p1_round: int) -> None:
    ent = p1["ent"]
    task = ent.task("self_evaluation", f.start(ent, p1_round)["id"])
    foreign = p1["ent2"].upload(b"someone else's report", "report.pdf")["id"]
    response = complete(ent, task["id"], f.self_evaluation([ent.upload()["id"], foreign]))
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["evidence.1"]


def test_completed_self_evaluation_history_carries_each_evidence_sha256(
    p1: f.People, p1_round: int
) -> None:
    ent = p1["ent"]
    contents = {"audit.pdf": b"%PDF-1.4 audit report", "patent.pdf": b"%PDF-1.4 ZL202310000000.0"}
    uploaded = [ent.upload(body, name) for name, body in contents.items()]
    sha256 = [hashlib.sha256(body).hexdigest() for body in contents.values()]
    assert [u["sha256"] for u in uploaded] == sha256
    instance_id = f.apply(ent, p1_round, evidence=[u["id"] for u in uploaded])
    done = next(
        e
        for e in history(p1["province"], instance_id)
        if e["kind"] == "task.completed" and e["bpmn_id"] == "self_evaluation"
    )
    recorded = {e["id"]: (e["filename"], e["sha256"]) for e in done["data"]["evidence"]["evidence"]}
    assert recorded == {u["id"]: (u["filename"], u["sha256"]) for u in uploaded}
    assert done["actor"] == ent.user_id


def test_inbox_and_task_name_the_enterprise_beside_its_uscc(p1: f.People, p1_round: int) -> None:
    first, second = f.apply(p1["ent"], p1_round), f.apply(p1["ent2"], p1_round)
    city = p1["city"]
    listed = {t["instance_id"]: t for t in city.inbox()}
    assert listed[first]["enterprise_name"] == "洪城精密机械有限公司"
    assert listed[second]["enterprise_name"] == "赣江光电科技有限公司"
    assert listed[first]["uscc"] == f.uscc("360100", 1)
    detail = city.get(f"/api/v1/tasks/{listed[second]['id']}").json
    assert detail["enterprise_name"] == "赣江光电科技有限公司"
    mine = p1["ent"].get("/api/v1/tasks", query_string={"state": "completed"}).json["items"]
    assert [t["enterprise_name"] for t in mine] == ["洪城精密机械有限公司"]
    filtered = city.inbox(process_key="innovative_evaluation", mine="false")  # another statement
    assert {t["enterprise_name"] for t in filtered} == {
        "洪城精密机械有限公司",
        "赣江光电科技有限公司",
    }


def test_completed_tasks_in_the_inbox_name_who_completed_them(p1: f.People, p1_round: int) -> None:
    f.apply(p1["ent"], p1_round)
    done = p1["ent"].inbox(state="completed")
    assert [(t["bpmn_id"], t["assignee"], t["completed_by"]) for t in done] == [
        ("self_evaluation", None, "ent-1")
    ]


def test_inbox_paginates_with_total_page_and_per_page(
    ctx: EngineContext, client: FlaskClient, p1: f.People, p1_round: int
) -> None:
    for serial in range(3, 6):
        ent = f.user(
            ctx,
            client,
            role="enterprise",
            user_id=f"ent-{serial}",
            uscc_code=f.uscc("360100", serial),
            region="360100",
        )
        f.apply(ent, p1_round)
    city = p1["city"]
    pages = [
        city.get("/api/v1/tasks", query_string={"per_page": 2, "page": page}).json
        for page in (1, 2, 3)
    ]
    assert [(p["total"], p["page"], p["per_page"], len(p["items"])) for p in pages] == [
        (3, 1, 2, 2),
        (3, 2, 2, 1),
        (3, 3, 2, 0),
    ]
    assert len({t["id"] for p in pages for t in p["items"]}) == 3
    bad = city.get("/api/v1/tasks", query_string={"per_page": 500})
    assert bad.status_code == 422
    assert "per_page" in bad.json["errors"]


def test_inbox_filters_mine_and_process_key(p1: f.People, p1_round: int) -> None:
    first, second = f.apply(p1["ent"], p1_round), f.apply(p1["ent2"], p1_round)
    city = p1["city"]
    claimed = city.task("city_review", second)["id"]
    city.post(f"/api/v1/tasks/{claimed}/claim")
    assert [t["id"] for t in city.inbox(mine="true")] == [claimed]
    assert {t["instance_id"] for t in city.inbox(mine="false")} == {first, second}
    assert len(city.inbox(process_key="innovative_evaluation")) == 2
    assert city.inbox(process_key="specialized_evaluation") == []
    counted = [  # a full page is counted under the same filters (a statement kept per shape)
        city.get("/api/v1/tasks", query_string={"per_page": 1, **q}).json["total"]
        for q in ({"process_key": "innovative_evaluation"}, {"mine": "true"}, {})
    ]
    assert counted == [2, 1, 2]


def test_inbox_filters_due_before_and_flags_overdue_tasks(
    clock: SimulatedClock, p1: f.People
) -> None:
    ent, province = p1["ent"], p1["province"]
    short = f.open_round(province, opens_on=date(2025, 9, 1), label="短批次", window_days=10)
    soon = f.start(ent, short["id"])["id"]
    tasks = {t["instance_id"]: t for t in ent.inbox()}
    assert tasks[soon]["due_at"] == "2025-09-11T00:00:00+08:00"
    assert [t["instance_id"] for t in ent.inbox(due_before="2025-09-20T00:00:00+08:00")] == [soon]
    assert ent.inbox(due_before="2025-09-10T00:00:00+08:00") == []
    assert not any(t["overdue"] for t in ent.inbox())
    clock.advance(timedelta(days=10, hours=16))  # 2025-09-11 01:00 local, no timer fired yet
    assert {t["instance_id"]: t["overdue"] for t in ent.inbox()} == {soon: True}
    assert ent.get(f"/api/v1/tasks/{tasks[soon]['id']}").json["overdue"] is True


def test_openapi_lists_the_task_paths_and_docs_are_served(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json["paths"]
    for path in (
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/{task_id}/claim",
        "/api/v1/tasks/{task_id}/unclaim",
        "/api/v1/tasks/{task_id}/complete",
    ):
        assert path in paths, sorted(paths)
    assert "post" in paths["/api/v1/tasks/{task_id}/complete"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"swagger" in docs.data.lower()


def test_a_major_change_names_the_region_moved_to_from_a_list_of_regions(
    ctx: EngineContext, people: f.People
) -> None:
    ent = people["ent"]
    f.issue_qualification(ctx, uscc_code=f.uscc("360100", 1), tier="innovative")
    started = ent.post("/api/v1/instances", json={"process_key": "major_change"})
    assert started.status_code == 201, started.json
    task = ent.task("register_change", started.json["id"])
    field = ent.get(f"/api/v1/tasks/{task['id']}").json["form"]["properties"]["to_region"]
    choices = {c["const"]: c["title"] for c in field["oneOf"]}
    assert len(choices) == 13  # 11 设区市, 赣江新区, out of the province
    assert (choices["360700"], choices["361200"], choices["outside"]) == (
        "赣州市",
        "赣江新区",
        "迁出江西省",
    )
    change = {"change_type": "relocation", "change_on": "2025-08-15", "description": "迁址"}
    refused = complete(ent, task["id"], change | {"to_region": "369900"})  # no such region
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"] == {"to_region": ["不是允许的取值"]}
    assert complete(ent, task["id"], change | {"to_region": "360700"}).status_code == 200
