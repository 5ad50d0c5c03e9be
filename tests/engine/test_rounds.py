"""Calendar rounds: schedule arithmetic without drift, opening on time, once, with catch-up."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from api import cli
from engine import queries, rounds
from engine.errors import InvalidInput
from engine.rounds import RoundSchedule
from engine.store import Definition
from tests.fixtures import timer_support as ts

INNOVATIVE = RoundSchedule(
    "innovative_evaluation", "{year}年第{n}批创新型中小企业评价", date(2023, 7, 1), 6, 30
)


def test_half_yearly_openings_follow_the_calendar_without_drift() -> None:
    openings = [INNOVATIVE.opening(k) for k in range(20)]
    assert openings[-1] == date(2033, 1, 1)  # a fixed 182-day period would be at 2032-12-06
    assert {(d.month, d.day) for d in openings} == {(1, 1), (7, 1)}
    assert INNOVATIVE.latest_on_or_before(date(2027, 6, 30)) == date(2027, 1, 1)
    assert INNOVATIVE.next_after(date(2027, 1, 1)) == date(2027, 7, 1)
    assert INNOVATIVE.latest_on_or_before(date(2023, 6, 30)) is None
    assert INNOVATIVE.label_for(date(2027, 7, 1)) == "2027年第2批创新型中小企业评价"


def test_shipped_schedule_names_every_procedure() -> None:
    found = {s.process_key: s for s in rounds.load_schedules(ts.ROOT / "processes")}
    assert found["innovative_evaluation"] == INNOVATIVE
    assert (
        found["specialized_certification"].first_opens_on.month,
        found["specialized_certification"].every_months,
    ) == (7, 12)
    assert found["little_giant_recommendation"].first_opens_on.timetuple()[1:3] == (4, 1)


@pytest.fixture
def scheduled(ctx, tmp_path):  # type: ignore[no-untyped-def]
    (tmp_path / "rounds.json").write_text(
        json.dumps(
            {
                "rounds": [
                    {
                        "process_key": "timer_wait",
                        "label": "{year}年第{n}批",
                        "first_opens_on": "2023-07-01",
                        "every_months": 6,
                        "window_days": 30,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    ctx.settings = replace(ctx.settings, processes_dir=tmp_path)
    ts.deploy_fixture(ctx, "timer_wait")
    return ctx


def _opened(ctx) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    return sorted(
        (str(r["round"].opens_on), r["round"].label, r["round"].closes_at.isoformat())
        for r in queries.rounds(ctx)
    )


def test_rounds_open_at_local_midnight_once_each_over_two_years(scheduled, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime(2025, 12, 31, 15, 59, tzinfo=UTC))  # 23:59 local
    assert rounds.open_due(scheduled) == []  # 2025-07-01 window closed long ago
    assert rounds.next_opening(scheduled) == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
    for _ in range(4):
        clock.set(rounds.next_opening(scheduled) + timedelta(milliseconds=5))
        assert len(rounds.open_due(scheduled)) == 1
        assert rounds.open_due(scheduled) == []  # idempotent
    assert _opened(scheduled) == [
        ("2026-01-01", "2026年第1批", "2026-01-30T16:00:00+00:00"),
        ("2026-07-01", "2026年第2批", "2026-07-30T16:00:00+00:00"),
        ("2027-01-01", "2027年第1批", "2027-01-30T16:00:00+00:00"),
        ("2027-07-01", "2027年第2批", "2027-07-30T16:00:00+00:00"),
    ]


def test_a_round_missed_while_down_opens_once_on_catch_up(scheduled, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime(2027, 1, 12, 2, 0, tzinfo=UTC))  # down from December to 12 January
    assert [r.opens_on for r in rounds.open_due(scheduled)] == [date(2027, 1, 1)]
    assert rounds.open_due(scheduled) == []
    clock.set(datetime(2027, 9, 1, 2, 0, tzinfo=UTC))  # down across all of July's window
    assert rounds.open_due(scheduled) == []
    assert [o[0] for o in _opened(scheduled)] == ["2027-01-01"]


def test_a_round_opened_by_hand_on_the_day_is_not_opened_again(scheduled, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime(2026, 7, 1, 1, 0, tzinfo=UTC))
    queries.open_round(
        scheduled,
        process_key="timer_wait",
        label="手工开启",
        opens_on=date(2026, 7, 1),
        window_days=20,
    )
    assert rounds.open_due(scheduled) == []
    assert [o[1] for o in _opened(scheduled)] == ["手工开启"]


def test_undeployed_procedures_wait_for_their_definition(ctx, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctx.settings = replace(ctx.settings, processes_dir=ts.ROOT / "processes")
    clock.set(datetime(2026, 7, 2, 1, 0, tzinfo=UTC))
    assert rounds.open_due(ctx) == []  # nothing deployed in this test database


def test_a_broken_schedule_names_the_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "rounds.json").write_text(
        json.dumps(
            {
                "rounds": [
                    {
                        "process_key": "p",
                        "label": "x",
                        "first_opens_on": "2023-13-01",
                        "every_months": 0,
                        "window_days": 30,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as raised:
        rounds.load_schedules(tmp_path)
    assert set(raised.value.errors) == {"rounds[0].first_opens_on", "rounds[0].every_months"}


def test_every_problem_of_every_entry_is_named_at_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(ts.ROOT / "processes" / "innovative_evaluation.bpmn", tmp_path)
    good = {"label": "{year}年第{n}批", "first_opens_on": "2026-07-01", "every_months": 6}
    (tmp_path / "rounds.json").write_text(
        json.dumps(
            {
                "rounds": [
                    good | {"process_key": "innovative_evaluation", "window_days": 400},
                    good | {"process_key": "little_giant", "window_days": 30, "every_month": 6},
                    good | {"process_key": "innovative_evaluation", "label": "{yr}年第{n}批"},
                ]
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as raised:
        rounds.load_schedules(tmp_path)
    errors = raised.value.errors
    assert set(errors) == {
        "rounds[0].window_days",
        "rounds[1].process_key",
        "rounds[1].every_month",
        "rounds[2].window_days",
        "rounds[2].label",
        "rounds[2].process_key",
    }
    assert errors["rounds[1].process_key"] == [
        "流程 little_giant 不存在（流程目录中的流程：innovative_evaluation）"
    ]
    assert errors["rounds[1].every_month"][0].startswith("未知字段")
    assert errors["rounds[2].label"][0].startswith("无法替换 'yr'")
    assert errors["rounds[2].process_key"] == ["与 rounds[0] 重复：每个流程只能有一个批次计划"]
    assert errors["rounds[2].window_days"] == ["必填"]


def test_deploy_refuses_a_directory_whose_round_schedule_is_broken(ctx, tmp_path, db_url) -> None:  # type: ignore[no-untyped-def]
    processes = tmp_path / "processes"
    shutil.copytree(ts.ROOT / "processes", processes)
    schedule = json.loads((processes / "rounds.json").read_text(encoding="utf-8"))
    schedule["rounds"][2]["process_key"] = "little_giant"
    (processes / "rounds.json").write_text(json.dumps(schedule, indent=1), encoding="utf-8")
    text = (processes / "rounds.json").read_text(encoding="utf-8")
    schedule_line = text[: text.index('"little_giant"')].count("\n") + 1
    env = {"TIDU_DATABASE_URL": db_url}
    for args in (["--validate-only"], []):
        result = CliRunner().invoke(cli.main, ["deploy", str(processes), *args], env=env)
        assert result.exit_code == 1, result.output
        assert "[rounds[2].process_key] 流程 little_giant 不存在" in result.output
        assert f"rounds.json:{schedule_line} [rounds[2].process_key]" in result.output
    with ctx.transaction() as session:  # nothing deployed
        assert session.scalar(select(func.count()).select_from(Definition)) == 0
