"""Qualification registry: list, detail with lifecycle, legacy import, public list (no login)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import date
from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import current_actor, engine_context
from api.csvout import csv_response
from api.schemas import (
    USCC_FILTER,
    LocalDateTime,
    PageArgs,
    TaskOut,
    error_responses,
    multipart_body,
    page_schema,
    roles_first,
)
from api.tasks import task_json
from engine import legacy, lifecycle, qualification_status
from engine.errors import InvalidInput
from engine.store import TIER_LABELS

bp = Blueprint(
    "qualifications",
    __name__,
    url_prefix="/api/v1/qualifications",
    description="资格（登记、生命周期、存量导入）",
)
public_bp = Blueprint(
    "public", __name__, url_prefix="/api/v1/public", description="公开信息（无需登录）"
)

TIERS = ("innovative", "specialized", "little_giant")
STATUSES = qualification_status.STATUSES
MAX_UPLOAD = 5 * 1024 * 1024


TIER_FILTER = "资格梯度：innovative 创新型 | specialized 专精特新 | little_giant 专精特新“小巨人”"


class QualificationFilters(Schema):
    tier = fields.String(validate=validate.OneOf(TIERS), metadata={"description": TIER_FILTER})
    uscc = fields.String(metadata={"description": USCC_FILTER})
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={
            "description": "资格状态（按今天）：active 有效 | "
            "renewal_ineligible 有效但已取消复核资格 | "
            "in_grace 复核中（已届满，不属有效） | expired 已过期 | revoked 已撤销"
        },
    )
    region = fields.String(metadata={"description": "地区代码，如 360100"})
    expiring_before = fields.Date(metadata={"description": "有效期至早于该日期"})
    renewal_eligible = fields.Boolean(metadata={"description": "是否具备复核资格（第十条）"})


class QualificationListArgs(PageArgs, QualificationFilters):
    pass


class QualificationOut(Schema):
    id = fields.String()
    number = fields.String()
    tier = fields.String()
    tier_label = fields.String()
    uscc = fields.String()
    enterprise_name = fields.String()
    region = fields.String(allow_none=True)
    issued_on = fields.Date(metadata={"description": "认定（公告）日期"})
    expires_on = fields.Date(metadata={"description": "有效期至（含当日）"})
    status = fields.String(
        metadata={
            "description": "按今天的状态：active / renewal_ineligible / in_grace（有效期已届满、"
            "复核尚在宽限期内进行，不属有效）/ expired / revoked"
        }
    )
    status_label = fields.String(metadata={"description": "状态的中文说明"})
    renewal_eligible = fields.Boolean()
    source = fields.String(
        metadata={"description": "evaluation（评价认定）或 legacy（第二十条存量导入）"}
    )
    status_reason = fields.String(allow_none=True)
    status_changed_at = LocalDateTime(allow_none=True)
    status_changed_by = fields.String(allow_none=True)
    info_updated_on = fields.Date(
        allow_none=True, metadata={"description": "最近一次年度信息更新日期"}
    )
    instance_id = fields.String(allow_none=True, metadata={"description": "颁发该资格的案件"})
    lifecycle_instance_id = fields.String(
        allow_none=True, metadata={"description": "资格生命周期案件"}
    )


class StatusEventOut(Schema):
    at = LocalDateTime()
    kind = fields.String()
    actor = fields.String()
    actor_name = fields.String(metadata={"description": "操作人名称（系统操作为中文说明）"})
    data = fields.Dict()


class LifecycleOut(Schema):
    instance_id = fields.String()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    definition_version = fields.Integer()
    open_tasks = fields.List(fields.Nested(TaskOut))
    history = fields.List(fields.Nested(StatusEventOut))


class QualificationDetailOut(QualificationOut):
    lifecycle = fields.Nested(LifecycleOut, allow_none=True)


class ImportOut(Schema):
    rows = fields.Integer()
    imported = fields.List(fields.String())
    skipped = fields.List(
        fields.String(), metadata={"description": "此前已导入、内容相同的行（重复导入不生效）"}
    )
    sha256 = fields.String()
    filename = fields.String()


class PublicListArgs(PageArgs):
    tier = fields.String(validate=validate.OneOf(TIERS), metadata={"description": TIER_FILTER})
    region = fields.String(metadata={"description": "地区代码，如 360100"})
    keyword = fields.String(
        validate=validate.Length(min=2, max=100),
        metadata={"description": "企业名称的一部分，或完整的证书编号"},
    )


class PublicQualificationOut(Schema):
    number = fields.String()
    tier = fields.String()
    tier_label = fields.String()
    enterprise_name = fields.String()
    region = fields.String(allow_none=True)
    region_name = fields.String(allow_none=True)
    issued_on = fields.Date()
    expires_on = fields.Date()


def qualification_json(row: Any, today: date) -> dict[str, Any]:
    status = qualification_status.shown(row.status, row.expires_on, today)
    return {c: getattr(row, c, None) for c in QualificationOut().fields} | {
        "tier_label": TIER_LABELS.get(row.tier),
        "status": status,
        "status_label": qualification_status.STATUS_LABELS.get(status, status),
    }


@bp.route("")
class Qualifications(MethodView):
    @bp.arguments(QualificationListArgs, location="query")
    @bp.response(200, page_schema(QualificationOut))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Qualifications I may see, by tier, USCC, status, region, expiry, renewal eligibility."""
        ctx = engine_context()
        items, total = qualification_status.search(ctx, current_actor(), **args)
        today = ctx.today()
        return {
            "items": [qualification_json(q, today) for q in items],
            "total": total,
            "page": args["page"],
            "per_page": args["per_page"],
        }


EXPORT_HEADER = (
    "证书编号", "梯度", "企业名称", "统一社会信用代码", "地区", "地区代码", "认定日期",
    "有效期至", "状态", "具备复核资格", "最近年度信息更新", "来源", "状态说明",
)  # fmt: skip
SOURCE_LABELS = {"evaluation": "评价认定", "legacy": "存量导入（第二十条）"}


def _export_row(q: Any, regions: dict[str, str], today: date) -> tuple[Any, ...]:
    status = qualification_status.shown(q.status, q.expires_on, today)
    return (
        q.number,
        TIER_LABELS.get(q.tier, q.tier),
        q.enterprise_name,
        q.uscc,
        regions.get(q.region or "", ""),
        q.region,
        q.issued_on,
        q.expires_on,
        qualification_status.STATUS_LABELS.get(status, status),
        "是" if q.renewal_eligible else "否",
        q.info_updated_on,
        SOURCE_LABELS.get(q.source or "", q.source),
        q.status_reason,
    )


def _export_rows(
    found: Iterator[Any], regions: dict[str, str], today: date
) -> Iterator[tuple[Any, ...]]:
    with closing(found):  # a download cut short ends the export's read here
        for q in found:
            yield _export_row(q, regions, today)


class SummaryArgs(Schema):
    expiring_days = fields.Integer(
        load_default=90,
        validate=validate.Range(min=1, max=1096),
        metadata={"description": "“即将到期”的天数（默认 90）"},
    )


class SummaryRowOut(Schema):
    region = fields.String(allow_none=True)
    region_name = fields.String(allow_none=True)
    innovative = fields.Integer(metadata={"description": "有效的创新型中小企业"})
    specialized = fields.Integer(metadata={"description": "有效的专精特新中小企业"})
    little_giant = fields.Integer(metadata={"description": "有效的专精特新“小巨人”企业"})
    valid = fields.Integer(metadata={"description": "有效合计"})
    expiring = fields.Integer(metadata={"description": "expiring_days 天内到期"})
    renewal_ineligible = fields.Integer(metadata={"description": "有效但已取消复核资格（第十条）"})
    in_grace = fields.Integer(
        metadata={"description": "复核中（有效期已届满，复核在宽限期内进行，不计入有效）"}
    )
    revoked = fields.Integer(metadata={"description": "已撤销"})


class SummaryOut(Schema):
    as_of = fields.Date()
    expiring_days = fields.Integer()
    rows = fields.List(fields.Nested(SummaryRowOut))
    totals = fields.Nested(SummaryRowOut)


@bp.route("/summary")
class QualificationSummary(MethodView):
    @bp.arguments(SummaryArgs, location="query")
    @bp.response(200, SummaryOut)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Qualifications valid today by region and tier, expiring soon, without renewal
        eligibility and revoked (cities: their region)."""
        ctx = engine_context()
        found = qualification_status.summary(ctx, current_actor(), **args)
        names = ctx.settings.region_names()
        for row in found["rows"]:
            row["region_name"] = names.get(row["region"] or "")
        return found


@bp.route("/export")
class QualificationExport(MethodView):
    @bp.arguments(QualificationFilters, location="query")
    @bp.response(200, content_type="text/csv")
    def get(self, args: dict[str, Any]) -> Response:
        """The registry as CSV (UTF-8 with BOM, opens in Excel), with the list's filters; a city
        gets its region, an enterprise its own certificates."""
        ctx = engine_context()
        regions = ctx.settings.region_names()
        today = ctx.today()
        found = qualification_status.export(ctx, current_actor(), **args)
        rows = _export_rows(found, regions, today)
        return csv_response(EXPORT_HEADER, rows, f"qualifications-{today:%Y%m%d}")


@bp.route("/<uuid:qualification_id>")
class QualificationDetail(MethodView):
    @error_responses(bp, {404: "资格不存在，或不在我可查看的范围内"})
    @bp.response(200, QualificationDetailOut)
    def get(self, qualification_id: Any) -> dict[str, Any]:
        """A qualification with its lifecycle: open tasks and status history (who, why, when)."""
        ctx = engine_context()
        found = lifecycle.detail(ctx, current_actor(), str(qualification_id))
        instance = found["instance"]
        out = qualification_json(found["qualification"], ctx.today())
        out["lifecycle"] = (
            None
            if instance is None
            else {
                "instance_id": instance.id,
                "status": instance.status,
                "outcome": instance.outcome,
                "definition_version": instance.definition_version,
                "open_tasks": [task_json(t, ctx.now()) for t in found["open_tasks"]],
                "history": found["history"],
            }
        )
        return out


@bp.route("/import")
class Import(MethodView):
    @roles_first(bp, "province")  # 403 before any 422 on the file
    @error_responses(
        bp,
        {
            409: "资格生命周期流程尚未部署（rule 为 lifecycle-deployed）",
            422: "缺少文件、文件过大或不是 UTF-8，或有不合格的行（errors 逐行列出行号、列、原因）",
        },
    )
    @bp.doc(requestBody=multipart_body("file", "存量资格 CSV（UTF-8，不超过 5 MB）"))
    @bp.response(200, ImportOut)
    def post(self) -> Any:
        """Import legacy qualifications (第二十条) from CSV (multipart `file`; province).

        Columns: number, tier, uscc, enterprise_name, certified_on, optional expires_on and region.
        A file with any bad row imports nothing (422, every bad row with its line and reason).
        """
        actor = current_actor()
        part = request.files.get("file")
        if part is None:
            raise InvalidInput("请以 multipart 字段 file 上传 CSV 文件", errors={"file": ["必填"]})
        content = part.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            raise InvalidInput("文件超过 5 MB", errors={"file": ["大小不合法"]})
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("文件不是 UTF-8 编码的 CSV", errors={"file": ["编码错误"]}) from None
        return legacy.import_legacy(
            engine_context(), text=text, actor=actor, filename=part.filename or ""
        )


@public_bp.route("/qualifications")
class PublicQualifications(MethodView):
    @public_bp.doc(security=[])
    @public_bp.arguments(PublicListArgs, location="query")
    @public_bp.response(200, page_schema(PublicQualificationOut))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Qualifications valid today, per tier (no login; no status reasons or personal data)."""
        ctx = engine_context()
        names = ctx.settings.region_names()
        items, total = lifecycle.public_list(ctx, **args)
        return {
            "items": [
                {
                    c: getattr(q, c)
                    for c in (
                        "number",
                        "tier",
                        "enterprise_name",
                        "region",
                        "issued_on",
                        "expires_on",
                    )
                }
                | {"tier_label": TIER_LABELS.get(q.tier), "region_name": names.get(q.region or "")}
                for q in items
            ],
            "total": total,
            "page": args["page"],
            "per_page": args["per_page"],
        }


BLUEPRINTS = [bp, public_bp]
