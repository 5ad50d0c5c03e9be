"""MIIT's reach (k): the province's 小巨人 cases, not a city's complaint about another tier; every
第十二条 ban (a ban bars a 小巨人 application too)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from engine.context import EngineContext
from tests import factories as f

REGION = "360100"
USCC = f.uscc(REGION, 1)
COMPLAINANT = {"name": "王五", "id_number": "36010219800101123X", "contact": "13700000000"}


@pytest.fixture
def cast(ctx: EngineContext, client: Any, people: f.People) -> f.People:
    return people | {
        "miit": f.user(ctx, client, role="miit", user_id="miit"),
        "public": f.user(ctx, client, role="public", user_id="pub1"),
    }


def complain(cast: f.People, tier: str) -> tuple[str, str]:
    evidence = cast["public"].upload(b"%PDF-1.4 p", "举报材料.pdf")["id"]
    body = {
        "uscc": USCC,
        "tier": tier,
        "content": "申报数据不实",
        "evidence": [evidence],
        "complainant": COMPLAINANT,
    }
    response = cast["public"].post("/api/v1/complaints", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"], evidence


def test_miit_does_not_read_a_city_complaint_about_another_tier(
    ctx: EngineContext, cast: f.People
) -> None:
    f.issue_qualification(ctx, uscc_code=USCC, tier="specialized", number="ZJ-1")
    f.grant_qualification(  # a 小巨人 that expired long ago
        ctx, uscc_code=USCC, tier="little_giant", issued_on=date(2021, 1, 1), status="expired"
    )
    case, evidence = complain(cast, "specialized")
    miit = cast["miit"]
    assert miit.get(f"/api/v1/instances/{case}").status_code == 404
    assert miit.get(f"/api/v1/instances/{case}/history").status_code == 404
    assert miit.get(f"/api/v1/files/{evidence}").status_code == 404
    listed = [i["id"] for i in miit.get("/api/v1/instances").json["items"]]
    assert case not in listed
    assert cast["province"].get(f"/api/v1/instances/{case}").status_code == 200


def test_miit_reads_a_complaint_about_a_little_giant(ctx: EngineContext, cast: f.People) -> None:
    f.issue_qualification(ctx, uscc_code=USCC, tier="specialized", number="ZJ-1")
    f.issue_qualification(ctx, uscc_code=USCC, tier="little_giant", number="XJR-1")
    case, evidence = complain(cast, "little_giant")
    other, _ = complain(cast, "specialized")
    miit = cast["miit"]
    assert miit.get(f"/api/v1/instances/{case}").status_code == 200
    assert miit.get(f"/api/v1/files/{evidence}").status_code == 200
    assert miit.get(f"/api/v1/instances/{other}").status_code == 404


def test_miit_lists_every_ban(ctx: EngineContext, cast: f.People) -> None:
    f.record_ban(ctx, uscc_code=USCC, starts_on=date(2025, 1, 1))
    f.record_ban(ctx, uscc_code=f.uscc("360700", 3), starts_on=date(2024, 1, 1))
    response = cast["miit"].get("/api/v1/bans")
    assert response.status_code == 200, response.json
    assert [b["uscc"] for b in response.json["items"]] == [USCC, f.uscc("360700", 3)]


def test_miit_reads_the_source_case_of_a_revocation_it_decides(
    ctx: EngineContext, cast: f.People
) -> None:
    f.issue_qualification(ctx, uscc_code=USCC, tier="specialized", number="ZJ-1")
    f.issue_qualification(ctx, uscc_code=USCC, tier="little_giant", number="XJR-1")
    source, evidence = complain(cast, "specialized")
    miit = cast["miit"]
    assert miit.get(f"/api/v1/instances/{source}").status_code == 404
    payload = {
        "reason": "经核实数据造假",
        "basis": "第十三条",
        "source_case": source,
        "source_kind": "complaint",
        "source_evidence": [evidence],
        "decided_on": "2025-09-01",
    }
    body = {
        "name": "revoke_qualification",
        "correlation": {"business_key": "XJR-1"},
        "payload": payload,
    }
    assert cast["province"].post("/api/v1/messages", json=body).status_code < 300
    [task] = miit.inbox()
    asked = miit.get(f"/api/v1/tasks/{task['id']}").json["data"]["revocation"]
    assert (asked["source_case"], asked["source_kind"]) == (source, "complaint")
    assert miit.get(f"/api/v1/instances/{source}").status_code == 200
    assert miit.get(f"/api/v1/instances/{source}/history").status_code == 200
    assert miit.get(f"/api/v1/files/{evidence}").status_code == 200
