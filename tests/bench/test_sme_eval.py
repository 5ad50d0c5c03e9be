"""bench.sme_eval: warm-up instances run before the timed ones and are not counted."""

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
