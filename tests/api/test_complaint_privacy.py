"""第十三条: the complainant's identity stays with the handling authority and auditors.

The enterprise a complaint names does not find the case until the authority asks it to respond;
then it reads the case, but its history, export and detail name the filer only as 投诉人. So do
they to the province and other staff for a complaint a city handles. The stored history is
what happened (the chain still verifies); the identity is withheld when it is read.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import select

from engine import users
from engine.store import HistoryEvent
from tests import factories as f

REGION = "360100"
PERSON = {"name": "张三", "id_number": "36010219800101123X", "contact": "13800000000"}
IDENTITY = ("zhangsan", "张三", PERSON["id_number"], PERSON["contact"])


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["public"] = f.user(ctx, client, role="public", user_id="zhangsan")
    users.ensure_user(ctx, user_id="zhangsan", display_name="张三", role="public")
    cast["city_gz"] = f.user(ctx, client, role="city", user_id="city-gz", region="360700")
    return cast


@pytest.fixture
def case_id(ctx, people) -> str:  # type: ignore[no-untyped-def]
    """A complaint by 张三 about the enterprise `ent`'s 创新型 qualification (the city's)."""
    uscc = f.uscc(REGION, 1)
    f.issue_qualification(ctx, uscc_code=uscc, tier="innovative", region=REGION)
    public = people["public"]
    filed = public.post(
        "/api/v1/complaints",
        json={
            "uscc": uscc,
            "subject": "研发投入不实",
            "content": "该企业申报的研发费用与实际不符（张三 13800000000）",
            "evidence": [public.upload(b"%PDF evidence", "proof.pdf")["id"]],
            "complainant": PERSON,
        },
    )
    assert filed.status_code == 201, filed.json
    assert filed.json["authority"] == "city"
    return str(filed.json["id"])


def history(api: f.Api, case_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/instances/{case_id}/history")
    assert response.status_code == 200, response.json
    return response.json


def export(api: f.Api, case_id: str, fmt: str) -> Any:
    response = api.get(f"/api/v1/audit/instances/{case_id}/export", query_string={"format": fmt})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def started(events: list[dict[str, Any]]) -> dict[str, Any]:
    return next(e for e in events if e["kind"] == "instance.started")


def assert_withheld(api: f.Api, case_id: str) -> None:
    """Every read of the case's history names the filer 投诉人 and carries no identity."""
    events = history(api, case_id)
    first = started(events)
    assert (first["actor"], first["actor_name"]) == ("complainant", "投诉人")
    assert first["data"]["start_data"]["subject"] == "研发投入不实"
    exported = json.loads(export(api, case_id, "json"))
    rows = list(csv.DictReader(io.StringIO(export(api, case_id, "csv"))))
    assert [r["操作人账号"] for r in rows] == [e["actor"] for e in events]
    assert rows[0]["操作人"] == "投诉人"
    case = api.get(f"/api/v1/instances/{case_id}").json
    assert case["started_by"] == "complainant"
    for seen in (json.dumps(events, ensure_ascii=False), json.dumps(exported), str(rows), case):
        for word in IDENTITY:
            assert word not in str(seen)


def assert_shown(api: f.Api, case_id: str) -> None:
    first = started(history(api, case_id))
    assert (first["actor"], first["actor_name"]) == ("zhangsan", "张三")
    assert "张三" in first["data"]["start_data"]["content"]
    assert "张三" in export(api, case_id, "csv")
    assert api.get(f"/api/v1/instances/{case_id}").json["started_by"] == "zhangsan"


def listed(api: f.Api, **query: Any) -> list[str]:
    response = api.get("/api/v1/instances", query_string={"per_page": 200, **query})
    assert response.status_code == 200, response.json
    return [i["id"] for i in response.json["items"]]


def test_the_enterprise_finds_no_complaint_before_the_authority_accepts_it(people, case_id) -> None:  # type: ignore[no-untyped-def]
    ent = people["ent"]
    assert case_id not in listed(ent, process_key="complaint")
    assert case_id not in listed(ent)
    assert listed(ent, process_key="complaint", status="running") == []
    for path in ("", "/history", "/position"):
        assert ent.get(f"/api/v1/instances/{case_id}{path}").status_code == 404
    for fmt in ("json", "csv"):
        url = f"/api/v1/audit/instances/{case_id}/export"
        assert ent.get(url, query_string={"format": fmt}).status_code == 404
    assert ent.get(f"/api/v1/complaints/{case_id}").status_code == 404
    # the authority's refusal ends it: the enterprise never had to answer, never sees it
    people["city"].complete("city_accept", {"decision": "refuse", "reason": "非信息真实性问题"})
    assert people["auditor"].get(f"/api/v1/instances/{case_id}").json["status"] == "completed"
    assert case_id not in listed(ent, process_key="complaint")
    assert ent.get(f"/api/v1/instances/{case_id}/history").status_code == 404


def test_asked_to_respond_the_enterprise_reads_the_case_without_the_complainant(
    ctx, people, case_id
) -> None:  # type: ignore[no-untyped-def]
    people["city"].complete(
        "city_accept", {"decision": "accept", "reason": "属于信息真实性问题"}, case_id
    )
    ent = people["ent"]
    assert listed(ent, process_key="complaint") == [case_id]
    assert ent.task("enterprise_answer", case_id)
    assert_withheld(ent, case_id)
    # the province reads a city's complaint without the identity too; MIIT does not read a
    # complaint about an enterprise holding no 小巨人 at all
    assert_withheld(people["province"], case_id)
    miit = f.user(ctx, people["ent"].client, role="miit", user_id="miit")
    assert miit.get(f"/api/v1/instances/{case_id}/history").status_code == 404
    assert people["city_gz"].get(f"/api/v1/instances/{case_id}/history").status_code == 404
    assert case_id not in listed(people["ent2"], process_key="complaint")

    # the handling city and the auditor see who complained
    assert_shown(people["city"], case_id)
    assert_shown(people["auditor"], case_id)

    ent.complete("enterprise_answer", {"statement": "我司研发费用真实"}, case_id)
    assert_withheld(ent, case_id)

    # what is stored is what happened, and the chain still verifies
    with ctx.reading() as session:
        actor = session.scalars(
            select(HistoryEvent.actor).where(
                HistoryEvent.stream == f"instance:{case_id}", HistoryEvent.seq == 1
            )
        ).one()
    assert actor == "zhangsan"
    verified = people["auditor"].get("/api/v1/audit/verify").json
    assert verified == {"ok": True, "problems": []}


def test_the_audit_events_withhold_the_complainant_from_the_province_only(people, case_id) -> None:  # type: ignore[no-untyped-def]
    url = "/api/v1/audit/events"
    by_case = people["province"].get(url, query_string={"instance_id": case_id}).json["items"]
    assert started(by_case)["actor"] == "complainant"
    assert "张三" not in json.dumps(by_case, ensure_ascii=False)
    # a search by person does not tell the province who filed it (nor its evidence upload)
    by_person = people["province"].get(url, query_string={"actor": "zhangsan"}).json
    assert (by_person["items"], by_person["total"]) == ([], 0)
    everything: list[dict[str, Any]] = []
    for page in range(1, 50):
        found = people["province"].get(url, query_string={"page": page, "per_page": 200}).json
        everything += found["items"]
        if len(everything) >= found["total"]:
            break
    assert {"instance.started", "file.uploaded"} <= {e["kind"] for e in everything}
    assert "zhangsan" not in json.dumps(everything)
    assert "张三" not in json.dumps(everything, ensure_ascii=False)

    audited = people["auditor"].get(url, query_string={"actor": "zhangsan"}).json["items"]
    assert {e["kind"] for e in audited} == {"instance.started", "file.uploaded"}
    assert started([e for e in audited if e["instance_id"] == case_id])["actor_name"] == "张三"
