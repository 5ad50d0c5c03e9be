"""Run every benchmark scenario and write docs/benchmarks.md (`make bench`, `tidu bench`).

    .venv/bin/python -m bench.run [--tiny] [--pg-url URL] [--out docs/benchmarks.md]

--tiny runs each scenario once at a tiny size (what CI does, to prove they work) and writes
nothing unless --out is given. Each scenario runs in its own process so that one's caches and
memory do not colour the next.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from engine.clock import SystemClock

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def scenarios(tiny: bool, pg: str) -> list[tuple[str, list[str]]]:
    n = lambda full, small: str(small if tiny else full)  # noqa: E731
    py = [sys.executable, "-m"]
    return [
        (
            "sme_eval in-process, SQLite and PostgreSQL, with the same-run raw loop",
            [*py, "bench.sme_eval", "--instances", n(300, 5), "--pg-url", pg],
        ),
        (
            "where an sme_eval instance's time goes (SQLite), beside the raw loop and bare Flask",
            [*py, "bench.breakdown", "--instances", n(500, 3)],
        ),
        (
            "sme_eval over HTTP (gunicorn, PostgreSQL), 1 and 8 clients",
            [*py, "bench.http", "--instances", n(400, 8), "--pg-url", pg],
        ),
        (
            "inbox query with open tasks over 13 regions (PostgreSQL)",
            [
                *py,
                "bench.inbox",
                "--tasks",
                n(100_000, 500),
                "--requests",
                n(300, 10),
                "--pg-url",
                pg,
            ],
        ),
        (
            "the qualification registry's CSV export at national size (PostgreSQL)",
            [*py, "bench.export", "--qualifications", n(500_000, 50), "--pg-url", pg],
        ),
        (
            "reads that grow with the programme: a round's cases, history verification, the "
            "public lookup (PostgreSQL)",
            [
                *py,
                "bench.national",
                "--cases",
                n(20_000, 30),
                "--events",
                n(200_000, 100),
                "--qualifications",
                n(200_000, 50),
                "--pg-url",
                pg,
            ],
        ),
        (
            "the history in monthly partitions against one table, and dropping a month "
            "(PostgreSQL)",
            [*py, "bench.partitions", "--events", n(1_000_000, 2_000), "--pg-url", pg],
        ),
        (
            "timers due at once, 1 and 2 scheduler processes (PostgreSQL)",
            [sys.executable, "bench/timers.py", "--timers", n(10_000, 100)],
        ),
        (
            "P1 happy path in-process (SQLite), in turns with its raw loop: stored bytes per "
            "instance and history event",
            [*py, "bench.p1_inprocess", "--instances", n(100, 3)],
        ),
        (
            "one P1 round on the simulated clock (SQLite)",
            [*py, "bench.p1_round", "--applications", n(10_000, 5)],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--pg-url", default=PG)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = args.out or (None if args.tiny else str(ROOT / "docs" / "benchmarks.md"))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    sections = []
    failed = 0
    for title, cmd in scenarios(args.tiny, args.pg_url):
        print(f"== {title}", flush=True)
        started = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        for line in lines:
            print(f"   {line}", flush=True)
        if proc.returncode:
            failed += 1
            print(proc.stderr[-3000:], file=sys.stderr)
        shown = " ".join(c if c != sys.executable else "python" for c in cmd)
        sections.append((title, shown, lines, time.perf_counter() - started, proc.returncode))
    if out:
        write(Path(out), sections, args.tiny)
    sys.exit(1 if failed else 0)


def write(path: Path, sections: list, tiny: bool) -> None:  # type: ignore[type-arg]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    head = [
        "# Benchmarks",
        "",
        f"Measured {SystemClock().now():%Y-%m-%d %H:%M} UTC with `make bench` "
        "(`python -m bench.run`"
        f"{' --tiny' if tiny else ''}) on {os.cpu_count()} × {cpu}, "
        f"Python {platform.python_version()},"
        " PostgreSQL and SQLite on the same machine. Absolute figures vary between runs on shared"
        " machines; compare each figure with the raw SpiffWorkflow loop measured in the same run.",
        "",
    ]
    body = []
    for title, cmd, lines, seconds, code in sections:
        body += [
            f"## {title}",
            "",
            f"`{cmd}` ({seconds:.0f} s{', FAILED' if code else ''})",
            "",
            "```",
            *lines,
            "```",
            "",
        ]
    path.write_text("\n".join(head + body), encoding="utf-8")


if __name__ == "__main__":
    main()
