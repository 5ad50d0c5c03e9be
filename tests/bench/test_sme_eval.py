"""bench.sme_eval: warm-up instances are not counted; tidu and the raw loop alternate in rounds."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bench import sme_eval
from bench.common import scratch_db
from engine.store import Instance


def _cases(ctx: Any) -> int:
    with ctx.reading() as session:
        return session.scalar(select(func.count()).select_from(Instance))


def test_warm_up_runs_before_the_timed_instances_and_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[Any] = []
    context = sme_eval.context
    monkeypatch.setattr(sme_eval, "context", lambda url: made.append(context(url)) or made[-1])
    seen: list[int] = []
    with scratch_db(None) as url:
        found = sme_eval.run_in_process(
            url, 3, warmup=2, on_start=lambda: seen.append(_cases(made[0]))
        )
        assert seen == [2]  # called once, when the two warm-up cases are done
        assert _cases(found["ctx"]) == 5
        assert sme_eval.raw_loop(found["ctx"], 2, warmup=1)["completions_per_s"] > 0


def test_interleaved_rounds_alternate_which_workload_goes_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []
    for cls, tag in ((sme_eval.Service, "S"), (sme_eval.RawLoop, "R")):
        run = cls.instance

        def logged(self: Any, timed: bool = True, run: Any = run, tag: str = tag) -> None:
            order.append(tag if timed else tag.lower())
            run(self, timed)

        monkeypatch.setattr(cls, "instance", logged)
    with scratch_db(None) as url:
        found = sme_eval.interleaved(url, 5, warmup=1, rounds=2)
    # warm-up untimed, then rounds of 3 and 2: ours first, then the raw loop first
    assert "".join(order) == "sr" + "SSSRRR" + "RRSS"
    assert found["rounds"] == 2
    assert found["round_ratio_min"] <= found["round_ratio_median"] <= found["round_ratio_max"]
    assert found["ratio"] == pytest.approx(found["instances_per_s"] / found["raw_instances_per_s"])
    assert found["state_bytes"] > 0
    assert found["complete_mean_ms"] > 0
