"""sme_eval over HTTP: gunicorn + PostgreSQL, 1 and 8 concurrent clients.

Each client runs whole instances (create, 3 x (inbox + complete), status) over keep-alive
connections; prints instances/s, complete-task p95 and errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import context, deploy_sme_eval, mean, pct, scratch_db, token_for
from handlers.uscc import make_uscc

ROOT = Path(__file__).resolve().parent.parent
BODIES = [
    ("enterprise", {"name": "acme"}),
    ("city", {"city_ok": True}),
    ("province", {"prov_ok": True}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, port: int, tokens: dict[str, str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.tokens = tokens

    def call(self, method: str, path: str, role: str, body: Any = None) -> tuple[int, Any]:
        headers = {
            "Authorization": f"Bearer {self.tokens[role]}",
            "Content-Type": "application/json",
        }
        self.conn.request(
            method, path, body=json.dumps(body) if body is not None else None, headers=headers
        )
        response = self.conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None


def worker(
    port: int, tokens: dict[str, str], n: int, completes: list[float], errors: list[str]
) -> None:
    client = Client(port, tokens)
    for _ in range(n):
        status, created = client.call(
            "POST", "/api/v1/instances", "enterprise", {"process_key": "sme_eval"}
        )
        if status != 201:
            errors.append(f"start {status}")
            continue
        instance_id = created["id"]
        for role, body in BODIES:
            _, page = client.call("GET", "/api/v1/tasks?per_page=50&process_key=sme_eval", role)
            task = next((t for t in page["items"] if t["instance_id"] == instance_id), None)
            if task is None:
                errors.append(f"no task for {role}")
                break
            t0 = time.perf_counter()
            status, _ = client.call(
                "POST", f"/api/v1/tasks/{task['id']}/complete", role, {"data": body}
            )
            completes.append(time.perf_counter() - t0)
            if status != 200:
                errors.append(f"complete {status}")
        client.call("GET", f"/api/v1/instances/{instance_id}", "province")


def run(url: str, clients: int, per_client: int, workers: int, threads: int) -> dict[str, Any]:
    ctx = context(url)
    deploy_sme_eval(ctx)
    tokens_per_client = []
    for c in range(clients):  # each client its own enterprise, city region and province user
        uscc = make_uscc(f"91360102MD{c:07d}")
        tokens_per_client.append(
            {
                "enterprise": token_for(ctx, f"e{c}", "enterprise", "360100", uscc),
                "city": token_for(ctx, "city", "city", "360100"),
                "province": token_for(ctx, "prov", "province"),
            }
        )
    port = free_port()
    env = dict(
        os.environ,
        TIDU_DATABASE_URL=url,
        TIDU_EMBEDDED_SCHEDULER="0",
        TIDU_LANE_ALIASES="process_initiator=enterprise,city_reviewers=city,province_reviewers=province",
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "api.wsgi:app",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        # warm-up (untimed): concurrent clients so that every worker process has parsed the
        # definition, filled its caches and opened its connections before the measurement
        warm = [
            threading.Thread(target=worker, args=(port, tokens_per_client[0], 2, [], []))
            for _ in range(max(2, workers * threads))
        ]
        for t in warm:
            t.start()
        for t in warm:
            t.join()
        completes: list[float] = []
        errors: list[str] = []
        started = time.perf_counter()
        pool = [
            threading.Thread(
                target=worker, args=(port, tokens_per_client[c], per_client, completes, errors)
            )
            for c in range(clients)
        ]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {
        "scenario": f"sme_eval HTTP gunicorn {workers}w x {threads}t, {clients} clients, "
        f"{ctx.db.dialect.name}",
        "instances_per_s": clients * per_client / elapsed,
        "complete_mean_ms": mean(completes) * 1e3,
        "complete_p95_ms": pct(completes, 0.95) * 1e3,
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--instances", type=int, default=200, help="instances per scenario")
    # one worker per core: PostgreSQL and the clients share these cores (2 workers did ~60
    # instances/s with 8 clients on a 2-core machine, 3 workers ~56: docs/scaling.md)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=1)  # CPU-bound: threads share one GIL
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for clients in (1, 8):
        with scratch_db(args.pg_url) as url:
            r = run(url, clients, max(1, args.instances // clients), args.workers, args.threads)
        print(
            json.dumps(r)
            if args.json
            else f"{r['scenario']}: {r['instances_per_s']:.1f} instances/s, complete mean/p95 "
            f"{r['complete_mean_ms']:.1f}/{r['complete_p95_ms']:.1f} ms, errors {r['errors']}"
        )


if __name__ == "__main__":
    main()
