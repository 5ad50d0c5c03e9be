"""Reads that grow with a national programme, at a scaled-down size (PostgreSQL by default).

    .venv/bin/python -m bench.national [--cases 20000] [--events 200000]
        [--qualifications 200000] [--pg-url URL]

Each read is a real request through the Flask app on bulk-inserted rows: a round's cases by
stage (`GET /rounds/{id}/cases`, the province's view of a round), the auditors' verification of
every history chain (`GET /audit/verify`), and the public lookup (`GET /public/qualifications`)
by part of a name, by certificate number and without a keyword. Each prints the median of five
requests after a first one, and how far the process's resident memory rose at most during them
(docs/scaling.md, "Reads that grow with the programme").
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text, update

from api import create_app
from bench.common import Sampler, context, deploy_sme_eval, rss_mb, scratch_db, token_for
from bench.export import fill as fill_qualifications
from bench.inbox import fill as fill_cases
from engine import history
from engine.store import Instance, Qualification, Round

EVENT_BATCH = 50_000


def fill_events(ctx: Any, n: int) -> None:
    """`n` history events, appended as commands append them, in one chain per case (each
    starting as a case's does), so that verification finds every case's history."""
    with ctx.reading() as session:
        cases = list(session.scalars(select(Instance.id).order_by(Instance.id)))
    per_case = max(1, n // max(1, len(cases)))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for start in range(0, len(cases) * per_case, EVENT_BATCH):
        with ctx.transaction() as session:
            for i in range(start, min(len(cases) * per_case, start + EVENT_BATCH)):
                first = i % per_case == 0
                history.append(
                    session,
                    stream=f"instance:{cases[i // per_case]}",
                    kind="instance.started" if first else "task.completed",
                    actor=f"city-{i % 13}",
                    at=at + timedelta(seconds=i),
                    data={"decision": "approve", "n": i},
                    new_stream=first,
                )


def issued_by_a_case(ctx: Any) -> None:
    """The bulk qualifications name a case that issued them (one for all: verification asks
    that each came from a case whose history exists, not which)."""
    with ctx.db.begin() as conn:
        case = conn.execute(select(Instance.id).order_by(Instance.id).limit(1)).scalar_one()
        conn.execute(update(Qualification).values(instance_id=case))


def timed(get: Callable[[], Any], times: int = 5) -> tuple[float, float, Any]:
    """(median seconds, memory rise in MB, last answer) of `times` requests after a first."""
    get()
    before, sampler, took = rss_mb(), Sampler(), []
    for _ in range(times):
        started = time.perf_counter()
        answer = get()
        took.append(time.perf_counter() - started)
    return statistics.median(took), sampler.stop() - before, answer


def measure(url: str, cases: int, events: int, qualifications: int) -> list[str]:
    ctx = context(url)
    deploy_sme_eval(ctx)
    fill_cases(ctx, cases)
    with ctx.db.begin() as conn:
        round_id = conn.execute(
            insert(Round)
            .values(
                process_key="sme_eval",
                label="基准批次",
                opens_on=date(2026, 1, 1),
                closes_at=datetime(2026, 12, 31, tzinfo=UTC),
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
            .returning(Round.id)
        ).scalar_one()
        conn.execute(update(Instance).values(round_id=round_id))
    fill_events(ctx, events)
    fill_qualifications(ctx, qualifications)
    issued_by_a_case(ctx)
    if ctx.is_postgres:
        with ctx.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    client = create_app(ctx=ctx).test_client(use_cookies=False)
    headers = {
        role: {"Authorization": f"Bearer {token_for(ctx, f'bench-{role}', role)}"}
        for role in ("province", "auditor")
    }
    dialect = ctx.db.dialect.name
    lines = []

    def line(label: str, path: str, role: str | None, what: Callable[[Any], str], **q: Any) -> None:
        def get() -> Any:
            answer = client.get(path, headers=headers.get(role or "", {}), query_string=q)
            assert answer.status_code == 200, answer.json
            return answer.json

        median, rise, answer = timed(get)
        lines.append(
            f"  {label:<44} median {median * 1e3:7.1f} ms, memory +{rise:.0f} MB ({what(answer)})"
        )

    lines.append(f"round of {cases} cases, {dialect}:")
    line(
        "round's cases by stage, first page",
        f"/api/v1/rounds/{round_id}/cases",
        "province",
        lambda a: f"{a['total']} cases",
    )
    lines.append(f"history of {events} events in one chain per case, {dialect}:")
    verified = lambda a: f"ok {a['ok']}, {len(a['problems'])} problems"  # noqa: E731
    line("verify every chain and cross-check", "/api/v1/audit/verify", "auditor", verified)
    lines.append(f"registry of {qualifications} qualifications, {dialect}:")
    public = "/api/v1/public/qualifications"
    found = lambda a: f"{a['total']} found"  # noqa: E731
    line("public lookup by part of a name", public, None, found, keyword="示例企业12345")
    line("public lookup by certificate number", public, None, found, keyword=_number(12345))
    line("public list without a keyword", public, None, found)
    return lines


def _number(i: int) -> str:
    return f"赣专精特新〔2025〕{i:07d}"  # as bench.export numbers them


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--qualifications", type=int, default=200_000)
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server URL (else SQLite)")
    args = parser.parse_args()
    with scratch_db(args.pg_url) as url:
        for text_line in measure(url, args.cases, args.events, args.qualifications):
            print(text_line)


if __name__ == "__main__":
    main()
