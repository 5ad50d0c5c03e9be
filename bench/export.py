"""The qualification registry's CSV export at national size (PostgreSQL by default).

    .venv/bin/python -m bench.export [--qualifications 500000] [--pg-url URL]

A national programme holds hundreds of thousands of qualifications, and the province (or MIIT)
downloads the whole registry (`GET /api/v1/qualifications/export`). The rows are bulk-inserted,
then the province's download runs through the Flask app and is read to its end as a client
would: time to the first piece, the whole download, rows per second, and how far the process's
resident memory rose while it ran (the export is streamed, so this stays near the size of
one read batch, not of the registry).
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from api import create_app
from bench.common import Sampler, context, rss_mb, scratch_db, token_for
from bench.inbox import REGION_CODES
from engine.store import Qualification, new_id

BATCH = 10_000


def fill(ctx, n: int) -> None:  # type: ignore[no-untyped-def]
    created = datetime(2025, 9, 30, tzinfo=UTC)
    # issued over the last 1,000 days, valid for three years: every one is valid today
    issued = [ctx.today() - timedelta(days=d) for d in range(1000)]
    with ctx.db.begin() as conn:
        for start in range(0, n, BATCH):
            conn.execute(
                insert(Qualification),
                [
                    {
                        "id": new_id(),
                        "number": f"赣专精特新〔2025〕{i:07d}",
                        "tier": ("innovative", "specialized", "little_giant")[i % 3],
                        "uscc": f"9136{i:014d}",
                        "enterprise_name": f"江西示例企业{i}有限公司",
                        "region": REGION_CODES[i % len(REGION_CODES)],
                        "issued_on": issued[i % 1000],
                        "expires_on": issued[i % 1000] + timedelta(days=3 * 365),
                        "status": "active",
                        "created_at": created,
                        "renewal_eligible": True,
                        "source": "evaluation",
                    }
                    for i in range(start, min(n, start + BATCH))
                ],
            )


def measure(url: str, n: int) -> dict[str, float]:
    ctx = context(url)
    started = time.perf_counter()
    fill(ctx, n)
    loaded_s = time.perf_counter() - started
    token = token_for(ctx, "bench-province", "province")
    client = create_app(ctx=ctx).test_client(use_cookies=False)
    before = rss_mb()
    sampler = Sampler()
    started = time.perf_counter()
    response = client.get(
        "/api/v1/qualifications/export",
        headers={"Authorization": f"Bearer {token}"},
        buffered=False,
    )
    assert response.status_code == 200, response.data
    pieces = iter(response.response)
    first = next(pieces)
    first_s = time.perf_counter() - started
    size, lines = len(first), first.count(b"\n")
    for piece in pieces:
        size += len(piece)
        lines += piece.count(b"\n")
    response.close()
    took = time.perf_counter() - started
    peak = sampler.stop()
    rows = lines - 1  # the header
    assert rows == n, f"{rows} rows exported of {n}"
    assert next(csv.reader(io.StringIO(first.decode("utf-8-sig"))))[0] == "证书编号"
    return {
        "rows": rows,
        "loaded_s": loaded_s,
        "first_s": first_s,
        "total_s": took,
        "mb": size / 1e6,
        "rows_per_s": rows / took,
        "rss_rise_mb": peak - before,
        "dialect": ctx.db.dialect.name,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qualifications", type=int, default=500_000)
    parser.add_argument("--pg-url", default=None, help="PostgreSQL server URL (else SQLite)")
    args = parser.parse_args()
    with scratch_db(args.pg_url) as url:
        m = measure(url, args.qualifications)
    print(
        f"registry export, {m['rows']} qualifications, {m['dialect']} (loaded in "
        f"{m['loaded_s']:.0f} s): first piece after {m['first_s'] * 1e3:.0f} ms, "
        f"{m['mb']:.1f} MB in {m['total_s']:.1f} s ({m['rows_per_s']:,.0f} rows/s); "
        f"resident memory rose at most {m['rss_rise_mb']:.1f} MB"
    )


if __name__ == "__main__":
    main()
