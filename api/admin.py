"""Definitions, incidents, audit, rounds and evidence files."""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from typing import Any
from urllib.parse import quote

from flask import Response, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from werkzeug.http import dump_options_header

from api.auth import current_actor, engine_context
from api.csvout import csv_response
from api.schemas import (
    ANCHOR_BODY,
    DEFINITION_FILES,
    ID_MAX,
    DefinitionOut,
    EventListArgs,
    EventOut,
    FileOut,
    IncidentListArgs,
    IncidentOut,
    InstanceOut,
    LocalDateTime,
    ResolveIn,
    RoundIn,
    RoundListArgs,
    RoundOut,
    ValidationOut,
    VerifyOut,
    error_responses,
    multipart_body,
    page_schema,
    roles_first,
)
from api.tasks import instance_json
from engine import (
    access,
    audit_checks,
    audit_export,
    definitions,
    deploy_safety,
    evidence_types,
    history,
    incidents,
    migration,
    queries,
    round_rules,
    rounds,
)
from engine.errors import InvalidInput, NotFound
from engine.store import Definition, Instance

definitions_bp = Blueprint(
    "definitions",
    __name__,
    url_prefix="/api/v1/definitions",
    description="流程定义（BPMN/DMN 版本）",
)
incidents_bp = Blueprint(
    "incidents", __name__, url_prefix="/api/v1/incidents", description="待处理事件"
)
audit_bp = Blueprint(
    "audit", __name__, url_prefix="/api/v1/audit", description="审计（哈希链历史）"
)
rounds_bp = Blueprint("rounds", __name__, url_prefix="/api/v1/rounds", description="申报批次")
files_bp = Blueprint("files", __name__, url_prefix="/api/v1/files", description="佐证材料")

MAX_UPLOAD = evidence_types.MAX_BYTES


UPLOAD_KINDS = "BPMN 流程图（.bpmn）、DMN 规则表（.dmn）、表单（.json）或申报批次计划 rounds.json"


def upload_path(filename: str) -> str | None:
    """Where an uploaded file goes inside processes/ (its name may carry the path): a bare
    `x.dmn` under rules/, the round schedule `rounds.json` at the top, any other bare `x.json`
    under forms/; None for a file deploy does not read."""
    name = filename.replace("\\", "/").lstrip("/")
    if name == rounds.SCHEDULE_FILE or name.endswith(".bpmn"):
        return name
    if name.endswith(".dmn"):
        return name if "/" in name else f"rules/{name}"
    if name.endswith(".json"):
        return name if "/" in name else f"forms/{name}"
    return None


def uploaded_files() -> dict[str, str]:
    """Multipart `files` parts; the part's filename is its path inside processes/ (see
    `upload_path`). A file of another kind is refused (422 naming it), not ignored."""
    out, refused = {}, {}
    for part in request.files.getlist("files"):
        name = upload_path(part.filename or "")
        if name is None:
            refused[part.filename or "（无文件名）"] = [f"不支持的文件类型：只能上传{UPLOAD_KINDS}"]
            continue
        try:
            out[name] = part.read().decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("文件不是 UTF-8 文本", errors={name: ["编码错误"]}) from None
    if refused:
        raise InvalidInput(f"{len(refused)} 个文件不是可部署的文件", errors=refused)
    if not out:
        raise InvalidInput(
            "请以 multipart 字段 files 上传 BPMN/DMN/表单文件", errors={"files": ["必填"]}
        )
    return out


def definition_json(row: Definition, running: int = 0) -> dict[str, Any]:
    return {
        "id": row.id,
        "process_key": row.process_key,
        "version": row.version,
        "name": row.name,
        "checksum": row.checksum,
        "deployed_at": row.deployed_at,
        "deployed_by": row.deployed_by,
        "files": sorted(row.files),
        "running_instances": running,
    }


@definitions_bp.route("")
class Definitions(MethodView):
    @definitions_bp.response(200, DefinitionOut(many=True))
    def get(self) -> list[dict[str, Any]]:
        """List every deployed version with the number of running instances on it."""
        ctx = engine_context()
        current_actor()
        with ctx.transaction() as session:
            running = dict(
                session.execute(
                    select(Instance.definition_id, func.count())
                    .where(Instance.status == "running")
                    .group_by(Instance.definition_id)
                ).all()
            )
            rows = session.scalars(
                select(Definition).order_by(Definition.process_key, Definition.version)
            )
            return [definition_json(r, running.get(r.id, 0)) for r in rows]

    @error_responses(
        definitions_bp,
        {
            403: "仅限角色 process_owner、province",
            409: "definition-outdated：based_on 所指版本之后已有更新的版本（force=true 仍然部署）",
            422: "缺少 files、文件类型不支持或不是 UTF-8，或文件集未通过校验"
            "（invalid-definition，errors 逐条列出文件、元素、行号、说明）",
        },
    )
    @definitions_bp.doc(requestBody=multipart_body("files", DEFINITION_FILES, many=True))
    @definitions_bp.response(201, DefinitionOut(many=True))
    def post(self) -> list[dict[str, Any]]:
        """Deploy a BPMN/DMN/form file set (multipart `files`); identical content is a no-op.

        `based_on` (form field, `KEY:VERSION`, repeatable) names the version each procedure's
        edit started from: 409 `definition-outdated` when a newer one exists, unless `force`
        is `true`. Each version answered carries `warnings` (rule sets against open rounds) and
        `shared` (changed shared files with the other procedures still using the old text)."""
        ctx = engine_context()
        actor = current_actor()
        access.require_role(actor, "process_owner", "province")
        done = definitions.deploy_set(
            ctx,
            files=uploaded_files(),
            actor=actor,
            source=deploy_safety.UPLOAD,
            based_on=based_on(),
            force=request.form.get("force", "").lower() in {"1", "true", "yes"},
        )
        return [
            definition_json(r)
            | {
                "warnings": [w for w in done.warnings if w["process_key"] == r.process_key],
                "shared": done.shared.get(r.process_key, []),
            }
            for r in done.rows
        ]


def based_on() -> dict[str, int]:
    """The `based_on` form fields (`KEY:VERSION`): the version each edit started from."""
    out, bad = {}, []
    for item in request.form.getlist("based_on"):
        key, _, version = item.partition(":")
        if not key or not version.isdigit():
            bad.append(item)
            continue
        out[key] = int(version)
    if bad:
        message = f"应为“流程标识:版本号”，如 innovative_evaluation:2（收到 {'、'.join(bad)}）"
        raise InvalidInput("based_on 格式有误", errors={"based_on": [message]})
    return out


@definitions_bp.route("/validate")
class Validate(MethodView):
    @error_responses(definitions_bp, {422: "缺少 files，或文件类型不支持、不是 UTF-8"})
    @definitions_bp.doc(requestBody=multipart_body("files", DEFINITION_FILES, many=True))
    @definitions_bp.response(200, ValidationOut)
    def post(self) -> Any:
        """Validate a file set without deploying it; returns the problems (empty list if valid)."""
        current_actor()
        ctx = engine_context()
        files = uploaded_files()
        processes, problems = definitions.validate(files, ctx.settings.lane_aliases)
        found, warnings = definitions.check_rounds(ctx, files) if not problems else ([], [])
        problems += found
        return {
            "valid": not problems,
            "processes": [p.key for p in processes],
            "errors": problems,
            "warnings": warnings,
        }


@definitions_bp.route("/<string:process_key>/<int:version>/xml")
class DefinitionXml(MethodView):
    def get(self, process_key: str, version: int) -> Response:
        """The BPMN XML of one deployed version."""
        current_actor()
        ctx = engine_context()
        with ctx.reading() as session:
            row = definitions.get(session, process_key, version, ctx)
            return Response(row.files[row.bpmn_file], mimetype="application/xml")


class SettingOut(Schema):
    element_id = fields.String(metadata={"description": "“流程参数”脚本任务的元素编号"})
    name = fields.String()
    value = fields.Raw()
    note = fields.String(metadata={"description": "行尾注释：参数的含义和单位"})


@definitions_bp.route("/<string:process_key>/<int:version>/settings")
class DefinitionSettings(MethodView):
    @definitions_bp.response(200, SettingOut(many=True))
    def get(self, process_key: str, version: int) -> list[dict[str, Any]]:
        """The defaults of one version a process owner may change: each `name = value  # note`
        line of its 流程参数 script tasks (edit them in the diagram and deploy a new version)."""
        current_actor()
        ctx = engine_context()
        with ctx.reading() as session:
            row = definitions.get(session, process_key, version, ctx)
            return definitions.settings_of(row.files[row.bpmn_file])


@definitions_bp.route("/<string:process_key>/<int:version>/files/<path:name>")
class DefinitionFile(MethodView):
    def get(self, process_key: str, version: int, name: str) -> Response:
        """One file of a deployed version (BPMN, DMN or form), to edit and redeploy the set."""
        current_actor()
        ctx = engine_context()
        with ctx.reading() as session:
            row = definitions.get(session, process_key, version, ctx)
            if name not in row.files:
                raise NotFound(f"版本 {version} 中没有文件 {name}")
            kind = "application/json" if name.endswith(".json") else "application/xml"
            return Response(row.files[name], mimetype=kind)


@definitions_bp.route("/<string:process_key>/<int:version>/files.zip")
class DefinitionFilesZip(MethodView):
    def get(self, process_key: str, version: int) -> Response:
        """Every file of one deployed version as a ZIP, laid out as in processes/ (unpack it
        there, then `tidu deploy processes/` deploys the same version)."""
        current_actor()
        ctx = engine_context()
        with ctx.reading() as session:
            files = dict(definitions.get(session, process_key, version, ctx).files)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in sorted(files.items()):
                archive.writestr(name, text)
        buffer.seek(0)
        return send_file(
            buffer,
            mimetype="application/zip",
            as_attachment=True,
            download_name=f"{process_key}-v{version}.zip",
        )


class MigrationArgs(Schema):
    from_version = fields.Integer(
        required=True,
        data_key="from",
        validate=validate.Range(min=1, max=ID_MAX),
        metadata={"description": "源版本"},
    )
    to_version = fields.Integer(
        required=True,
        data_key="to",
        validate=validate.Range(min=1, max=ID_MAX),
        metadata={"description": "目标版本"},
    )


class MigrationIn(MigrationArgs):
    instance_ids = fields.List(
        fields.String(),
        load_default=None,
        metadata={"description": "只迁移这些案件（默认：源版本上所有进行中的案件）"},
    )


class MigrateInstanceIn(Schema):
    to_version = fields.Integer(
        required=True, data_key="to", validate=validate.Range(min=1, max=ID_MAX)
    )
    from_version = fields.Integer(
        load_default=None,
        data_key="from",
        validate=validate.Range(min=1, max=ID_MAX),
        metadata={"description": "期望案件当前所在版本"},
    )


class ElementChangeOut(Schema):
    element_id = fields.String()
    name = fields.String()
    type = fields.String()
    what = fields.List(fields.String(), metadata={"description": "修改了什么（仅修改的元素）"})
    details = fields.Dict(
        metadata={"description": "名称、泳道、脚本等改动的 [原值, 新值]，按 SpiffWorkflow 属性名"}
    )


class SettingChangeOut(Schema):
    file = fields.String()
    element_id = fields.String(metadata={"description": "“流程参数”脚本任务的元素编号"})
    name = fields.String()
    note = fields.String()
    old = fields.Raw(allow_none=True, metadata={"description": "源版本的值（新增的参数为 null）"})
    new = fields.Raw(allow_none=True, metadata={"description": "目标版本的值（删除的为 null）"})
    change = fields.String(metadata={"description": "added、removed 或 changed"})


class RuleChangeOut(Schema):
    file = fields.String()
    decision_id = fields.String()
    decision = fields.String(metadata={"description": "规则表名称"})
    change = fields.String(metadata={"description": "added、removed 或 changed"})
    rule = fields.Integer(allow_none=True, metadata={"description": "第几条规则（从 1 起）"})
    rule_id = fields.String()
    column = fields.String(allow_none=True, metadata={"description": "列（输入或输出）"})
    old = fields.Raw(allow_none=True)
    new = fields.Raw(allow_none=True)


class MigrationChangesOut(Schema):
    added = fields.List(fields.Nested(ElementChangeOut))
    removed = fields.List(fields.Nested(ElementChangeOut))
    changed = fields.List(fields.Nested(ElementChangeOut))
    settings = fields.List(fields.Nested(SettingChangeOut), metadata={"description": "流程参数"})
    rules = fields.List(fields.Nested(RuleChangeOut), metadata={"description": "规则表（DMN）"})


class SettingKeptOut(Schema):
    element_id = fields.String()
    name = fields.String()
    note = fields.String()
    case_value = fields.Raw(metadata={"description": "案件已运行的流程参数值（迁移后保留）"})
    new_value = fields.Raw(allow_none=True, metadata={"description": "目标版本的值"})


class MigrationReasonOut(Schema):
    element_id = fields.String(metadata={"description": "元素 ID（子流程内为 调用活动/元素）"})
    rule = fields.String(metadata={"description": "current-removed、path-changed 等"})
    message = fields.String()


class MigrationPositionOut(Schema):
    element_id = fields.String()
    name = fields.String()
    state = fields.String(metadata={"description": "READY、WAITING、STARTED 或 ERROR"})


class MigrationTimerOut(Schema):
    element_id = fields.String()
    name = fields.String()
    due_at = LocalDateTime()
    kept = fields.Boolean(metadata={"description": "迁移后到期时间不变"})


class MigrationInstanceOut(Schema):
    instance_id = fields.String()
    business_key = fields.String()
    uscc = fields.String(allow_none=True)
    status = fields.String()
    version = fields.Integer()
    can_migrate = fields.Boolean()
    positions = fields.List(
        fields.Nested(MigrationPositionOut), metadata={"description": "当前位置"}
    )
    reasons = fields.List(fields.Nested(MigrationReasonOut))
    timers = fields.List(
        fields.Nested(MigrationTimerOut), metadata={"description": "迁移后等待的定时器"}
    )
    settings_kept = fields.List(
        fields.Nested(SettingKeptOut),
        metadata={"description": "案件已运行、迁移后保留原值的流程参数（与目标版本不同）"},
    )


class MigrationSummaryOut(Schema):
    running = fields.Integer()
    can_migrate = fields.Integer()
    cannot_migrate = fields.Integer()
    not_running = fields.Integer(metadata={"description": "该版本上已办结或已取消的案件（不迁移）"})


class MigrationReportOut(Schema):
    process_key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    from_checksum = fields.String()
    to_checksum = fields.String()
    changes = fields.Nested(MigrationChangesOut)
    summary = fields.Nested(MigrationSummaryOut)
    instances = fields.List(fields.Nested(MigrationInstanceOut))


class MigratedOut(Schema):
    instance_id = fields.String()
    version = fields.Integer()
    status = fields.String()


class RefusedOut(Schema):
    instance_id = fields.String()
    code = fields.String()
    detail = fields.String()
    reasons = fields.List(fields.Nested(MigrationReasonOut))


class MigrationResultOut(Schema):
    migrated = fields.List(fields.Nested(MigratedOut))
    refused = fields.List(fields.Nested(RefusedOut))
    summary = fields.Dict(metadata={"description": "migrated、refused 的件数"})


@definitions_bp.route("/<string:process_key>/migrations/preview")
class MigrationPreview(MethodView):
    @roles_first(definitions_bp, *migration.OWNERS)  # 403 before any 422 on the arguments
    @definitions_bp.arguments(MigrationArgs, location="query")
    @definitions_bp.response(200, MigrationReportOut)
    def get(self, args: dict[str, Any], process_key: str) -> dict[str, Any]:
        """Dry run of migrating the running instances of version `from` to version `to`:
        per instance whether it can move and, if not, the element that stops it."""
        report = migration.preview(
            engine_context(), process_key=process_key, actor=current_actor(), **args
        )
        return migration.report_json(report)


@definitions_bp.route("/<string:process_key>/changes")
class DefinitionChanges(MethodView):
    @definitions_bp.arguments(MigrationArgs, location="query")
    @definitions_bp.response(200, MigrationChangesOut)
    def get(self, args: dict[str, Any], process_key: str) -> dict[str, Any]:
        """What changed from version `from` to version `to`: elements (called processes too),
        流程参数 values and rule-table cells, as the migration dry run lists them."""
        current_actor()
        return migration.changes(engine_context(), process_key=process_key, **args)


@definitions_bp.route("/<string:process_key>/migrations")
class Migrations(MethodView):
    @roles_first(definitions_bp, *migration.OWNERS)  # 403 before any 422 on the body
    @definitions_bp.arguments(MigrationIn)
    @definitions_bp.response(200, MigrationResultOut)
    def post(self, body: dict[str, Any], process_key: str) -> dict[str, Any]:
        """Migrate the running instances of version `from` (or `instance_ids`) to version `to`,
        one transaction each; instances that cannot move are reported in `refused`."""
        result = migration.migrate(
            engine_context(), process_key=process_key, actor=current_actor(), **body
        )
        return {"migrated": result.migrated, "refused": result.refused, "summary": result.summary}


@definitions_bp.route("/<string:process_key>/migrations/instances/<uuid:instance_id>")
class MigrateInstance(MethodView):
    @roles_first(definitions_bp, *migration.OWNERS)  # 403 before any 422 on the body
    @definitions_bp.arguments(MigrateInstanceIn)
    @definitions_bp.response(200, InstanceOut)
    def post(self, body: dict[str, Any], process_key: str, instance_id: Any) -> dict[str, Any]:
        """Migrate one instance to version `to` (409 naming the instance and the elements that
        stop it, or if it changed meanwhile)."""
        ctx, actor = engine_context(), current_actor()
        with ctx.reading() as session:
            row = session.get(Instance, str(instance_id))
            if row is None or row.process_key != process_key:
                raise NotFound(f"流程 {process_key} 没有案件 {instance_id}")
        return instance_json(
            migration.migrate_instance(ctx, instance_id=str(instance_id), actor=actor, **body)
        )


@incidents_bp.route("")
class Incidents(MethodView):
    @roles_first(incidents_bp, "province", "auditor", "process_owner")
    @incidents_bp.arguments(IncidentListArgs, location="query")
    @incidents_bp.response(200, IncidentOut(many=True))
    def get(self, args: dict[str, Any]) -> list[Any]:
        """List incidents: the open ones (default), the resolved ones or all (`status`)."""
        status = args["status"]
        return incidents.list_incidents(
            engine_context(), status=None if status == "all" else status
        )


@incidents_bp.route("/<uuid:incident_id>/retry")
class Retry(MethodView):
    @incidents_bp.response(200, InstanceOut)
    def post(self, incident_id: Any) -> dict[str, Any]:
        """Re-run the failed command with its stored arguments."""
        actor = current_actor()
        access.require_role(actor, "province", "process_owner")
        return instance_json(
            incidents.retry(engine_context(), incident_id=str(incident_id), actor=actor)
        )


@incidents_bp.route("/<uuid:incident_id>/resolve")
class Resolve(MethodView):
    @roles_first(incidents_bp, "province", "process_owner")  # 403 before any 422 on the body
    @incidents_bp.arguments(ResolveIn)
    @incidents_bp.response(200, IncidentOut)
    def post(self, body: dict[str, Any], incident_id: Any) -> Any:
        """Close an incident by hand, with a note."""
        actor = current_actor()
        return incidents.resolve(
            engine_context(), incident_id=str(incident_id), actor=actor, note=body["note"]
        )


@audit_bp.route("/events")
class Events(MethodView):
    @audit_bp.arguments(EventListArgs, location="query")
    @audit_bp.response(200, page_schema(EventOut))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """History events by instance / actor / time (auditors and province)."""
        viewer = current_actor()
        access.require_role(viewer, "auditor", "province")
        items, total = queries.events(  # a complainant's identity as complaints allow
            engine_context(),
            viewer=viewer,
            instance_id=args.get("instance_id"),
            actor_id=args.get("actor"),
            kind=args.get("kind"),
            since=args.get("since"),
            until=args.get("until"),
            page=args["page"],
            per_page=args["per_page"],
        )
        items = audit_export.with_element_names(engine_context(), items)
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@audit_bp.route("/verify")
class Verify(MethodView):
    @error_responses(audit_bp, {403: "仅限角色 auditor、province"})
    @audit_bp.response(200, VerifyOut)
    def get(self) -> Any:
        """Verify every hash chain; names the first broken row of each broken chain."""
        access.require_role(current_actor(), "auditor", "province")
        problems = history.verify_all(engine_context())
        return {"ok": not problems, "problems": problems}

    @error_responses(
        audit_bp,
        {403: "仅限角色 auditor、province", 422: "请求体不是 `tidu audit anchor` 写出的锚点文件"},
    )
    @audit_bp.doc(requestBody=ANCHOR_BODY)
    @audit_bp.response(200, VerifyOut)
    def post(self) -> Any:
        """Verify as GET does, and that each head kept in the posted anchor (the JSON body,
        as written by `tidu audit anchor`) is still in its chain at that seq with that hash."""
        access.require_role(current_actor(), "auditor", "province")
        anchored = audit_checks.load_anchor(request.get_data())
        audit_checks.check_anchor_file(anchored)
        ctx = engine_context()
        problems = history.verify_all(ctx)
        with ctx.reading_rows() as conn:
            problems += audit_checks.check_anchor(conn, anchored)
        return {"ok": not problems, "problems": problems}


class ExportArgs(Schema):
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "json（默认）或 csv"},
    )


@audit_bp.route("/instances/<uuid:instance_id>/export")
class Export(MethodView):
    @audit_bp.arguments(ExportArgs, location="query")
    def get(self, args: dict[str, Any], instance_id: Any) -> Response:
        """Export a case's history as JSON (default; each event's stored columns with its
        kind_label, element_name, definition_version, process_name) or CSV (?format=csv: Chinese
        headers, local times)."""
        ctx = engine_context()
        rows = audit_export.case_history(ctx, current_actor(), str(instance_id))
        if args["format"] == "csv":
            body = audit_export.csv_rows(ctx, rows)
            return csv_response(audit_export.csv_header(), body, f"history-{instance_id}")
        dumped = [
            item | audit_export.added_fields(row)
            for item, row in zip(EventOut(many=True).dump(rows), rows, strict=True)
        ]
        return Response(
            json.dumps(dumped, ensure_ascii=False, indent=1), mimetype="application/json"
        )


@rounds_bp.route("")
class Rounds(MethodView):
    @staticmethod
    def round_json(ctx: Any, row: Any, counts: dict[str, int]) -> dict[str, Any]:
        """A round as the list shows it and its opening answers (RoundOut)."""
        window = rounds.window_state(ctx, row)
        return {
            **{c: getattr(row, c) for c in ("id", "process_key", "label", "opens_on", "closes_at")},
            "counts": counts,
            "window": window,
            "accepting": window == "open",
            "warning": None,
        }

    @rounds_bp.arguments(RoundListArgs, location="query")
    @rounds_bp.response(200, RoundOut(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """List rounds with case counts by status, of the cases the caller may see (a city: its
        region; an enterprise: its own)."""
        actor = current_actor()
        ctx = engine_context()
        found = queries.rounds(ctx, process_key=args.get("process_key"), actor=actor)
        return [self.round_json(ctx, f["round"], f["counts"]) for f in found]

    @roles_first(rounds_bp, "province")  # 403 before any 422 on the body
    @error_responses(
        rounds_bp,
        {
            404: "该流程尚未部署",
            409: "该流程在同一开放日已有批次（rule 为 round-exists），或申报期与已有批次重叠"
            "（rule 为 round-overlaps）；round_id 为已有批次",
            422: "申报窗口已结束（opens_on）",
        },
    )
    @rounds_bp.arguments(RoundIn)
    @rounds_bp.response(201, RoundOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Open an application round (province); answered as the list shows it, with its
        (still empty) counts, its window and `warning` when its cases' deadlines would reach a
        year without working-day data."""
        ctx = engine_context()
        row = queries.open_round(ctx, **body, actor=current_actor())
        warning = round_rules.calendar_warning(
            ctx, process_key=row.process_key, opens_on=row.opens_on, closes_at=row.closes_at
        )
        return self.round_json(ctx, row, {}) | {"warning": warning}


class ScheduledRoundOut(Schema):
    process_key = fields.String()
    label = fields.String()
    opens_on = fields.Date(metadata={"description": "开放日期（当日 0 时起可申报）"})
    last_day = fields.Date(metadata={"description": "申报截止日（当日 24 时止）"})
    window_days = fields.Integer()


@rounds_bp.route("/schedule")
class RoundSchedule(MethodView):
    @rounds_bp.response(200, ScheduledRoundOut(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The next two openings of each procedure under `processes/rounds.json`, soonest first
        (the scheduler opens them by itself)."""
        current_actor()
        return rounds.upcoming(engine_context())


UPLOADERS = ("enterprise", "city", "province", "miit", "public")


@files_bp.route("")
class Files(MethodView):
    @error_responses(
        files_bp,
        {
            403: "仅限提交材料的角色（企业、各级主管部门、社会公众）；审计与流程管理角色只读",
            422: "缺少 file；文件为空、超过 20 MB、类型不在允许之列（TIDU_EVIDENCE_TYPES）或是程序",
        },
    )
    @files_bp.doc(
        requestBody=multipart_body(
            "file", "佐证材料文件（不超过 20 MB；PDF、OFD、图片、Word、Excel、WPS 或 ZIP）"
        )
    )
    @files_bp.response(201, FileOut)
    def post(self) -> Any:
        """Upload one evidence file (multipart field `file`); returns its id and sha256. Only
        those who submit evidence may: enterprises, staff, the public (complaints); auditors
        and process owners read only (403)."""
        actor = current_actor()
        access.require_role(actor, *UPLOADERS)
        part = request.files.get("file")
        if part is None:
            raise InvalidInput("请以 multipart 字段 file 上传", errors={"file": ["必填"]})
        try:
            content = part.read(MAX_UPLOAD + 1)
        finally:
            part.close()  # a large upload is spooled to a temporary file
        filename = part.filename or "file"
        return queries.store_file(
            engine_context(),
            actor,
            filename=filename,
            content_type=evidence_types.check(filename, content),
            content=content,
        )


@files_bp.route("/<uuid:file_id>")
class FileDownload(MethodView):
    @files_bp.response(
        200,
        {"type": "string", "format": "binary"},
        content_type="application/octet-stream",
        description="文件内容（上传时的类型），附件名为原文件名（RFC 5987 编码中文名）",
    )
    def get(self, file_id: Any) -> Response:
        """Download an evidence file: its uploader and enterprise, staff who may see a case that
        references it, auditors (404 for anyone else)."""
        row = queries.evidence_file(engine_context(), current_actor(), str(file_id))
        response = send_file(
            io.BytesIO(row.content),
            mimetype=row.content_type or "application/octet-stream",
            etag=row.sha256,
            last_modified=row.uploaded_at,
            max_age=0,
        )
        response.headers["Content-Disposition"] = attachment(row.filename or "file")
        response.cache_control.private = True  # never kept by a shared cache
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def attachment(filename: str) -> str:
    """`attachment` naming a file: a plain ASCII name for old clients and, for any other name,
    the name itself as UTF-8 (RFC 5987 `filename*`, e.g. 审计报告.pdf)."""
    plain = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[^A-Za-z0-9._ -]+", "", plain).strip()
    if plain == filename:
        return dump_options_header("attachment", {"filename": filename})
    if not plain.split(".")[0].strip(" _-"):  # only its extension left: 审计报告.pdf
        extension = plain.lstrip(" ._-")
        plain = f"evidence.{extension}" if extension else "evidence"
    utf8 = quote(filename, safe="!#$&+-.^_`|~")
    return dump_options_header("attachment", {"filename": plain, "filename*": f"UTF-8''{utf8}"})


BLUEPRINTS = [
    definitions_bp,
    incidents_bp,
    audit_bp,
    rounds_bp,
    files_bp,
]  # qualifications: api/qualifications.py
__all__ = ["BLUEPRINTS", "NotFound"]
