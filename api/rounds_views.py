"""Round batch views: cases by stage, CSV exports (city report, 公示, 公告, recommendation lists),
and the import of MIIT's published 小巨人 list."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import current_actor, engine_context
from api.csvout import csv_response
from api.schemas import LocalDateTime, PageArgs
from engine import miit_list, rounds_views
from engine.errors import InvalidInput

bp = Blueprint(
    "round_views",
    __name__,
    url_prefix="/api/v1/rounds",
    description="申报批次：分阶段案件、名单导出",
)
MAX_LIST = 5 * 1024 * 1024


class CaseListArgs(PageArgs):
    stage = fields.String(
        metadata={"description": "当前环节：待办任务的 bpmn_id、等待中的环节或结果（outcome）"}
    )
    region = fields.String(metadata={"description": "地区代码（市级用户只能查看本地区）"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ExportArgs(Schema):
    region = fields.String(metadata={"description": "地区代码（市级用户只能导出本地区）"})
    level = fields.String(
        load_default="province",
        validate=validate.OneOf(["city", "province"]),
        metadata={"description": "公示名单的层级"},
    )


class StageOut(Schema):
    stage = fields.String()
    name = fields.String()
    count = fields.Integer()


class CaseOut(Schema):
    instance_id = fields.String()
    uscc = fields.String(allow_none=True)
    enterprise_name = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    status = fields.String()
    outcome = fields.String(allow_none=True)
    stage = fields.String()
    stage_name = fields.String()
    due_at = LocalDateTime(allow_none=True)
    started_at = LocalDateTime()


class RoundCasesOut(Schema):
    round_id = fields.Integer()
    process_key = fields.String()
    label = fields.String()
    region = fields.String(allow_none=True)
    stages = fields.List(fields.Nested(StageOut))
    items = fields.List(fields.Nested(CaseOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class MiitRowOut(Schema):
    line = fields.Integer(allow_none=True)
    uscc = fields.String()
    name = fields.String()
    instance_id = fields.String()
    reason = fields.String()


class MiitReportOut(Schema):
    round_id = fields.Integer()
    source = fields.String()
    approved = fields.List(fields.Nested(MiitRowOut))
    rejected = fields.List(fields.Nested(MiitRowOut))
    unmatched = fields.List(
        fields.Nested(MiitRowOut), metadata={"description": "未匹配到推荐案件的行及原因"}
    )


@bp.route("/<int:round_id>/cases")
class RoundCases(MethodView):
    @bp.arguments(CaseListArgs, location="query")
    @bp.response(200, RoundCasesOut)
    def get(self, args: dict[str, Any], round_id: int) -> dict[str, Any]:
        """A round's cases by stage, with the number of cases at each stage (cities: own region)."""
        return rounds_views.round_cases(
            engine_context(), current_actor(), round_id=round_id, **args
        )


@bp.route("/<int:round_id>/exports/<string:kind>")
class RoundExport(MethodView):
    @bp.arguments(ExportArgs, location="query")
    @bp.response(200, content_type="text/csv")
    def get(self, args: dict[str, Any], round_id: int, kind: str) -> Response:
        """Export a list as CSV (UTF-8 with BOM, opens in Excel): city-report, notice-list
        (?level=city|province), announcement-list, recommendation-list."""
        found = rounds_views.export(
            engine_context(), current_actor(), round_id=round_id, kind=kind, **args
        )
        return csv_response(found["header"], found["rows"], found["filename"])


class PrerequisiteOut(Schema):
    round_id = fields.Integer()
    process_key = fields.String()
    requires_qualification = fields.String(
        allow_none=True, metadata={"description": "申报须持有的有效资格梯度（无要求为 null）"}
    )
    requires_qualification_name = fields.String(allow_none=True)
    held = fields.Boolean(
        allow_none=True, metadata={"description": "企业用户：本企业今天是否持有该资格"}
    )
    reason = fields.String(allow_none=True, metadata={"description": "不能申报的原因"})


@bp.route("/<int:round_id>/prerequisite")
class RoundPrerequisite(MethodView):
    @bp.response(200, PrerequisiteOut)
    def get(self, round_id: int) -> dict[str, Any]:
        """The qualification an application in this round requires (第七、八条) and whether the
        signed-in enterprise holds a valid one (staff: `held` is null)."""
        return rounds_views.prerequisite(engine_context(), current_actor(), round_id=round_id)


@bp.route("/<int:round_id>/miit-list")
class MiitList(MethodView):
    @bp.response(200, MiitReportOut)
    def post(self, round_id: int) -> dict[str, Any]:
        """Import MIIT's published 小巨人 list (multipart `file`: CSV with a uscc column).

        Recommended
        cases not on the list are not certified unless `reject_unlisted=false`; the certification
        date is the list's `认定日期` column, else the form field `certified_on`, else today."""
        part = request.files.get("file")
        if part is None:
            raise InvalidInput("请以 multipart 字段 file 上传名单 CSV", errors={"file": ["必填"]})
        content = part.read(MAX_LIST + 1)
        if not content or len(content) > MAX_LIST:
            raise InvalidInput("名单文件为空或超过 5 MB", errors={"file": ["大小不合法"]})
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                "名单文件不是 UTF-8 编码的 CSV", errors={"file": ["编码错误"]}
            ) from None
        reject = request.form.get("reject_unlisted", "true").lower() not in ("false", "0", "no")
        return miit_list.import_miit_list(
            engine_context(),
            round_id=round_id,
            rows=miit_list.parse_csv(text),
            source=part.filename or "miit-list.csv",
            actor=current_actor(),
            reject_unlisted=reject,
            certified_on=request.form.get("certified_on") or None,
        )
