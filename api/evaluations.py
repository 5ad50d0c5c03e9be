"""Evaluations API: score preview without a case, and the recorded decisions of a case."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.auth import current_actor, engine_context
from api.schemas import LocalDateTime
from engine import definitions, queries, registry
from engine.context import EngineContext
from engine.errors import InvalidInput
from engine.store import TIER_PROCESSES
from handlers.preview import preview_by_tier

bp = Blueprint(
    "evaluations",
    __name__,
    url_prefix="/api/v1/evaluations",
    description="自动评价：预评分与决策明细",
)
TIERS = ("innovative", "specialized", "little_giant", "all")


class PreviewIn(Schema):
    data = fields.Dict(
        required=True,
        metadata={
            "description": "与自评表相同的字段（见 docs/rules.md）；未填的指标在结果中标为 missing"
        },
    )
    tier = fields.String(load_default="all", validate=validate.OneOf(TIERS))
    reference_on = fields.Date(
        allow_none=True,
        load_default=None,
        metadata={"description": "选用规则的基准日（批次开始日期）；默认今天"},
    )
    uscc = fields.String(
        allow_none=True,
        load_default=None,
        metadata={"description": "统一社会信用代码；企业用户默认本企业"},
    )


class PreviewOut(Schema):
    reference_on = fields.String()
    evaluated_on = fields.String()
    size = fields.Dict(metadata={"description": "规模划型"})
    eligibility = fields.Dict(metadata={"description": "申报条件（第四条）"})
    tiers = fields.Dict(metadata={"description": "各层级的评分或条件明细"})
    rulesets = fields.List(
        fields.Dict(), metadata={"description": "所用规则集（名称、施行期间、校验和）"}
    )
    rule_version = fields.String(allow_none=True)
    rules_source = fields.Dict(
        metadata={
            "description": "规则来源：首个所选层级的评价流程的最新部署版本"
            "（各层级的来源见 tiers.<层级>.rules_source）"
        }
    )


class DecisionOut(Schema):
    event_id = fields.Integer()
    at = LocalDateTime()
    bpmn_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    operator = fields.String()
    definition_id = fields.Integer(
        allow_none=True, metadata={"description": "作出该决策时案件所用的流程版本（定义编号）"}
    )
    definition_version = fields.Integer(
        allow_none=True, metadata={"description": "作出该决策时案件所用的流程版本号"}
    )
    rule_version = fields.String(allow_none=True)
    ruleset = fields.Dict(allow_none=True)
    inputs = fields.Dict()
    outputs = fields.Dict()
    hash = fields.String()


class DecisionsOut(Schema):
    instance_id = fields.String()
    process_key = fields.String()
    definition_version = fields.Integer(metadata={"description": "案件当前的流程版本号"})
    decisions = fields.List(fields.Nested(DecisionOut))


def _rules_of(ctx: EngineContext) -> Any:
    """tier -> (rule set, source): the newest deployment of the procedure deciding the tier (of
    any process if that one is not deployed); the configured processes/ directory if none is."""

    def rules_of(tier: str) -> tuple[registry.RuleSet, dict[str, Any]]:
        latest = queries.latest_rules(ctx, TIER_PROCESSES[tier])
        if latest is not None:
            files = latest.pop("files")
            return registry.RuleSet(files), {"source": "deployment", **latest}
        directory = ctx.settings.processes_dir
        files = definitions.read_directory(directory)
        dmn = {k: v for k, v in files.items() if k.endswith(".dmn")}
        return registry.RuleSet(dmn), {"source": "directory", "directory": str(directory)}

    return rules_of


_VERSION_OF = {"instance.started": "version", "instance.continued": "version"}


def _decisions(events: list[Any]) -> list[dict[str, Any]]:
    """The decision events, each with the version the case ran on when it was made: its own
    `definition_id`, else (events recorded before they carried one) the version the case's
    history had reached (started, migrated, continued)."""
    versions: dict[int, int] = {}  # definition id -> version, as the history names them
    current: tuple[int | None, int | None] = (None, None)
    decisions = []
    for e in events:
        data = e.data or {}
        if e.kind in _VERSION_OF or e.kind == "instance.migrated":
            version = data.get("to_version", data.get("version"))
            if data.get("from_definition_id") is not None:
                versions.setdefault(data["from_definition_id"], data.get("from_version"))
            if e.definition_id is not None:
                versions[e.definition_id] = version
            current = (e.definition_id, version)
        if e.kind != "handler.decision":
            continue
        definition_id = e.definition_id if e.definition_id is not None else current[0]
        decisions.append(
            {
                "event_id": e.id,
                "at": e.at,
                "bpmn_id": e.bpmn_id,
                "task_id": e.task_id,
                "operator": data.get("operator"),
                "definition_id": definition_id,
                "definition_version": versions.get(definition_id, current[1]),
                "rule_version": data.get("rule_version"),
                "ruleset": (data.get("outputs") or {}).get("ruleset"),
                "inputs": data.get("inputs") or {},
                "outputs": data.get("outputs") or {},
                "hash": e.hash,
            }
        )
    return decisions


def _today(ctx: EngineContext) -> date:
    return ctx.today()


@bp.route("/preview")
class Preview(MethodView):
    @bp.arguments(PreviewIn)
    @bp.response(200, PreviewOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Preview size class, eligibility and each tier's breakdown without starting a case.

        Negative, out-of-range or impossible values give 422 with `errors` per field.
        """
        ctx, actor = engine_context(), current_actor()
        today = _today(ctx).isoformat()
        reference = body["reference_on"].isoformat() if body["reference_on"] else today
        result = preview_by_tier(
            figures=body["data"],
            tiers=body["tier"],
            uscc=body["uscc"] or actor.uscc,
            reference_on=reference,
            evaluated_on=today,
            rules_of=_rules_of(ctx),
        )
        if "invalid" in result:
            errors = result["invalid"]
            raise InvalidInput(f"{len(errors)} 个字段未通过校验", errors=errors)
        return result


@bp.route("/<uuid:instance_id>")
class Decisions(MethodView):
    @bp.response(200, DecisionsOut)
    def get(self, instance_id: Any) -> dict[str, Any]:
        """The automatic decisions recorded for a case: inputs, outputs, rule set, rule version,
        and the process version each was made on (a case migrated since keeps it)."""
        ctx, actor = engine_context(), current_actor()
        found = queries.instance(ctx, actor, str(instance_id))  # 404 when not visible
        decisions = _decisions(queries.instance_history(ctx, actor, str(instance_id)))
        row = found["instance"]
        return {
            "instance_id": row.id,
            "process_key": row.process_key,
            "definition_version": found["version"],
            "decisions": decisions,
        }
