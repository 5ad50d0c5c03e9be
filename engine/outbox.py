"""Message outbox: messages thrown by instances (or published by staff) are stored in the
sender's transaction and routed after commit to the instances waiting for them, matched by
name and correlation (instance_id, business_key or uscc). A message whose receiver does not
wait yet stays pending until it expires, so nothing sent early is lost.

A thrown payload with a list ``business_keys`` is sent as one message per key (e.g. a decision
revoking two of an enterprise's qualifications reaches exactly those two lifecycle cases)."""

from __future__ import annotations

import contextvars
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import history, records
from engine.errors import InvalidInput, MessageNotExpected
from engine.store import Instance, Message, MessageDelivery, MessageSubscription, Qualification

ROUTING_KEYS = ("instance_id", "business_key", "uscc")
# messages whose receiver records who decided (payload `decided_by`, docs/lifecycle.md §4): by
# default the sender, the user who published it or whose task threw it
DECISION_MESSAGES = ("revoke_qualification", "withdraw_renewal")
DISPATCH_NEEDED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tidu_dispatch", default=False
)


def correlation_of(payload: Any) -> dict[str, str]:
    """Routing key of a payload: an explicit `correlation` dict, else the first key present."""
    if not isinstance(payload, dict):
        return {}
    explicit = payload.get("correlation")
    source = explicit if isinstance(explicit, dict) else payload
    for key in ROUTING_KEYS:
        if source.get(key):
            return {key: str(source[key])}
    return {}


def add(
    session: Session,
    *,
    name: str,
    payload: dict[str, Any],
    correlation: dict[str, str],
    sent_by: str,
    now: datetime,
    ttl: timedelta,
    sender_instance_id: str | None = None,
) -> Message:
    """Store one outgoing message (pending) and record it in the sender's history."""
    if not correlation or set(correlation) - set(ROUTING_KEYS):
        raise InvalidInput(
            f"消息 {name} 缺少路由键（{', '.join(ROUTING_KEYS)} 之一）",
            errors={"correlation": ["必填"]},
        )
    if name in DECISION_MESSAGES:  # who decided is the sender, never what the payload claims
        payload = {**payload, "decided_by": sent_by}
    row = Message(
        name=name,
        payload=payload,
        correlation=correlation,
        broadcast="uscc" in correlation,
        sender_instance_id=sender_instance_id,
        sent_by=sent_by,
        status="pending",
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    session.flush()
    stream = f"instance:{sender_instance_id}" if sender_instance_id else "messages"
    history.append(
        session,
        stream=stream,
        kind="message.sent",
        actor=sent_by,
        at=now,
        instance_id=sender_instance_id,
        data={"message_id": row.id, "name": name, "correlation": correlation, "payload": payload},
    )
    DISPATCH_NEEDED.set(True)
    return row


def collect(
    session: Session, wf: Any, row: Instance, actor_id: str, now: datetime, ttl: timedelta
) -> None:
    """Move the messages an instance threw during this command into the outbox, each as the
    instance may send it out (records.outgoing: e.g. a complaint's without the complainant)."""
    for event in wf.get_events():
        if not isinstance(event.event_definition, MessageEventDefinition):
            continue
        payload = event.payload if isinstance(event.payload, dict) else {"value": event.payload}
        payload = records.outgoing(session, row, payload)
        for one in split_by_key(payload):
            add(
                session,
                name=event.event_definition.name,
                payload=one,
                correlation=correlation_of(one),
                sent_by=actor_id,
                now=now,
                ttl=ttl,
                sender_instance_id=row.id,
            )


def split_by_key(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One payload per entry of a `business_keys` list (an empty list: no message, never a
    fallback to another routing key such as the USCC), else the payload itself."""
    keys = payload.get("business_keys")
    if not isinstance(keys, list):
        return [payload]
    rest = {k: v for k, v in payload.items() if k != "business_keys"}
    return [{**rest, "business_key": str(key)} for key in dict.fromkeys(keys)]


def refuse_closed_qualification(
    session: Session, name: str, correlation: dict[str, str], zone: ZoneInfo
) -> None:
    """Refuse a decision message (revocation, renewal withdrawal) published for a qualification
    whose lifecycle case has ended (expired, revoked): no case will ever receive it. A number
    not in the registry yet stays pending (the qualification may be about to be issued)."""
    number = correlation.get("business_key")
    if name not in DECISION_MESSAGES or not number:
        return
    q = session.scalars(select(Qualification).where(Qualification.number == str(number))).first()
    if q is None:
        return
    case = session.get(Instance, q.lifecycle_instance_id) if q.lifecycle_instance_id else None
    if case is not None and case.status == "running" and q.status not in ("expired", "revoked"):
        return
    if q.status == "expired":
        why = f"资格 {number} 已于 {q.expires_on.isoformat()} 到期失效"
    elif q.status == "revoked":
        on = q.status_changed_at.astimezone(zone).date().isoformat() if q.status_changed_at else ""
        why = f"资格 {number} 已于 {on} 撤销（{q.status_reason or '未注明理由'}）"
    else:
        why = f"资格 {number} 的生命周期案件不在进行中"
    label = {"revoke_qualification": "撤销", "withdraw_renewal": "取消复核资格"}[name]
    raise MessageNotExpected(f"{why}，其生命周期案件已结束，无法再{label}")


def pending_deliveries(session: Session, now: datetime, limit: int = 200) -> list[tuple[str, str]]:
    """(message id, instance id) pairs ready to deliver; expired messages are closed."""
    pairs: list[tuple[str, str]] = []
    messages = session.scalars(
        select(Message).where(Message.status == "pending").order_by(Message.created_at).limit(limit)
    ).all()
    for message in messages:
        if message.expires_at <= now:
            message.status = "expired"
            continue
        key, value = next(iter(message.correlation.items()))
        column = {
            "instance_id": Instance.id,
            "business_key": Instance.business_key,
            "uscc": Instance.uscc,
        }[key]
        delivered = select(MessageDelivery.instance_id).where(
            MessageDelivery.message_id == message.id
        )
        receivers = session.scalars(
            select(MessageSubscription.instance_id)
            .join(Instance, Instance.id == MessageSubscription.instance_id)
            .where(
                MessageSubscription.name == message.name,
                column == value,
                MessageSubscription.instance_id.not_in(delivered),
                # a broadcast reaches the instances that existed when it was sent, not later ones
                Instance.started_at <= message.created_at if message.broadcast else True,
            )
            .group_by(MessageSubscription.instance_id)
        ).all()
        pairs += [(message.id, r) for r in (receivers if message.broadcast else receivers[:1])]
    return pairs


def mark_delivered(session: Session, message: Message, instance_id: str, now: datetime) -> None:
    session.add(MessageDelivery(message_id=message.id, instance_id=instance_id, delivered_at=now))
    if not message.broadcast:
        message.status, message.delivered_at = "delivered", now
