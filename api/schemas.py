"""marshmallow schemas at the edge: request shapes and response shapes (they generate OpenAPI)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, request
from marshmallow import INCLUDE, Schema, fields, validate

from api.auth import current_actor
from api.errors import HTTP_TITLES, PROBLEM_JSON
from engine import access

TZ = ZoneInfo("Asia/Shanghai")
MAX_PAGE = 1_000_000  # (page - 1) * per_page stays far inside the database's 64-bit offsets
ID_MAX = 2**31 - 1  # integer keys (round ids) are PostgreSQL `integer`


class LocalDateTime(fields.DateTime):
    """Aware datetimes shown in Asia/Shanghai."""

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else value.astimezone(TZ).isoformat()


class PageArgs(Schema):
    """Paging of every list endpoint (422 outside the bounds, never a bad value echoed)."""

    page = fields.Integer(
        load_default=1,
        validate=[validate.Range(min=1), validate.Range(max=MAX_PAGE)],
        metadata={"description": f"页码，从 1 开始（默认 1，最大 {MAX_PAGE}）"},
    )
    per_page = fields.Integer(
        load_default=20,
        validate=validate.Range(min=1, max=200),
        metadata={"description": "每页条数，1 到 200（默认 20）"},
    )


PROCESS_KEY_FILTER = "流程标识，如 innovative_evaluation（GET /api/v1/definitions 列出）"
USCC_FILTER = "企业统一社会信用代码（18 位）"


class TaskListArgs(PageArgs):
    state = fields.String(
        load_default="open",
        validate=validate.OneOf(["open", "completed", "cancelled"]),
        metadata={"description": "任务状态：open 待办（默认）| completed 已办 | cancelled 已取消"},
    )
    mine = fields.Boolean(
        load_default=False, metadata={"description": "true：只列出由我认领或办理的任务"}
    )
    process_key = fields.String(metadata={"description": PROCESS_KEY_FILTER})
    due_before = fields.AwareDateTime(
        metadata={
            "description": "只列出在该时间或之前到期的任务（带时区，如 +08:00；"
            "某日 24:00 即次日 00:00）"
        }
    )


class InstanceListArgs(PageArgs):
    process_key = fields.String(metadata={"description": PROCESS_KEY_FILTER})
    status = fields.String(
        validate=validate.OneOf(["running", "completed", "cancelled"]),
        metadata={"description": "案件状态：running 办理中 | completed 已办结 | cancelled 已取消"},
    )
    uscc = fields.String(metadata={"description": USCC_FILTER})
    round_id = fields.Integer(
        validate=validate.Range(min=1, max=ID_MAX),
        metadata={"description": "申报批次编号（GET /api/v1/rounds 列出）"},
    )
    enterprise_name = fields.String(metadata={"description": "企业名称（包含匹配）"})


class QualificationListArgs(PageArgs):
    tier = fields.String(
        validate=validate.OneOf(["innovative", "specialized", "little_giant"]),
        metadata={"description": "资格梯度：innovative | specialized | little_giant"},
    )
    uscc = fields.String(metadata={"description": USCC_FILTER})
    status = fields.String(metadata={"description": "资格状态"})


class EventListArgs(PageArgs):
    instance_id = fields.String(metadata={"description": "案件编号"})
    actor = fields.String(metadata={"description": "操作人（用户编号，或 engine / scheduler）"})
    kind = fields.String(metadata={"description": "事件类型，如 task.completed"})
    since = fields.AwareDateTime(metadata={"description": "起（含），带时区"})
    until = fields.AwareDateTime(metadata={"description": "止（不含），带时区"})


class TaskOut(Schema):
    id = fields.String()
    instance_id = fields.String()
    process_key = fields.String()
    bpmn_id = fields.String()
    name = fields.String()
    role = fields.String()
    region = fields.String(allow_none=True)
    uscc = fields.String(allow_none=True)
    state = fields.String()
    assignee = fields.String(allow_none=True)
    due_at = LocalDateTime(allow_none=True)
    overdue = fields.Boolean()
    created_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)


class InboxTaskOut(TaskOut):
    enterprise_name = fields.String(
        allow_none=True, metadata={"description": "企业名称（企业名录中的现名；无记录时为空）"}
    )
    assignee_name = fields.String(
        allow_none=True, metadata={"description": "认领人的姓名（系统操作为中文说明）"}
    )
    completed_by_name = fields.String(
        allow_none=True, metadata={"description": "办理人的姓名（系统操作为中文说明）"}
    )


class EarlierStepOut(Schema):
    task_id = fields.String()
    bpmn_id = fields.String()
    name = fields.String()
    completed_at = LocalDateTime()
    completed_by = fields.String(allow_none=True)
    completed_by_name = fields.String(allow_none=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields")
    submitted = fields.Dict()


class TaskDetailOut(InboxTaskOut):
    form = fields.Dict(allow_none=True, metadata={"description": "表单 JSON Schema"})
    instructions = fields.String(
        allow_none=True, metadata={"description": "流程图写给办理人的办理说明"}
    )
    data = fields.Dict(metadata={"description": "任务创建时的案件数据"})
    complainant = fields.Dict(
        allow_none=True,
        metadata={
            "description": "投诉案件的投诉人（name 姓名、id_number 证件号码、contact 联系方式），"
            "仅受理部门和审计人员可见（第十三条），其他人为 null"
        },
    )
    data_schema = fields.Dict(
        metadata={
            "description": "案件数据各字段的 JSON Schema（取自本案件此前已办结任务的表单），"
            "供以中文名称显示所填报的数据"
        }
    )
    evidence_files = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(lambda: FileOut()),
        metadata={
            "description": "案件数据中引用的、当前用户可下载的佐证材料，按文件编号"
            "（GET /api/v1/files/{id} 下载）"
        },
    )
    version = fields.Integer()
    prefill = fields.Boolean(
        metadata={
            "description": "true：表单以案件数据中本表单各字段的现值预填（流程图中该用户任务的"
            "属性 prefill 为 true，如补正材料重新提交申报表）；决定类表单从不预填"
        }
    )
    submitted = fields.Dict(
        allow_none=True,
        metadata={"description": "已办结任务提交的表单数据（办理中的任务为空）"},
    )
    earlier_steps = fields.List(
        fields.Nested(lambda: EarlierStepOut()),
        metadata={
            "description": "本案件此前已办结的步骤（办理记录）：步骤名称、办理人、办结时间及其"
            "提交的表单内容（fields 为各字段的 JSON Schema，佐证材料见 data）"
        },
    )


class CompleteTaskIn(Schema):
    data = fields.Dict(required=True, metadata={"description": "按表单 JSON Schema 填写的数据"})


class InstanceOut(Schema):
    id = fields.String()
    process_key = fields.String()
    definition_version = fields.Integer()
    migrated_from_version = fields.Integer(
        allow_none=True,
        metadata={"description": "迁移过的案件发起时所在的版本（列表中给出；未迁移为 null）"},
    )
    business_key = fields.String()
    uscc = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    round_id = fields.Integer(allow_none=True)
    status = fields.String()
    outcome = fields.String(allow_none=True)
    outcome_name = fields.String(allow_none=True, metadata={"description": "结果的中文名称"})
    stage = fields.String(
        allow_none=True,
        metadata={"description": "where the case stands: open task, wait or outcome (bpmn id)"},
    )
    stage_name = fields.String(allow_none=True)
    stage_due_at = LocalDateTime(allow_none=True)
    started_at = LocalDateTime()
    updated_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
    started_by = fields.String()


class InstanceDetailOut(InstanceOut):
    open_tasks = fields.List(fields.Nested(TaskOut))
    state_bytes = fields.Integer()


class StartInstanceIn(Schema):
    process_key = fields.String(required=True)
    round_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=ID_MAX))
    uscc = fields.String(allow_none=True, metadata={"description": "省级代为发起时指定企业"})


class MessageIn(Schema):
    name = fields.String(required=True, metadata={"description": "BPMN 消息名，如 objection"})
    payload = fields.Dict(load_default=dict)


class ObjectionIn(Schema):
    submitted_by = fields.String(required=True, validate=validate.Length(min=1))
    content = fields.String(required=True, validate=validate.Length(min=1))


class EventOut(Schema):
    id = fields.Integer()
    stream = fields.String()
    seq = fields.Integer()
    at = LocalDateTime()
    kind = fields.String()
    actor = fields.String()
    actor_name = fields.String(
        metadata={"description": "操作人名称：用户的显示名称，系统操作为中文说明"}
    )
    instance_id = fields.String(allow_none=True)
    definition_id = fields.Integer(allow_none=True)
    task_id = fields.String(allow_none=True)
    bpmn_id = fields.String(allow_none=True)
    element_name = fields.String(
        allow_none=True, metadata={"description": "环节名称：bpmn_id 所指步骤在当时版本中的名称"}
    )
    data = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


class DefinitionOut(Schema):
    id = fields.Integer()
    process_key = fields.String()
    version = fields.Integer()
    name = fields.String()
    checksum = fields.String()
    deployed_at = LocalDateTime()
    deployed_by = fields.String()
    files = fields.List(fields.String())
    running_instances = fields.Integer()
    warnings = fields.List(
        fields.Dict(),
        metadata={"description": "部署时的提醒（如规则施行日期落在进行中批次的申报期内）"},
    )
    shared = fields.List(
        fields.Dict(),
        metadata={"description": "本次修改的共用文件，及仍在使用旧内容的其他流程（可一并部署）"},
    )


class IncidentOut(Schema):
    id = fields.String()
    instance_id = fields.String(allow_none=True)
    command = fields.String()
    error_type = fields.String()
    message = fields.String()
    element_id = fields.String(allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    created_at = LocalDateTime()
    resolved_at = LocalDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    process_key = fields.String(allow_none=True, metadata={"description": "案件的流程"})
    process_name = fields.String(allow_none=True)
    definition_version = fields.Integer(allow_none=True, metadata={"description": "案件所在版本"})
    latest_version = fields.Integer(
        allow_none=True, metadata={"description": "该流程已部署的最新版本（可迁移至此版本）"}
    )


class IncidentListArgs(Schema):
    status = fields.String(
        load_default="open",
        validate=validate.OneOf(["open", "resolved", "all"]),
        metadata={"description": "open 待处理（默认）| resolved 已处理 | all 全部"},
    )


class ResolveIn(Schema):
    note = fields.String(load_default="")


class RoundIn(Schema):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    label = fields.String(required=True, validate=validate.Length(min=1, max=200))
    opens_on = fields.Date(
        required=True, validate=validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31))
    )
    window_days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=366))


class RoundListArgs(Schema):
    process_key = fields.String(metadata={"description": PROCESS_KEY_FILTER})


class RoundOut(Schema):
    id = fields.Integer()
    process_key = fields.String()
    label = fields.String()
    opens_on = fields.Date()
    closes_at = LocalDateTime()
    counts = fields.Dict()
    window = fields.String(
        metadata={"description": "申报窗口：upcoming 未开放 | open 申报中 | closed 已截止"}
    )
    accepting = fields.Boolean(metadata={"description": "申报窗口当前是否开放（window 为 open）"})
    warning = fields.String(
        allow_none=True,
        metadata={
            "description": "仅开放批次的应答：本批次案件的期限预计用到"
            "尚无工作日历数据的年份时的提醒"
        },
    )


class QualificationOut(Schema):
    id = fields.String()
    number = fields.String()
    tier = fields.String()
    uscc = fields.String()
    enterprise_name = fields.String()
    region = fields.String(allow_none=True)
    issued_on = fields.Date()
    expires_on = fields.Date()
    status = fields.String()
    instance_id = fields.String(allow_none=True)


class FileOut(Schema):
    id = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = LocalDateTime()


class ProblemSchema(Schema):
    """Every error response: RFC 9457 problem+json as api/errors.py writes it, served as
    application/problem+json (component `Problem`). Some problems carry more members than
    these, e.g. the ids concerned."""

    class Meta:
        unknown = INCLUDE  # documented as additionalProperties: the further members

    type = fields.String(
        required=True,
        metadata={
            "format": "uri",
            "description": "问题类型（URI），末段为稳定的英文错误代码，如 …/problems/conflict",
        },
    )
    title = fields.String(required=True, metadata={"description": "问题类型的中文标题"})
    status = fields.Integer(required=True, metadata={"description": "HTTP 状态码"})
    detail = fields.String(metadata={"description": "本次错误的中文说明"})
    errors = fields.Raw(
        metadata={
            "description": "逐项的错误：请求参数为 字段名（嵌套字段以点连接，如 items.0.name）"
            "→ 错误说明列表；上传的文件为问题列表（行号、元素、说明）",
            "oneOf": [
                {"type": "object", "additionalProperties": {"type": "array", "items": {}}},
                {"type": "array", "items": {"type": "object"}},
            ],
        }
    )
    rule = fields.String(
        metadata={"description": "拒绝请求的业务规则代码（部分 409、422），如 round-exists"}
    )


def multipart_body(field: str, description: str, *, many: bool = False) -> dict[str, Any]:
    """The OpenAPI requestBody of an upload read from `request.files` (no `@arguments`): one
    multipart field holding a file, or (`many`) several files."""
    binary = {"type": "string", "format": "binary"}
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [field],
                    "properties": {
                        field: {"type": "array", "items": binary, "description": description}
                        if many
                        else binary | {"description": description}
                    },
                }
            }
        },
    }


DEFINITION_FILES = (
    "BPMN 流程图（.bpmn）、DMN 规则表（.dmn）、表单（.json）与申报批次计划 rounds.json，"
    "文件名为其在 processes/ 中的路径（只有文件名时，.dmn 放入 rules/，其他 .json 放入 forms/）；"
    "其他类型的文件 422"
)


ANCHOR_BODY = {
    "required": True,
    "description": "`tidu audit anchor` 写出的锚点文件（原样上传）",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["format", "created_at", "streams", "digest", "heads"],
                "properties": {
                    "format": {"type": "string", "enum": ["tidu-audit-anchor/1"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "streams": {"type": "integer", "description": "链头个数"},
                    "digest": {"type": "string", "description": "全部链头的合并摘要（SHA-256）"},
                    "hmac": {
                        "type": "string",
                        "description": "设置 TIDU_AUDIT_KEY 时的 HMAC-SHA256 签名",
                    },
                    "heads": {
                        "type": "array",
                        "description": "各哈希链的链头：[链名, 序号, 哈希]",
                        "items": {"type": "array", "minItems": 3, "maxItems": 3, "items": {}},
                    },
                },
            }
        }
    },
}


class Whole(fields.Nested):
    """A nested object documented by its schema but dumped as it is: members a check adds
    beyond the documented ones are kept."""

    def _serialize(self, nested_obj: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return nested_obj


class DefinitionProblemOut(Schema):
    class Meta:
        unknown = INCLUDE  # documented as additionalProperties

    file = fields.String(metadata={"description": "文件在 processes/ 中的路径"})
    element_id = fields.String(allow_none=True, metadata={"description": "元素 ID"})
    line = fields.Integer(allow_none=True, metadata={"description": "行号"})
    message = fields.String(metadata={"description": "问题说明"})


class ValidationOut(Schema):
    valid = fields.Boolean(metadata={"description": "没有发现问题"})
    processes = fields.List(fields.String(), metadata={"description": "文件集定义的流程标识"})
    errors = fields.List(
        Whole(DefinitionProblemOut), metadata={"description": "发现的问题（通过时为空）"}
    )
    warnings = fields.List(
        fields.Dict(), metadata={"description": "不阻止部署的提醒（规则施行日期与批次）"}
    )


class ChainProblemOut(Schema):
    class Meta:
        unknown = INCLUDE  # documented as additionalProperties

    stream = fields.String(
        metadata={"description": "哈希链（如 instance:<案件编号>），锚点文件本身为 (anchor)"}
    )
    event_id = fields.Raw(allow_none=True, metadata={"description": "出错的事件编号"})
    seq = fields.Integer(allow_none=True, metadata={"description": "事件在链中的序号"})
    reason = fields.String(metadata={"description": "问题说明"})


class VerifyOut(Schema):
    ok = fields.Boolean(metadata={"description": "所有哈希链（及锚点）核对无误"})
    problems = fields.List(
        Whole(ChainProblemOut), metadata={"description": "每条断链或与锚点不符之处（无误时为空）"}
    )


def error_responses(bp: Any, described: dict[int, str]) -> Callable[[Callable[..., Any]], Any]:
    """Document the errors a view answers besides its success, each with when it happens, as
    problem+json (flask-smorest `alt_response`)."""

    def decorator(func: Callable[..., Any]) -> Any:
        for status, when in sorted(described.items(), reverse=True):
            func = bp.alt_response(
                status,
                schema=ProblemSchema,
                content_type=PROBLEM_JSON,
                description=f"{HTTP_TITLES.get(status, '')}：{when}",
            )(func)
        return func

    return decorator


def roles_first(bp: Any, *roles: str) -> Callable[[Callable[..., Any]], Any]:
    """A view's role check before webargs reads its body or query arguments: placed above
    `@bp.arguments`, it answers a caller of another role 403 however wrong the request is,
    never 422 about a body they may not send. Documents the 403."""

    def decorator(func: Callable[..., Any]) -> Any:
        @functools.wraps(func)
        def view(*args: Any, **kwargs: Any) -> Any:
            access.require_role(current_actor(), *roles)
            return func(*args, **kwargs)

        return error_responses(bp, {403: f"仅限角色 {'、'.join(roles)}"})(view)

    return decorator


def page_schema(item: type[Schema]) -> type[Schema]:
    """Envelope of a paginated collection."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "total": fields.Integer(),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
        },
        name=f"{item.__name__.removesuffix('Out')}Page",
    )


def _local_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(TZ).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def plain_json(payload: Any, status: int = 200) -> Any:
    """A JSON response for the hot endpoints (start, inbox, complete, case status) built
    without a schema pass: their payloads hold only strings, numbers, booleans, None and aware
    datetimes, which are shown in Asia/Shanghai as LocalDateTime does. The view keeps its
    `@bp.response` schema for the OpenAPI document; tests/api/test_plain_json.py checks that
    both give the same body."""
    body = json.dumps(payload, ensure_ascii=False, default=_local_time)
    return current_app.response_class(body, status=status, mimetype="application/json")


def hot_arguments(
    bp: Any, schema: Schema, fast: Callable[[Any], dict[str, Any] | None], **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`bp.arguments(schema, **kwargs)` for the hot endpoints (start, inbox, complete), with
    `fast` trying first: it reads the common well-formed request without webargs and
    marshmallow and returns what they would, or None to leave the request to them (so every
    error, and every rarer filter, is theirs). The OpenAPI document is bp.arguments' own;
    tests/api/test_hot_arguments.py holds each `fast` to the schema's result."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        parsed_by_webargs = bp.arguments(schema, **kwargs)(func)

        @functools.wraps(func)
        def view(*args: Any, **view_args: Any) -> Any:
            found = fast(request)
            if found is None:
                return parsed_by_webargs(*args, **view_args)
            return func(*args, found, **view_args)

        view.__dict__.update(parsed_by_webargs.__dict__)  # its OpenAPI document (_apidoc)
        return view

    return decorator


def _one_number(args: Any, name: str, default: int, top: int | None) -> int | None:
    """A query parameter given at most once as plain ASCII digits within 1..top, or None."""
    values = args.getlist(name)
    if not values:
        return default
    if len(values) != 1 or not (values[0].isascii() and values[0].isdigit()):
        return None
    number = int(values[0])
    return number if number >= 1 and (top is None or number <= top) else None


def fast_task_list_args(req: Any) -> dict[str, Any] | None:
    """TaskListArgs for an inbox query with no more than page and per_page."""
    args = req.args
    if any(name not in ("page", "per_page") for name in args):
        return None
    page = _one_number(args, "page", 1, MAX_PAGE)
    per_page = _one_number(args, "per_page", 20, 200)
    if page is None or per_page is None:
        return None
    return {"page": page, "per_page": per_page, "state": "open", "mine": False}


def fast_complete_task_in(req: Any) -> dict[str, Any] | None:
    """CompleteTaskIn for a JSON body that is exactly {"data": {...}}."""
    body = req.get_json(silent=True)
    if type(body) is not dict or len(body) != 1 or type(body.get("data")) is not dict:
        return None
    return {"data": dict(body["data"])}


def fast_start_instance_in(req: Any) -> dict[str, Any] | None:
    """StartInstanceIn for a JSON body of a text process_key and, if given, an integer (or
    null) round_id and a text (or null) uscc."""
    body = req.get_json(silent=True)
    if type(body) is not dict or type(body.get("process_key")) is not str:
        return None
    for name, value in body.items():
        if name == "round_id":
            if value is not None and (type(value) is not int or not 1 <= value <= ID_MAX):
                return None
        elif name == "uscc":
            if value is not None and type(value) is not str:
                return None
        elif name != "process_key":
            return None
    return dict(body)
