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
    rule_version = fields.String(allow_none=True)
    ruleset = fields.Dict(allow_none=True)
    inputs = fields.Dict()
    outputs = fields.Dict()
    hash = fields.String()


class DecisionsOut(Schema):
    instance_id = fields.String()
    process_key = fields.String()
    definition_version = fields.Integer()
    decisions = fields.List(fields.Nested(DecisionOut))


def _rules_of(ctx: EngineContext) -> Any:
    """tier -> (rule set, source): the newest deployment of the procedure deciding the tier (of
    any process if that one is not deployed); the configured processes/ directory if none is."""

    def rules_of(tier: str) -> tuple[registry.RuleSet, dict[str, Any]]:
        latest = queries.latest_rules(ctx, queries.TIER_PROCESSES[tier])
        if latest is not None:
            files = latest.pop("files")
            return registry.RuleSet(files), {"source": "deployment", **latest}
        directory = ctx.settings.processes_dir
        files = definitions.read_directory(directory)
        dmn = {k: v for k, v in files.items() if k.endswith(".dmn")}
        return registry.RuleSet(dmn), {"source": "directory", "directory": str(directory)}

    return rules_of


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
        """The automatic decisions recorded for a case: inputs, outputs, rule set, rule version."""
        ctx, actor = engine_context(), current_actor()
        found = queries.instance(ctx, actor, str(instance_id))  # 404 when not visible
        events = queries.instance_history(ctx, actor, str(instance_id))
        decisions = [
            {
                "event_id": e.id,
                "at": e.at,
                "bpmn_id": e.bpmn_id,
                "task_id": e.task_id,
                "operator": e.data.get("operator"),
                "rule_version": e.data.get("rule_version"),
                "ruleset": (e.data.get("outputs") or {}).get("ruleset"),
                "inputs": e.data.get("inputs") or {},
                "outputs": e.data.get("outputs") or {},
                "hash": e.hash,
            }
            for e in events
            if e.kind == "handler.decision"
        ]
        row = found["instance"]
        return {
            "instance_id": row.id,
            "process_key": row.process_key,
            "definition_version": found["version"],
            "decisions": decisions,
        }
