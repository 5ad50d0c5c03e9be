"""Who may send a BPMN message to a case by hand (POST /instances/{id}/messages), and who the
history names as having decided: the sender, never what the payload claims."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from engine.store import HistoryEvent
from tests import factories as f
from tests.processes.test_qualification_lifecycle import (
    at,
    lifecycle_of,
    people,  # noqa: F401 - the fixture
    qualification,
    register,
)


def send(user: f.Api, instance_id: str, name: str, **payload: str) -> Any:
    return user.post(
        f"/api/v1/instances/{instance_id}/messages", json={"name": name, "payload": payload}
    )


def test_only_the_province_revokes_or_withdraws_by_hand(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    q = register(ctx, tier="little_giant")  # a case MIIT reads
    at(ctx, clock, date(2026, 1, 1))
    case = lifecycle_of(ctx, q).id
    for who, name in (
        ("city", "revoke_qualification"),
        ("miit", "revoke_qualification"),
        ("miit", "withdraw_renewal"),
        ("city", "withdraw_renewal"),
    ):
        refused = send(people[who], case, name, reason="x", decided_by="province")
        assert refused.status_code == 403, (who, name, refused.json)
        assert "只能由省工信厅发送" in refused.json["detail"]
    assert qualification(ctx, q.number).status == "active"  # nothing happened


def test_the_history_names_the_sender_not_the_decided_by_the_payload_claims(  # type: ignore[no-untyped-def]
    ctx,
    clock,
    people,  # noqa: F811
) -> None:
    q = register(ctx)
    at(ctx, clock, date(2026, 1, 1))
    case = lifecycle_of(ctx, q).id
    sent = send(
        people["province"], case, "revoke_qualification", reason="造假", decided_by="auditor"
    )
    assert sent.status_code == 200, sent.json
    revoked = qualification(ctx, q.number)
    assert (revoked.status, revoked.status_changed_by) == ("revoked", "prov")
    with ctx.reading() as session:
        last = session.scalars(
            select(HistoryEvent)
            .where(
                HistoryEvent.stream == f"instance:{case}",
                HistoryEvent.kind == "qualification.changed",
            )
            .order_by(HistoryEvent.seq.desc())
            .limit(1)
        ).one()
    assert last.actor == "prov", last.data
