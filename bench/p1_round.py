"""One P1 round with N applications on the simulated clock, through the engine commands.

Opens a round, N enterprises apply (start + self-evaluation with evidence), the city reviews
every case (spot checks drawn at the diagram's 20 %), the 公示 timers fire, the city reports,
the province reviews, its 公示 timers fire and it announces: prints the wall time per stage.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.common import scratch_db
from engine import definitions, instances, migrate, queries, users
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.settings import Settings
from engine.store import HumanTask, Instance, Qualification
from handlers.uscc import make_uscc

ROOT = Path(__file__).resolve().parent.parent
CITY = Actor(id="city", role="city", region="360100")
PROVINCE = Actor(id="province", role="province")


def figures(evidence: str) -> dict[str, Any]:
    text = (ROOT / "docs/examples/self_evaluation.json").read_text()
    return json.loads(text.replace("FILE_ID", evidence))


def open_tasks(ctx: EngineContext, bpmn_id: str) -> list[str]:
    with ctx.reading() as session:
        return list(
            session.scalars(
                select(HumanTask.id).where(HumanTask.state == "open", HumanTask.bpmn_id == bpmn_id)
            )
        )


def complete_all(ctx: EngineContext, bpmn_id: str, actor: Actor, data: dict[str, Any]) -> int:
    ids = open_tasks(ctx, bpmn_id)
    for task_id in ids:
        instances.complete_task(ctx, task_id=task_id, actor=actor, data=data)
    return len(ids)


def run(url: str, n: int) -> dict[str, Any]:
    migrate.upgrade(url)
    clock = SimulatedClock(datetime(2025, 9, 1, 1, 0, tzinfo=UTC))
    ctx = EngineContext(Settings(database_url=url, embedded_scheduler=False), clock=clock)
    definitions.deploy(
        ctx,
        files=definitions.read_directory(ROOT / "processes"),
        actor=Actor(id="bench", role="process_owner"),
    )
    round_row = queries.open_round(
        ctx,
        process_key="innovative_evaluation",
        label="bench",
        opens_on=date(2025, 9, 1),
        window_days=30,
    )
    ents = []
    for i in range(n):
        uscc = make_uscc(f"91360102ME{i:07d}")
        users.ensure_enterprise(ctx, uscc=uscc, name=f"企业{i}", region="360100")
        ents.append(Actor(id=f"e{i}", role="enterprise", region="360100", uscc=uscc))
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    for actor in ents:
        row = instances.start_instance(
            ctx, process_key="innovative_evaluation", actor=actor, round_id=round_row.id
        )
        file = queries.store_file(
            ctx, actor, filename="a.pdf", content_type="application/pdf", content=b"x"
        )
        task_id = open_tasks_of(ctx, row.id)
        instances.complete_task(ctx, task_id=task_id, actor=actor, data=figures(file.id))
    stages["apply"] = time.perf_counter() - t0
    steps = [
        ("city_review", CITY, {"decision": "approve"}),
        ("city_spot_check", CITY, {"result": "pass", "findings": "属实"}),
        ("timer", None, None),
        ("city_report", CITY, {"remarks": ""}),
        ("province_review", PROVINCE, {"decision": "approve"}),
        ("province_spot_check", PROVINCE, {"result": "pass", "findings": "属实"}),
        ("timer", None, None),
        ("province_announce", PROVINCE, {"announcement_no": "赣工信企业字〔2025〕1号"}),
    ]
    for bpmn_id, actor, data in steps:
        t1 = time.perf_counter()
        if bpmn_id == "timer":
            clock.advance(timedelta(days=10))
            while instances.fire_due(ctx, limit=1000)["instances"]:
                pass
            stages.setdefault("timers", 0.0)
            stages["timers"] += time.perf_counter() - t1
            continue
        complete_all(ctx, bpmn_id, actor, data)
        stages[bpmn_id] = time.perf_counter() - t1
    total = time.perf_counter() - t0
    with ctx.reading() as session:
        qualified = session.scalar(select(func.count(Qualification.id)))
        outcomes = dict(
            session.execute(select(Instance.outcome, func.count()).group_by(Instance.outcome)).all()
        )
    return {
        "applications": n,
        "wall_s": total,
        "qualified": qualified,
        "outcomes": outcomes,
        "stages_s": {k: round(v, 1) for k, v in stages.items()},
        "dialect": ctx.db.dialect.name,
    }


def open_tasks_of(ctx: EngineContext, instance_id: str) -> str:
    with ctx.reading() as session:
        return session.scalars(
            select(HumanTask.id).where(
                HumanTask.instance_id == instance_id, HumanTask.state == "open"
            )
        ).one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with scratch_db(args.pg_url) as url:
        result = run(url, args.applications)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(
        f"P1 round, {result['applications']} applications ({result['dialect']}): "
        f"{result['wall_s']:.0f} s wall, {result['qualified']} qualified; "
        f"stages {result['stages_s']}"
    )


if __name__ == "__main__":
    main()
