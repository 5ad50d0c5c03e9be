"""Demo data (`tidu demo`) and the P1 walkthrough on a simulated clock (`--walkthrough`)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import definitions, instances, migrate, queries, users
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.settings import Settings
from engine.store import EvidenceFile, HistoryEvent, HumanTask, Instance, Qualification
from handlers.uscc import make_uscc

PROJECT = Path(__file__).resolve().parent.parent
SELF_EVALUATION = PROJECT / "docs/examples/self_evaluation.json"
SHIPPED_PROCESSES = PROJECT / "processes"
DEMO_ENTERPRISES = [
    ("360100", "洪城精密机械有限公司"),
    ("360700", "赣州稀土新材料有限公司"),
    ("360400", "九江智能装备有限公司"),
]


def demo_uscc(region: str, serial: int) -> str:
    return make_uscc(f"9136{region[2:4]}02MA{serial:07d}")


def _users(ctx: EngineContext) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"user_id": "province", "display_name": "江西省工业和信息化厅", "role": "province"},
        {"user_id": "miit", "display_name": "工业和信息化部", "role": "miit"},
        {"user_id": "owner", "display_name": "流程管理员", "role": "process_owner"},
        {"user_id": "auditor", "display_name": "审计人员", "role": "auditor"},
        {"user_id": "public", "display_name": "公众投诉人（演示）", "role": "public"},
    ]
    for code, name in ctx.settings.region_names().items():
        out.append(
            {
                "user_id": f"city-{code}",
                "display_name": f"{name}中小企业主管部门",
                "role": "city",
                "region": code,
            }
        )
    for serial, (region, name) in enumerate(DEMO_ENTERPRISES, start=1):
        out.append(
            {
                "user_id": f"ent-{serial}",
                "display_name": name,
                "role": "enterprise",
                "region": region,
                "uscc": demo_uscc(region, serial),
            }
        )
    return out


def seed(ctx: EngineContext, processes: Path | None = None) -> dict[str, str]:
    """Create demo users, enterprises and the current innovative round; return fresh tokens."""
    tokens = {}
    for spec in _users(ctx):
        if spec.get("uscc"):
            users.ensure_enterprise(
                ctx, uscc=spec["uscc"], name=spec["display_name"], region=spec["region"]
            )
        users.ensure_user(ctx, **spec)
        tokens[spec["user_id"]] = users.issue_token(ctx, spec["user_id"])
    definitions.deploy_set(  # keeps a newer version deployed from the web page (`tidu deploy`)
        ctx,
        files=definitions.read_directory(processes or ctx.settings.processes_dir),
        actor=Actor(id="owner", role="process_owner"),
    )
    today = ctx.now().astimezone(timezone(timedelta(hours=8))).date()
    if not [
        r
        for r in queries.rounds(ctx, process_key="innovative_evaluation")
        if r["round"].closes_at > ctx.now()
    ]:
        queries.open_round(
            ctx,
            process_key="innovative_evaluation",
            opens_on=today,
            window_days=30,
            label=f"{today.year}年第{1 if today.month <= 6 else 2}批创新型中小企业评价（演示）",
        )
    return tokens


def sample_figures(evidence: list[str], **overrides: Any) -> dict[str, Any]:
    """The example self-evaluation of docs/examples (passes 第四条, scores well above 60)."""
    data = json.loads(SELF_EVALUATION.read_text(encoding="utf-8"))
    return data | {"evidence": evidence} | overrides


class Walkthrough:
    """Drive one P1 round through the engine commands, printing each step."""

    def __init__(
        self, ctx: EngineContext, clock: SimulatedClock, say: Callable[[str], None]
    ) -> None:
        self.ctx, self.clock, self.say = ctx, clock, say
        self.actors: dict[str, Actor] = {}

    def actor(self, user_id: str) -> Actor:
        return self.actors[user_id]

    def open_tasks(self, role: str) -> list[HumanTask]:
        with self.ctx.transaction() as session:
            return list(
                session.scalars(
                    select(HumanTask)
                    .where(HumanTask.state == "open", HumanTask.role == role)
                    .order_by(HumanTask.created_at)
                )
            )

    def do(self, user_id: str, bpmn_id: str, data: dict[str, Any]) -> None:
        actor = self.actor(user_id)
        for task in self.open_tasks(actor.role):
            if (
                task.bpmn_id == bpmn_id
                and (actor.region is None or task.region == actor.region)
                and (actor.uscc is None or task.uscc == actor.uscc)
            ):
                row = instances.complete_task(self.ctx, task_id=task.id, actor=actor, data=data)
                self.say(
                    f"  {self.stamp()} {actor.display_name} 完成「{task.name}」"
                    f" → 案件状态 {row.status}" + (f"（{row.outcome}）" if row.outcome else "")
                )
                return
        raise RuntimeError(f"{user_id} has no open {bpmn_id}")

    def explain(self, actor: Actor) -> None:
        """Print the automatic eligibility and score decisions of the enterprise's latest case."""
        with self.ctx.transaction() as session:
            rows = session.scalars(
                select(HistoryEvent)
                .join(Instance, Instance.id == HistoryEvent.instance_id)
                .where(Instance.uscc == actor.uscc, HistoryEvent.kind == "handler.decision")
                .order_by(HistoryEvent.id)
            ).all()
        for row in rows:
            out = row.data["outputs"]
            if row.bpmn_id == "check_eligibility":
                failed = "、".join(f["name"] for f in out["failed"]) or "无"
                self.say(
                    f"      第四条资格审查：{'通过' if out['eligible'] else '不通过'}"
                    f"（未满足：{failed}）"
                )
            elif row.bpmn_id == "score_innovative":
                self.say(
                    f"      创新型评分：{out['score']} 分，{'达标' if out['passed'] else '未达标'}"
                )

    def advance_until(self, role: str, bpmn_id: str, count: int, most: int = 90) -> None:
        """Advance a day at a time until `count` open `bpmn_id` tasks wait (the notice periods
        are settings: their length is what the deployed diagrams say)."""
        days = fired = 0
        while days < most and (sum(t.bpmn_id == bpmn_id for t in self.open_tasks(role)) < count):
            self.clock.advance(timedelta(days=1))
            days += 1
            fired += instances.fire_due(self.ctx)["fired"]
        self.say(f"  {self.stamp()} 时间前进 {days} 天，公示期满，触发定时器 {fired} 个")

    def stamp(self) -> str:
        return self.clock.now().astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")

    def spot_checks(self, user_id: str, bpmn_id: str) -> None:
        actor = self.actor(user_id)
        for task in self.open_tasks(actor.role):
            if task.bpmn_id == bpmn_id and (actor.region is None or task.region == actor.region):
                self.do(user_id, bpmn_id, {"result": "pass", "findings": "现场核查与申报一致"})


def walkthrough(say: Callable[[str], None]) -> None:
    """One P1 round for three demo enterprises on a simulated clock, in a scratch database."""
    import handlers  # noqa: F401

    path = Path(tempfile.mkdtemp(prefix="tidu-walkthrough-")) / "walkthrough.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    clock = SimulatedClock(datetime(2025, 9, 1, 1, 0, tzinfo=UTC))
    ctx = EngineContext(Settings(database_url=url), clock=clock)
    # the diagrams TIDU_PROCESSES_DIR names (a process owner trying a changed setting), else
    # those tidu ships: the walkthrough runs from any directory
    configured = os.environ.get("TIDU_PROCESSES_DIR")
    seed(ctx, Path(configured) if configured else SHIPPED_PROCESSES)
    w = Walkthrough(ctx, clock, say)
    for spec in _users(ctx):
        w.actors[spec["user_id"]] = Actor(
            id=spec["user_id"],
            role=spec["role"],
            region=spec.get("region"),
            uscc=spec.get("uscc"),
            display_name=spec["display_name"],
        )
    round_row = queries.rounds(ctx, process_key="innovative_evaluation")[0]["round"]
    say(f"数据库：{url}")
    say(
        f"{w.stamp()} 省工信厅开启申报批次「{round_row.label}」，"
        f"截止 {round_row.closes_at.astimezone(timezone(timedelta(hours=8))).isoformat()}"
    )
    overrides = {
        "ent-1": {},
        "ent-2": {"on_abnormal_list": True, "employees": 1500, "revenue_y1": 50000},
        "ent-3": {},
    }
    for user_id, extra in overrides.items():
        actor = w.actor(user_id)
        instances.start_instance(
            ctx, process_key="innovative_evaluation", actor=actor, round_id=round_row.id
        )
        evidence = queries.store_file(
            ctx,
            actor,
            filename="审计报告.pdf",
            content_type="application/pdf",
            content=f"{actor.display_name} 2024 年度审计报告".encode(),
        )
        say(f"  {w.stamp()} {actor.display_name} 提交申报，佐证材料 sha256={evidence.sha256[:12]}…")
        w.do(user_id, "self_evaluation", sample_figures([evidence.id], **extra))
        w.explain(actor)
    say("市级初审：")
    w.do(
        "city-360400",
        "city_review",
        {"decision": "return", "reason": "研发费用佐证不足，请补充审计报告", "correction_days": 7},
    )
    w.do("city-360100", "city_review", {"decision": "approve", "flag_for_spot_check": True})
    w.spot_checks("city-360100", "city_spot_check")
    w.do(
        "ent-3",
        "correct_application",
        sample_figures([_first_file(ctx, "ent-3")], rd_expense_y1=480),
    )
    w.do("city-360400", "city_review", {"decision": "approve"})
    w.spot_checks("city-360400", "city_spot_check")
    say("市级公示：")
    w.advance_until("city", "city_report", 2)
    for region in ("360100", "360400"):
        w.do(f"city-{region}", "city_report", {"remarks": "公示无异议，推荐上报"})
    say("省级审核与抽查：")
    for _ in range(2):
        w.do("province", "province_review", {"decision": "approve"})
    w.spot_checks("province", "province_spot_check")
    say("省级公示：")
    w.advance_until("province", "province_announce", 2)
    for n in range(2):
        w.do("province", "province_announce", {"announcement_no": f"赣工信企业字〔2025〕{n + 1}号"})
    with ctx.transaction() as session:
        issued = session.scalars(select(Qualification).order_by(Qualification.number)).all()
    say("已认定的创新型中小企业：")
    for q in issued:
        say(f"  {q.number} {q.enterprise_name} {q.uscc} 有效期 {q.issued_on} 至 {q.expires_on}")


def _first_file(ctx: EngineContext, user_id: str) -> str:
    with ctx.transaction() as session:
        return session.scalars(
            select(EvidenceFile.id).where(EvidenceFile.uploaded_by == user_id)
        ).first()


__all__ = ["date", "seed", "walkthrough"]
