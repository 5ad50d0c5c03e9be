"""Task API: inbox, task detail with form, claim, unclaim, complete."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_actor, engine_context
from api.schemas import (
    CompleteTaskIn,
    InboxTaskOut,
    InstanceOut,
    PageArgs,
    TaskDetailOut,
    TaskListArgs,
    TaskOut,
    error_responses,
    fast_complete_task_in,
    fast_task_list_args,
    hot_arguments,
    page_schema,
    plain_json,
)
from engine import instances, queries, task_views
from engine.store import outcome_label

bp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="人工任务（待办）")


TASK_FIELDS = [c for c in TaskOut().fields if c != "overdue"]
INSTANCE_FIELDS = [f for f in InstanceOut().fields if f != "outcome_name"]


def task_json(row: Any, now: Any) -> dict[str, Any]:
    out = {c: getattr(row, c) for c in TASK_FIELDS}
    out["overdue"] = bool(row.state == "open" and row.due_at and row.due_at < now)
    return out


def inbox_task_json(row: Any, now: Any, names: dict[str, str]) -> dict[str, Any]:
    """A task as the inbox lists it: with its enterprise's name and who claimed or completed it
    by name (an inbox row's columns)."""
    return task_json(row, now) | {
        "enterprise_name": row.enterprise_name,
        "assignee_name": names.get(row.assignee) if row.assignee else None,
        "completed_by_name": names.get(row.completed_by) if row.completed_by else None,
    }


def instance_json(row: Any) -> dict[str, Any]:
    """A case's JSON from its ORM row or a plain row of its columns."""
    out = {c: getattr(row, c, None) for c in INSTANCE_FIELDS}
    out["outcome_name"] = outcome_label(row.process_key, row.outcome)
    return out


@bp.route("")
class Inbox(MethodView):
    @error_responses(bp, {422: "查询参数不合法（逐项列出）"})
    @hot_arguments(bp, TaskListArgs(), fast_task_list_args, location="query")
    @bp.response(200, page_schema(InboxTaskOut))
    def get(self, args: dict[str, Any]) -> Any:
        """List my tasks: my role and region (or mine=true: claimed by me), overdue first, each
        with its enterprise's name."""
        ctx = engine_context()
        items, total = task_views.inbox(ctx, current_actor(), **args)
        now, names = ctx.now(), task_views.people_names(ctx, items)
        return plain_json(
            {
                "items": [inbox_task_json(t, now, names) for t in items],
                "total": total,
                "page": args["page"],
                "per_page": args["per_page"],
            }
        )


@bp.route("/<uuid:task_id>")
class TaskDetail(MethodView):
    @error_responses(bp, {404: "任务不存在，或不在本人可见范围（角色、地区、企业）"})
    @bp.response(200, TaskDetailOut)
    def get(self, task_id: Any) -> dict[str, Any]:
        """Get a task with its form's JSON schema and the case data it was created with: the
        data's fields (`data_schema`) and the evidence files it names (`evidence_files`)."""
        ctx, actor = engine_context(), current_actor()
        found = task_views.task(ctx, actor, str(task_id))
        read = queries.readable_task_data(  # 第十三条: a complainant's identity as history reads
            ctx,
            actor,
            found["task"],
            {
                "data": found["task"].data,
                "submitted": found["submitted"],
                "evidence_files": found["evidence_files"],
                "earlier_steps": [step["submitted"] for step in found["earlier_steps"]],
            },
        )
        row = found["task"]
        doers = [
            SimpleNamespace(assignee=None, completed_by=s["completed_by"])
            for s in found["earlier_steps"]
        ]
        names = task_views.people_names(ctx, [row, *doers])
        steps = [
            {
                **step,
                "submitted": said,
                "completed_by_name": names.get(step["completed_by"], step["completed_by"]),
            }
            for step, said in zip(found["earlier_steps"], read["earlier_steps"], strict=True)
        ]
        return task_json(row, ctx.now()) | {
            "enterprise_name": found["enterprise_name"],
            "assignee_name": names.get(row.assignee) if row.assignee else None,
            "completed_by_name": names.get(row.completed_by) if row.completed_by else None,
            "prefill": found["prefill"],
            "submitted": read["submitted"],
            "earlier_steps": steps,
            "form": found["form"],
            "instructions": found["instructions"],
            "data": read["data"],
            "data_schema": found["data_schema"],
            "complainant": found["complainant"],
            "evidence_files": read["evidence_files"],
            "version": found["version"],
        }


@bp.route("/<uuid:task_id>/claim")
class Claim(MethodView):
    @error_responses(
        bp,
        {
            403: "审计人员只能查看，不能认领",
            404: "任务不存在，或不在本人可见范围",
            409: "任务已办结，或已由他人认领",
        },
    )
    @bp.response(200, TaskOut)
    def post(self, task_id: Any) -> dict[str, Any]:
        """Claim a task (409 if someone else holds it)."""
        ctx = engine_context()
        return task_json(
            instances.claim_task(ctx, task_id=str(task_id), actor=current_actor()), ctx.now()
        )


@bp.route("/<uuid:task_id>/unclaim")
class Unclaim(MethodView):
    @error_responses(
        bp,
        {404: "任务不存在，或不在本人可见范围", 409: "任务已办结，或不是由本人认领"},
    )
    @bp.response(200, TaskOut)
    def post(self, task_id: Any) -> dict[str, Any]:
        """Release a task I hold."""
        ctx = engine_context()
        row = instances.claim_task(ctx, task_id=str(task_id), actor=current_actor(), claim=False)
        return task_json(row, ctx.now())


@bp.route("/<uuid:task_id>/complete")
class Complete(MethodView):
    @error_responses(
        bp,
        {
            403: "审计人员只能查看，不能办理任务",
            404: "任务不存在，或不在本人可见范围",
            409: "任务已办结、已由他人认领、办理期限已过，或案件已被他人同时修改",
            422: "表单数据未通过校验：errors 按字段列出（中文）",
        },
    )
    @hot_arguments(bp, CompleteTaskIn(), fast_complete_task_in)
    @bp.response(200, InstanceOut)
    def post(self, body: dict[str, Any], task_id: Any) -> Any:
        """Complete a task with form data (422 per field; 409 if done or claimed by another)."""
        ctx, actor = engine_context(), current_actor()
        row = instances.complete_task(ctx, task_id=str(task_id), actor=actor, data=body["data"])
        return plain_json(instance_json(queries.readable_case(ctx, actor, row)))


__all__ = ["PageArgs", "bp"]
