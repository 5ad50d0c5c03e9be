"""Instructions per sme_eval instance, ours and the raw SpiffWorkflow loop, under callgrind.

    .venv/bin/python -m bench.instructions [--small 20] [--large 60]

Time on a shared machine varies by a third from run to run; instruction counts do not. Each
figure runs the workload at two sizes under valgrind's callgrind and divides the difference by
the difference in size, so start-up, migrations and imports cancel out. Three figures:

- `ours`: one instance through the Flask test client (bench.sme_eval.run_in_process);
- `raw`: one instance of the raw loop (bench.sme_eval.raw_loop);
- `flask`: one request of a bare Flask app with one JSON route through the same test client,
  the floor under each of the eight requests an instance makes.

Needs valgrind (`apt-get install valgrind`); a run takes a few minutes. Used for A/B checks of
a change (docs/scaling.md, "Instructions against time"), not by `make bench`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def collected(valgrind_stderr: str) -> int:
    """The instruction count callgrind reports at exit ('==123== Collected : 456')."""
    found = COLLECTED.findall(valgrind_stderr)
    if not found:
        raise RuntimeError(f"callgrind reported no instruction count:\n{valgrind_stderr[-2000:]}")
    return int(found[-1])


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


def count(what: str, n: int) -> int:
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            what,
            str(n),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return collected(run.stderr)


def per_unit(what: str, small: int, large: int) -> float:
    return (count(what, large) - count(what, small)) / (large - small)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--large", type=int, default=60)
    parser.add_argument("--child", nargs=2, metavar=("WHAT", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
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
