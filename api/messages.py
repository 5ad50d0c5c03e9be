"""Messages: publish a BPMN message to the instances that wait for it (routed by correlation)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.auth import current_actor, engine_context
from api.schemas import LocalDateTime, roles_first
from engine import instances

bp = Blueprint(
    "messages", __name__, url_prefix="/api/v1/messages", description="消息（跨案件事件）"
)


class PublishIn(Schema):
    name = fields.String(required=True, metadata={"description": "BPMN 消息名"})
    correlation = fields.Dict(
        required=True, metadata={"description": "路由键：instance_id、business_key 或 uscc"}
    )
    payload = fields.Dict(load_default=dict)


class MessageOut(Schema):
    id = fields.String()
    name = fields.String()
    correlation = fields.Dict()
    status = fields.String()
    created_at = LocalDateTime()
    expires_at = LocalDateTime()


@bp.route("")
class Messages(MethodView):
    @roles_first(bp, "province")  # 403 before any 422 on the body
    @bp.arguments(PublishIn)
    @bp.response(201, MessageOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Publish a message (province); delivered once a receiver waits, until it expires."""
        return instances.publish_message(engine_context(), actor=current_actor(), **body)
