"""Messages between instances go through the outbox and are never lost (sent before or after
the receiver waits); staff can publish a message by correlation."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import definitions, instances
from engine.context import Actor, EngineContext
from engine.store import Instance, Message
from tests.fixtures.tasks import open_task

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "messages"
PROVINCE = Actor(id="prov", role="province")


@pytest.fixture
def deployed(ctx: EngineContext) -> None:
    files = {p.name: p.read_text() for p in FIXTURES.glob("*.bpmn")}
    definitions.deploy(ctx, files=files, actor=Actor(id="owner", role="process_owner"))


def status(ctx: EngineContext, instance_id: str) -> tuple[str, str | None]:
    with ctx.reading() as session:
        row = session.get(Instance, instance_id)
        return row.status, row.outcome


def send_revocation(ctx: EngineContext, target: str) -> str:
    sender = instances.start_instance(ctx, process_key="revoke_sender", actor=PROVINCE)
    instances.complete_task(
        ctx,
        task_id=open_task(ctx, sender.id, "decide"),
        actor=PROVINCE,
        data={"target": target, "reason": "数据造假"},
    )
    return sender.id


def test_message_sent_after_the_receiver_waits_is_delivered_at_once(ctx, deployed) -> None:  # type: ignore[no-untyped-def]
    receiver = instances.start_instance(ctx, process_key="revoke_receiver", actor=PROVINCE)
    instances.complete_task(
        ctx, task_id=open_task(ctx, receiver.id, "prepare"), actor=PROVINCE, data={}
    )
    send_revocation(ctx, receiver.business_key)
    assert status(ctx, receiver.id) == ("completed", "revoked: 数据造假")


def test_message_sent_before_the_receiver_waits_is_kept_and_delivered_later(ctx, deployed) -> None:  # type: ignore[no-untyped-def]
    receiver = instances.start_instance(ctx, process_key="revoke_receiver", actor=PROVINCE)
    send_revocation(ctx, receiver.business_key)
    with ctx.reading() as session:
        assert [m.status for m in session.query(Message)] == ["pending"]
    instances.complete_task(
        ctx, task_id=open_task(ctx, receiver.id, "prepare"), actor=PROVINCE, data={}
    )
    assert status(ctx, receiver.id) == ("completed", "revoked: 数据造假")
    with ctx.reading() as session:
        assert [m.status for m in session.query(Message)] == ["delivered"]


def test_message_reaches_only_the_correlated_instance(ctx, deployed) -> None:  # type: ignore[no-untyped-def]
    first = instances.start_instance(ctx, process_key="revoke_receiver", actor=PROVINCE)
    second = instances.start_instance(ctx, process_key="revoke_receiver", actor=PROVINCE)
    for row in (first, second):
        instances.complete_task(
            ctx, task_id=open_task(ctx, row.id, "prepare"), actor=PROVINCE, data={}
        )
    send_revocation(ctx, second.business_key)
    assert status(ctx, first.id) == ("running", None)
    assert status(ctx, second.id)[0] == "completed"


def test_staff_publish_a_message_by_correlation_through_the_api(ctx, deployed, client) -> None:  # type: ignore[no-untyped-def]
    from tests import factories as f

    province = f.user(ctx, client, role="province", user_id="prov")
    receiver = instances.start_instance(ctx, process_key="revoke_receiver", actor=PROVINCE)
    instances.complete_task(
        ctx, task_id=open_task(ctx, receiver.id, "prepare"), actor=PROVINCE, data={}
    )
    response = province.post(
        "/api/v1/messages",
        json={
            "name": "revoke_test",
            "payload": {"reason": "第十二条"},
            "correlation": {"business_key": receiver.business_key},
        },
    )
    assert response.status_code == 201, response.json
    assert status(ctx, receiver.id) == ("completed", "revoked: 第十二条")
    history = province.get(f"/api/v1/instances/{receiver.id}/history").json
    assert any(e["kind"] == "message.received" and e["data"]["message_id"] for e in history)


def test_publishing_without_a_routing_key_is_rejected(ctx, deployed, client) -> None:  # type: ignore[no-untyped-def]
    from tests import factories as f

    province = f.user(ctx, client, role="province", user_id="prov")
    response = province.post(
        "/api/v1/messages", json={"name": "revoke_test", "payload": {}, "correlation": {}}
    )
    assert response.status_code == 422
    assert "correlation" in response.json["errors"]


def test_a_payload_with_business_keys_is_one_message_per_key_and_none_for_an_empty_list() -> None:
    from engine.outbox import split_by_key

    payload = {"business_keys": ["JX-1", "JX-2", "JX-1"], "reason": "r", "uscc": "U"}
    assert split_by_key(payload) == [
        {"reason": "r", "uscc": "U", "business_key": "JX-1"},
        {"reason": "r", "uscc": "U", "business_key": "JX-2"},
    ]
    # no certificate named: nobody is revoked (never a fallback to every tier by USCC)
    assert split_by_key({"business_keys": [], "uscc": "U"}) == []
    assert split_by_key({"uscc": "U"}) == [{"uscc": "U"}]
