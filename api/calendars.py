"""Working-day calendars: which years have holiday data, and a warning before one is needed."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.auth import current_actor, engine_context
from api.schemas import LocalDateTime, error_responses, roles_first
from engine import calendar_years, holidays  # noqa: F401 - calendar_years: its command

bp = Blueprint(
    "calendars", __name__, url_prefix="/api/v1/calendars", description="工作日历（节假日安排）"
)


class CalendarYearOut(Schema):
    year = fields.Integer()
    source = fields.String(metadata={"description": "chinesecalendar 或 processes/calendars 文件"})
    problems = fields.List(fields.String(), metadata={"description": "文件中的错误（逐条）"})


class CalendarStatusOut(Schema):
    today = fields.String()
    years = fields.List(fields.Nested(CalendarYearOut))
    needed = fields.List(
        fields.Integer(), metadata={"description": "今年；距年底不足预警天数时含下一年"}
    )
    missing = fields.List(fields.Integer(), metadata={"description": "需要但缺失或有误的年份"})
    warning = fields.String(allow_none=True)
    warn_days = fields.Integer(metadata={"description": "提前预警天数（TIDU_CALENDAR_WARN_DAYS）"})


class CalendarYearIn(Schema):
    source = fields.String(
        load_default="", metadata={"description": "依据，如国务院办公厅当年节假日安排通知的文号"}
    )
    holidays = fields.Dict(
        keys=fields.String(), values=fields.Raw(), required=True,
        metadata={"description": "放假日期（含落在周末的假日）→ 名称"},
    )  # fmt: skip
    workdays = fields.Dict(
        keys=fields.String(), values=fields.Raw(), load_default=dict,
        metadata={"description": "调休上班的周末日期 → 说明"},
    )  # fmt: skip
    year = fields.Integer(metadata={"description": "可省略；给出时须与路径中的年份相同"})


class CalendarYearStoredOut(Schema):
    year = fields.Integer()
    source = fields.String()
    holidays = fields.Dict()
    workdays = fields.Dict()
    checksum = fields.String()
    uploaded_at = LocalDateTime()
    uploaded_by = fields.String()


@bp.route("/<int:year>")
class CalendarYearView(MethodView):
    @roles_first(bp, "process_owner", "province")  # 403 before any 422 on the body
    @error_responses(
        bp,
        {
            409: "同一年份的日历正被同时上传，请重试",
            422: "请求体不合法，或日历有错（errors.calendar 逐条列出）；"
            "chinesecalendar 已含该年或年份超出 2000–2100（errors.year）",
        },
    )
    @bp.arguments(CalendarYearIn)
    @bp.response(200, CalendarYearStoredOut)
    def put(self, body: dict[str, Any], year: int) -> dict[str, Any]:
        """Upload (or replace) a year's holidays and make-up workdays from the State Council's
        notice (process owners, the province); every entry is checked and named if wrong."""
        return holidays.put_year(engine_context(), year=year, data=body, actor=current_actor())


@bp.route("")
class Calendars(MethodView):
    @bp.response(200, CalendarStatusOut)
    def get(self) -> dict[str, Any]:
        """Years with working-day data; the years needed soon that lack it (any signed-in user)."""
        current_actor()
        return holidays.coverage(engine_context())
