"""GET /audit/events: the history by who, what and when, for auditors and the province."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from engine import queries
from engine.clock import SimulatedClock
from tests import factories as f


def kinds(user: f.Api, **query: Any) -> list[tuple[str, str, str | None]]:
    response = user.get("/api/v1/audit/events", query_string=query)
    assert response.status_code == 200, response.json
    return [(e["kind"], e["actor"], e["bpmn_id"]) for e in response.json["items"]]


def test_events_by_actor_kind_and_time(clock: SimulatedClock, p1: f.People, p1_round: int) -> None:
    case = f.apply(p1["ent"], p1_round)  # 2025-09-01 09:00 in Jiangxi
    clock.advance(timedelta(days=1))
    p1["city"].complete("city_review", {"decision": "approve", "flag_for_spot_check": False}, case)
    auditor = p1["auditor"]

    assert kinds(auditor, actor="city-nc", kind="task.completed") == [
        ("task.completed", "city-nc", "city_review")
    ]
    done = kinds(auditor, kind="task.completed")
    assert [a for _, a, _ in done] == ["ent-1", "city-nc"]  # in the chains' order
    assert kinds(auditor, kind="task.completed", since="2025-09-02T00:00:00+08:00") == [
        ("task.completed", "city-nc", "city_review")
    ]
    assert kinds(auditor, actor="city-nc", until="2025-09-02T00:00:00+08:00") == []
    assert kinds(auditor, instance_id=case, kind="instance.started") == [
        ("instance.started", "ent-1", None)
    ]
    assert kinds(p1["province"], kind="task.completed") == done
    refused = p1["city"].get("/api/v1/audit/events")
    assert refused.status_code == 403
    bad = auditor.get("/api/v1/audit/events", query_string={"since": "2025-09-02"})  # no offset
    assert bad.status_code == 422
    assert "since" in bad.json["errors"]


def test_history_events_and_export_name_the_actor(
    ctx, clock: SimulatedClock, p1: f.People, p1_round: int
) -> None:  # type: ignore[no-untyped-def]
    """Each event carries `actor_name` next to the id: a user's display name (looked up once
    per page, not per row), a system actor's Chinese label."""
    from sqlalchemy import event

    from engine import users

    users.ensure_user(
        ctx, user_id="city-nc", display_name="南昌市工业和信息化局", role="city", region="360100"
    )
    case = f.apply(p1["ent"], p1_round)
    p1["city"].complete("city_review", {"decision": "approve", "flag_for_spot_check": True}, case)
    auditor = p1["auditor"]

    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(ctx.db, "before_cursor_execute", seen)
    try:
        history = auditor.get(f"/api/v1/instances/{case}/history").json
    finally:
        event.remove(ctx.db, "before_cursor_execute", seen)
    assert sum("app_user" in s and "api_token" not in s for s in statements) == 1
    named = {(e["actor"], e["actor_name"]) for e in history}
    assert ("city-nc", "南昌市工业和信息化局") in named
    assert ("ent-1", "ent-1") in named  # the factory's display name is the id
    assert ("engine", "系统（流程引擎）") in named

    page = auditor.get("/api/v1/audit/events", query_string={"actor": "city-nc"}).json
    assert {e["actor_name"] for e in page["items"]} == {"南昌市工业和信息化局"}
    exported = auditor.get(f"/api/v1/audit/instances/{case}/export").json
    assert any(e["actor_name"] == "南昌市工业和信息化局" for e in exported)
    text = auditor.get(f"/api/v1/audit/instances/{case}/export", query_string={"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(text.get_data(as_text=True).lstrip("\ufeff"))))
    assert "操作人" in rows[0]
    assert any(r["操作人"] == "南昌市工业和信息化局" for r in rows)


def test_actor_labels() -> None:
    names = {"city-nc": "南昌市工业和信息化局"}
    assert queries.actor_label("city-nc", names) == "南昌市工业和信息化局"
    assert queries.actor_label("engine", names) == "系统（流程引擎）"
    assert queries.actor_label("router", names) == "系统（消息路由）"
    assert queries.actor_label("cli", names) == "系统（命令行）"
    assert queries.actor_label("cli:zhang", names) == "命令行（zhang）"
    assert queries.actor_label("gone-user", names) == "gone-user"
