"""Complaints (第十三条): real-name filing, a complainant's own complaints, identity for the
handling authority and auditors only."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.auth import current_actor, engine_context
from api.schemas import LocalDateTime, PageArgs, error_responses, page_schema, roles_first
from engine import complaints
from engine.store import outcome_label

bp = Blueprint(
    "complaints", __name__, url_prefix="/api/v1/complaints", description="投诉（第十三条）"
)


class ComplainantIn(Schema):
    name = fields.String(load_default=None, metadata={"description": "投诉人真实姓名"})
    id_number = fields.String(load_default=None, metadata={"description": "身份证件号码"})
    contact = fields.String(load_default=None, metadata={"description": "联系电话或电子邮箱"})


class ComplaintIn(Schema):
    uscc = fields.String(load_default=None, metadata={"description": "被投诉企业统一社会信用代码"})
    tier = fields.String(
        load_default=None,
        metadata={
            "description": "投诉针对的资格梯度 innovative / specialized / little_giant；"
            "默认为企业持有的最高梯度"
        },
    )
    subject = fields.String(load_default=None, metadata={"description": "投诉事项"})
    content = fields.String(load_default=None, metadata={"description": "投诉的具体事实"})
    evidence = fields.List(
        fields.String(), load_default=list, metadata={"description": "证据材料文件编号"}
    )
    complainant = fields.Nested(ComplainantIn, load_default=dict)


class IdentityOut(Schema):
    name = fields.String()
    id_number = fields.String()
    contact = fields.String()


class ComplaintOut(Schema):
    id = fields.String(metadata={"description": "投诉案件编号"})
    uscc = fields.String()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    outcome_name = fields.String(allow_none=True, metadata={"description": "结果的中文名称"})
    authority = fields.String()
    filed_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
    complainant = fields.Nested(IdentityOut, allow_none=True)


def _json(person: Any, case: Any, identity: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": case.id,
        "uscc": case.uscc,
        "status": case.status,
        "outcome": case.outcome,
        "outcome_name": outcome_label(case.process_key, case.outcome),
        "authority": person.authority,
        "filed_at": person.filed_at,
        "completed_at": case.completed_at,
        "complainant": identity,
    }


@bp.route("")
class Complaints(MethodView):
    @roles_first(bp, *sorted(complaints.FILERS))  # 403 before any 422 on the body
    @error_responses(bp, {422: "投诉缺少要件（complaint-refused，逐项列出），或请求体不合法"})
    @bp.arguments(ComplaintIn)
    @bp.response(201, ComplaintOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """File a real-name complaint (422 `complaint-refused` naming each missing element)."""
        case = complaints.file_complaint(engine_context(), actor=current_actor(), body=body)
        found = complaints.one(engine_context(), current_actor(), case.id)
        return _json(found["complainant"], found["instance"])

    @bp.arguments(PageArgs, location="query")
    @bp.response(200, page_schema(ComplaintOut))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The complaints I filed, newest first, with their status and outcome."""
        rows, total = complaints.mine(engine_context(), current_actor(), **args)
        return {"items": [_json(p, c) for p, c in rows], "total": total, **args}


@bp.route("/<uuid:complaint_id>")
class ComplaintDetail(MethodView):
    @error_responses(bp, {404: "投诉不存在，或不是本人所投、不在本机关受理范围"})
    @bp.response(200, ComplaintOut)
    def get(self, complaint_id: Any) -> dict[str, Any]:
        """One complaint: its filer, the handling authority and auditors (with the identity)."""
        found = complaints.one(engine_context(), current_actor(), str(complaint_id))
        return _json(found["complainant"], found["instance"], found["identity"])
