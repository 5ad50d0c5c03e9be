"""bench.instructions: reading callgrind's count, and the workloads it counts."""

from __future__ import annotations

import pytest

from bench import instructions


def test_collected_reads_the_last_count():
    stderr = "==7== Callgrind, a call-graph generating cache profiler\n==7== Collected : 1234567\n"
    assert instructions.collected(stderr) == 1234567


def test_collected_without_a_count_names_what_valgrind_said():
    with pytest.raises(RuntimeError, match=r"(?s)no instruction count.*valgrind: command failed"):
        instructions.collected("valgrind: command failed")


def test_children_run_the_workloads():
    instructions.child("flask", 3)
    instructions.child("ours", 1)
    instructions.child("raw", 1)
