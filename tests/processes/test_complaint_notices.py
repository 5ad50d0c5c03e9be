"""P6 complaints (第十三条): who is told what, and how its deadlines read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine import instances
from tests import factories as f

REGION = "360100"
PERSON = {"name": "张三", "id_number": "36010219800101123X", "contact": "13800000000"}


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["public"] = f.user(ctx, client, role="public", user_id="zhangsan")
    return cast


def file(public: f.Api, uscc: str) -> str:
    body = {
        "uscc": uscc,
        "subject": "研发投入不实",
        "content": "该企业申报的研发费用与实际不符",
        "evidence": [public.upload(b"%PDF evidence", "proof.pdf")["id"]],
        "complainant": PERSON,
    }
    response = public.post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def titles(api: f.Api) -> list[str]:
    return [n["title"] for n in api.get("/api/v1/notifications").json["items"]]


def bodies(api: f.Api, kind: str) -> list[str]:
    return [n["body"] for n in api.get("/api/v1/notifications").json["items"] if n["kind"] == kind]


def test_only_a_complaint_the_enterprise_was_asked_to_answer_is_notified_to_it(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    f.issue_qualification(ctx, uscc_code=uscc, tier="innovative", region=REGION)
    city, ent = people["city"], people["ent"]
    refused = file(people["public"], uscc)
    city.complete("city_accept", {"decision": "refuse", "reason": "非信息真实性问题"}, refused)
    assert titles(people["public"]) == ["投诉处理结果：不予受理"]
    assert titles(ent) == []  # never asked to answer, it does not know of the complaint

    accepted = file(people["public"], uscc)
    city.complete("city_accept", {"decision": "accept", "reason": "受理"}, accepted)
    ent.complete("enterprise_answer", {"statement": "我司研发费用真实"}, accepted)
    city.complete(
        "city_decide",
        {"decision": "dismissed", "severity": "minor", "reason": "经核查研发费用属实"},
        accepted,
    )
    assert titles(ent) == ["投诉处理结果：投诉不成立"]


def test_reminders_name_the_last_day_of_a_deadline_until_24_00(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    f.issue_qualification(ctx, uscc_code=uscc, tier="innovative", region=REGION)
    city, ent = people["city"], people["ent"]
    case_id = file(people["public"], uscc)
    city.complete("city_accept", {"decision": "accept", "reason": "受理"}, case_id)
    assert ent.task("enterprise_answer", case_id)["due_at"] == "2025-09-16T00:00:00+08:00"
    clock.advance(timedelta(days=12))  # 13 September: three days before the deadline
    instances.fire_due(ctx)
    (reminder,) = bodies(ent, "reminder")
    assert reminder.startswith("请在 2025-09-15 24:00 前答复主管部门转来的投诉")

    ent.complete("enterprise_answer", {"statement": "我司研发费用真实"}, case_id)
    decision = {
        "decision": "rectification",
        "severity": "minor",
        "rectification_days_decided": 20,
        "reason": "部分数据口径有误",
    }
    city.complete("city_decide", decision, case_id)
    assert ent.task("rectify", case_id)["due_at"] == "2025-10-04T00:00:00+08:00"
    clock.advance(timedelta(days=15))  # 28 September: within a week of the deadline
    instances.fire_due(ctx)
    assert "请在 2025-10-03 24:00 前完成整改并提交整改报告（第十三条）。" in bodies(ent, "reminder")
