"""GET /audit/events: the history by who, what and when, for auditors and the province."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
