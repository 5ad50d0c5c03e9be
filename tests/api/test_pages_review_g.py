"""What the task, inbox and audit pages read from the API: a correction opens with the
application it corrects (a diagram's `prefill`), a completed task says what it was completed
with, the inbox names who holds a task and finds a task due at D 24:00 by D 24:00, a refusal
names roles in Chinese, a growth from a zero base shows its figures."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine import users
from tests import factories as f

PREFILL = '<spiffworkflow:property name="prefill" value="true"/>'


def prefilled_p1(ctx: Any, client: Any) -> f.People:
    """The P1 cast: P1's correction task is marked `prefill` as shipped (and P2's)."""
    files = f.process_files()
    assert PREFILL in files[f.P1_BPMN]
    assert PREFILL in (f.ROOT_PROCESSES / "specialized_certification.bpmn").read_text("utf-8")
    return f.p1_cast(ctx, client, files=files)


def returned_for_correction(people: f.People, round_id: int) -> tuple[str, dict[str, Any]]:
    ent = people["ent"]
    evidence = ent.upload(b"%PDF-1.4 audit", "审计报告.pdf")["id"]
    submitted = f.self_evaluation([evidence])  # equity_financing_3y: 0
    instance_id = f.start(ent, round_id)["id"]
    ent.complete("self_evaluation", submitted, instance_id)
    people["city"].complete(
        "city_review", {"decision": "return", "reason": "研发费用佐证不全"}, instance_id
    )
    return instance_id, submitted


def test_a_correction_marked_prefill_opens_with_the_application_it_corrects(
    ctx: Any, client: Any
) -> None:
    people = prefilled_p1(ctx, client)
    round_id = f.open_round(people["province"], opens_on=date(2025, 9, 1))["id"]
    instance_id, submitted = returned_for_correction(people, round_id)
    task = people["ent"].task("correct_application", instance_id)
    got = people["ent"].get(f"/api/v1/tasks/{task['id']}").json
    assert got["prefill"] is True
    assert got["submitted"] is None  # open: nothing submitted yet
    assert got["data"]["equity_financing_3y"] == 0
    assert set(got["evidence_files"]) == set(submitted["evidence"])
    city = people["city"].get(f"/api/v1/tasks/{task['id']}")
    assert city.status_code == 404 or city.json["prefill"] is True


def test_a_review_is_never_prefilled(p1: f.People, p1_round: int) -> None:
    instance_id, _ = returned_for_correction(p1, p1_round)
    p1["ent"].complete("correct_application", f.self_evaluation([p1["ent"].upload()["id"]]))
    review = p1["city"].task("city_review", instance_id)
    got = p1["city"].get(f"/api/v1/tasks/{review['id']}").json
    assert got["prefill"] is False
    task = p1["ent"].get(f"/api/v1/tasks/{review['id']}")
    assert task.status_code in {403, 404}


def test_a_completed_task_says_what_it_was_completed_with_and_by_whom(
    p1: f.People, p1_round: int
) -> None:
    instance_id, submitted = returned_for_correction(p1, p1_round)
    history = p1["auditor"].get(f"/api/v1/instances/{instance_id}/history").json
    done = [e for e in history if e["kind"] == "task.completed"]
    first = p1["auditor"].get(f"/api/v1/tasks/{done[0]['task_id']}").json
    assert first["state"] == "completed"
    assert first["submitted"] == submitted
    assert first["prefill"] is False
    assert set(first["evidence_files"]) == set(submitted["evidence"])
    review = p1["auditor"].get(f"/api/v1/tasks/{done[1]['task_id']}").json
    assert review["submitted"] == {"decision": "return", "reason": "研发费用佐证不全"}
    assert review["completed_by"] == "city-nc"
    assert review["completed_by_name"] == "city-nc"


def test_the_inbox_names_who_claimed_a_task(ctx: Any, p1: f.People, p1_round: int) -> None:
    users.ensure_user(
        ctx, user_id="city-nc", display_name="南昌市工信局王芳", role="city", region="360100"
    )
    instance_id = f.apply(p1["ent"], p1_round)
    task = p1["city"].task("city_review", instance_id)
    assert p1["city"].post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    row = next(t for t in p1["city"].inbox() if t["id"] == task["id"])
    assert row["assignee"] == "city-nc"
    assert row["assignee_name"] == "南昌市工信局王芳"
    assert row["completed_by_name"] is None
    assert p1["city"].get(f"/api/v1/tasks/{task['id']}").json["assignee_name"] == "南昌市工信局王芳"


def test_due_before_includes_a_task_due_at_that_instant(p1: f.People, p1_round: int) -> None:
    instance_id = f.start(p1["ent"], p1_round)["id"]
    (task,) = p1["ent"].inbox()
    assert task["instance_id"] == instance_id
    due = task["due_at"]  # the window's last day at 24:00: the next day's 00:00
    assert due.endswith("T00:00:00+08:00")
    assert [t["id"] for t in p1["ent"].inbox(due_before=due)] == [task["id"]]


def test_a_refusal_names_the_roles_in_chinese(p1: f.People) -> None:
    refused = p1["ent"].get("/api/v1/audit/events")
    assert refused.status_code == 403
    assert refused.json["detail"] == "仅限审计人员、省工信厅"
    assert "auditor" not in refused.json["detail"]


def test_a_growth_from_a_zero_base_shows_its_figures_not_blank(p1: f.People) -> None:
    figures = f.self_evaluation([], main_revenue_y2=0)
    del figures["evidence"]
    body = {"data": figures, "tier": "innovative", "uscc": f.uscc("360100", 1)}
    result = p1["ent"].post("/api/v1/evaluations/preview", json=body)
    assert result.status_code == 200, result.json
    (growth,) = [i for i in result.json["tiers"]["innovative"]["indicators"] if i["id"] == "INN-3"]
    assert growth["value"].startswith("无法计算（")
    assert "前年度主营业务收入 0万元" in growth["value"]
    assert growth["points"] == 0


def test_the_audit_log_names_each_step_by_its_name(p1: f.People, p1_round: int) -> None:
    # 操作记录's 环节 column: the step's name in the version the event happened under
    instance_id = f.start(p1["ent"], p1_round)["id"]
    evidence = p1["ent"].upload()["id"]
    p1["ent"].complete("self_evaluation", f.self_evaluation([evidence]), instance_id)
    found = p1["auditor"].get("/api/v1/audit/events", query_string={"instance_id": instance_id})
    assert found.status_code == 200, found.json
    named = {e["bpmn_id"]: e.get("element_name") for e in found.json["items"] if e["bpmn_id"]}
    assert named["self_evaluation"] == "企业自评"
    assert named["classify_size"] == "企业规模划型"


def test_a_review_shows_the_earlier_steps_with_their_conclusions(
    p1: f.People, p1_round: int
) -> None:
    # a later review reads the city's earlier conclusion and reason (the case data holds only
    # the latest `decision`), who gave them and when, with each choice's title
    ent, city = p1["ent"], p1["city"]
    instance_id = f.start(ent, p1_round)["id"]
    evidence = ent.upload()["id"]
    ent.complete("self_evaluation", f.self_evaluation([evidence]), instance_id)
    city.complete("city_review", {"decision": "return", "reason": "研发费用佐证不全"}, instance_id)
    ent.complete("correct_application", f.self_evaluation([evidence]), instance_id)
    review = city.task("city_review", instance_id)
    steps = city.get(f"/api/v1/tasks/{review['id']}").json["earlier_steps"]
    assert [s["bpmn_id"] for s in steps] == [
        "self_evaluation",
        "city_review",
        "correct_application",
    ]
    first_review = steps[1]
    assert first_review["submitted"]["decision"] == "return"
    assert first_review["submitted"]["reason"] == "研发费用佐证不全"
    assert first_review["fields"]["decision"]["title"]
    assert first_review["completed_by_name"]
    assert "evidence" not in steps[0]["submitted"]  # files are read with the case data
