"""The reference workload (bench/sme_eval.bpmn) in-process, and the raw SpiffWorkflow loop baseline.

One instance = create + run + 3 x (list my tasks + complete) + status check, as in
../shared/bench/README.md. The baseline is measured in the same process and run: load the
serialized workflow (spec stored once, referenced), complete the task, run engine steps,
serialize — no database, no HTTP — with SpiffWorkflow's own BpmnWorkflow and serializer
(BASELINE_SERIALIZER); tidu saves cases with a faster task converter writing the same JSON
(engine/state_codec.py) and runs them as TiduWorkflow, whose per-step walks are faster
(engine/walks.py).

The two alternate in rounds (`--rounds`, default 10; `interleaved`): on a shared machine the
speed of the whole machine drifts within a minute, and two figures timed one after the other
would compare two different machines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from api import create_app, settle_heap
from bench.common import (
    alternate,
    context,
    deploy_sme_eval,
    mean,
    pct,
    scratch_db,
    timed_instances,
    token_for,
)
from engine.runtime import BASELINE_SERIALIZER, cached_spec
from engine.store import Definition, Instance
from handlers.uscc import make_uscc

LANES = ["enterprise", "city", "province"]
BODIES = [
    ("submit", {"name": "acme"}),
    ("city_review", {"city_ok": True}),
    ("province_review", {"prov_ok": True}),
]


class Service:
    """tidu on the workload: a deployed sme_eval, three staff tokens and a Flask test client."""

    def __init__(self, url: str) -> None:
        self.ctx = context(url)
        deploy_sme_eval(self.ctx)
        uscc = make_uscc("91360102MC0000001")
        self.headers = {
            role: {"Authorization": f"Bearer {token_for(self.ctx, role, role, region, u)}"}
            for role, region, u in (
                ("enterprise", "360100", uscc),
                ("city", "360100", None),
                ("province", None, None),
            )
        }
        # API clients send bearer tokens, not cookies: without a cookie jar the test client
        # does not parse the request URL twice per request to match cookies (~0.1 M
        # instructions a request)
        self.client = create_app(ctx=self.ctx).test_client(use_cookies=False)
        settle_heap()  # as `tidu serve` and the gunicorn workers do once started
        self.completes: list[float] = []  # seconds per complete-task request, timed ones only

    def instance(self, timed: bool = True) -> None:
        client, headers = self.client, self.headers
        r = client.post(
            "/api/v1/instances", headers=headers["enterprise"], json={"process_key": "sme_eval"}
        )
        instance_id = r.json["id"]
        for role, (_bpmn_id, body) in zip(LANES, BODIES, strict=True):
            items = client.get(
                "/api/v1/tasks", headers=headers[role], query_string={"per_page": 5}
            ).json["items"]
            task = next(t for t in items if t["instance_id"] == instance_id)
            t0 = time.perf_counter()
            done = client.post(
                f"/api/v1/tasks/{task['id']}/complete", headers=headers[role], json={"data": body}
            )
            if timed:
                self.completes.append(time.perf_counter() - t0)
            assert done.status_code == 200, done.json
        status = client.get(f"/api/v1/instances/{instance_id}", headers=headers["province"]).json[
            "status"
        ]
        assert status == "completed"

    def figures(self, n: int, elapsed: float) -> dict[str, Any]:
        """Throughput of `n` timed instances that took `elapsed` seconds, the completions'
        latency, and the stored state per case."""
        with self.ctx.reading() as session:
            state = session.scalar(select(func.avg(func.length(Instance.state_json))))
        return {
            "state_bytes": float(state or 0),
            "instances_per_s": n / elapsed,
            "complete_mean_ms": mean(self.completes) * 1e3,
            "complete_p95_ms": pct(self.completes, 0.95) * 1e3,
            "dialect": self.ctx.db.dialect.name,
        }


class RawLoop:
    """The baseline: per instance create + run + 3 x (deserialize, complete, engine steps,
    serialize), with the spec stored once and referenced."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        with ctx.transaction() as session:
            definition = session.query(Definition).filter_by(process_key="sme_eval").one()
            self.spec, self.subs = cached_spec(
                f"{definition.id}:{definition.checksum[:16]}", lambda: definition.spec_json
            )

    def instance(self, timed: bool = True) -> None:
        wf = BpmnWorkflow(self.spec, self.subs, script_engine=self.ctx.script_engine)
        wf.do_engine_steps()
        state = BASELINE_SERIALIZER.serialize_json(wf)
        for bpmn_id, body in BODIES:
            wf = BASELINE_SERIALIZER.deserialize_json(state)
            wf.script_engine = self.ctx.script_engine
            task = next(
                t
                for t in wf.get_tasks(state=TaskState.READY, manual=True)
                if t.task_spec.bpmn_id == bpmn_id
            )
            task.data.update(body)
            task.run()
            wf.do_engine_steps()
            state = BASELINE_SERIALIZER.serialize_json(wf)
        assert wf.is_completed()


def run_in_process(
    url: str, n: int, warmup: int = 0, on_start: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """`n` timed instances through the Flask test client, after `warmup` untimed ones (the
    first instance of a process parses the spec and builds its statements); `on_start` is
    called when the timed ones begin."""
    service = Service(url)
    for _ in range(warmup):
        service.instance(timed=False)
    if on_start is not None:
        on_start()
    return service.figures(n, timed_instances(service, n)) | {"ctx": service.ctx}


def raw_loop(ctx: Any, n: int, warmup: int = 0) -> dict[str, float]:
    """`n` timed instances of the raw loop after `warmup` untimed ones."""
    raw = RawLoop(ctx)
    for _ in range(warmup):
        raw.instance(timed=False)
    elapsed = timed_instances(raw, n)
    return {"instances_per_s": n / elapsed, "completions_per_s": n * len(BODIES) / elapsed}


def interleaved(url: str, n: int, warmup: int = 0, rounds: int = 10) -> dict[str, Any]:
    """tidu and the raw loop in alternating rounds of n/rounds instances each
    (`bench.common.alternate`), after `warmup` untimed instances of both."""
    service = Service(url)
    raw = RawLoop(service.ctx)
    for _ in range(warmup):
        service.instance(timed=False)
        raw.instance(timed=False)
    ours_s, raw_s, ratios = alternate(service, raw, n, rounds)
    return service.figures(n, ours_s) | {
        "raw_instances_per_s": n / raw_s,
        "raw_completions_per_s": n * len(BODIES) / raw_s,
        "ratio": raw_s / ours_s,
        "rounds": len(ratios),
        "round_ratio_median": statistics.median(ratios),
        "round_ratio_min": min(ratios),
        "round_ratio_max": max(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument(
        "--pg-url", default=None, help="PostgreSQL server URL (a scratch database is created)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=10,
        help="tidu and the raw loop alternate in this many rounds (1: one after the other)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for label, pg in (("sqlite", None), ("postgresql", args.pg_url)):
        if label == "postgresql" and not pg:
            continue
        with scratch_db(pg) as url:
            warmup = max(1, args.instances // 10)  # untimed, as bench.http warms its workers
            found = interleaved(url, args.instances, warmup, args.rounds)
            results.append({"scenario": f"sme_eval in-process {label}", **found})
    for r in results:
        if args.json:
            print(json.dumps(r))
            continue
        print(
            f"{r['scenario']}: {r['instances_per_s']:.1f} instances/s, complete mean/p95 "
            f"{r['complete_mean_ms']:.1f}/{r['complete_p95_ms']:.1f} ms; raw loop "
            f"{r['raw_instances_per_s']:.0f} instances/s "
            f"({r['raw_completions_per_s']:.0f} completions/s); "
            f"ratio {r['ratio']:.3f} (in {r['rounds']} alternating rounds: median "
            f"{r['round_ratio_median']:.3f}, {r['round_ratio_min']:.3f}-"
            f"{r['round_ratio_max']:.3f}); state {r['state_bytes']:.0f} bytes/instance"
        )


if __name__ == "__main__":
    main()
