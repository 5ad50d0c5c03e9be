"""What a migration says beyond elements: 流程参数 a case keeps, rule tables, the compare API."""

from __future__ import annotations

from typing import Any

from engine import registry
from tests import factories as f
from tests.api.test_migration import at_notice

P1 = "innovative_evaluation"
BASE = f"/api/v1/definitions/{P1}"
SETTINGS = {
    f.P1_BPMN: (
        "notice_working_days = 5        # 公示期（工作日）",
        "notice_working_days = 3        # 公示期（工作日）",
    )
}
PASS_LINE = {
    "rules/innovative_score.dmn": (
        '<outputEntry id="inn_thr_total_o1"><text>60</text>',
        '<outputEntry id="inn_thr_total_o1"><text>65</text>',
    )
}


def deploy(owner: f.Api, edits: dict[str, tuple[str, str]]) -> None:
    response = f.post_files(owner, "/api/v1/definitions", f.process_files(edits))
    assert response.status_code == 201, response.json


def test_preview_names_each_changed_setting_a_case_keeps_with_both_values(
    p1: f.People, p1_round: int
) -> None:
    noticed = at_notice(p1, p1_round)
    deploy(p1["owner"], SETTINGS)

    report = p1["owner"].get(f"{BASE}/migrations/preview", query_string={"from": 1, "to": 2}).json
    assert report["changes"]["settings"] == [
        {
            "file": f.P1_BPMN,
            "element_id": "settings",
            "name": "notice_working_days",
            "note": "公示期（工作日）",
            "old": 5,
            "new": 3,
            "change": "changed",
        }
    ]
    (check,) = report["instances"]
    assert check["instance_id"] == noticed
    assert check["settings_kept"] == [
        {
            "element_id": "settings",
            "name": "notice_working_days",
            "note": "公示期（工作日）",
            "case_value": 5,
            "new_value": 3,
        }
    ]


def test_the_migrated_history_records_the_settings_the_case_keeps(
    p1: f.People, p1_round: int
) -> None:
    noticed = at_notice(p1, p1_round)
    deploy(p1["owner"], SETTINGS)

    run = p1["owner"].post(f"{BASE}/migrations", json={"from": 1, "to": 2})
    assert run.json["summary"] == {"migrated": 1, "refused": 0}
    history = p1["auditor"].get(f"/api/v1/instances/{noticed}/history").json
    (event,) = [e for e in history if e["kind"] == "instance.migrated"]
    kept = event["data"]["settings_kept"]
    assert [(s["name"], s["case_value"], s["new_value"]) for s in kept] == [
        ("notice_working_days", 5, 3)
    ]
    assert event["data"]["changes"]["settings"][0]["old"] == 5


def rule_rows(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["decision_id"], r["rule"], r["column"], r["old"], r["new"]) for r in body["rules"]]


def test_a_rule_table_change_is_listed_by_the_dry_run_and_the_compare_api(
    p1: f.People, p1_round: int
) -> None:
    at_notice(p1, p1_round)
    deploy(p1["owner"], PASS_LINE)

    report = p1["owner"].get(f"{BASE}/migrations/preview", query_string={"from": 1, "to": 2}).json
    assert rule_rows(report["changes"]) == [("inn_thresholds", 1, "最低分（含）", "60", "65")]
    compared = p1["auditor"].get(f"{BASE}/changes", query_string={"from": 1, "to": 2})
    assert compared.status_code == 200, compared.json
    assert rule_rows(compared.json) == rule_rows(report["changes"])


def test_the_compare_api_names_a_changed_settings_value_and_the_old_and_new_script(
    p1: f.People,
) -> None:
    deploy(p1["owner"], SETTINGS)

    body = p1["auditor"].get(f"{BASE}/changes", query_string={"from": 1, "to": 2}).json
    assert [(s["name"], s["old"], s["new"]) for s in body["settings"]] == [
        ("notice_working_days", 5, 3)
    ]
    (settings,) = [c for c in body["changed"] if c["element_id"] == "settings"]
    assert "notice_working_days = 3" in settings["details"]["script"][1]


def draw_unavailable(**_: Any) -> dict[str, Any]:
    raise RuntimeError("sampling service unavailable")


def failed_city_review(p1: f.People, p1_round: int) -> tuple[str, str, str]:
    """An application whose 市级初审 failed at the draw: (case, task, incident)."""
    instance_id = f.apply(p1["ent"], p1_round)
    task_id = p1["city"].task("city_review", instance_id)["id"]
    with registry.override("sampling.draw", draw_unavailable):
        done = p1["city"].post(
            f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "approve"}}
        )
    assert done.status_code == 500, done.json
    return instance_id, task_id, done.json["incident_id"]


def open_incidents(user: f.Api) -> list[dict[str, Any]]:
    return user.get("/api/v1/incidents").json


def resolved(user: f.Api, instance_id: str) -> list[dict[str, Any]]:
    history = user.get(f"/api/v1/instances/{instance_id}/history").json
    return [e["data"] for e in history if e["kind"] == "incident.resolved"]


def test_incidents_list_the_case_version_and_the_latest_one(p1: f.People, p1_round: int) -> None:
    failed_city_review(p1, p1_round)
    deploy(p1["owner"], SETTINGS)

    (incident,) = open_incidents(p1["auditor"])
    assert incident["process_key"] == P1
    assert (incident["definition_version"], incident["latest_version"]) == (1, 2)
    assert incident["process_name"]


def test_a_retry_finding_the_task_done_closes_the_incident_saying_why(
    p1: f.People, p1_round: int
) -> None:
    instance_id, task_id, incident_id = failed_city_review(p1, p1_round)
    p1["city"].post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "approve"}})

    retried = p1["province"].post(f"/api/v1/incidents/{incident_id}/retry")
    assert retried.status_code == 200, retried.json
    assert open_incidents(p1["province"]) == []
    (data,) = resolved(p1["province"], instance_id)
    assert data["reason"] == "task-not-open"
    assert "无需再执行" in data["note"]


def test_a_migration_past_the_failed_step_closes_its_incident_in_the_history(
    p1: f.People, p1_round: int
) -> None:
    instance_id, task_id, _ = failed_city_review(p1, p1_round)
    p1["city"].post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "approve"}})
    deploy(p1["owner"], SETTINGS)

    moved = p1["owner"].post(f"{BASE}/migrations/instances/{instance_id}", json={"to": 2})
    assert moved.status_code == 200, moved.json
    assert open_incidents(p1["province"]) == []
    (data,) = resolved(p1["province"], instance_id)
    assert (data["by"], data["from_version"], data["to_version"]) == ("migration", 1, 2)
    assert "第 1 版迁移至第 2 版" in data["note"]
