"""Enterprises API: the province moves an enterprise to another region; bans (第十二条) by scope."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.context import EngineContext
from engine.store import Ban, Enterprise, HistoryEvent
from tests import factories as f

NANCHANG, GANZHOU = "360100", "360700"
ENT = f.uscc(NANCHANG, 1)
PERSON = {"name": "张三", "id_number": "36010219800101123X", "contact": "13800000000"}


@pytest.fixture
def more(ctx: EngineContext, client: FlaskClient, people: f.People) -> f.People:
    """Ganzhou staff, a Ganzhou enterprise, a member of the public."""
    return {
        "city_gz": f.user(ctx, client, role="city", user_id="city-gz", region=GANZHOU),
        "ent_gz": f.user(
            ctx,
            client,
            role="enterprise",
            user_id="ent-gz",
            uscc_code=f.uscc(GANZHOU, 3),
            region=GANZHOU,
        ),
        "public": f.user(ctx, client, role="public", user_id="zhangsan"),
    }


def move(api: f.Api, uscc: str = ENT, **body: Any) -> Any:
    payload = {"region": GANZHOU, "reason": "企业住所迁至赣州市，登记机关已变更"} | body
    return api.post(f"/api/v1/enterprises/{uscc}/region", json=payload)


def register(ctx: EngineContext, uscc: str, tier: str = "innovative") -> str:
    return f.issue_qualification(
        ctx, uscc_code=uscc, tier=tier, region=NANCHANG
    ).lifecycle_instance_id


# -- POST /enterprises/{uscc}/region ---------------------------------------------------------


def test_province_moves_an_enterprise_and_its_open_tasks_to_another_city(
    ctx: EngineContext, people: f.People, more: f.People, round_id: int
) -> None:
    city, city_gz = people["city"], more["city_gz"]
    application = f.apply(people["ent"], round_id)
    task = city.task("city_review", application)

    response = move(people["province"])

    assert response.status_code == 200, response.json
    assert response.json == {
        "uscc": ENT,
        "from_region": NANCHANG,
        "to_region": GANZHOU,
        "cases": [application],
    }
    assert city.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert city.get(f"/api/v1/instances/{application}").status_code == 404
    assert city_gz.task("city_review", application)["region"] == GANZHOU
    with ctx.reading() as session:
        assert session.get(Enterprise, ENT).region == GANZHOU
        event = session.scalars(
            select(HistoryEvent).where(
                HistoryEvent.stream == f"instance:{application}",
                HistoryEvent.kind == "region.reassigned",
            )
        ).one()
    assert (event.actor, event.data["from"], event.data["to"]) == ("prov", NANCHANG, GANZHOU)
    assert event.data["tasks"] == [task["id"]]
    assert "登记机关已变更" in event.data["reason"]
    city_gz.complete("city_review", {"decision": "approve"}, application)


def test_a_complaint_handled_by_the_city_follows_the_enterprise(
    ctx: EngineContext, people: f.People, more: f.People
) -> None:
    lifecycle_id = register(ctx, ENT)
    public, city, city_gz = more["public"], people["city"], more["city_gz"]
    evidence = public.upload(b"%PDF proof", "proof.pdf")["id"]
    filed = public.post(
        "/api/v1/complaints",
        json={
            "uscc": ENT,
            "content": "研发费用不实",
            "evidence": [evidence],
            "complainant": PERSON,
        },
    )
    assert filed.status_code == 201, filed.json
    complaint = filed.json["id"]
    assert city.get(f"/api/v1/complaints/{complaint}").json["complainant"]["name"] == "张三"

    moved = move(people["province"])

    assert moved.status_code == 200, moved.json
    assert sorted(moved.json["cases"]) == sorted([lifecycle_id, complaint])
    assert city.get(f"/api/v1/complaints/{complaint}").status_code == 404
    assert city_gz.get(f"/api/v1/complaints/{complaint}").json["complainant"]["name"] == "张三"
    city_gz.complete("city_accept", {"decision": "accept", "reason": "受理"}, complaint)


@pytest.mark.parametrize("who", ["city", "ent", "auditor", "owner", "public"])
def test_only_the_province_may_move_an_enterprise(
    ctx: EngineContext, people: f.People, more: f.People, who: str
) -> None:
    response = move((people | more)[who])
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/forbidden")
    with ctx.reading() as session:
        assert session.get(Enterprise, ENT).region == NANCHANG


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"region": "360199"}, "region"),  # not a region of Jiangxi
        ({"region": "outside"}, "region"),  # leaving Jiangxi is a 重大变化 case, not a move
        ({"region": NANCHANG}, "region"),  # already there
        ({"reason": "   "}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": None}, "reason"),
    ],
)
def test_a_bad_move_is_refused_naming_the_field(
    ctx: EngineContext, people: f.People, body: dict[str, Any], field: str
) -> None:
    response = move(people["province"], **body)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    with ctx.reading() as session:
        assert session.get(Enterprise, ENT).region == NANCHANG


def test_moving_an_unknown_enterprise_is_404(people: f.People) -> None:
    response = move(people["province"], uscc=f.uscc(NANCHANG, 9))
    assert response.status_code == 404
    assert response.json["type"].endswith("/not-found")


# -- GET /bans ---------------------------------------------------------------------------------


def add_ban(ctx: EngineContext, uscc: str, starts_on: date, ends_on: date) -> None:
    """A ban as an earlier 第十二条 case recorded it."""
    with ctx.transaction() as session:
        session.add(
            Ban(
                uscc=uscc,
                starts_on=starts_on,
                ends_on=ends_on,
                reason="存在偷税漏税等违法违规行为：补缴税款",
                basis="第十二条",
                created_at=ctx.now(),
                created_by="prov",
            )
        )


@pytest.fixture
def bans(ctx: EngineContext, people: f.People, more: f.People) -> str:
    """ENT banned by a confirmed incident today; ent-2 banned 2021–2024; the Ganzhou one now."""
    register(ctx, ENT)
    province = people["province"]
    case = province.post(
        "/api/v1/instances", json={"process_key": "article12_incident", "uscc": ENT}
    ).json["id"]
    province.complete(
        "province_confirm",
        {
            "incident_type": "environmental_accident",
            "occurred_on": "2025-08-20",
            "description": "废水超标排放",
            "evidence": [province.upload()["id"]],
            "decision": "confirm",
        },
        case,
    )
    add_ban(ctx, f.uscc(NANCHANG, 2), date(2021, 1, 1), date(2024, 1, 1))
    add_ban(ctx, f.uscc(GANZHOU, 3), date(2025, 3, 1), date(2028, 3, 1))
    return case


def listed(api: f.Api, **query: Any) -> list[str]:
    response = api.get("/api/v1/bans", query_string=query)
    assert response.status_code == 200, response.json
    assert response.json["total"] == len(response.json["items"])
    return [b["uscc"] for b in response.json["items"]]


def test_bans_are_listed_by_scope(people: f.People, more: f.People, bans: str) -> None:
    everyone = [ENT, f.uscc(GANZHOU, 3), f.uscc(NANCHANG, 2)]  # latest start first
    assert listed(people["province"]) == everyone
    assert listed(people["auditor"]) == everyone
    assert listed(people["city"]) == [ENT, f.uscc(NANCHANG, 2)]
    assert listed(more["city_gz"]) == [f.uscc(GANZHOU, 3)]
    assert listed(people["ent"]) == [ENT]
    assert listed(people["ent2"]) == [f.uscc(NANCHANG, 2)]
    for who in (more["public"], people["owner"]):
        response = who.get("/api/v1/bans")
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"


def test_a_ban_shows_its_dates_reason_and_case(people: f.People, bans: str) -> None:
    [ban] = people["ent"].get("/api/v1/bans").json["items"]
    assert (ban["starts_on"], ban["ends_on"], ban["active"]) == ("2025-09-01", "2028-09-01", True)
    assert (ban["instance_id"], ban["created_by"], ban["basis"]) == (bans, "prov", "第十二条")
    assert "重大环境污染事故" in ban["reason"]
    assert (ban["enterprise_name"], ban["region"]) == ("洪城精密机械有限公司", NANCHANG)
    [old] = people["ent2"].get("/api/v1/bans").json["items"]
    assert old["active"] is False


def test_bans_filter_by_enterprise_and_by_the_day_in_force(
    people: f.People, more: f.People, bans: str
) -> None:
    province = people["province"]
    assert listed(province, uscc=f.uscc(NANCHANG, 2)) == [f.uscc(NANCHANG, 2)]
    assert listed(province, active_on="2023-06-01") == [f.uscc(NANCHANG, 2)]
    assert listed(province, active_on="2026-01-01") == [ENT, f.uscc(GANZHOU, 3)]
    assert listed(province, active_on="2028-09-01") == []  # ends_on: applications allowed again
    assert listed(province, active="true") == [ENT, f.uscc(GANZHOU, 3)]  # today, 2025-09-01
    assert listed(people["city"], uscc=f.uscc(GANZHOU, 3)) == []  # not in its region
    bad = province.get("/api/v1/bans", query_string={"active_on": "2026-13-01"})
    assert bad.status_code == 422
    assert "active_on" in bad.json["errors"]
    paged = province.get("/api/v1/bans", query_string={"per_page": 1, "page": 2}).json
    assert (paged["total"], [b["uscc"] for b in paged["items"]]) == (3, [f.uscc(GANZHOU, 3)])


def test_a_city_sees_the_bans_of_the_enterprises_it_is_now_responsible_for(
    people: f.People, more: f.People, bans: str
) -> None:
    assert move(people["province"]).status_code == 200
    assert listed(people["city"]) == [f.uscc(NANCHANG, 2)]
    assert listed(more["city_gz"]) == [ENT, f.uscc(GANZHOU, 3)]
