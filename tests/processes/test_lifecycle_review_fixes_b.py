"""P4 review fixes: the annual update is the enterprise's, once a year for all its
qualifications (第十条); the enterprise is told every outcome of its qualification
(第九条、第十条)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import definitions, instances
from engine.context import Actor, EngineContext
from engine.store import HistoryEvent, Notification, Qualification
from tests import factories as f

REGION = "360100"
ZONE = ZoneInfo("Asia/Shanghai")
UPDATE = {
    "employees": 130,
    "revenue_y1": 9000,
    "rd_expense_y1": 520,
    "assets_y1": 6500,
    "major_change": False,
}


@pytest.fixture
def people(ctx, client) -> dict[str, f.Api]:  # type: ignore[no-untyped-def]
    definitions.deploy(
        ctx,
        files=f.process_files(bpmn="qualification_lifecycle.bpmn"),
        actor=Actor(id="owner", role="process_owner"),
    )
    return {
        "ent": f.enterprise(ctx, client, 1, region=REGION, name="洪城精密机械有限公司"),
        "city": f.user(ctx, client, role="city", user_id="city-nc", region=REGION),
        "province": f.user(ctx, client, role="province", user_id="prov"),
        "miit": f.user(ctx, client, role="miit", user_id="miit"),
    }


def register(ctx: EngineContext, *, tier: str, number: str, issued_on: date) -> Qualification:
    return f.issue_qualification(
        ctx,
        uscc_code=f.uscc(REGION, 1),
        tier=tier,
        number=number,
        region=REGION,
        issued_on=issued_on,
    )


def at(ctx: EngineContext, clock: Any, day: date, hour: int = 9) -> None:
    clock.set(datetime.combine(day, time(hour, 0, 1), ZONE))
    instances.fire_due(ctx)


def qualification(ctx: EngineContext, number: str) -> Qualification:
    with ctx.reading() as session:
        return session.scalars(select(Qualification).where(Qualification.number == number)).one()


def updates(user: f.Api) -> list[dict[str, Any]]:
    return [t for t in user.inbox(per_page=100) if t["bpmn_id"].endswith("annual_update")]


def complete(user: f.Api, task: dict[str, Any], data: dict[str, Any]) -> None:
    r = user.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
    assert r.status_code == 200, r.json


def notices(ctx: EngineContext, uscc: str) -> list[tuple[str, str, str]]:
    with ctx.reading() as session:
        rows = session.scalars(
            select(Notification)
            .where(Notification.uscc == uscc, Notification.kind.in_(("outcome", "info")))
            .order_by(Notification.created_at, Notification.id)
        )
        # the opening of a renewal (第九条) is told too: tests/processes/test_miit_review_k.py
        return [(n.kind, n.title, n.body) for n in rows if n.title != "资格复核已开启"]


# -- 第十条: one update per enterprise and year ------------------------------------------------


def test_one_annual_update_counts_for_every_qualification_of_the_enterprise(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    ent = people["ent"]
    innovative = register(ctx, tier="innovative", number="T-I", issued_on=date(2025, 3, 1))
    specialized = register(ctx, tier="specialized", number="T-S", issued_on=date(2025, 9, 1))
    at(ctx, clock, date(2026, 1, 5))
    open_updates = updates(ent)
    assert len(open_updates) == 2
    covered = {ent.get(f"/api/v1/tasks/{t['id']}").json["data"]["update_for"] for t in open_updates}
    assert covered == {"创新型中小企业（证书编号 T-I）", "专精特新中小企业（证书编号 T-S）"}

    complete(ent, open_updates[0], UPDATE)

    assert updates(ent) == []  # the other qualification's task closed by itself
    at(ctx, clock, date(2026, 5, 1), hour=1)
    for q in (innovative, specialized):
        row = qualification(ctx, q.number)
        assert (row.status, row.renewal_eligible) == ("active", True)
        assert row.info_updated_on == date(2026, 1, 5)
    other = (
        specialized
        if open_updates[0]["instance_id"] == innovative.lifecycle_instance_id
        else innovative
    )
    with ctx.reading() as session:
        kinds = [
            (e.kind, e.data)
            for e in session.scalars(
                select(HistoryEvent)
                .where(HistoryEvent.stream == f"instance:{other.lifecycle_instance_id}")
                .order_by(HistoryEvent.seq)
            )
        ]
    received = [d for k, d in kinds if k == "message.received"]
    assert [d["name"] for d in received] == ["annual_update_done"]
    changed = [d for k, d in kinds if k == "qualification.changed" and d.get("basis") == "第十条"]
    assert "已于 2026-01-05 更新企业信息" in changed[-1]["reason"]
    assert "适用于企业全部有效资格" in changed[-1]["reason"]


def test_a_qualification_issued_after_this_years_update_is_not_asked_again(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    ent = people["ent"]
    register(ctx, tier="innovative", number="T-I", issued_on=date(2025, 3, 1))
    at(ctx, clock, date(2026, 1, 5))
    complete(ent, updates(ent)[0], UPDATE)
    at(ctx, clock, date(2026, 3, 10))
    register(ctx, tier="specialized", number="T-S", issued_on=date(2026, 3, 10))

    at(ctx, clock, date(2026, 3, 11))
    assert updates(ent) == []
    at(ctx, clock, date(2026, 5, 1), hour=1)
    row = qualification(ctx, "T-S")
    assert (row.status, row.renewal_eligible, row.info_updated_on) == (
        "active",
        True,
        date(2026, 1, 5),
    )
    at(ctx, clock, date(2027, 1, 2))
    assert len(updates(ent)) == 2  # next year both are asked again


# -- 第九条、第十条: the enterprise is told every outcome ------------------------------------


def test_a_rejected_renewal_shows_in_the_registry_at_once_and_the_enterprise_is_told(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx, tier="specialized", number="RJ-1", issued_on=date(2022, 10, 15))
    people["province"].complete(
        "province_renewal_review", {"decision": "reject", "reason": "研发投入不达标"}
    )
    row = qualification(ctx, "RJ-1")
    assert (row.status, row.renewal_eligible) == ("active", False)  # valid to its expiry
    assert "研发投入不达标" in row.status_reason
    assert "2025-10-14" in row.status_reason
    [(kind, title, body)] = notices(ctx, q.uscc)
    assert (kind, title) == ("outcome", "资格复核未通过")
    assert all(text in body for text in ("RJ-1", "研发投入不达标", "2025-10-14"))

    at(ctx, clock, date(2025, 10, 15), hour=0)
    assert qualification(ctx, "RJ-1").status == "expired"
    kind, title, body = notices(ctx, q.uscc)[-1]
    assert (kind, title) == ("outcome", "资格已到期失效")
    assert "RJ-1" in body
    assert "复核未通过" in body
    assert "2025-10-14" in body


def test_an_extension_is_told_with_the_new_expiry(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx, tier="little_giant", number="LG-1", issued_on=date(2022, 10, 15))
    people["miit"].complete(
        "miit_renewal_review", {"decision": "approve", "flag_for_spot_check": True}
    )
    people["miit"].complete(
        "miit_renewal_spot_check", {"result": "pass", "findings": "现场核查属实"}
    )
    [(kind, title, body)] = notices(ctx, q.uscc)
    assert (kind, title) == ("outcome", "资格复核通过，有效期已延长")
    assert all(text in body for text in ("LG-1", "2025-10-14", "2028-10-14"))


def test_an_innovative_renewal_failing_the_automatic_check_names_the_conditions(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    ent = people["ent"]
    q = register(ctx, tier="innovative", number="IN-1", issued_on=date(2022, 10, 15))
    evaluation = f.self_evaluation([ent.upload()["id"]], on_abnormal_list=True)
    ent.complete("renewal_self_evaluation", evaluation)
    row = qualification(ctx, "IN-1")
    assert (row.status, row.renewal_eligible) == ("active", False)
    assert "自动核验未通过" in row.status_reason
    [(kind, title, body)] = notices(ctx, q.uscc)
    assert (kind, title) == ("outcome", "资格复核未通过")
    assert "IN-1" in body
    assert "未满足：" in body
    assert "经营异常" in body


def test_losing_renewal_eligibility_under_article_10_is_told(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx, tier="specialized", number="LS-1", issued_on=date(2025, 9, 1))
    at(ctx, clock, date(2026, 5, 1), hour=1)
    assert qualification(ctx, "LS-1").status == "renewal_ineligible"
    [(kind, title, body)] = notices(ctx, q.uscc)
    assert title == "已取消复核资格（第十条）"
    assert kind == "info"
    assert all(text in body for text in ("LS-1", "2026-04-30", "2028-08-31"))
