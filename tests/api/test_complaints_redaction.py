"""第十三条: the complainant's identity stays with the handling authority and auditors, in every
read of a complaint case (its tasks, the case a command answers with, its evidence's name) and in
everything the case sends out (the revocation message and what the lifecycle records of it, the
ban, notifications). A city recording a complaint on a person's behalf is named as itself. 公示
objections: who objected is read by staff and auditors, never by the enterprise.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from engine import queries
from engine.context import Actor
from engine.store import Ban, HumanTask, Message, Qualification
from tests import factories as f

REGION = "360100"
PERSON = {"name": "张三", "id_number": "36010219800101123X", "contact": "13800000000"}
IDENTITY = ("zhangsan", "张三", PERSON["id_number"], PERSON["contact"])
CONTENT = "该企业申报的研发费用与实际不符（张三 13800000000）"


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["public"] = f.user(ctx, client, role="public", user_id="zhangsan")
    return cast


def file_complaint(ctx, filer: f.Api, evidence_name: str = "proof.pdf") -> str:  # type: ignore[no-untyped-def]
    """A complaint by 张三 (filed by `filer`) about `ent`'s 创新型 qualification (the city's)."""
    uscc = f.uscc(REGION, 1)
    f.issue_qualification(ctx, uscc_code=uscc, tier="innovative", region=REGION)
    filed = filer.post(
        "/api/v1/complaints",
        json={
            "uscc": uscc,
            "subject": "研发投入不实",
            "content": CONTENT,
            "evidence": [filer.upload(b"%PDF evidence", evidence_name)["id"]],
            "complainant": PERSON,
        },
    )
    assert filed.status_code == 201, filed.json
    assert filed.json["authority"] == "city"
    return str(filed.json["id"])


def leaked(value: Any) -> list[str]:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return [word for word in IDENTITY if word in text]


def detail(api: f.Api, bpmn_id: str, case_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/tasks/{api.task(bpmn_id, case_id)['id']}")
    assert response.status_code == 200, response.json
    return response.json


def test_the_enterprise_reads_its_complaint_tasks_and_answers_without_the_complainant(
    ctx, people
) -> None:  # type: ignore[no-untyped-def]
    case_id = file_complaint(ctx, people["public"])
    city, ent = people["city"], people["ent"]
    accepted = city.complete(
        "city_accept", {"decision": "accept", "reason": "张三反映的问题属于信息真实性问题"}, case_id
    )
    assert accepted["started_by"] == "zhangsan"  # the authority knows who complained

    task = detail(ent, "enterprise_answer", case_id)
    assert task["data"]["subject"] == "研发投入不实"
    assert task["data"]["content"] == "该企业申报的研发费用与实际不符（（已隐去） （已隐去））"
    assert task["data"]["reason"] == "（已隐去）反映的问题属于信息真实性问题"
    assert leaked(task) == []

    # the case a completed task answers with names the filer 投诉人, as GET /instances/{id}
    answered = ent.complete("enterprise_answer", {"statement": "我司研发费用真实"}, case_id)
    assert answered["id"] == case_id
    assert answered["started_by"] == "complainant"
    assert leaked(answered) == []

    decide = detail(city, "city_decide", case_id)  # the authority reads the identity
    assert decide["data"]["content"] == CONTENT
    assert "张三" in decide["data"]["reason"]


def test_a_decision_naming_the_complainant_leaves_the_case_without_them(ctx, people) -> None:  # type: ignore[no-untyped-def]
    case_id = file_complaint(ctx, people["public"])
    city, ent = people["city"], people["ent"]
    city.complete("city_accept", {"decision": "accept", "reason": "受理"}, case_id)
    ent.complete("enterprise_answer", {"statement": "我司研发费用真实"}, case_id)
    reason = "经查张三（13800000000）举报属实"
    decision = {
        "decision": "revocation",
        "fraud_confirmed": True,
        "severity": "serious",
        "reason": reason,
    }
    city.complete("city_decide", decision, case_id)
    case = people["auditor"].get(f"/api/v1/instances/{case_id}").json
    assert (case["status"], case["outcome"]) == ("completed", "revoked")

    # the ban (GET /bans), the revoked qualification and its lifecycle's history
    bans = ent.get("/api/v1/bans").json["items"]
    assert len(bans) == 1
    assert "经查（已隐去）（（已隐去））举报属实" in bans[0]["reason"]
    with ctx.reading() as session:
        q = session.scalars(select(Qualification)).one()
        assert q.status == "revoked"
        assert "经查（已隐去）（（已隐去））举报属实" in q.status_reason
        lifecycle_id = q.lifecycle_instance_id
        stored = [
            *session.scalars(select(Ban.reason)),
            *session.scalars(select(Message.payload)),
        ]
    assert stored
    assert leaked(stored) == []
    lifecycle = ent.get(f"/api/v1/instances/{lifecycle_id}/history")
    assert lifecycle.status_code == 200, lifecycle.json
    assert any(e["kind"] == "qualification.changed" for e in lifecycle.json)
    assert leaked(lifecycle.json) == []
    # the enterprise's notices of the outcome
    notes = ent.get("/api/v1/notifications").json["items"]
    assert [n["title"] for n in notes] == ["投诉处理结果：已撤销资格"]
    assert leaked(notes) == []

    # the case itself keeps what was decided, for the authority and auditors
    for who in ("city", "auditor"):
        events = people[who].get(f"/api/v1/instances/{case_id}/history").json
        decided = next(
            e for e in events if e["kind"] == "task.completed" and e["bpmn_id"] == "city_decide"
        )
        assert reason in json.dumps(decided["data"], ensure_ascii=False)
    assert people["auditor"].get("/api/v1/audit/verify").json == {"ok": True, "problems": []}


def test_a_city_filing_a_complaint_it_handles_is_named_as_itself(ctx, people) -> None:  # type: ignore[no-untyped-def]
    city, ent = people["city"], people["ent"]
    case_id = file_complaint(ctx, city)  # recorded by the city, on 张三's behalf
    city.complete("city_accept", {"decision": "accept", "reason": "受理"}, case_id)
    ent.complete("enterprise_answer", {"statement": "我司研发费用真实"}, case_id)

    events = ent.get(f"/api/v1/instances/{case_id}/history").json
    by_kind = {(e["kind"], e["bpmn_id"]): e for e in events}
    assert by_kind[("instance.started", None)]["actor"] == city.user_id
    assert by_kind[("task.completed", "city_accept")]["actor"] == city.user_id
    assert "complainant" not in {e["actor"] for e in events}
    assert leaked(events) == []  # the person's identity is still withheld
    case = ent.get(f"/api/v1/instances/{case_id}").json
    assert case["started_by"] == city.user_id


def test_the_evidence_file_name_is_withheld_as_its_history_withholds_it(ctx, people) -> None:  # type: ignore[no-untyped-def]
    case_id = file_complaint(ctx, people["public"], evidence_name="张三的证据.pdf")
    started = people["auditor"].get(f"/api/v1/instances/{case_id}/history").json[0]
    file_id = started["data"]["start_data"]["evidence"][0]

    def name(who: str) -> str:
        response = people[who].get(f"/api/v1/files/{file_id}")
        assert response.status_code == 200, response.json
        return unquote(response.headers["Content-Disposition"])

    assert "（已隐去）的证据.pdf" in name("province")  # a city's complaint: no identity for it
    assert "张三" not in name("province")
    for who in ("city", "auditor", "public"):  # the authority, auditors, the uploader
        assert "张三的证据.pdf" in name(who), who


def in_notice(people: f.People, round_id: int) -> str:
    """An innovative-SME application approved by the city and now in its 市级公示."""
    case = f.apply(people["ent"], round_id)
    city = people["city"]
    city.complete("city_review", {"decision": "approve", "flag_for_spot_check": False}, case)
    f.pass_spot_check_if_drawn(city, "city_spot_check", case)
    return case


def export(api: f.Api, case_id: str, fmt: str) -> str:
    response = api.get(f"/api/v1/audit/instances/{case_id}/export", query_string={"format": fmt})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_enterprise_reads_an_objection_without_who_raised_it(ctx, p1, p1_round) -> None:  # type: ignore[no-untyped-def]
    case = in_notice(p1, p1_round)
    city, ent = p1["city"], p1["ent"]
    objection = {"submitted_by": "张三 13800000000", "content": "研发人员数量不实"}
    assert city.post(f"/api/v1/instances/{case}/objections", json=objection).status_code == 200
    assert detail(city, "city_objection_review", case)["data"]["objection"] == objection
    city.complete(
        "city_objection_review", {"decision": "dismissed", "reason": "张三所称不实"}, case
    )

    events = ent.get(f"/api/v1/instances/{case}/history").json
    received = next(e for e in events if e["kind"] == "message.received")
    assert "研发人员数量不实" in json.dumps(received["data"], ensure_ascii=False)
    rows = list(csv.DictReader(io.StringIO(export(ent, case, "csv"))))
    for seen in (events, export(ent, case, "json"), rows):
        assert leaked(seen) == []
    assert "（已隐去）所称不实" in json.dumps(events, ensure_ascii=False)
    for staff in (city, p1["province"], p1["auditor"]):  # staff and auditors read who objected
        history = staff.get(f"/api/v1/instances/{case}/history").json
        assert "张三 13800000000" in json.dumps(history, ensure_ascii=False)

    # task data carrying the objection reads so too (an enterprise's task after it, if any)
    with ctx.reading() as session:
        review = session.scalars(
            select(HumanTask).where(
                HumanTask.instance_id == case, HumanTask.bpmn_id == "city_objection_review"
            )
        ).one()
    enterprise = Actor(id=ent.user_id, role="enterprise", uscc=review.uscc)
    read = queries.readable_task_data(ctx, enterprise, review, {"data": review.data})
    assert read["data"]["objection"] == {
        "submitted_by": "（已隐去）",
        "content": "研发人员数量不实",
    }
    staff = Actor(id=city.user_id, role="city", region=REGION)
    assert queries.readable_task_data(ctx, staff, review, review.data)["objection"] == objection
