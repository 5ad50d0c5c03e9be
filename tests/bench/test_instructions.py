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


CACHEGRIND = """==9== I   refs:      6,768,316,397
==9== I1  misses:       94,610,597
==9== LLi misses:           38,522
==9== I1  miss rate:          1.40%
==9== D   refs:      3,059,931,733  (2,057,317,897 rd   + 1,002,613,836 wr)
==9== D1  misses:       59,201,536  (   52,135,056 rd   +     7,066,480 wr)
==9== LLd misses:        1,184,850  (      177,596 rd   +     1,007,254 wr)
"""


def test_cache_events_reads_cachegrinds_summary():
    assert instructions.cache_events(CACHEGRIND) == {
        "instructions": 6_768_316_397,
        "L1i misses": 94_610_597,
        "L1d misses": 59_201_536,
        "L2 instruction misses": 38_522,
        "L2 data misses": 1_184_850,
    }


def test_cache_events_without_a_summary_names_what_valgrind_said():
    with pytest.raises(RuntimeError, match=r"(?s)no cache summary.*bad option"):
        instructions.cache_events("valgrind: bad option --LL=x")


def test_children_run_the_workloads():
    instructions.child("flask", 3)
    instructions.child("ours", 1)
    instructions.child("raw", 1)
