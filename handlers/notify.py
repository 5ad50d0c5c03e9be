"""Notifications a process sends (reminders before deadlines): the ``notify.send`` operator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.registry import operator

ADDRESSEES = ("enterprise", "city", "province", "miit")
KINDS = ("reminder", "deadline", "outcome", "info")
LATE_REMINDER = "提醒时已过截止时间"


def _passed(due: datetime, now: str | None) -> bool:
    """Whether the deadline `due` is no later than the engine's `now` (a deadline given
    without a time zone is read in the zone of `now`, the engine's)."""
    if not now:
        return False
    moment = datetime.fromisoformat(now)
    if due.tzinfo is None:
        moment = moment.replace(tzinfo=None)
    return due <= moment


@operator("notify.send", record="notification", record_key="notification")
def send(
    *,
    to: str,
    title: str,
    body: str = "",
    kind: str = "reminder",
    due_at: str | None = None,
    now: str | None = None,
) -> dict[str, Any]:
    """Describe a notification for a role (the case's enterprise or city, ...) or user:<id>.

    A reminder whose deadline has passed when it is sent (its timer fired late, e.g. when the
    scheduler catches up after a stop, in the command that also lets its deadline pass) is not
    sent: the result says so (``sent`` false, with the reason) and no notification is written.
    `now` is the engine clock's moment, passed by the engine. `to` may name several
    addressees separated by commas ("enterprise,city,province"): one notification each.
    """
    for one in to.split(","):
        if not (one in ADDRESSEES or (one.startswith("user:") and len(one) > 5)):
            raise ValueError(
                f"unknown addressee {one!r}: use one of {', '.join(ADDRESSEES)} or user:<id>"
            )
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}: use one of {', '.join(KINDS)}")
    due = datetime.fromisoformat(due_at) if due_at else None  # a malformed deadline fails here
    if kind == "reminder" and due is not None and _passed(due, now):
        return {"sent": False, "reason": LATE_REMINDER, "due_at": due_at, "title": title}
    return {
        "notification": {"to": to, "title": title, "body": body, "kind": kind, "due_at": due_at}
    }
