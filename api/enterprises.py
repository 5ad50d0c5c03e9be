"""Enterprises: the province moves one to another region (第十一条 corrections); bans (第十二条)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import current_actor, engine_context
from api.schemas import (
    USCC_FILTER,
    LocalDateTime,
    PageArgs,
    error_responses,
    page_schema,
    roles_first,
)
from engine import enterprises

bp = Blueprint(
    "enterprises", __name__, url_prefix="/api/v1/enterprises", description="企业（所属地区调整）"
)
bans_bp = Blueprint(
    "bans", __name__, url_prefix="/api/v1/bans", description="禁止申请记录（第十二条）"
)


class RegionIn(Schema):
    region = fields.String(
        required=True, metadata={"description": "新的负责地区代码，如 360700（赣州市）"}
    )
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "调整理由（记入各案件历史）"},
    )


class RegionOut(Schema):
    uscc = fields.String()
    from_region = fields.String(allow_none=True, metadata={"description": "原负责地区"})
    to_region = fields.String(metadata={"description": "新的负责地区"})
    cases = fields.List(
        fields.String(), metadata={"description": "随之转移的进行中案件（含待办任务）"}
    )


class BanListArgs(PageArgs):
    uscc = fields.String(metadata={"description": USCC_FILTER})
    active_on = fields.Date(
        metadata={"description": "只列出该日有效的禁止（起始日 ≤ 该日 < 结束日）"}
    )
    active = fields.Boolean(
        metadata={"description": "true：只列出今天（服务器所在时区的日期）有效的禁止"}
    )


class BanOut(Schema):
    id = fields.String()
    uscc = fields.String()
    enterprise_name = fields.String(allow_none=True)
    region = fields.String(allow_none=True, metadata={"description": "企业当前所属地区"})
    starts_on = fields.Date(metadata={"description": "禁止申请起始日"})
    ends_on = fields.Date(metadata={"description": "自该日起可再次申请"})
    active = fields.Boolean(metadata={"description": "今天是否有效"})
    reason = fields.String()
    basis = fields.String(metadata={"description": "依据条款"})
    instance_id = fields.String(allow_none=True, metadata={"description": "作出决定的案件"})
    created_at = LocalDateTime()
    created_by = fields.String()


def ban_json(ban: Any, enterprise: Any, today: date) -> dict[str, Any]:
    return {
        "id": ban.id,
        "uscc": ban.uscc,
        "enterprise_name": enterprise.name if enterprise else None,
        "region": enterprise.region if enterprise else None,
        "starts_on": ban.starts_on,
        "ends_on": ban.ends_on,
        "active": ban.starts_on <= today < ban.ends_on,
        "reason": ban.reason,
        "basis": ban.basis,
        "instance_id": ban.instance_id,
        "created_at": ban.created_at,
        "created_by": ban.created_by,
    }


@bp.route("/<string:uscc>/region")
class EnterpriseRegion(MethodView):
    @roles_first(bp, "province")  # 403 before any 422 on the body
    @error_responses(
        bp,
        {
            404: "企业未登记",
            422: "请求体不合法，地区代码不存在，或与企业当前所属地区相同",
        },
    )
    @bp.arguments(RegionIn)
    @bp.response(200, RegionOut)
    def post(self, body: dict[str, Any], uscc: str) -> dict[str, Any]:
        """Make another region responsible for an enterprise (province only).

        Its running cases and their open tasks move with it (the old city loses access, the new
        one finds them in its inbox); each case's history records the move. A relocation found in
        a 重大变化 case is done by that case; this call is for corrections.
        """
        return enterprises.relocate_enterprise(
            engine_context(), uscc=uscc, actor=current_actor(), **body
        )


@bans_bp.route("")
class Bans(MethodView):
    @bans_bp.arguments(BanListArgs, location="query")
    @bans_bp.response(200, page_schema(BanOut))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Re-application bans (第十二条): province, MIIT and auditors all; a city its region's
        enterprises; an enterprise its own."""
        ctx = engine_context()
        today = ctx.today()
        if args.pop("active", False) and "active_on" not in args:
            args["active_on"] = today
        rows, total = enterprises.bans(ctx, current_actor(), **args)
        return {
            "items": [ban_json(b, e, today) for b, e in rows],
            "total": total,
            "page": args["page"],
            "per_page": args["per_page"],
        }


BLUEPRINTS = [bp, bans_bp]
