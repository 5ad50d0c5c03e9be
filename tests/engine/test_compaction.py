"""Compacting finished cases (`tidu cases compact`): the state shrinks to the elements a case
went through, its page still shows its path, its history records it, and a running case, a
recent one or a second run are left alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from api.cli import main
from engine import compaction, history
from engine.context import Actor, EngineContext
from engine.errors import Conflict, InvalidInput
from engine.settings import Settings
from engine.store import HistoryEvent, Instance
from tests import factories as f

SYSTEM = Actor(id="ops", role="system")


def rejected_case(people: f.People, round_id: int) -> str:
    instance_id = f.apply(people["ent"], round_id)
    people["city"].complete(
        "city_review", {"decision": "reject", "reason": "材料不实"}, instance_id
    )
    return instance_id


def state_of(ctx: EngineContext, instance_id: str) -> tuple[str, int]:
    with ctx.reading() as session:
        row = session.get(Instance, instance_id)
        return row.state_json, row.version


def test_a_finished_case_keeps_its_path_in_a_fraction_of_the_bytes(  # type: ignore[no-untyped-def]
    ctx, clock, p1, p1_round
) -> None:
    done = rejected_case(p1, p1_round)
    running = f.apply(p1["ent2"], p1_round)
    path = p1["city"].get(f"/api/v1/instances/{done}/position").json
    assert p1["city"].get(f"/api/v1/instances/{done}").json["outcome"] == "rejected_by_city"
    full, version = state_of(ctx, done)

    assert compaction.compact_finished(ctx, older_than_days=30, actor=SYSTEM)["cases"] == 0
    clock.advance(timedelta(days=31))
    result = compaction.compact_finished(ctx, older_than_days=30, actor=SYSTEM)
    assert result["cases"] == 1
    assert result["bytes_before"] == len(full.encode())
    assert result["bytes_after"] * 10 < result["bytes_before"]

    small, new_version = state_of(ctx, done)
    assert compaction.is_compacted(small)
    assert new_version == version + 1  # a warm copy of the old state is not taken
    assert not compaction.is_compacted(state_of(ctx, running)[0])
    after = p1["city"].get(f"/api/v1/instances/{done}/position").json
    assert (after["completed"], after["active"]) == (path["completed"], path["active"])
    assert "city_review" in after["completed"]
    with ctx.reading() as session:
        kinds = session.scalars(
            select(HistoryEvent.kind).where(HistoryEvent.instance_id == done)
        ).all()
    assert kinds[-1] == "instance.state_compacted"
    assert history.verify_all(ctx) == []
    assert compaction.compact_finished(ctx, older_than_days=30, actor=SYSTEM)["cases"] == 0


def test_a_command_on_a_compacted_case_is_refused_by_name(ctx, clock, p1, p1_round) -> None:  # type: ignore[no-untyped-def]
    from engine import instances

    done = rejected_case(p1, p1_round)
    clock.advance(timedelta(days=1))
    compaction.compact_finished(ctx, older_than_days=0, actor=SYSTEM)
    # the warm copy this process kept of the case is at the old version: not taken
    with pytest.raises(Conflict) as refused:
        with ctx.transaction() as session:
            instances.load_for_update(ctx, session, done)
    assert refused.value.extra["rule"] == "state-compacted"


def test_the_cli_compacts_and_refuses_a_negative_age(ctx, clock, p1, p1_round, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rejected_case(p1, p1_round)
    clock.advance(timedelta(days=2))
    with pytest.raises(InvalidInput):
        compaction.compact_finished(ctx, older_than_days=-1, actor=SYSTEM)
    monkeypatch.setattr("api.cli._ctx", lambda: ctx)
    out = CliRunner().invoke(main, ["cases", "compact", "--older-than-days", "1"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("已压缩 1 件已办结案件的流程状态：")


def test_the_scheduler_compacts_once_a_day_when_told_to(  # type: ignore[no-untyped-def]
    ctx, clock, p1, p1_round, monkeypatch
) -> None:
    from engine import scheduler

    monkeypatch.setattr(scheduler, "COMPACT_PER_RUN", 1)
    cases = [rejected_case(p1, p1_round), rejected_case({**p1, "ent": p1["ent2"]}, p1_round)]
    clock.advance(timedelta(days=31))
    scheduler.Scheduler(ctx).compact_finished_cases()  # the setting is off: nothing
    assert not any(compaction.is_compacted(state_of(ctx, c)[0]) for c in cases)

    told = EngineContext(
        replace(ctx.settings, compact_finished_after_days=30),
        clock=clock,
        db=ctx.db,
        sessions=ctx.sessions,
    )
    on = scheduler.Scheduler(told)
    on.compact_finished_cases()  # one case a run, so timers never wait long behind it
    assert sum(compaction.is_compacted(state_of(ctx, c)[0]) for c in cases) == 1
    on.compact_finished_cases()
    on.compact_finished_cases()  # finds none left: done for the day
    assert on._compacted_on == clock.now().date()
    assert all(compaction.is_compacted(state_of(ctx, c)[0]) for c in cases)

    clock.advance(timedelta(days=1))  # another day: it looks again
    on.compact_finished_cases()
    assert on._compacted_on == clock.now().date()


@pytest.mark.parametrize(("value", "expected"), [("", None), ("off", None), ("0", 0), ("730", 730)])
def test_the_age_is_a_setting(monkeypatch: pytest.MonkeyPatch, value: str, expected: Any) -> None:
    monkeypatch.setenv("TIDU_COMPACT_FINISHED_AFTER_DAYS", value)
    assert Settings.from_env().compact_finished_after_days == expected


@pytest.mark.parametrize("value", ["a year", "-1"])
def test_an_age_that_is_no_count_of_days_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TIDU_COMPACT_FINISHED_AFTER_DAYS", value)
    with pytest.raises(ValueError, match="TIDU_COMPACT_FINISHED_AFTER_DAYS"):
        Settings.from_env()
