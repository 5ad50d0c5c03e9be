"""`tidu simulate`: every calendar round between two dates, on a simulated clock, in a scratch DB.

Synthetic enterprises (a seeded mix of strong, weak and ineligible firms across the 12 regions)
apply in each round that opens (processes/rounds.json); staff act on working days after a drawn
delay, with decisions drawn by rule (approve / return / reject, spot checks pass or fail). Time
jumps from one due moment to the next (timer due times, round openings, 09:00 of each day), and
due work runs exactly as the scheduler runs it (engine.scheduler.work). Every draw comes from a
random generator seeded by (seed, what is decided), so a seed always gives the same summary.

Procedures are picked up from the deployed definitions: tasks of known forms get figures and
decisions by rule; a task of any other form gets values drawn from its JSON schema.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import statistics
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from engine import definitions, instances, migrate, queries, rounds, timers, users
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.errors import EngineError
from engine.scheduler import work
from engine.settings import Settings
from engine.store import (
    Definition,
    HistoryEvent,
    HumanTask,
    Incident,
    Instance,
    Qualification,
    Round,
    outcome_label,
)
from handlers import workdays
from handlers.uscc import make_uscc

ZONE = ZoneInfo("Asia/Shanghai")
WORK_AT = time(9, 0)
DELAYS = {"enterprise": (0, 4), "city": (1, 8), "province": (1, 8), "miit": (2, 10)}  # working days


class MissingCalendar(RuntimeError):
    """The simulated period reaches a year without working-day data."""


@dataclass(frozen=True)
class Config:
    start: date
    until: date
    enterprises: int
    seed: int
    processes: Path = Path("processes")


@dataclass
class Firm:
    actor: Actor
    profile: str  # strong | weak | ineligible | absent
    evidence: str = ""


@dataclass
class World:
    ctx: EngineContext
    clock: SimulatedClock
    config: Config
    firms: list[Firm] = field(default_factory=list)
    staff: dict[tuple[str, str | None], Actor] = field(default_factory=dict)
    act_on: dict[str, date] = field(default_factory=dict)  # task id -> day it is worked
    applied: set[tuple[str, int]] = field(default_factory=set)

    def rng(self, *key: object) -> random.Random:
        return random.Random(":".join(str(k) for k in (self.config.seed, *key)))

    def today(self) -> date:
        return self.clock.now().astimezone(ZONE).date()


@functools.lru_cache(maxsize=1)
def _empty_database() -> Path:
    """A migrated empty SQLite file, made once per process and copied for every run."""
    path = Path(tempfile.mkdtemp(prefix="tidu-simulate-template-")) / "empty.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _setup(config: Config) -> World:
    path = Path(tempfile.mkdtemp(prefix="tidu-simulate-")) / "simulate.db"
    shutil.copy(_empty_database(), path)
    url = f"sqlite:///{path}"
    clock = SimulatedClock(datetime.combine(config.start, time(0), ZONE))
    ctx = EngineContext(
        Settings(database_url=url, processes_dir=config.processes, embedded_scheduler=False),
        clock=clock,
    )
    draws = random.Random(f"{config.seed}:spot-check-seeds")
    ctx.script_engine.set_function("new_seed", lambda: f"{draws.getrandbits(64):016x}")
    definitions.deploy(
        ctx,
        files=definitions.read_directory(config.processes),
        actor=Actor(id="simulate", role="process_owner"),
    )
    world = World(ctx, clock, config)
    regions = sorted(ctx.settings.region_names())
    for role in ("province", "miit"):
        world.staff[(role, None)] = Actor(id=f"sim-{role}", role=role)
    for region in regions:
        world.staff[("city", region)] = Actor(id=f"sim-city-{region}", role="city", region=region)
    for n in range(config.enterprises):
        rng = world.rng("firm", n)
        region = rng.choice(regions)
        code = make_uscc(f"9136{region[2:4]}02MB{n:07d}"[:17])
        users.ensure_enterprise(ctx, uscc=code, name=f"模拟企业{n + 1:05d}", region=region)
        actor = Actor(id=f"sim-ent-{n}", role="enterprise", region=region, uscc=code)
        profile = rng.choices(["strong", "weak", "ineligible", "absent"], [0.6, 0.15, 0.1, 0.15])[0]
        evidence = queries.store_file(
            ctx,
            actor,
            filename="审计报告.pdf",
            content_type="application/pdf",
            content=f"{code} 年度审计报告".encode(),
        ).id
        world.firms.append(Firm(actor, profile, evidence))
    return world


def self_evaluation(firm: Firm, rng: random.Random, corrected: bool = False) -> dict[str, Any]:
    """Figures by profile: strong firms pass, weak ones score low, ineligible ones fail 第四条."""
    weak = firm.profile == "weak" and not corrected
    revenue = rng.randint(3000, 30000)
    return {
        "independent_legal_person": True,
        "on_abnormal_list": firm.profile == "ineligible",
        "on_serious_dishonesty_list": False,
        "prohibited_product": False,
        "major_accident_3y": False,
        "tax_violation_3y": False,
        "industry": "industry",
        "employees": rng.randint(20, 290),
        "revenue_y1": revenue,
        "assets_y1": rng.randint(2000, 20000),
        "liabilities_y1": rng.randint(500, 6000),
        "rd_expense_y1": round(revenue * (0.005 if weak else rng.uniform(0.04, 0.09))),
        "main_revenue_y1": round(revenue * 0.95),
        "main_revenue_y2": round(revenue * (0.9 if weak else 0.75)),
        "ip_class": "none" if weak else rng.choice(["own_class1", "class1", "class2"]),
        "strategic_emerging": not weak and rng.random() < 0.5,
        "sci_award_3y": False,
        "valid_honours": False,
        "provincial_rd_institution": False,
        "equity_financing_3y": 0,
        "evidence": [firm.evidence],
    }


def _review(rng: random.Random, returns: bool) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.08:
        return {"decision": "reject", "reason": "材料与实际不符"}
    if returns and roll < 0.2:
        return {
            "decision": "return",
            "reason": "佐证材料不全",
            "correction_days": rng.choice([5, 7, 10]),
        }
    return {"decision": "approve", "flag_for_spot_check": rng.random() < 0.05}


EXAMPLES = Path(__file__).resolve().parent.parent / "docs/examples"
TIER_FORMS = {  # the other tiers' self-evaluations: the worked examples, which pass
    "specialized_self_evaluation.schema.json": "score-specialized.json",
    "little_giant_self_evaluation.schema.json": "score-little_giant.json",
}


def _choice(prop: dict[str, Any], rng: random.Random) -> Any:
    """A choice among `enum` or `oneOf` constants: mostly the first (approve, pass, keep…)."""
    options = prop.get("enum") or [o["const"] for o in prop.get("oneOf", []) if "const" in o]
    if not options:
        return None
    return options[0] if len(options) == 1 or rng.random() < 0.85 else rng.choice(options[1:])


def _from_schema(
    schema: dict[str, Any], rng: random.Random, evidence: str | None = None
) -> dict[str, Any]:
    """Values for a form nobody taught the simulation: choices drawn (mostly the first), numbers
    at their minimum, text filled, the enterprise's evidence file where files are asked for."""
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type")
        choice = _choice(prop, rng)
        if choice is not None:
            out[name] = choice
        elif kind == "boolean":
            out[name] = False
        elif kind in ("integer", "number"):
            out[name] = prop.get("minimum", 1)
        elif kind == "string":
            out[name] = "2026-01-01" if prop.get("format") == "date" else "模拟填写"
        elif kind == "array" and name.endswith("evidence"):  # file ids
            out[name] = [evidence] if evidence else []
    return out


def _tier_figures(form: str, firm: Firm) -> dict[str, Any]:
    figures = json.loads((EXAMPLES / TIER_FORMS[form]).read_text(encoding="utf-8"))
    figures.pop("uscc", None)
    return figures | {"evidence": [firm.evidence]}


def _task_key(task: HumanTask) -> tuple[str, ...]:
    """What identifies a task across runs (instance and task ids are random UUIDs)."""
    return (
        task.process_key,
        task.uscc or task.region or "-",
        task.bpmn_id,
        task.created_at.isoformat(),
    )


def _task_data(world: World, task: HumanTask, firm: Firm | None) -> dict[str, Any]:
    rng = world.rng(*_task_key(task))
    form = (task.form or "").rsplit("/", 1)[-1]
    if form == "innovative_self_evaluation.schema.json" and firm is not None:
        return self_evaluation(firm, rng, corrected=task.bpmn_id != "self_evaluation")
    if form in TIER_FORMS and firm is not None:
        return _tier_figures(form, firm)
    if form == "review_with_return.schema.json":
        return _review(rng, returns=True)
    if form == "review.schema.json":
        return _review(rng, returns=False)
    if form == "spot_check.schema.json":
        passed = rng.random() < 0.92
        return {
            "result": "pass" if passed else "fail",
            "findings": "核查一致" if passed else "研发场地不实",
        }
    if form == "objection_review.schema.json":
        return {"decision": "dismissed", "reason": "经核查不成立"}
    if form == "report.schema.json":
        return {"remarks": "同意推荐"}
    if form == "announcement.schema.json":
        return {"announcement_no": f"赣工信企业字〔{world.today().year}〕{rng.randint(1, 99)}号"}
    with world.ctx.transaction() as session:
        definition = session.get(
            definitions.Definition, session.get(Instance, task.instance_id).definition_id
        )
        schema = definitions.form_schema(definition, task.form) or {}
    return _from_schema(schema, rng, firm.evidence if firm is not None else None)


def _apply(world: World, day: date) -> None:
    """Enterprises start an application on the day they drew for each open round."""
    with world.ctx.transaction() as session:
        open_rounds = session.scalars(
            select(Round).where(Round.opens_on <= day).order_by(Round.id)
        ).all()
    for round_row in open_rounds:
        if round_row.closes_at <= world.clock.now():
            continue
        for firm in world.firms:
            if (firm.actor.id, round_row.id) in world.applied or firm.profile == "absent":
                continue
            delay = world.rng("apply", firm.actor.id, round_row.id).randint(0, 20)
            if round_row.opens_on + timedelta(days=delay) > day:
                continue
            world.applied.add((firm.actor.id, round_row.id))
            try:
                instances.start_instance(
                    world.ctx,
                    process_key=round_row.process_key,
                    actor=firm.actor,
                    round_id=round_row.id,
                )
            except EngineError:
                continue  # e.g. not qualified for this tier


def _actor_for(world: World, task: HumanTask, firms: dict[str, Firm]) -> Actor | None:
    if task.role == "enterprise":
        firm = firms.get(task.uscc or "")
        return firm.actor if firm else None
    return world.staff.get((task.role, task.region if task.role == "city" else None))


def _work_tasks(world: World, day: date) -> None:
    """Work every open task whose drawn day has come (deterministic order)."""
    firms = {f.actor.uscc or "": f for f in world.firms}
    with world.ctx.transaction() as session:
        tasks = session.scalars(
            select(HumanTask)
            .where(HumanTask.state == "open")
            .order_by(
                HumanTask.created_at, HumanTask.process_key, HumanTask.uscc, HumanTask.bpmn_id
            )
        ).all()
    for task in tasks:
        if task.id not in world.act_on:
            low, high = DELAYS.get(task.role, (1, 5))
            delay = world.rng("delay", *_task_key(task))
            world.act_on[task.id] = workdays.add_working_days(day, delay.randint(low, high))
        actor = _actor_for(world, task, firms)
        if actor is None or world.act_on[task.id] > day:
            continue
        data = _task_data(world, task, firms.get(task.uscc or ""))
        try:
            instances.complete_task(world.ctx, task_id=task.id, actor=actor, data=data)
        except EngineError:
            continue  # lapsed meanwhile, or an incident (counted in the summary)


def _run_until(world: World, moment: datetime, lateness: list[float], owner: str) -> int:
    """Jump from due moment to due moment up to `moment`, running the scheduler's work at each."""
    fired, last = 0, None
    policy = timers.TimerPolicy(max_attempts=1)
    while True:
        due = [
            m
            for m in (timers.next_wakeup(world.ctx), rounds.next_opening(world.ctx))
            if m is not None
        ]
        nxt = min(due) if due else None
        if nxt is None or nxt >= moment or nxt == last:
            break
        last = nxt
        world.clock.set(max(nxt + timedelta(milliseconds=1), world.clock.now()))
        result = work(world.ctx, owner=owner, policy=policy)
        fired += result.fired
        lateness += result.lateness_s
    world.clock.set(moment)
    result = work(world.ctx, owner=owner, policy=policy)
    lateness += result.lateness_s
    return fired + result.fired


def run(config: Config, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Simulate every day of [start, until) and return the summary."""
    _check_calendar(config)
    world = _setup(config)
    lateness: list[float] = []
    day = config.start
    try:
        while day < config.until:
            _run_until(world, datetime.combine(day, WORK_AT, ZONE), lateness, "simulate")
            rounds.open_due(world.ctx)
            _apply(world, day)
            if workdays.is_working_day(day):
                _work_tasks(world, day)
            day += timedelta(days=1)
            if progress:
                progress(1)
        end = datetime.combine(config.until, time(0), ZONE) - timedelta(milliseconds=1)
        _run_until(world, end, lateness, "simulate")
    except ValueError as error:
        if "工作日历" in str(error):
            raise MissingCalendar(f"{error}（simulate 需要覆盖整个模拟期的工作日历）") from None
        raise
    return _summary(world, lateness)


def _check_calendar(config: Config) -> None:
    """Fail before anything runs if a simulated day (plus deadlines after it) has no calendar."""
    day = config.start
    try:
        while day < config.until + timedelta(days=60):
            workdays.is_working_day(day)
            day += timedelta(days=28)
        workdays.is_working_day(config.until + timedelta(days=60))
    except ValueError as error:
        raise MissingCalendar(
            f"{error}（simulate 需要覆盖整个模拟期及其后期限的工作日历）"
        ) from None


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _summary(world: World, lateness: list[float]) -> dict[str, Any]:
    with world.ctx.transaction() as session:
        outcomes = Counter(
            {
                f"{key}:{outcome}": n
                for key, outcome, n in session.execute(
                    select(Instance.process_key, Instance.outcome, func.count())
                    .where(Instance.status == "completed")
                    .group_by(Instance.process_key, Instance.outcome)
                ).all()
            }
        )
        late_tasks = (
            session.scalar(
                select(func.count())
                .select_from(HumanTask)
                .where(HumanTask.due_at.is_not(None), HumanTask.completed_at > HumanTask.due_at)
            )
            or 0
        )
        return {
            "database": str(world.ctx.settings.database_url),
            "rounds": [
                f"{r.label}（{r.opens_on}）"
                for r in session.scalars(select(Round).order_by(Round.opens_on))
            ],
            "enterprises": len(world.firms),
            "applications": session.scalar(select(func.count()).select_from(Instance)) or 0,
            "running": session.scalar(
                select(func.count()).select_from(Instance).where(Instance.status == "running")
            )
            or 0,
            "qualifications": session.scalar(select(func.count()).select_from(Qualification)) or 0,
            "outcomes": dict(sorted((k or "-", v) for k, v in outcomes.items())),
            "process_names": dict(
                session.execute(
                    select(Definition.process_key, Definition.name).order_by(Definition.id)
                ).all()
            ),  # each key's latest name
            "timers_fired": session.scalar(
                select(func.count())
                .select_from(HistoryEvent)
                .where(HistoryEvent.kind == "timer.fired")
            )
            or 0,
            "timer_lateness_p50_s": round(_percentile(lateness, 0.5), 3),
            "timer_lateness_p95_s": round(_percentile(lateness, 0.95), 3),
            "tasks_completed_late": late_tasks,
            "incidents": session.scalar(select(func.count()).select_from(Incident)) or 0,
        }


def _outcomes_text(summary: dict[str, Any]) -> str:
    """Completed cases per procedure and outcome, by their Chinese names."""
    names = summary.get("process_names", {})
    grouped: dict[str, list[str]] = {}
    for key_outcome, count in summary["outcomes"].items():
        key, _, outcome = key_outcome.partition(":")
        label = outcome_label(key, outcome if outcome not in ("", "None") else "completed")
        grouped.setdefault(key, []).append(f"{label} {count} 件")
    return "；".join(f"{names.get(k, k)}（{'，'.join(v)}）" for k, v in grouped.items()) or "无"


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as Chinese text lines."""
    lines = [
        f"模拟数据库：{summary['database']}",
        "申报批次：" + ("；".join(summary["rounds"]) or "无"),
        f"企业 {summary['enterprises']} 家，申报 {summary['applications']} 件"
        f"（进行中 {summary['running']}），"
        f"认定 {summary['qualifications']} 家",
    ]
    lines.append("结果分布：" + _outcomes_text(summary))
    lines.append(
        f"定时器触发 {summary['timers_fired']} 次，延迟 p50 {summary['timer_lateness_p50_s']} s，"
        f"p95 {summary['timer_lateness_p95_s']} s；"
        f"逾期办理的任务 {summary['tasks_completed_late']} 个；"
        f"待处理事件 {summary['incidents']} 个"
    )
    return "\n".join(lines)
