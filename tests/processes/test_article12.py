"""第十二条: a confirmed incident revokes every qualification and bans applications."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.context import EngineContext
from engine.store import Ban, Qualification
from tests import factories as f

REGION = "360100"


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["miit"] = f.user(ctx, client, role="miit", user_id="miit")
    return cast


def register(ctx: EngineContext, uscc: str, tier: str, issued_on: date = date(2025, 8, 1)) -> str:
    """A qualification with its lifecycle, as its certification case would issue it."""
    return f.issue_qualification(
        ctx, uscc_code=uscc, tier=tier, region=REGION, issued_on=issued_on
    ).number


def statuses(ctx: EngineContext, uscc: str) -> dict[str, str]:
    with ctx.reading() as session:
        return {
            q.tier: q.status
            for q in session.scalars(select(Qualification).where(Qualification.uscc == uscc))
        }


def report(province: f.Api, uscc: str, decision: str = "confirm") -> str:
    case = province.post(
        "/api/v1/instances", json={"process_key": "article12_incident", "uscc": uscc}
    )
    assert case.status_code == 201, case.json
    province.complete(
        "province_confirm",
        {
            "incident_type": "environmental_accident",
            "occurred_on": "2025-08-20",
            "description": "厂区废水超标排放，造成重大环境污染",
            "evidence": [province.upload()["id"]],
            "decision": decision,
        },
        case.json["id"],
    )
    return case.json["id"]


def test_confirmed_incident_revokes_all_three_tiers_and_bans_applications_for_three_years(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    ent, province = people["ent"], people["province"]
    uscc = f.uscc(REGION, 1)
    for tier in ("innovative", "specialized", "little_giant"):
        register(ctx, uscc, tier)
    case_id = report(province, uscc)

    assert statuses(ctx, uscc) == {
        "innovative": "revoked",
        "specialized": "revoked",
        "little_giant": "revoked",
    }
    case = province.get(f"/api/v1/instances/{case_id}").json
    assert (case["status"], case["outcome"]) == ("completed", "revoked")
    with ctx.reading() as session:
        ban = session.scalars(select(Ban).where(Ban.uscc == uscc)).one()
        q = session.scalars(select(Qualification).where(Qualification.tier == "little_giant")).one()
    assert (ban.starts_on, ban.ends_on, ban.instance_id) == (
        date(2025, 9, 1),
        date(2028, 9, 1),
        case_id,
    )
    assert "重大环境污染事故" in ban.reason
    assert ban.basis == "第十二条"
    assert q.status_changed_by == "prov"
    assert "2028-09-01 前不得申请" in q.status_reason

    # an application during the ban fails 第四条 eligibility, naming the ban's end date
    round_ = f.open_round(province, opens_on=date(2025, 9, 1))
    applied = f.apply(ent, round_["id"])
    final = ent.get(f"/api/v1/instances/{applied}").json
    assert (final["status"], final["outcome"]) == ("completed", "ineligible")
    events = province.get(f"/api/v1/instances/{applied}/history").json
    decision = next(
        e for e in events if e["kind"] == "handler.decision" and e["bpmn_id"] == "check_eligibility"
    )
    failed = {c["code"]: c for c in decision["data"]["outputs"]["failed"]}
    assert set(failed) == {"elig_ban"}
    assert "2028-09-01" in str(failed["elig_ban"])
    # the enterprise is told
    notes = ent.get("/api/v1/notifications").json["items"]
    assert any("第十二条" in n["title"] for n in notes)


def test_dismissed_incident_changes_nothing(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "innovative")
    case_id = report(people["province"], uscc, decision="dismiss")
    assert statuses(ctx, uscc) == {"innovative": "active"}
    assert people["province"].get(f"/api/v1/instances/{case_id}").json["outcome"] == "dismissed"
    with ctx.reading() as session:
        assert session.scalars(select(Ban)).first() is None


def test_only_the_province_opens_an_incident_case(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    response = people["city"].post(
        "/api/v1/instances", json={"process_key": "article12_incident", "uscc": f.uscc(REGION, 1)}
    )
    assert response.status_code == 403
