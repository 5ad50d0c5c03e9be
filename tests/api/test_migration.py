"""Migration endpoints: dry-run report, batch run, one instance (409 naming the element), roles."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine import definitions, instances
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.store import HistoryEvent, Timer
from tests import factories as f
from tests.fixtures.races import answers_at_once

PROBLEM = "application/problem+json"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
P1 = "innovative_evaluation"
BASE = f"/api/v1/definitions/{P1}/migrations"
THREADS = 8
RENAMED = {f.P1_BPMN: ('name="市级推荐上报"', 'name="市级推荐上报（新版）"')}


def at_notice(p1: f.People, round_id: int) -> str:
    """An application in 市级公示 (waiting on the notice period's end or an objection)."""
    instance_id = f.apply(p1["ent2"], round_id)
    p1["city"].complete("city_review", {"decision": "approve"}, instance_id)
    if any(t["bpmn_id"] == "city_spot_check" for t in p1["city"].inbox()):
        p1["city"].complete("city_spot_check", {"result": "pass", "findings": "属实"}, instance_id)
    return instance_id


def deploy_v2(owner: f.Api) -> None:
    response = f.post_files(owner, "/api/v1/definitions", f.process_files(RENAMED))
    assert response.status_code == 201, response.json
    assert [d["version"] for d in response.json if d["process_key"] == P1] == [2]


def notice_timer(ctx: EngineContext, instance_id: str) -> Any:
    with ctx.transaction() as session:
        return session.scalars(select(Timer.due_at).where(Timer.instance_id == instance_id)).one()


def test_owner_previews_then_migrates_running_applications(
    ctx: EngineContext, clock: SimulatedClock, p1: f.People, p1_round: int
) -> None:
    reviewing = f.apply(p1["ent"], p1_round)
    noticed = at_notice(p1, p1_round)
    due = notice_timer(ctx, noticed)
    clock.advance(timedelta(days=2))
    deploy_v2(p1["owner"])

    preview = p1["owner"].get(f"{BASE}/preview", query_string={"from": 1, "to": 2})
    assert preview.status_code == 200, preview.json
    report = preview.json
    assert report["summary"] == {
        "running": 2,
        "can_migrate": 2,
        "cannot_migrate": 0,
        "not_running": 0,
    }
    changed = {c["element_id"]: c for c in report["changes"]["changed"]}
    assert changed["city_report"]["what"] == ["名称"]
    assert changed["city_report"]["name"] == "市级推荐上报"
    by_id = {i["instance_id"]: i for i in report["instances"]}
    assert by_id[reviewing]["positions"][0]["element_id"] == "city_review"
    assert [(t["element_id"], t["kept"]) for t in by_id[noticed]["timers"]] == [
        ("city_notice_wait", True)
    ]
    assert by_id[noticed]["timers"][0]["due_at"].endswith("+08:00")

    run = p1["owner"].post(BASE, json={"from": 1, "to": 2})
    assert run.status_code == 200, run.json
    assert run.json["summary"] == {"migrated": 2, "refused": 0}
    assert {m["instance_id"]: m["version"] for m in run.json["migrated"]} == {
        reviewing: 2,
        noticed: 2,
    }
    assert p1["city"].get(f"/api/v1/instances/{reviewing}").json["definition_version"] == 2
    assert notice_timer(ctx, noticed) == due
    again = p1["owner"].get(f"{BASE}/preview", query_string={"from": 1, "to": 2}).json
    assert again["summary"]["running"] == 0

    clock.set(due + timedelta(seconds=1))
    instances.fire_due(ctx)
    assert p1["city"].task("city_report", noticed)["name"] == "市级推荐上报（新版）"
    history = p1["auditor"].get(f"/api/v1/instances/{noticed}/history").json
    (moved,) = [e for e in history if e["kind"] == "instance.migrated"]
    assert (moved["actor"], moved["data"]["from_version"], moved["data"]["to_version"]) == (
        "owner",
        1,
        2,
    )
    assert p1["auditor"].get("/api/v1/audit/verify").json == {"ok": True, "problems": []}


def test_staff_auditors_and_enterprises_may_not_preview_or_migrate(
    p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    deploy_v2(p1["owner"])
    for who in ("city", "auditor", "ent"):
        preview = p1[who].get(f"{BASE}/preview", query_string={"from": 1, "to": 2})
        assert preview.status_code == 403, (who, preview.json)
        assert preview.mimetype == PROBLEM
        assert p1[who].post(BASE, json={"from": 1, "to": 2}).status_code == 403
        one = p1[who].post(f"{BASE}/instances/{instance_id}", json={"to": 2})
        assert one.status_code == 403, (who, one.json)
    assert p1["city"].get(f"/api/v1/instances/{instance_id}").json["definition_version"] == 1
    assert p1["province"].get(f"{BASE}/preview?from=1&to=2").status_code == 200


def test_bad_version_arguments_are_problems_naming_the_field(p1: f.People) -> None:
    owner = p1["owner"]
    missing = owner.get(f"{BASE}/preview", query_string={"from": 1})
    assert missing.status_code == 422
    assert missing.json["errors"] == {"to": ["必填"]}
    assert owner.get(f"{BASE}/preview?from=1&to=7").status_code == 404
    same = owner.get(f"{BASE}/preview?from=1&to=1")
    assert same.status_code == 409
    assert same.json["rule"] == "same-version"


def test_an_instance_that_cannot_move_is_refused_with_409_naming_it_and_the_element(
    ctx: EngineContext, client: Any, p1: f.People
) -> None:
    owner_actor = Actor(id="owner", role="process_owner")
    for version in (1, 3):
        text = (FIXTURES / f"migration_v{version}.bpmn").read_text(encoding="utf-8")
        if version == 3:
            waiting = instances.start_instance(
                ctx, process_key="migration_demo", actor=Actor.system("test")
            ).id
        definitions.deploy(ctx, files={"migration_demo.bpmn": text}, actor=owner_actor)
    base = "/api/v1/definitions/migration_demo/migrations"

    refused = p1["owner"].post(f"{base}/instances/{waiting}", json={"from": 1, "to": 2})
    assert refused.status_code == 409
    assert refused.mimetype == PROBLEM
    body = refused.json
    assert body["type"].endswith("/instance-cannot-migrate")
    assert body["title"] == "案件无法迁移到新版本"
    assert body["instance_id"] == waiting
    assert body["element_ids"][:2] == ["review", "review_deadline"]
    assert body["errors"][0]["rule"] == "current-removed"
    assert waiting in body["detail"]
    assert "review（审核材料）" in body["detail"]

    batch = p1["owner"].post(base, json={"from": 1, "to": 2, "instance_ids": [waiting]})
    assert batch.status_code == 200
    assert batch.json["migrated"] == []
    assert [(r["instance_id"], r["code"]) for r in batch.json["refused"]] == [
        (waiting, "instance-cannot-migrate")
    ]
    assert batch.json["refused"][0]["reasons"][0]["element_id"] == "review"
    other = p1["owner"].post(
        f"/api/v1/definitions/{P1}/migrations/instances/{waiting}", json={"to": 2}
    )
    assert other.status_code == 404
    with ctx.transaction() as session:
        kinds = session.scalars(
            select(HistoryEvent.kind).where(HistoryEvent.instance_id == waiting)
        ).all()
    assert "instance.migrated" not in kinds


def test_migrating_twice_is_a_conflict_naming_the_version_the_instance_is_on(
    p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    deploy_v2(p1["owner"])
    url = f"{BASE}/instances/{instance_id}"
    first = p1["owner"].post(url, json={"from": 1, "to": 2})
    assert first.status_code == 200, first.json
    assert first.json["definition_version"] == 2
    second = p1["owner"].post(url, json={"from": 1, "to": 2})
    assert second.status_code == 409
    assert second.json["rule"] == "version-mismatch"
    assert "当前在第 2 版" in second.json["detail"]


@pytest.mark.postgres
@pytest.mark.usefixtures("requires_postgres")
def test_concurrent_migrations_of_one_instance_let_exactly_one_win(
    ctx: EngineContext, app: Flask, p1: f.People, p1_round: int
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    deploy_v2(p1["owner"])
    headers = {"Authorization": f"Bearer {p1['owner'].token}"}
    results = answers_at_once(
        THREADS,
        lambda _: app.test_client().post(
            f"{BASE}/instances/{instance_id}", headers=headers, json={"from": 1, "to": 2}
        ),
    )
    assert Counter(status for status, _ in results) == {200: 1, 409: THREADS - 1}
    with ctx.transaction() as session:
        moved = session.scalars(
            select(HistoryEvent).where(
                HistoryEvent.instance_id == instance_id, HistoryEvent.kind == "instance.migrated"
            )
        ).all()
    assert len(moved) == 1


def test_the_migration_endpoints_are_in_the_openapi_document(client: Any) -> None:
    spec = client.get("/api/openapi.json").json
    base = "/api/v1/definitions/{process_key}/migrations"
    preview = spec["paths"][f"{base}/preview"]["get"]
    assert {p["name"] for p in preview["parameters"] if p["in"] == "query"} == {"from", "to"}
    assert "post" in spec["paths"][base]
    assert "post" in spec["paths"][f"{base}/instances/{{instance_id}}"]
    assert "MigrationReportOut" in spec["components"]["schemas"]
