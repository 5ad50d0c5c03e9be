"""A revocation (or renewal withdrawal) published for a qualification whose lifecycle case has
ended is refused with 409 naming why; one for a number not yet in the registry stays pending."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine import instances
from tests import factories as f

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def province(ctx, client) -> f.Api:  # type: ignore[no-untyped-def]
    f.deploy_processes(ctx)
    return f.user(ctx, client, role="province", user_id="prov")


def publish(province: f.Api, number: str, name: str = "revoke_qualification") -> Any:
    return province.post(
        "/api/v1/messages",
        json={
            "name": name,
            "correlation": {"business_key": number},
            "payload": {"reason": "数据造假", "basis": "第十二条"},
        },
    )


def test_revoking_an_expired_qualification_is_refused_naming_its_expiry(
    ctx, clock, province
) -> None:  # type: ignore[no-untyped-def]
    f.issue_qualification(
        ctx, uscc_code=f.uscc("360100", 1), tier="specialized", number="G-2",
        issued_on=date(2025, 9, 1),
    )  # fmt: skip
    clock.set(datetime.combine(date(2028, 9, 2), time(9), ZONE))
    for _ in range(20):
        if not instances.fire_due(ctx)["fired"]:
            break
    response = publish(province, "G-2")
    assert response.status_code == 409, response.json
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/message-not-expected")
    assert response.json["detail"] == (
        "资格 G-2 已于 2028-08-31 到期失效，其生命周期案件已结束，无法再撤销"
    )
    withdrawn = publish(province, "G-2", "withdraw_renewal")
    assert withdrawn.status_code == 409
    assert withdrawn.json["detail"].endswith("无法再取消复核资格")


def test_revoking_a_revoked_qualification_again_is_refused(ctx, province) -> None:  # type: ignore[no-untyped-def]
    f.issue_qualification(ctx, uscc_code=f.uscc("360100", 1), tier="specialized", number="R-1")
    assert publish(province, "R-1").status_code == 201
    instances.dispatch_messages(ctx)
    response = publish(province, "R-1")
    assert response.status_code == 409, response.json
    assert response.json["detail"].startswith("资格 R-1 已于 2025-09-01 撤销（数据造假）")


def test_a_number_not_yet_registered_stays_pending(ctx, province) -> None:  # type: ignore[no-untyped-def]
    response = publish(province, "NOT-YET-1")
    assert response.status_code == 201, response.json
    assert response.json["status"] == "pending"


UPDATE = {
    "employees": 130,
    "revenue_y1": 9000,
    "rd_expense_y1": 520,
    "assets_y1": 6500,
    "major_change": False,
}


def at(ctx: Any, clock: Any, day: date) -> None:
    clock.set(datetime.combine(day, time(9), ZONE))
    for _ in range(20):
        if not instances.fire_due(ctx)["fired"]:
            break


def test_a_certificate_past_its_expiry_under_renewal_reads_in_grace_everywhere(
    ctx, clock, client
) -> None:  # type: ignore[no-untyped-def]
    """docs/lifecycle.md §3: during renewal_grace_days the certificate shows its old expiry and
    is not valid: list, filter, detail, CSV, summary and public list agree."""
    from engine import definitions
    from engine.context import Actor

    files = definitions.read_directory(f.ROOT_PROCESSES)
    name = "qualification_lifecycle.bpmn"
    assert "renewal_grace_days = 0 " in files[name]
    files[name] = files[name].replace("renewal_grace_days = 0 ", "renewal_grace_days = 60")
    definitions.deploy(ctx, files=files, actor=Actor(id="owner", role="process_owner"))
    ent = f.enterprise(ctx, client, 1, region="360100")
    province = f.user(ctx, client, role="province", user_id="prov")
    q = f.issue_qualification(
        ctx, uscc_code=f.uscc("360100", 1), tier="specialized", number="G-1",
        issued_on=date(2025, 9, 1),
    )  # fmt: skip
    for year in (2026, 2027, 2028):
        at(ctx, clock, date(year, 3, 1))
        ent.complete("annual_update", UPDATE)
    at(ctx, clock, date(2028, 9, 15))

    def listed(**query: str) -> list[tuple[str, str, str]]:
        items = province.get("/api/v1/qualifications", query_string=query).json["items"]
        return [(i["number"], i["status"], i["status_label"]) for i in items]

    assert listed() == [("G-1", "in_grace", "复核中（已届满）")]
    assert listed(status="active") == []
    assert listed(status="in_grace") == [("G-1", "in_grace", "复核中（已届满）")]
    detail = province.get(f"/api/v1/qualifications/{q.id}").json
    assert (detail["status"], detail["expires_on"]) == ("in_grace", "2028-08-31")
    csv = province.get("/api/v1/qualifications/export").get_data(as_text=True)
    [row] = [line for line in csv.splitlines() if line.startswith("G-1,")]
    assert ",复核中（已届满）," in row
    assert ",有效," not in row
    totals = province.get("/api/v1/qualifications/summary").json["totals"]
    assert (totals["valid"], totals["in_grace"]) == (0, 1)
    assert client.get("/api/v1/public/qualifications").json["items"] == []

    province.complete("province_renewal_review", {"decision": "approve"}, q.lifecycle_instance_id)
    if any(t["bpmn_id"] == "province_renewal_spot_check" for t in province.inbox()):
        province.complete("province_renewal_spot_check", {"result": "pass", "findings": "合格"})
    assert listed(status="active") == [("G-1", "active", "有效")]
    assert province.get("/api/v1/qualifications/summary").json["totals"]["in_grace"] == 0
    assert [i["number"] for i in client.get("/api/v1/public/qualifications").json["items"]] == [
        "G-1"
    ]
