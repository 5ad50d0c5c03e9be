"""P1 happy path in-process (Flask test client, SQLite or PostgreSQL) vs the raw SpiffWorkflow loop.

Usage: .venv/bin/python bench/p1_inprocess.py [--instances N] [--db-url URL]
Prints instances/s, complete-task mean/p95, stored bytes per instance and history event, and
the same-run baseline: the raw SpiffWorkflow loop (deserialize, complete, engine steps,
serialize with SpiffWorkflow's own serializer, the spec stored once) on the same diagram and
handlers, without a database. tidu itself saves cases with a faster task converter writing the
same JSON (engine/state_codec.py) and runs them as TiduWorkflow (engine/walks.py); the
baseline keeps the library's BpmnWorkflow and converter. The two take turns in rounds, as in
bench.sme_eval, so both meet the same drift of a shared machine.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import func, select, text

import handlers  # noqa: F401
from api import create_app
from bench.common import alternate
from engine import definitions, instances, migrate, users
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.instances import Loaded, advance, load_for_update
from engine.runtime import BASELINE_SERIALIZER
from engine.settings import Settings
from engine.store import HistoryEvent, Instance
from handlers.uscc import make_uscc

ROOT = Path(__file__).resolve().parent.parent
STEPS = [
    ("city", "city_review", {"decision": "approve"}),
    ("timer", None, None),
    ("city", "city_report", {"remarks": ""}),
    ("province", "province_review", {"decision": "approve"}),
    ("timer", None, None),
    ("province", "province_announce", {"announcement_no": "赣工信〔2025〕1号"}),
]


def self_eval(evidence: str) -> dict[str, Any]:
    import json

    return json.loads(
        (ROOT / "docs/examples/self_evaluation.json").read_text().replace("FILE_ID", evidence)
    )


def setup(url: str) -> tuple[EngineContext, SimulatedClock]:
    migrate.upgrade(url)
    clock = SimulatedClock(datetime(2025, 9, 1, 1, 0, tzinfo=UTC))
    ctx = EngineContext(Settings(database_url=url, embedded_scheduler=False), clock=clock)
    if ctx.is_postgres:
        with ctx.db.begin() as conn:
            conn.execute(
                text(
                    "TRUNCATE history_event, history_stream, human_task, timer, "
                    "message_subscription, "
                    "incident, qualification, process_instance, evidence_file, round, api_token, "
                    "app_user, enterprise, definition RESTART IDENTITY CASCADE"
                )
            )
    files = definitions.read_directory(ROOT / "processes")
    # no random spot checks, so every instance takes the same path
    files["innovative_evaluation.bpmn"] = files["innovative_evaluation.bpmn"].replace(
        "spot_check_rate = 0.2", "spot_check_rate = 0.0"
    )
    definitions.deploy(ctx, files=files, actor=Actor(id="bench", role="process_owner"))
    return ctx, clock


class Service:
    """tidu on the P1 happy path through the Flask test client: one applicant a case, so
    `applicants` enterprises (with tokens) are made before any case is timed."""

    def __init__(self, ctx: EngineContext, clock: SimulatedClock, applicants: int) -> None:
        self.ctx, self.clock = ctx, clock
        self.client = create_app(ctx=ctx).test_client()
        tokens = {}
        for role, region in (("city", "360100"), ("province", None)):
            users.ensure_user(ctx, user_id=role, display_name=role, role=role, region=region)
            tokens[role] = users.issue_token(ctx, role)
        self.h = {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}
        self.round_id = self.client.post(
            "/api/v1/rounds",
            headers=self.h["province"],
            json={
                "process_key": "innovative_evaluation",
                "label": "bench",
                "opens_on": "2025-09-01",
                "window_days": 30,
            },
        ).json["id"]
        self.ents = []
        for i in range(applicants):
            uscc = make_uscc(f"91360102MB{i:07d}")
            users.ensure_enterprise(ctx, uscc=uscc, name=f"企业{i}", region="360100")
            users.ensure_user(
                ctx,
                user_id=f"e{i}",
                display_name=f"e{i}",
                role="enterprise",
                region="360100",
                uscc=uscc,
            )
            self.ents.append({"Authorization": f"Bearer {users.issue_token(ctx, f'e{i}')}"})
        self.latencies: list[float] = []  # seconds per complete-task request

    def _complete(
        self, headers: dict[str, str], bpmn_id: str, data: dict[str, Any], instance_id: str
    ) -> None:
        client = self.client
        items = client.get("/api/v1/tasks", headers=headers, query_string={"per_page": 200}).json[
            "items"
        ]
        task = next(t for t in items if t["bpmn_id"] == bpmn_id and t["instance_id"] == instance_id)
        t0 = time.perf_counter()
        r = client.post(
            f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"data": data}
        )
        self.latencies.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.json

    def instance(self) -> None:
        client, headers = self.client, self.ents.pop()
        instance_id = client.post(
            "/api/v1/instances",
            headers=headers,
            json={"process_key": "innovative_evaluation", "round_id": self.round_id},
        ).json["id"]
        fid = client.post(
            "/api/v1/files",
            headers=headers,
            data={"file": (io.BytesIO(b"x" * 64), "a.pdf")},
            content_type="multipart/form-data",
        ).json["id"]
        self._complete(headers, "self_evaluation", self_eval(fid), instance_id)
        for role, bpmn_id, data in STEPS:
            if role == "timer":
                self.clock.advance(timedelta(days=10))
                instances.fire_timers(self.ctx, instance_id=instance_id)
                self.clock.advance(timedelta(days=-10))  # keep the round open for the next one
                continue
            self._complete(self.h[role], bpmn_id, data, instance_id)
        outcome = client.get(f"/api/v1/instances/{instance_id}", headers=self.h["province"])
        assert outcome.json["outcome"] == "qualified"

    def figures(self) -> dict[str, Any]:
        """Completion latency, stored state per finished case and history per case."""
        with self.ctx.transaction() as session:
            cases = session.scalar(
                select(func.count(Instance.id)).where(
                    Instance.process_key == "innovative_evaluation"
                )
            )
            state = session.scalar(
                select(func.avg(func.length(Instance.state_json))).where(
                    Instance.process_key == "innovative_evaluation"
                )
            )
            events = session.scalar(select(func.count(HistoryEvent.id)))
            ev_bytes = sum(len(str(e.data)) + 200 for e in session.scalars(select(HistoryEvent)))
        lat = sorted(self.latencies)
        return {
            "complete_mean_ms": statistics.mean(lat) * 1000,
            "complete_p95_ms": lat[int(0.95 * (len(lat) - 1))] * 1000,
            "state_bytes": state,
            "history_events_per_instance": events / cases,
            "history_bytes_per_event": ev_bytes / events,
        }


class RawLoop:
    """Same diagram and handlers, no database: per case create and run, then per user task
    deserialize, complete, engine steps (the 公示 timers fire on the simulated clock),
    serialize with SpiffWorkflow's own serializer."""

    def __init__(self, ctx: EngineContext, clock: SimulatedClock) -> None:
        self.ctx, self.clock = ctx, clock
        with ctx.transaction() as session:
            instance_id = session.scalars(
                select(Instance.id).where(Instance.process_key == "innovative_evaluation").limit(1)
            ).first()
            self.loaded = load_for_update(ctx, session, instance_id)
        # no database: the standing P1 reads before 公告 (eligibility.standing) is a clean one
        self.loaded.scope.facts = lambda uscc: {
            "ban_until": None,
            "ban_reason": None,
            "held_tiers": [],
            "held_qualifications": {},
        }
        self.steps = [
            ("self_evaluation", self_eval("f")),
            *[(b, d) for r, b, d in STEPS if r != "timer"],
        ]
        self.uscc = make_uscc("91360102MB0000000")

    def instance(self) -> None:
        ctx, clock, loaded = self.ctx, self.clock, self.loaded
        spec, subs = loaded.wf.spec, loaded.wf.subprocess_specs
        wf = BpmnWorkflow(spec, subs, script_engine=ctx.script_engine)
        wf.task_tree.data.update(
            {
                "uscc": self.uscc,
                "enterprise_name": "x",
                "region": "360100",
                "ban_until": None,
                "case_ref": "x",
                "round_opens_on": None,
                "application_deadline_at": "2025-10-01T00:00:00+08:00",
            }
        )
        loaded = Loaded(loaded.row, loaded.definition, wf, loaded.scope)
        advance(ctx, loaded)
        state = BASELINE_SERIALIZER.serialize_json(wf)
        for bpmn_id, data in self.steps:
            wf = BASELINE_SERIALIZER.deserialize_json(state)
            wf.script_engine = ctx.script_engine
            task = next(
                t for t in wf.get_tasks(state=16, manual=True) if t.task_spec.bpmn_id == bpmn_id
            )
            task.data.update(data)
            task.run()
            loaded = Loaded(loaded.row, loaded.definition, wf, loaded.scope)
            advance(ctx, loaded)
            if bpmn_id in ("city_review", "province_review"):  # the 公示 timer fires
                clock.advance(timedelta(days=10))
                advance(ctx, loaded)
                clock.advance(timedelta(days=-10))
            loaded.scope.decisions.clear()
            state = BASELINE_SERIALIZER.serialize_json(wf)
        assert wf.is_completed()


def interleaved(
    ctx: EngineContext, clock: SimulatedClock, n: int, rounds: int = 10
) -> dict[str, Any]:
    """`n` cases of tidu and `n` of the raw loop in alternating rounds
    (`bench.common.alternate`): both see the same drift of a shared machine. The raw loop
    takes its spec from a case of tidu: one untimed case of each goes first."""
    service = Service(ctx, clock, n + 1)
    service.instance()
    raw = RawLoop(ctx, clock)
    raw.instance()
    service.latencies.clear()
    ours_s, raw_s, ratios = alternate(service, raw, n, rounds)
    return service.figures() | {
        "instances_per_s": n / ours_s,
        "raw_instances_per_s": n / raw_s,
        "raw_completions_per_s": n * len(raw.steps) / raw_s,
        "ratio": raw_s / ours_s,
        "round_ratio_min": min(ratios),
        "round_ratio_max": max(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--db-url", default=None)
    args = parser.parse_args()
    url = args.db_url or f"sqlite:///{tempfile.mkdtemp(prefix='tidu-bench-')}/bench.db"
    ctx, clock = setup(url)
    result = interleaved(ctx, clock, args.instances)
    print(
        f"P1 happy path, {args.instances} instances, {ctx.db.dialect.name}, in-process test "
        "client, in alternating rounds with the raw loop"
    )
    print(f"  instances/s            {result['instances_per_s']:.1f}")
    print(
        f"  complete-task mean/p95 {result['complete_mean_ms']:.1f} ms / "
        f"{result['complete_p95_ms']:.1f} ms"
    )
    print(
        f"  stored state/instance  {result['state_bytes']:.0f} bytes "
        "(completed instance, spec by reference)"
    )
    print(
        f"  history                {result['history_events_per_instance']:.0f} events/instance, "
        f"~{result['history_bytes_per_event']:.0f} bytes/event"
    )
    print(
        f"  raw SpiffWorkflow loop {result['raw_completions_per_s']:.0f} completions/s = "
        f"{result['raw_instances_per_s']:.1f} instances/s"
    )
    print(
        f"  ratio to raw loop      {result['ratio']:.2f} "
        f"(rounds {result['round_ratio_min']:.2f}-{result['round_ratio_max']:.2f})"
    )


if __name__ == "__main__":
    main()
