"""Where an sme_eval instance's time goes, layer by layer, beside the raw loop and a bare Flask app.

    .venv/bin/python -m bench.breakdown [--instances 500] [--pg-url URL]

The in-process workload (bench.sme_eval) runs after a warm-up, twice, each time on a fresh
database: once as it is, taking turns with the raw loop in rounds (`sme_eval.interleaved`), for
the time per instance and the ratio, and once with a timer around each layer's entry points
(`_layers`), for each layer's share. A timer counts only its own time: what a nested layer
spends counts there, so the layers add up to the instrumented run. In the same process it also
measures a bare Flask app answering an instance's eight requests (same methods, bodies and
headers) through the same test client: the floor under any Flask service's requests. The gap
to a third of the raw loop is read against these lines (docs/scaling.md, "What bounds
throughput today").

A profiler would count the same layers, but its own cost per call (several times that of a
small Python function) inflates the layers made of many small calls; these timers sit only on
the layers' entry points, and the timed run is within a few per cent of the plain one.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench import sme_eval
from bench.common import scratch_db

ENGINE = "SpiffWorkflow: engine steps, task run, new case, serialize"
DATABASE = "database: statements, flush, commit"
HISTORY = "history chain: events, hashes"
CHECK = "warm-case check (engine/case_cache.py)"
READS = "reads: inbox and case status (Python)"
COMMAND = "commands: lock, forms, projections, ORM session"
API = "API views: auth, arguments, JSON bodies"
CLIENT = "test client, Werkzeug and Flask"
_ABSENT = object()


def _layers() -> list[tuple[Any, str, str]]:
    """(owner, attribute, layer): each entry point of a layer, as the code looks it up (module
    globals and class attributes are looked up at each call, so replacing them times every
    call)."""
    from flask import Flask
    from flask.testing import FlaskClient
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.task import Task
    from sqlalchemy.engine import Connection
    from sqlalchemy.engine.default import DefaultDialect
    from sqlalchemy.orm import Session

    from engine import case_cache, history, instances, queries, runtime, task_views, writes

    return [
        (FlaskClient, "open", CLIENT),
        (Flask, "dispatch_request", API),
        (instances, "start_instance", COMMAND),
        (instances, "complete_task", COMMAND),
        (task_views, "inbox", READS),
        (queries, "instance", READS),
        (instances, "advance", ENGINE),
        (Task, "run", ENGINE),
        (BpmnWorkflow, "__init__", ENGINE),
        (runtime.SERIALIZER, "serialize_json", ENGINE),
        (runtime.SERIALIZER, "deserialize_json", ENGINE),
        (history, "append", HISTORY),
        (history, "write_pending", HISTORY),
        (case_cache, "restores_as_it_is", CHECK),
        (case_cache, "order_as_loaded", CHECK),
        (writes, "on_driver", DATABASE),
        (Connection, "_execute_context", DATABASE),
        (DefaultDialect, "do_commit", DATABASE),
        (Session, "flush", DATABASE),
    ]


class Timers:
    """Exclusive time per layer: a timed call's time less that of the timed calls inside it."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.spent: dict[str, float] = {}
        self._inner: list[float] = []  # per open call: time of the timed calls inside it

    def wrap(self, fn: Callable[..., Any], layer: str) -> Callable[..., Any]:
        spent, inner, clock = self.spent, self._inner, self.clock

        def timed(*args: Any, **kwargs: Any) -> Any:
            inner.append(0.0)
            started = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                took = clock() - started
                nested = inner.pop()
                spent[layer] = spent.get(layer, 0.0) + took - nested
                if inner:
                    inner[-1] += took

        return timed

    @contextmanager
    def installed(self, layers: list[tuple[Any, str, str]]) -> Iterator[None]:
        """Replace each entry point by its timed self; put back what was there afterwards (an
        instance's method is taken off the instance again)."""
        saved = []
        try:
            for owner, name, layer in layers:
                saved.append((owner, name, vars(owner).get(name, _ABSENT)))
                setattr(owner, name, self.wrap(getattr(owner, name), layer))
            yield
        finally:
            for owner, name, original in reversed(saved):
                if original is _ABSENT:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)


def flask_floor(n: int) -> float:
    """Seconds per instance of a bare Flask app answering an instance's eight requests (start,
    3 x (inbox + complete), status) with JSON through the same test client."""
    from flask import Flask, request

    app = Flask("floor")
    page = {"items": [{"id": "t", "instance_id": "i", "name": "任务"}], "total": 1}
    app.add_url_rule(
        "/i", "start", lambda: ({"id": "i", "status": "running"}, 201), methods=["POST"]
    )
    app.add_url_rule("/t", "inbox", lambda: page | {"per_page": request.args["per_page"]})
    app.add_url_rule(
        "/t/<tid>/complete", "complete", lambda tid: {"id": tid, **request.json}, methods=["POST"]
    )
    app.add_url_rule("/i/<iid>", "status", lambda iid: {"id": iid, "status": "completed"})
    client = app.test_client(use_cookies=False)
    headers = {"Authorization": "Bearer " + "x" * 43}
    started = time.perf_counter()
    for _ in range(n):
        # each body is read back, as the workload reads each answer
        bodies = [client.post("/i", headers=headers, json={"process_key": "sme_eval"}).json]
        for _, body in sme_eval.BODIES:
            bodies.append(client.get("/t", headers=headers, query_string={"per_page": 5}).json)
            bodies.append(client.post("/t/t/complete", headers=headers, json={"data": body}).json)
        bodies.append(client.get("/i/i", headers=headers).json)
    return (time.perf_counter() - started) / n


def measure(n: int, pg_url: str | None = None) -> dict[str, Any]:
    """Per-instance seconds: plain run, instrumented run and its layers, raw loop, Flask floor."""
    warmup = max(1, n // 10)  # untimed, as in bench.sme_eval
    with scratch_db(pg_url) as url:
        # the plain run and the raw loop take turns, as in bench.sme_eval: the same drift of
        # the machine's speed meets both, so this ratio and sme_eval's agree
        plain = sme_eval.interleaved(url, n, warmup)
    timers = Timers()
    with scratch_db(pg_url) as url, timers.installed(_layers()):
        timed = sme_eval.run_in_process(url, n, warmup, on_start=timers.spent.clear)
    total = n / timed["instances_per_s"]
    layers = {layer: s / n for layer, s in timers.spent.items()}
    layers["benchmark loop: reading the responses"] = max(
        0.0, (total - sum(timers.spent.values())) / n
    )
    return {
        "dialect": plain["dialect"],
        "instance_s": 1 / plain["instances_per_s"],
        "instrumented_s": total / n,
        "raw_s": 1 / plain["raw_instances_per_s"],
        "floor_s": flask_floor(n),
        "layers": layers,
    }


def report(found: dict[str, Any], n: int) -> list[str]:
    ms = 1e3
    instance, raw, floor = found["instance_s"], found["raw_s"], found["floor_s"]
    lines = [
        f"sme_eval in-process {found['dialect']}, {n} instances: {instance * ms:.2f} ms per "
        f"instance; raw loop {raw * ms:.2f} ms (ratio {raw / instance:.3f}); a ratio of 1/3 "
        f"allows {3 * raw * ms:.2f} ms",
        f"bare Flask app, the same 8 requests through the same test client: {floor * ms:.2f} ms "
        f"per instance ({floor / (3 * raw):.0%} of what 1/3 allows)",
        f"layers, timed run ({found['instrumented_s'] * ms:.2f} ms per instance):",
    ]
    total = found["instrumented_s"]
    for layer, spent in sorted(found["layers"].items(), key=lambda kv: -kv[1]):
        note = f"   (raw loop: {raw * ms:.2f} ms)" if layer == ENGINE else ""
        lines.append(f"  {layer:<56} {spent * ms:6.2f} ms {spent / total:6.1%}{note}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--pg-url", default=None, help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    for line in report(measure(args.instances, args.pg_url), args.instances):
        print(line)


if __name__ == "__main__":
    main()
