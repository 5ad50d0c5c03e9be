"""Starting a case and working a task: refusals name the field and read in Chinese."""

from __future__ import annotations

from datetime import date

import pytest

from engine.context import EngineContext
from tests import factories as f

SPECIALIZED = "specialized_certification"


def cases(user: f.Api) -> int:
    return user.get("/api/v1/instances").json["total"]


@pytest.mark.parametrize("process_key", ["major_change", "article12_incident"])
def test_a_case_about_an_enterprise_started_by_staff_names_the_enterprise(
    people: f.People, process_key: str
) -> None:
    province = people["province"]
    refused = province.post("/api/v1/instances", json={"process_key": process_key})
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"] == {"uscc": ["必填：所涉企业的统一社会信用代码"]}
    assert cases(province) == 0  # before: a case about nobody, business key "-:<id>"


def test_an_application_by_staff_names_the_enterprise(people: f.People, round_id: int) -> None:
    body = {"process_key": "innovative_evaluation", "round_id": round_id}
    refused = people["province"].post("/api/v1/instances", json=body)
    assert refused.status_code == 422, refused.json
    assert list(refused.json["errors"]) == ["uscc"]


def test_a_round_of_another_procedure_is_named_as_such(
    ctx: EngineContext, people: f.People, round_id: int
) -> None:
    # round_id is a round of P1 (创新型): applying with it to P2 names the procedure it belongs to
    f.grant_qualification(ctx, uscc_code=f.uscc(f.P1_REGION, 1), tier="innovative")
    body = {"process_key": SPECIALIZED, "round_id": round_id}
    refused = people["ent"].post("/api/v1/instances", json=body)
    assert refused.status_code == 422, refused.json  # before: 404 申报批次不存在
    assert refused.json["errors"] == {
        "round_id": ["该批次属于创新型中小企业评价，请选择专精特新中小企业认定的批次"]
    }
    assert "创新型中小企业评价" in refused.json["detail"]
    missing = people["ent"].post(
        "/api/v1/instances", json={"process_key": SPECIALIZED, "round_id": round_id + 99}
    )
    assert (missing.status_code, missing.json["detail"]) == (404, "申报批次不存在")
    assert cases(people["ent"]) == 0


def test_a_reason_of_spaces_only_is_empty(p1: f.People, p1_round: int) -> None:
    case = f.apply(p1["ent"], p1_round)
    task = p1["city"].task("city_review", case)
    refused = p1["city"].post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"data": {"decision": "reject", "reason": "   \n"}},
    )
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"] == {"reason": ["不能为空"]}  # before: 格式不正确


def test_completing_a_finished_task_names_its_state_in_chinese(p1: f.People, p1_round: int) -> None:
    case = f.apply(p1["ent"], p1_round)
    task = p1["city"].task("city_review", case)
    url = f"/api/v1/tasks/{task['id']}/complete"
    assert p1["city"].post(url, json={"data": {"decision": "approve"}}).status_code == 200
    again = p1["city"].post(url, json={"data": {"decision": "approve"}})
    assert again.status_code == 409
    assert again.json["detail"] == "任务状态为已完成，不能再办理"  # before: 任务状态为 completed


def test_an_enterprise_asking_for_a_rounds_list_is_told_who_may_in_chinese(
    p1: f.People, p1_round: int
) -> None:
    for url in (
        f"/api/v1/rounds/{p1_round}/exports/city-report",
        f"/api/v1/rounds/{p1_round}/cases",
    ):
        refused = p1["ent"].get(url)
        assert refused.status_code == 403
        assert refused.json["detail"] == (
            "批次名单仅供市级主管部门、省工信厅、工业和信息化部、审计人员查看"
        )  # before: 需要角色：city, province, miit, auditor


def test_the_round_prerequisite_of_p1_is_none(p1: f.People, p1_round: int) -> None:
    found = p1["ent"].get(f"/api/v1/rounds/{p1_round}/prerequisite")
    assert found.status_code == 200, found.json
    assert found.json == {
        "round_id": p1_round,
        "process_key": "innovative_evaluation",
        "requires_qualification": None,
        "requires_qualification_name": None,
        "held": None,
        "reason": None,
    }
    assert p1["ent"].get("/api/v1/rounds/999999/prerequisite").status_code == 404


def test_the_round_prerequisite_says_whether_the_enterprise_holds_it(
    ctx: EngineContext, people: f.People
) -> None:
    little_giant = f.open_round_of(
        people["province"], "little_giant_recommendation", opens_on=date(2025, 9, 1)
    )["id"]
    url = f"/api/v1/rounds/{little_giant}/prerequisite"
    found = people["ent"].get(url).json
    assert (found["requires_qualification"], found["held"], found["reason"]) == (
        "specialized",
        False,
        "需先持有有效的专精特新中小企业资格",
    )
    refused = people["ent"].post(
        "/api/v1/instances",
        json={"process_key": "little_giant_recommendation", "round_id": little_giant},
    )
    assert refused.status_code == 409  # what the inbox no longer offers
    f.grant_qualification(ctx, uscc_code=f.uscc(f.P1_REGION, 1), tier="specialized")
    assert people["ent"].get(url).json["held"] is True
    assert people["ent2"].get(url).json["held"] is False
    staff = people["province"].get(url).json
    assert (staff["requires_qualification_name"], staff["held"]) == ("专精特新中小企业", None)
