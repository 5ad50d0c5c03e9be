"""The history partitioned by month against one table, at a scaled-down size (PostgreSQL).

    .venv/bin/python -m bench.partitions [--events 1000000] [--months 24] [--pg-url URL]

docs/scaling.md ("History partitioning and retention") plans `history_event` as declarative
range partitions by month on `at`, with retention by detaching the oldest months. This measures
that plan in a scratch database: two tables with history_event's columns and indexes, one
plain and one partitioned by month (its keys then include `at`), each loaded with the same
`events` events spread over `months` months in chains of ten. For each it prints:

- the bulk load, in events a second;
- the auditors' searches (`GET /audit/events`): one day's events with their count, and one
  actor's latest 50 (median of five after a first);
- the verification scan: every event in (stream, seq) order, as `history.verify` reads them;
- retention of the oldest month: DELETE and VACUUM on the plain table, DETACH PARTITION and
  DROP TABLE on the partitioned one, with the space each gives back.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import scratch_db

START = datetime(2024, 1, 1, tzinfo=UTC)
COLUMNS = """
    id bigserial,
    stream varchar(150) NOT NULL,
    seq integer NOT NULL,
    at timestamptz NOT NULL,
    kind varchar(50) NOT NULL,
    actor varchar(100) NOT NULL,
    instance_id varchar(36),
    definition_id integer,
    task_id varchar(36),
    bpmn_id varchar(100),
    data json NOT NULL,
    prev_hash varchar(64) NOT NULL,
    hash varchar(64) NOT NULL
"""


def month(i: int) -> datetime:
    return datetime(
        START.year + (START.month - 1 + i) // 12, (START.month - 1 + i) % 12 + 1, 1, tzinfo=UTC
    )


def create(conn: Any, months: int) -> None:
    conn.execute(text(f"CREATE TABLE he_plain ({COLUMNS}, PRIMARY KEY (id), UNIQUE (stream, seq))"))
    conn.execute(
        text(
            f"CREATE TABLE he_part ({COLUMNS}, PRIMARY KEY (id, at), UNIQUE (stream, seq, at))"
            " PARTITION BY RANGE (at)"
        )
    )
    for i in range(months):
        conn.execute(
            text(
                f"CREATE TABLE he_part_{i:03d} PARTITION OF he_part"
                f" FOR VALUES FROM ('{month(i).isoformat()}') TO ('{month(i + 1).isoformat()}')"
            )
        )
    for table in ("he_plain", "he_part"):
        for column in ("at", "actor", "instance_id"):
            conn.execute(text(f"CREATE INDEX ix_{table}_{column} ON {table} ({column})"))


def load(conn: Any, table: str, events: int, months: int) -> float:
    """Seconds to insert `events` events in chains of ten, evenly over `months` months."""
    span = (month(months) - START).total_seconds() * 0.999
    started = time.perf_counter()
    conn.execute(
        text(
            f"INSERT INTO {table} (stream, seq, at, kind, actor, instance_id, data, prev_hash,"
            " hash) SELECT 'instance:' || (g / 10), g % 10,"
            " :start + make_interval(secs => g * :step), 'task.completed', 'city-' || (g % 13),"
            " md5((g / 10)::text)::uuid::text, json_build_object('n', g),"
            " md5(g::text) || md5((g + 1)::text), md5((g + 1)::text) || md5(g::text)"
            " FROM generate_series(0, :n - 1) AS g"
        ),
        {"start": START, "step": span / events, "n": events},
    )
    return time.perf_counter() - started


def median_ms(conn: Any, sql: str, params: dict[str, Any], times: int = 5) -> float:
    conn.execute(text(sql), params).all()
    took = []
    for _ in range(times):
        started = time.perf_counter()
        conn.execute(text(sql), params).all()
        took.append(time.perf_counter() - started)
    return statistics.median(took) * 1e3


def scan_s(engine: Any, table: str) -> tuple[float, int]:
    """Seconds to stream every event in (stream, seq) order through a server-side cursor."""
    started, rows = time.perf_counter(), 0
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=2000).execute(
            text(f"SELECT stream, seq, prev_hash, hash FROM {table} ORDER BY stream, seq")
        )
        for _ in result:
            rows += 1
    return time.perf_counter() - started, rows


def size_mb(conn: Any, table: str, partitions: bool) -> float:
    sql = (
        "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits"
        " WHERE inhparent = CAST(:t AS regclass)"
        if partitions
        else "SELECT pg_total_relation_size(CAST(:t AS regclass))"
    )
    return float(conn.execute(text(sql), {"t": table}).scalar() or 0) / 2**20


def retention(engine: Any, table: str, months: int) -> tuple[float, float]:
    """Seconds to let go of the oldest month, and MB given back to the disk."""
    partitioned = table == "he_part"
    with engine.connect() as conn:
        before = size_mb(conn, table, partitioned)
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    started = time.perf_counter()
    with autocommit.connect() as conn:
        if partitioned:
            conn.execute(text("ALTER TABLE he_part DETACH PARTITION he_part_000"))
            conn.execute(text("DROP TABLE he_part_000"))
        else:
            conn.execute(text("DELETE FROM he_plain WHERE at < :end"), {"end": month(1)})
            conn.execute(text("VACUUM he_plain"))
    took = time.perf_counter() - started
    with engine.connect() as conn:
        return took, before - size_mb(conn, table, partitioned)


def measure(url: str, events: int, months: int) -> list[str]:
    engine = create_engine(url)
    with engine.begin() as conn:
        create(conn, months)
    lines = [f"history of {events} events over {months} months, chains of 10, postgresql:"]
    day = {"from": START + timedelta(days=40), "to": START + timedelta(days=41)}
    for table, label in (("he_plain", "one table"), ("he_part", "monthly partitions")):
        with engine.begin() as conn:
            loaded = load(conn, table, events, months)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {table}"))
        with engine.connect() as conn:
            partitioned = table == "he_part"
            day_ms = median_ms(
                conn,
                f"SELECT *, count(*) OVER () FROM {table} WHERE at >= :from AND at < :to"
                " ORDER BY at, id LIMIT 50",
                day,
            )
            actor_ms = median_ms(
                conn,
                f"SELECT * FROM {table} WHERE actor = 'city-3' ORDER BY at DESC LIMIT 50",
                {},
            )
            size = size_mb(conn, table, partitioned)
        scanned, rows = scan_s(engine, table)
        assert rows == events, (table, rows)
        gone_s, freed = retention(engine, table, months)
        lines += [
            f"  {label}: {size:.0f} MB",
            f"    bulk load                          {events / loaded:9,.0f} events/s",
            f"    one day's events, with the count   {day_ms:9.1f} ms",
            f"    one actor's latest 50              {actor_ms:9.1f} ms",
            f"    every event in chain order         {scanned:9.2f} s ({rows / scanned:,.0f}/s)",
            f"    drop the oldest month              {gone_s * 1e3:9.0f} ms, {freed:.0f} MB freed",
        ]
    engine.dispose()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    with scratch_db(args.pg_url) as url:
        for line in measure(url, args.events, args.months):
            print(line, flush=True)


if __name__ == "__main__":
    main()
