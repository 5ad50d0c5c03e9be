"""The reference workload (bench/sme_eval.bpmn) in-process, and the raw SpiffWorkflow loop baseline.

One instance = create + run + 3 x (list my tasks + complete) + status check, as in
../shared/bench/README.md. The baseline is measured in the same process and run: load the
serialized workflow (spec stored once, referenced), complete the task, run engine steps,
serialize — no database, no HTTP — with SpiffWorkflow's own BpmnWorkflow and serializer
(BASELINE_SERIALIZER); tidu saves cases with a faster task converter writing the same JSON
(engine/state_codec.py) and runs them as TiduWorkflow, whose per-step walks are faster
(engine/walks.py).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from api import create_app, settle_heap
from bench.common import context, deploy_sme_eval, mean, pct, scratch_db, token_for
from engine.runtime import BASELINE_SERIALIZER, cached_spec
from engine.store import Definition, Instance
from handlers.uscc import make_uscc

BODIES = [
    ("submit", {"name": "acme"}),
    ("city_review", {"city_ok": True}),
    ("province_review", {"prov_ok": True}),
]


def run_in_process(
    url: str, n: int, warmup: int = 0, on_start: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """`n` timed instances through the Flask test client, after `warmup` untimed ones (the
    first instance of a process parses the spec and builds its statements); `on_start` is
    called when the timed ones begin."""
    ctx = context(url)
    deploy_sme_eval(ctx)
    uscc = make_uscc("91360102MC0000001")
    headers = {
        role: {"Authorization": f"Bearer {token_for(ctx, role, role, region, u)}"}
        for role, region, u in (
            ("enterprise", "360100", uscc),
            ("city", "360100", None),
            ("province", None, None),
        )
    }
    # API clients send bearer tokens, not cookies: without a cookie jar the test client does not
    # parse the request URL twice per request to match cookies (~0.1 M instructions a request)
    client = create_app(ctx=ctx).test_client(use_cookies=False)
    settle_heap()  # as `tidu serve` and the gunicorn workers do once started
    lanes = ["enterprise", "city", "province"]

    def instance(completes: list[float]) -> None:
        r = client.post(
            "/api/v1/instances", headers=headers["enterprise"], json={"process_key": "sme_eval"}
        )
        instance_id = r.json["id"]
        for role, (_bpmn_id, body) in zip(lanes, BODIES, strict=True):
            items = client.get(
                "/api/v1/tasks", headers=headers[role], query_string={"per_page": 5}
            ).json["items"]
            task = next(t for t in items if t["instance_id"] == instance_id)
            t0 = time.perf_counter()
            done = client.post(
                f"/api/v1/tasks/{task['id']}/complete", headers=headers[role], json={"data": body}
            )
            completes.append(time.perf_counter() - t0)
            assert done.status_code == 200, done.json
        status = client.get(f"/api/v1/instances/{instance_id}", headers=headers["province"]).json[
            "status"
        ]
        assert status == "completed"

    for _ in range(warmup):
        instance([])
    if on_start is not None:
        on_start()
    completes: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        instance(completes)
    elapsed = time.perf_counter() - started
    with ctx.reading() as session:
        state = session.scalar(select(func.avg(func.length(Instance.state_json))))
    return {
        "state_bytes": float(state or 0),
        "instances_per_s": n / elapsed,
        "complete_mean_ms": mean(completes) * 1e3,
        "complete_p95_ms": pct(completes, 0.95) * 1e3,
        "dialect": ctx.db.dialect.name,
        "ctx": ctx,
    }


def raw_loop(ctx: Any, n: int, warmup: int = 0) -> dict[str, float]:
    """Per instance: create + run + 3 x (deserialize, complete, engine steps, serialize);
    `n` timed instances after `warmup` untimed ones."""
    with ctx.transaction() as session:
        definition = session.query(Definition).filter_by(process_key="sme_eval").one()
        spec, subs = cached_spec(
            f"{definition.id}:{definition.checksum[:16]}", lambda: definition.spec_json
        )

    def instance() -> None:
        wf = BpmnWorkflow(spec, subs, script_engine=ctx.script_engine)
        wf.do_engine_steps()
        state = BASELINE_SERIALIZER.serialize_json(wf)
        for bpmn_id, body in BODIES:
            wf = BASELINE_SERIALIZER.deserialize_json(state)
            wf.script_engine = ctx.script_engine
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

    for _ in range(warmup):
        instance()
    started = time.perf_counter()
    for _ in range(n):
        instance()
    elapsed = time.perf_counter() - started
    return {"instances_per_s": n / elapsed, "completions_per_s": n * len(BODIES) / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument(
        "--pg-url", default=None, help="PostgreSQL server URL (a scratch database is created)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = []
    for label, pg in (("sqlite", None), ("postgresql", args.pg_url)):
        if label == "postgresql" and not pg:
            continue
        with scratch_db(pg) as url:
            warmup = max(1, args.instances // 10)  # untimed, as bench.http warms its workers
            found = run_in_process(url, args.instances, warmup)
            raw = raw_loop(found.pop("ctx"), args.instances, warmup)
            found |= {
                "scenario": f"sme_eval in-process {label}",
                "raw_instances_per_s": raw["instances_per_s"],
                "raw_completions_per_s": raw["completions_per_s"],
                "ratio": found["instances_per_s"] / raw["instances_per_s"],
            }
            found["ctx"] = None
            results.append(found)
    for r in results:
        r.pop("ctx", None)
        if args.json:
            print(json.dumps(r))
            continue
        print(
            f"{r['scenario']}: {r['instances_per_s']:.1f} instances/s, complete mean/p95 "
            f"{r['complete_mean_ms']:.1f}/{r['complete_p95_ms']:.1f} ms; raw loop "
            f"{r['raw_instances_per_s']:.0f} instances/s "
            f"({r['raw_completions_per_s']:.0f} completions/s); "
            f"ratio {r['ratio']:.3f}; state {r['state_bytes']:.0f} bytes/instance"
        )


if __name__ == "__main__":
    main()
