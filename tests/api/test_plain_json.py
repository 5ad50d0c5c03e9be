"""The hot endpoints (start, inbox, complete, case status) build their JSON without a schema
pass; each body must equal what its documented schema dumps for the same rows."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from api.schemas import InboxTaskOut, InstanceDetailOut, InstanceOut, TaskOut, page_schema
from engine.context import EngineContext
from engine.store import HumanTask, Instance
from tests import factories as f

SHANGHAI = ZoneInfo("Asia/Shanghai")
TASK_COLUMNS = [c for c in TaskOut().fields if c != "overdue"]


def _case(ctx: EngineContext, instance_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with ctx.reading() as session:
        row = session.get(Instance, instance_id)
        # every field (migrated_from_version: not on the row, null for a case never migrated)
        case = {c: getattr(row, c, None) for c in InstanceOut().fields}
        case["state_bytes"] = len(row.state_json.encode())
        tasks = session.query(HumanTask).filter_by(instance_id=instance_id, state="open")
        return case, [{c: getattr(t, c) for c in TASK_COLUMNS} for t in tasks]


def test_hot_endpoints_answer_what_their_schemas_document(
    ctx: EngineContext, p1: f.People, p1_round: int
) -> None:
    ent, city = p1["ent"], p1["city"]
    started = ent.post(
        "/api/v1/instances", json={"process_key": "innovative_evaluation", "round_id": p1_round}
    )
    assert started.status_code == 201, started.json
    assert started.mimetype == "application/json"
    instance_id = started.json["id"]
    case, tasks = _case(ctx, instance_id)
    assert started.json == InstanceOut().dump(case)
    assert started.json["started_at"].endswith("+08:00")  # shown in Asia/Shanghai
    assert (started.json["stage"], started.json["stage_name"]) == ("self_evaluation", "企业自评")
    assert started.json["stage_due_at"] == tasks[0]["due_at"].astimezone(SHANGHAI).isoformat()

    inbox = ent.get("/api/v1/tasks", query_string={"per_page": 5})
    assert inbox.status_code == 200
    assert [i["id"] for i in inbox.json["items"]] == [t["id"] for t in tasks]
    items = [t | {"overdue": False} for t in tasks]
    people = {"assignee_name": None, "completed_by_name": None}  # nobody holds it yet
    named = [i | {"enterprise_name": "洪城精密机械有限公司"} | people for i in items]
    expected = page_schema(InboxTaskOut)().dump(
        {"items": named, "total": 1, "page": 1, "per_page": 5}
    )
    assert inbox.json == expected
    assert inbox.json["items"][0]["due_at"].endswith("+08:00")

    detail = ent.get(f"/api/v1/instances/{instance_id}")
    assert detail.status_code == 200
    assert detail.json == InstanceDetailOut().dump(case | {"open_tasks": items})
    assert detail.json["open_tasks"][0]["completed_at"] is None

    evidence = [ent.upload()["id"]]
    done = ent.post(
        f"/api/v1/tasks/{tasks[0]['id']}/complete", json={"data": f.self_evaluation(evidence)}
    )
    assert done.status_code == 200, done.json
    case, _ = _case(ctx, instance_id)
    assert done.json == InstanceOut().dump(case)
    assert done.json["updated_at"].endswith("+08:00")
    assert (done.json["stage"], done.json["stage_name"]) == ("city_review", "市级初审")
    assert city.task("city_review", instance_id)["state"] == "open"
