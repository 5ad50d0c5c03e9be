"""Inbox query p95 with 100,000 open tasks spread over 13 regions (PostgreSQL by default).

Open tasks are bulk-inserted as projection rows (what the inbox reads); each measured request is
a real GET /api/v1/tasks through the Flask app, for a city user, the province and an enterprise.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from api import create_app
from bench.common import context, deploy_sme_eval, pct, scratch_db, token_for
from engine.settings import REGIONS
from engine.store import HumanTask, Instance

REGION_CODES = [*REGIONS, "361200"]


def fill(ctx, n: int, seed: int = 7) -> str:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with ctx.transaction() as session:
        definition_id = session.execute(
            __import__("sqlalchemy").text("SELECT id FROM definition LIMIT 1")
        ).scalar_one()
    batch_i, batch_t = [], []
    uscc_sample = None
    for i in range(n):
        iid = str(uuid.uuid4())
        region = rng.choice(REGION_CODES)
        uscc = f"9136{region[2:4]}02MZ{i:07d}"[:18].ljust(18, "0")
        uscc_sample = uscc_sample or uscc
        role = rng.choices(["city", "enterprise", "province"], [7, 2, 1])[0]
        due = now + timedelta(days=rng.randint(-5, 60)) if rng.random() < 0.8 else None
        batch_i.append(
            {
                "id": iid,
                "definition_id": definition_id,
                "definition_version": 1,
                "process_key": "sme_eval",
                "business_key": f"{uscc}:{iid}",
                "uscc": uscc,
                "region": region,
                "round_id": None,
                "status": "running",
                "outcome": None,
                "stage": "city_review",  # as a save keeps it (engine/stages.py)
                "stage_name": "市级初审",
                "stage_due_at": due,
                "state_json": "{}",
                "version": 1,
                "started_at": now,
                "updated_at": now,
                "completed_at": None,
                "started_by": "bench",
            }
        )
        batch_t.append(
            {
                "id": str(uuid.uuid4()),
                "instance_id": iid,
                "process_key": "sme_eval",
                "bpmn_id": "city_review",
                "name": "市级初审",
                "role": role,
                "region": region,
                "uscc": uscc,
                "state": "open",
                "form": None,
                "data": {},
                "assignee": None,
                "due_at": due,
                "created_at": now - timedelta(minutes=i),
                "completed_at": None,
                "completed_by": None,
            }
        )
        if len(batch_i) == 5000 or i == n - 1:
            with ctx.transaction() as session:
                session.execute(insert(Instance), batch_i)
                session.execute(insert(HumanTask), batch_t)
            batch_i, batch_t = [], []
    with ctx.db.connect() as conn:
        if ctx.is_postgres:
            conn.exec_driver_sql("ANALYZE human_task")
        conn.commit()
    return uscc_sample or ""


def measure(client, token: str, requests: int, params: list[dict]) -> list[float]:  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    for i in range(requests):
        t0 = time.perf_counter()
        r = client.get("/api/v1/tasks", headers=headers, query_string=params[i % len(params)])
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with scratch_db(None if args.sqlite else args.pg_url) as url:
        ctx = context(url)
        deploy_sme_eval(ctx)
        t0 = time.perf_counter()
        uscc = fill(ctx, args.tasks)
        load_s = time.perf_counter() - t0
        client = create_app(ctx=ctx).test_client()
        tokens = {
            "city": token_for(ctx, "city", "city", "360700"),
            "province": token_for(ctx, "p", "province"),
            "enterprise": token_for(ctx, "e", "enterprise", uscc[2:4] and "360100", uscc),
        }
        params = [{}, {"per_page": 50}, {"due_before": "2026-11-10T00:00:00+08:00"}, {"page": 3}]
        results = {}
        for who, token in tokens.items():
            measure(client, token, 20, params)  # warm-up
            times = measure(client, token, args.requests, params)
            results[who] = {"p50_ms": pct(times, 0.5) * 1e3, "p95_ms": pct(times, 0.95) * 1e3}
        out = {
            "scenario": f"inbox, {args.tasks} open tasks over 13 regions, {ctx.db.dialect.name}",
            "load_s": load_s,
            **{f"{k}_{m}": v for k, r in results.items() for m, v in r.items()},
        }
        if args.json:
            print(json.dumps(out))
        else:
            print(out["scenario"] + f" (loaded in {load_s:.0f} s)")
            for who, r in results.items():
                print(f"  {who:10} p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms")


if __name__ == "__main__":
    main()
