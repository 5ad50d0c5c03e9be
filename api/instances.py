"""Instance API: start, list, get with open tasks, history, messages (objections)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor, engine_context
from api.schemas import (
    EventOut,
    InstanceDetailOut,
    InstanceListArgs,
    InstanceOut,
    MessageIn,
    ObjectionIn,
    StartInstanceIn,
    error_responses,
    fast_start_instance_in,
    hot_arguments,
    page_schema,
    plain_json,
    roles_first,
)
from api.tasks import instance_json, task_json
from engine import access, enterprises, instances, positions, queries

bp = Blueprint(
    "instances", __name__, url_prefix="/api/v1/instances", description="案件（流程实例）"
)


@bp.route("")
class Instances(MethodView):
    @error_responses(bp, {422: "查询参数不合法（逐项列出）"})
    @bp.arguments(InstanceListArgs(), location="query")
    @bp.response(200, page_schema(InstanceOut))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List the cases I may see."""
        ctx = engine_context()
        items, total = queries.instances(ctx, current_actor(), **args)
        migrated = queries.migrated_from(ctx, [i.id for i in items])
        return {
            "items": [
                instance_json(i) | {"migrated_from_version": migrated.get(i.id)} for i in items
            ],
            "total": total,
            "page": args["page"],
            "per_page": args["per_page"],
        }

    @error_responses(
        bp,
        {
            404: "流程未部署，或申报批次不存在",
            409: "批次不在申报期内、已在本批次申报、已持有该资格、处于禁止申报期或缺少前置资格",
            422: "请求体不合法，或缺少 round_id、uscc 等必填项（逐项列出）",
        },
    )
    @roles_first(bp, *sorted(access.ANY_STARTER))  # 403 before any 422 on the body
    @hot_arguments(bp, StartInstanceIn(), fast_start_instance_in)
    @bp.response(201, InstanceOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Start a case (an enterprise applies in an open round)."""
        ctx, actor = engine_context(), current_actor()
        enterprises.require_major_change_holder(
            ctx, actor, body["process_key"], body.get("uscc")
        )  # 第十一条: a P5 case needs a valid qualification (409 naming the rule)
        row = instances.start_instance(ctx, actor=actor, **body)
        return plain_json(instance_json(row), 201)


@bp.route("/<uuid:instance_id>")
class InstanceDetail(MethodView):
    @error_responses(bp, {404: "案件不存在，或不在本人可见范围"})
    @bp.response(200, InstanceDetailOut)
    def get(self, instance_id: Any) -> Any:
        """Get a case with its open tasks."""
        ctx = engine_context()
        found = queries.instance(ctx, current_actor(), str(instance_id))
        now = ctx.now()
        return plain_json(
            instance_json(found["instance"])
            | {
                "state_bytes": found["state_bytes"],
                "open_tasks": [task_json(t, now) for t in found["open_tasks"]],
            }
        )


@bp.route("/<uuid:instance_id>/history")
class InstanceHistory(MethodView):
    @error_responses(bp, {404: "案件不存在，或不在本人可见范围"})
    @bp.response(200, EventOut(many=True))
    def get(self, instance_id: Any) -> list[Any]:
        """The case's hash-chained history: who did what, when, on which version, with what."""
        return queries.instance_history(engine_context(), current_actor(), str(instance_id))


@bp.route("/<uuid:instance_id>/position")
class InstancePosition(MethodView):
    def get(self, instance_id: Any) -> dict[str, Any]:
        """Where the case stands: elements completed and active, open tasks, timers."""
        return positions.position(engine_context(), current_actor(), str(instance_id))


@bp.route("/<uuid:instance_id>/messages")
class Messages(MethodView):
    @error_responses(
        bp,
        {
            404: "案件不存在，或不在本人可见范围",
            409: "案件当前不等待该消息",
            422: "请求体不合法（逐项列出）",
        },
    )
    @roles_first(bp, *sorted(access.ANY_MESSAGE_SENDER))  # 403 before any 422 on the body
    @bp.arguments(MessageIn)
    @bp.response(200, InstanceOut)
    def post(self, body: dict[str, Any], instance_id: Any) -> dict[str, Any]:
        """Deliver a BPMN message to the case (409 if it does not wait for it)."""
        ctx, actor = engine_context(), current_actor()
        row = instances.send_message(
            ctx,
            instance_id=str(instance_id),
            name=body["name"],
            payload=body["payload"],
            actor=actor,
        )
        return instance_json(queries.readable_case(ctx, actor, row))


@bp.route("/<uuid:instance_id>/objections")
class Objections(MethodView):
    @error_responses(
        bp,
        {
            404: "案件不存在，或不在本人地区",
            409: "案件当前不接收异议：不在公示期内，或正在审查另一项异议",
            422: "缺少提出人或异议内容",
        },
    )
    @roles_first(bp, *sorted(access.MESSAGE_SENDERS["objection"]))  # 403 before any 422
    @bp.arguments(ObjectionIn)
    @bp.response(200, InstanceOut)
    def post(self, body: dict[str, Any], instance_id: Any) -> dict[str, Any]:
        """Register an objection received during 公示 (pauses the case into an objection review)."""
        ctx, actor = engine_context(), current_actor()
        row = instances.send_message(
            ctx, instance_id=str(instance_id), name="objection", payload=body, actor=actor
        )
        return instance_json(queries.readable_case(ctx, actor, row))
