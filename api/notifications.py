"""Notifications: reminders and outcomes for me (or my role in my region / enterprise)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.auth import current_actor, engine_context
from api.schemas import LocalDateTime, PageArgs, error_responses, page_schema
from engine import notifications

bp = Blueprint(
    "notifications",
    __name__,
    url_prefix="/api/v1/notifications",
    description="通知（截止前提醒等）",
)


class NotificationListArgs(PageArgs):
    unread = fields.Boolean(load_default=False, metadata={"description": "只列未读通知"})


class NotificationOut(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "reminder | deadline | outcome | info"})
    title = fields.String()
    body = fields.String()
    instance_id = fields.String(allow_none=True)
    due_at = LocalDateTime(allow_none=True, metadata={"description": "所提醒的截止时间"})
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)
    read_by = fields.String(allow_none=True)


@bp.route("")
class Notifications(MethodView):
    @bp.arguments(NotificationListArgs, location="query")
    @bp.response(200, page_schema(NotificationOut))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List my notifications (to me, or to my role in my region / enterprise), newest first."""
        items, total = notifications.list_for(engine_context(), current_actor(), **args)
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@bp.route("/<string:notification_id>/read")
class MarkRead(MethodView):
    @error_responses(bp, {404: "通知不存在，或不是发给我的"})
    @bp.response(200, NotificationOut)
    def post(self, notification_id: str) -> Any:
        """Mark one of my notifications read (404 if it is not mine)."""
        return notifications.mark_read(
            engine_context(), notification_id=notification_id, actor=current_actor()
        )
