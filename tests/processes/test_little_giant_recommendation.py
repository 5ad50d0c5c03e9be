"""P3 小巨人推荐 (第八条) end to end through the API, including MIIT's published list."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from api import cli, cli_miit
from engine import instances
from engine.store import Qualification
from tests import factories as f

REGION = "360100"
KEY = "little_giant_recommendation"
KEY_TIER = "little_giant"


@pytest.fixture
def people(ctx, client) -> dict[str, f.Api]:
    f.deploy_processes(ctx)
    cast = {
        "ent": f.enterprise(ctx, client, 1, region=REGION, name="洪城精密机械有限公司"),
        "ent2": f.enterprise(ctx, client, 2, region=REGION, name="赣江光电科技有限公司"),
        "innovative_only": f.enterprise(ctx, client, 3, region=REGION, name="豫章软件有限公司"),
        "city": f.user(ctx, client, role="city", user_id="city-nc", region=REGION),
        "province": f.user(ctx, client, role="province", user_id="prov"),
        "miit": f.user(ctx, client, role="miit", user_id="miit"),
    }
    for serial in (1, 2):
        f.grant_qualification(
            ctx, uscc_code=f.uscc(REGION, serial), tier="specialized", region=REGION
        )
    f.grant_qualification(ctx, uscc_code=f.uscc(REGION, 3), tier="innovative", region=REGION)
    return cast


@pytest.fixture
def round_id(people: dict[str, f.Api]) -> int:
    return f.open_round_of(
        people["province"], KEY, opens_on=date(2025, 9, 1), label="2025年度小巨人推荐"
    )["id"]


def recommend(people: dict[str, f.Api], round_id: int, user: str) -> str:
    """Apply and take the case through city 初核, spot checks and province 初审 to the MIIT list."""
    started = people[user].post(
        "/api/v1/instances", json={"process_key": KEY, "round_id": round_id}
    )
    assert started.status_code == 201, started.json
    instance_id = started.json["id"]
    people[user].complete(
        "self_evaluation",
        f.little_giant_self_evaluation([people[user].upload()["id"]]),
        instance_id,
    )
    city, province = people["city"], people["province"]
    city.complete("city_verify", {"decision": "approve"}, instance_id)
    f.pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
    city.complete("city_report", {"remarks": "同意推荐"}, instance_id)
    province.complete("province_review", {"decision": "approve"}, instance_id)
    f.pass_spot_check_if_drawn(province, "province_spot_check", instance_id)
    province.complete("province_recommend", {"remarks": "推荐"}, instance_id)
    return instance_id


def upload_list(user: f.Api, round_id: int, text: str, **form: str) -> Any:
    data: dict[str, Any] = {
        "file": (io.BytesIO(("\ufeff" + text).encode()), "miit-2025.csv"),
        **form,
    }
    return user.client.post(
        f"/api/v1/rounds/{round_id}/miit-list",
        headers=user._headers(),
        data=data,
        content_type="multipart/form-data",
    )


def case(user: f.Api, instance_id: str) -> dict[str, Any]:
    return user.get(f"/api/v1/instances/{instance_id}").json


def outcome_notes(user: f.Api, instance_id: str) -> list[dict[str, Any]]:
    """The outcome notifications the user (the enterprise) received for the case."""
    items = user.get("/api/v1/notifications").json["items"]
    return [n for n in items if n["instance_id"] == instance_id and n["kind"] == "outcome"]


def test_applying_without_a_specialized_qualification_is_refused_by_name(people, round_id) -> None:
    response = people["innovative_only"].post(
        "/api/v1/instances", json={"process_key": KEY, "round_id": round_id}
    )
    assert response.status_code == 409
    assert response.json["missing_qualification"] == "specialized"
    assert "专精特新中小企业" in response.json["detail"]


def test_miit_list_certifies_listed_cases_rejects_unlisted_and_reports_unknown_rows(
    people, round_id
) -> None:
    listed = recommend(people, round_id, "ent")
    unlisted = recommend(people, round_id, "ent2")
    assert case(people["province"], listed)["status"] == "running"
    stranger = f.uscc("360700", 99)
    text = (
        f"统一社会信用代码,企业名称\n{f.uscc(REGION, 1)},洪城精密机械有限公司\n"
        f"{stranger},不在推荐名单的企业\nBAD,格式错误\n"
    )
    response = upload_list(people["miit"], round_id, text)
    assert response.status_code == 200, response.json
    report = response.json
    assert [r["instance_id"] for r in report["approved"]] == [listed]
    assert [r["instance_id"] for r in report["rejected"]] == [unlisted]
    assert [(r["line"], r["uscc"]) for r in report["unmatched"]] == [(3, stranger), (4, "BAD")]
    assert "推荐案件" in report["unmatched"][0]["reason"]

    assert case(people["province"], listed)["outcome"] == "qualified"
    assert case(people["province"], unlisted)["outcome"] == "rejected_by_miit"
    quals = (
        people["ent"]
        .get("/api/v1/qualifications", query_string={"tier": "little_giant"})
        .json["items"]
    )
    assert [q["status"] for q in quals] == ["active"]
    assert (
        people["ent2"]
        .get("/api/v1/qualifications", query_string={"tier": "little_giant"})
        .json["total"]
        == 0
    )
    history = people["province"].get(f"/api/v1/instances/{listed}/history").json
    received = next(e for e in history if e["kind"] == "message.received")
    assert received["data"]["name"] == "miit_decision"
    assert received["data"]["payload"]["approved"] is True
    # each enterprise is told its outcome (README: notifications of outcomes)
    [certified] = outcome_notes(people["ent"], listed)
    assert certified["title"] == "专精特新“小巨人”企业推荐结果：工业和信息化部认定通过"
    assert quals[0]["number"] in certified["body"]
    [refused] = outcome_notes(people["ent2"], unlisted)
    assert refused["title"] == "专精特新“小巨人”企业推荐结果：工业和信息化部未予认定"
    assert outcome_notes(people["ent"], unlisted) == []  # only the case's own enterprise
    for staff in ("city", "province"):  # the recommending authorities hear of the refusal too
        told = people[staff].get("/api/v1/notifications").json["items"]
        assert any(
            n["title"] == "工业和信息化部未予认定：赣江光电科技有限公司"
            and n["instance_id"] == unlisted
            for n in told
        ), staff


def test_a_recommended_case_waits_for_miits_decision_under_that_name(people, round_id) -> None:
    waiting = recommend(people, round_id, "ent")
    found = case(people["province"], waiting)
    assert (found["stage"], found["stage_name"]) == ("miit_wait", "等待工信部认定结果")
    assert found["stage_due_at"]  # miit_decision_days (90) after the recommendation
    rows = people["province"].get(f"/api/v1/rounds/{round_id}/cases").json["items"]
    assert [r["stage_name"] for r in rows if r["instance_id"] == waiting] == ["等待工信部认定结果"]


def test_the_enterprise_and_city_are_told_of_the_recommendation_and_the_province_reminded(
    ctx, clock, people, round_id
) -> None:
    # 第八条: the case goes to MIIT; nobody is left wondering, and a decision not imported in
    # miit_decision_days (流程参数, 90) reminds the province, again every 90 days
    waiting = recommend(people, round_id, "ent")
    for who in ("ent", "city"):
        told = people[who].get("/api/v1/notifications").json["items"]
        assert any(n["title"].startswith("已推荐至工业和信息化部") for n in told), who
    due = case(people["province"], waiting)["stage_due_at"]
    clock.advance(timedelta(days=91))
    instances.fire_due(ctx)
    reminders = [
        n
        for n in people["province"].get("/api/v1/notifications").json["items"]
        if n["title"].startswith("工信部认定结果尚未导入")
    ]
    assert len(reminders) == 1
    found = case(people["province"], waiting)
    assert (found["status"], found["stage"]) == ("running", "miit_wait")  # still waiting
    assert found["stage_due_at"] > due  # the next reminder


def test_the_province_step_is_called_preliminary_review_in_its_form_too(people, round_id) -> None:
    # 第八条: the province 初审 (not 审核) the cities' recommendations
    started = people["ent"].post(
        "/api/v1/instances", json={"process_key": KEY, "round_id": round_id}
    )
    instance_id = started.json["id"]
    people["ent"].complete(
        "self_evaluation",
        f.little_giant_self_evaluation([people["ent"].upload()["id"]]),
        instance_id,
    )
    city, province = people["city"], people["province"]
    city.complete("city_verify", {"decision": "approve"}, instance_id)
    f.pass_spot_check_if_drawn(city, "city_spot_check", instance_id)
    city.complete("city_report", {"remarks": "同意推荐"}, instance_id)
    task = province.task("province_review", instance_id)
    assert task["name"] == "省级初审"
    form = province.get(f"/api/v1/tasks/{task['id']}").json["form"]
    assert form["title"] == "省级初审意见"
    assert form["properties"]["decision"]["title"] == "初审结论"
    province.complete("province_review", {"decision": "reject"}, instance_id, status=422)
    province.complete(
        "province_review", {"decision": "reject", "reason": "细分市场占有率不足"}, instance_id
    )
    assert case(province, instance_id)["outcome"] == "rejected_by_province"
    [note] = outcome_notes(people["ent"], instance_id)
    assert note["title"] == "专精特新“小巨人”企业推荐结果：省级初审未通过"
    assert note["body"] == "省级初审不予通过。理由：细分市场占有率不足"


def test_explicit_rejection_in_the_list_keeps_other_cases_waiting(people, round_id) -> None:
    rejected = recommend(people, round_id, "ent")
    waiting = recommend(people, round_id, "ent2")
    text = f"uscc,decision\n{f.uscc(REGION, 1)},不予认定\n"
    report = upload_list(people["province"], round_id, text, reject_unlisted="false").json
    assert [r["instance_id"] for r in report["rejected"]] == [rejected]
    assert report["approved"] == []
    assert report["unmatched"] == []
    assert case(people["province"], rejected)["outcome"] == "rejected_by_miit"
    assert case(people["province"], waiting)["status"] == "running"


def test_miit_list_without_a_uscc_column_is_refused(people, round_id) -> None:
    response = upload_list(people["miit"], round_id, "企业名称\n某公司\n")
    assert response.status_code == 422
    assert response.json["errors"] == {"file": ["缺少 uscc 列"]}


def test_city_users_cannot_import_the_miit_list(people, round_id) -> None:
    response = upload_list(people["city"], round_id, f"uscc\n{f.uscc(REGION, 1)}\n")
    assert response.status_code == 403


def test_cli_imports_the_list_and_prints_unmatched_rows(
    ctx, people, round_id, tmp_path, monkeypatch
) -> None:
    listed = recommend(people, round_id, "ent")
    path = tmp_path / "miit.csv"
    path.write_text(f"uscc\n{f.uscc(REGION, 1)}\n{f.uscc(REGION, 77)}\n", encoding="utf-8")
    monkeypatch.setattr(cli_miit, "_ctx", lambda: ctx)
    result = CliRunner().invoke(
        cli.main, ["import", "miit-list", str(path), "--round", str(round_id)]
    )
    assert result.exit_code == 0, result.output
    assert "认定 1" in result.output
    assert f.uscc(REGION, 77) in result.output
    assert case(people["province"], listed)["outcome"] == "qualified"


def test_a_specialized_qualification_revoked_before_miits_list_stops_the_certification(
    ctx, people, round_id
) -> None:
    # 第八条: a 小巨人 is certified from a valid 专精特新 SME; revoked while MIIT decided
    listed = recommend(people, round_id, "ent")
    with ctx.transaction() as session:
        held = session.scalars(
            select(Qualification).where(Qualification.uscc == f.uscc(REGION, 1))
        ).one()
        held.status = "revoked"
    text = f"统一社会信用代码,企业名称\n{f.uscc(REGION, 1)},洪城精密机械有限公司\n"
    assert upload_list(people["miit"], round_id, text).status_code == 200
    assert case(people["province"], listed)["outcome"] == "prerequisite_expired"
    assert (
        people["ent"]
        .get("/api/v1/qualifications", query_string={"tier": "little_giant"})
        .json["total"]
        == 0
    )
    [note] = outcome_notes(people["ent"], listed)
    assert note["title"] == "专精特新“小巨人”企业推荐结果：前置资格已失效，不予认定"
    assert "已不再持有有效的前置资格" in note["body"]


def test_the_validity_runs_from_miits_certification_date(ctx, clock, people, round_id) -> None:
    # 第九条: three years from MIIT's certification, not from the day the list reached Jiangxi
    first = recommend(people, round_id, "ent")
    second = recommend(people, round_id, "ent2")
    clock.advance(timedelta(days=60))  # the list reaches Jiangxi weeks after MIIT certified
    text = (
        "统一社会信用代码,企业名称,认定日期\n"
        f"{f.uscc(REGION, 1)},洪城精密机械有限公司,2025年10月20日\n"
        f"{f.uscc(REGION, 2)},赣江光电科技有限公司,\n"
    )
    response = upload_list(people["miit"], round_id, text, certified_on="2025-10-25")
    assert response.status_code == 200, response.json
    assert [case(people["province"], i)["outcome"] for i in (first, second)] == ["qualified"] * 2
    with ctx.reading() as session:
        issued = {
            q.uscc: (q.issued_on.isoformat(), q.expires_on.isoformat())
            for q in session.scalars(select(Qualification).where(Qualification.tier == KEY_TIER))
        }
    assert issued == {
        f.uscc(REGION, 1): ("2025-10-20", "2028-10-19"),  # the row's own date
        f.uscc(REGION, 2): ("2025-10-25", "2028-10-24"),  # the list's date
    }


@pytest.mark.parametrize("day", ["2025-13-01", "明天", "2025-09-02"])
def test_a_certification_date_that_is_not_a_past_day_is_named(people, round_id, day) -> None:
    recommend(people, round_id, "ent")
    text = f"统一社会信用代码,认定日期\n{f.uscc(REGION, 1)},{day}\n"
    report = upload_list(people["miit"], round_id, text, reject_unlisted="false").json
    assert report["approved"] == []
    assert [r["line"] for r in report["unmatched"]] == [2]
    assert "认定日期" in report["unmatched"][0]["reason"]
    refused = upload_list(people["miit"], round_id, "统一社会信用代码\nX\n", certified_on=day)
    assert refused.status_code == 422, refused.json
    assert list(refused.json["errors"]) == ["certified_on"]


def little_giants(ctx) -> list[str]:  # type: ignore[no-untyped-def]
    with ctx.reading() as session:
        return list(
            session.scalars(select(Qualification.uscc).where(Qualification.tier == KEY_TIER))
        )


def test_a_certification_date_before_the_recommendation_is_refused(
    ctx, clock, people, round_id
) -> None:
    # 第九条: a 小巨人 certified before it was even recommended (or before its round opened)
    # would be issued already partly or wholly expired
    early = recommend(people, round_id, "ent")  # recommended on 2025-09-01, as the round opens
    clock.advance(timedelta(days=19))
    late = recommend(people, round_id, "ent2")  # recommended on 2025-09-20
    clock.advance(timedelta(days=30))
    text = (
        "统一社会信用代码,认定日期\n"
        f"{f.uscc(REGION, 1)},2025-08-31\n"
        f"{f.uscc(REGION, 2)},2025年9月10日\n"
    )
    report = upload_list(people["miit"], round_id, text, reject_unlisted="false").json
    assert (report["approved"], report["rejected"]) == ([], [])
    reasons = {r["line"]: r["reason"] for r in report["unmatched"]}
    assert reasons == {
        2: "认定日期 2025-08-31 不能早于 2025-09-01（推荐该企业的日期）",
        3: "认定日期 2025-09-10 不能早于 2025-09-20（推荐该企业的日期）",
    }
    # the list's date for all its rows: before the round opened it is refused as a field
    refused = upload_list(
        people["miit"], round_id, f"uscc\n{f.uscc(REGION, 1)}\n", certified_on="2025-08-31"
    )
    assert refused.status_code == 422, refused.json
    assert refused.json["errors"] == {"certified_on": ["不能早于 2025-09-01（本批次开始日期）"]}
    # ... and, for a row without a date of its own, before that case's recommendation
    text = f"uscc\n{f.uscc(REGION, 1)}\n{f.uscc(REGION, 2)}\n"
    report = upload_list(
        people["miit"], round_id, text, certified_on="2025-09-10", reject_unlisted="false"
    ).json
    assert [r["instance_id"] for r in report["approved"]] == [early]
    assert [(r["line"], r["reason"]) for r in report["unmatched"]] == [
        (3, "认定日期 2025-09-10（名单的认定日期） 不能早于 2025-09-20（推荐该企业的日期）")
    ]
    assert case(people["province"], late)["status"] == "running"
    assert little_giants(ctx) == [f.uscc(REGION, 1)]


def test_a_uscc_with_a_wrong_check_character_is_named_as_malformed(people, round_id) -> None:
    recommend(people, round_id, "ent")
    good = f.uscc(REGION, 1)
    wrong = good[:17] + next(c for c in "0123456789ABCDEFGH" if c != good[17])
    text = f"统一社会信用代码\n{wrong}\n"
    report = upload_list(people["miit"], round_id, text, reject_unlisted="false").json
    assert [(r["uscc"], r["reason"]) for r in report["unmatched"]] == [
        (wrong, "统一社会信用代码格式不正确")
    ]
