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
