"""Instructions per sme_eval instance, ours and the raw SpiffWorkflow loop, under callgrind.

    .venv/bin/python -m bench.instructions [--small 20] [--large 60]

Time on a shared machine varies by a third from run to run; instruction counts do not. Each
figure runs the workload at two sizes under valgrind's callgrind and divides the difference by
the difference in size, so start-up, migrations and imports cancel out. Three figures:

- `ours`: one instance through the Flask test client (bench.sme_eval.run_in_process);
- `raw`: one instance of the raw loop (bench.sme_eval.raw_loop);
- `flask`: one request of a bare Flask app with one JSON route through the same test client,
  the floor under each of the eight requests an instance makes.

`--caches` runs `ours` and `raw` under cachegrind instead, simulating the first-level caches
and, as the last level, a 1 MiB 8-way second-level cache (`--l2`, the size of one core's L2 on
the machines this runs on), and prints misses per instance: where the instructions of our path
run slower than the raw loop's (docs/scaling.md, "Where the time goes now").

Needs valgrind (`apt-get install valgrind`); a run takes a few minutes. Used for A/B checks of
a change (docs/scaling.md, "Instructions against time"), not by `make bench`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
# cachegrind's summary lines, as "==7== I1  misses:   94,610,597"
CACHE_LINE = re.compile(
    r"==\d+== (I   refs|I1  misses|LLi misses|D1  misses|LLd misses):\s*([\d,]+)"
)
CACHE_EVENTS = {
    "I   refs": "instructions",
    "I1  misses": "L1i misses",
    "D1  misses": "L1d misses",
    "LLi misses": "L2 instruction misses",
    "LLd misses": "L2 data misses",
}


def collected(valgrind_stderr: str) -> int:
    """The instruction count callgrind reports at exit ('==123== Collected : 456')."""
    found = COLLECTED.findall(valgrind_stderr)
    if not found:
        raise RuntimeError(f"callgrind reported no instruction count:\n{valgrind_stderr[-2000:]}")
    return int(found[-1])


def cache_events(valgrind_stderr: str) -> dict[str, int]:
    """Cachegrind's totals by event name (CACHE_EVENTS), with the last level read as the L2."""
    found = {
        CACHE_EVENTS[name]: int(value.replace(",", ""))
        for name, value in CACHE_LINE.findall(valgrind_stderr)
    }
    if len(found) != len(CACHE_EVENTS):
        raise RuntimeError(f"cachegrind reported no cache summary:\n{valgrind_stderr[-2000:]}")
    return found


def child(what: str, n: int) -> None:
    from bench import sme_eval
    from bench.common import scratch_db

    if what == "flask":
        from flask import Flask

        app = Flask("floor")
        app.add_url_rule("/h", "h", lambda: {"ok": True})
        client = app.test_client(use_cookies=False)
        for _ in range(n):
            client.get("/h", headers={"Authorization": "Bearer x"})
        return
    with scratch_db(None) as url:
        if what == "ours":
            sme_eval.run_in_process(url, n)
        else:
            found = sme_eval.run_in_process(url, 1)
            sme_eval.raw_loop(found["ctx"], n)


def _under_valgrind(tool: list[str], what: str, n: int) -> str:
    """Run a child workload under valgrind with `tool` options; valgrind's report (stderr)."""
    run = subprocess.run(
        ["valgrind", *tool, sys.executable, "-m", "bench.instructions", "--child", what, str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stderr


def count(what: str, n: int) -> int:
    return collected(
        _under_valgrind(["--tool=callgrind", "--callgrind-out-file=/dev/null"], what, n)
    )


def per_unit(what: str, small: int, large: int) -> float:
    return (count(what, large) - count(what, small)) / (large - small)


def caches(what: str, n: int, l2: str) -> dict[str, int]:
    tool = ["--tool=cachegrind", "--cache-sim=yes", f"--LL={l2}", "--cachegrind-out-file=/dev/null"]
    return cache_events(_under_valgrind(tool, what, n))


def caches_per_unit(what: str, small: int, large: int, l2: str) -> dict[str, float]:
    low, high = caches(what, small, l2), caches(what, large, l2)
    return {event: (high[event] - low[event]) / (large - small) for event in high}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large", type=int, default=60)
    parser.add_argument("--caches", action="store_true", help="cache misses (cachegrind)")
    parser.add_argument("--l2", default="1048576,8,64", help="size,associativity,line of the L2")
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if args.caches:
        # the raw loop is ~2x cheaper per instance: three times the instances for a clear difference
        found = {
            "ours": caches_per_unit("ours", args.small, args.large, args.l2),
            "raw": caches_per_unit("raw", args.small * 3, args.large * 3, args.l2),
        }
        print(f"per sme_eval instance ({args.l2} L2)      ours        raw   ours/raw")
        for event in CACHE_EVENTS.values():
            ours, raw = found["ours"][event], found["raw"][event]
            print(f"{event:<32} {ours:>10,.0f} {raw:>10,.0f} {ours / max(raw, 1):>10.1f}")
        return
    ours = per_unit("ours", args.small, args.large)
    raw = per_unit("raw", args.small, args.large)
    floor = per_unit("flask", args.small * 10, args.large * 10)
    print(
        f"sme_eval per instance: ours {ours / 1e6:.2f} M instructions, raw loop {raw / 1e6:.2f} M; "
        f"ratio by instructions {raw / ours:.3f}; bare Flask test-client request "
        f"{floor / 1e6:.2f} M (x 8 requests = {8 * floor / ours:.0%} of ours)"
    )


if __name__ == "__main__":
    main()
