"""第十二条: a confirmed incident revokes every qualification and bans applications."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from engine.context import EngineContext
from engine.store import Ban, Instance, Qualification
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

    # the province revokes its own tiers at once; MIIT, which certified the 小巨人, decides on it
    assert statuses(ctx, uscc) == {
        "innovative": "revoked",
        "specialized": "revoked",
        "little_giant": "active",
    }
    miit = people["miit"]
    task = miit.task("miit_revocation_review")
    assert task["name"] == "决定是否撤销“小巨人”资格"
    detail = miit.get(f"/api/v1/tasks/{task['id']}").json
    assert "重大环境污染" in detail["data"]["revocation"]["reason"]
    assert detail["data"]["revocation"]["basis"] == "第十二条"
    miit.complete("miit_revocation_review", {"decision": "revoke", "reason": "同意撤销"})
    assert statuses(ctx, uscc)["little_giant"] == "revoked"
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
    assert q.status_changed_by == "miit"  # who decided the revocation
    assert "2028-09-01 前不得申请" in q.status_reason
    assert q.status_reason.endswith("工业和信息化部决定撤销：同意撤销")

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


def test_miit_may_keep_a_little_giant_and_its_lifecycle_goes_on(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    from tests.processes.test_qualification_lifecycle import at, has_task

    uscc = f.uscc(REGION, 1)
    number = register(ctx, uscc, "little_giant")
    report(people["province"], uscc)
    miit = people["miit"]
    miit.complete("miit_revocation_review", {"decision": "keep", "reason": "经核实不影响认定"})
    assert statuses(ctx, uscc) == {"little_giant": "active"}
    with ctx.reading() as session:
        q = session.scalars(select(Qualification).where(Qualification.number == number)).one()
        lifecycle = session.get(Instance, q.lifecycle_instance_id)
    assert lifecycle.status == "running"
    # the validity period was never interrupted: the annual update comes as before
    at(ctx, clock, date(2026, 1, 1))
    assert people["ent"].task("annual_update", q.lifecycle_instance_id)["due_at"] == (
        "2026-05-01T00:00:00+08:00"
    )
    # and a later request is asked again
    sent = people["province"].post(
        f"/api/v1/instances/{q.lifecycle_instance_id}/messages",
        json={
            "name": "revoke_qualification",
            "payload": {"reason": "数据造假", "basis": "第十二条"},
        },
    )
    assert sent.status_code in (200, 201, 202), sent.json
    assert has_task(miit, "miit_revocation_review")
    miit.complete("miit_revocation_review", {"decision": "revoke", "reason": "同意"})
    assert statuses(ctx, uscc) == {"little_giant": "revoked"}
    assert not has_task(people["ent"], "annual_update")


def test_with_the_setting_off_the_province_revokes_a_little_giant_itself(  # type: ignore[no-untyped-def]
    ctx, clock, people
) -> None:
    from engine import definitions
    from engine.context import Actor

    files = definitions.read_directory(f.ROOT_PROCESSES)
    name = "qualification_lifecycle.bpmn"
    files[name] = files[name].replace(
        "little_giant_revocation_by_miit = True", "little_giant_revocation_by_miit = False"
    )
    definitions.deploy(ctx, files=files, actor=Actor(id="owner", role="process_owner"))
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "little_giant")
    report(people["province"], uscc)
    assert statuses(ctx, uscc) == {"little_giant": "revoked"}
    assert not people["miit"].inbox()
