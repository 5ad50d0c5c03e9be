"""Notifications a process sends (reminders before deadlines): the ``notify.send`` operator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.registry import operator

ADDRESSEES = ("enterprise", "city", "province", "miit")
KINDS = ("reminder", "deadline", "outcome", "info")


@operator("notify.send", record="notification")
def send(
    *, to: str, title: str, body: str = "", kind: str = "reminder", due_at: str | None = None
) -> dict[str, Any]:
    """Describe a notification for a role (the case's enterprise or city, ...) or user:<id>."""
    if not (to in ADDRESSEES or (to.startswith("user:") and len(to) > 5)):
        raise ValueError(
            f"unknown addressee {to!r}: use one of {', '.join(ADDRESSEES)} or user:<id>"
        )
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}: use one of {', '.join(KINDS)}")
    if due_at:
        datetime.fromisoformat(due_at)  # a malformed deadline fails here, naming the value
    return {
        "notification": {"to": to, "title": title, "body": body, "kind": kind, "due_at": due_at}
    }
