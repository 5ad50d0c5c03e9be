"""The scheduler keeps the rule hand-opened rounds follow: a procedure's windows never overlap;
rounds.json's optional period settings are read and checked."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

from engine import queries, rounds
from tests.fixtures import timer_support as ts


def test_a_scheduled_opening_whose_window_a_hand_opened_round_holds_is_skipped(
    ctx, clock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
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
                        "one_application_per_period": True,
                        "cases_run_days": 90,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    ctx.settings = replace(ctx.settings, processes_dir=tmp_path)
    ts.deploy_fixture(ctx, "timer_wait")
    clock.set(datetime(2025, 12, 20, 2, 0, tzinfo=UTC))
    queries.open_round(
        ctx, process_key="timer_wait", label="手工批次", opens_on=date(2025, 12, 20), window_days=20
    )
    clock.set(datetime(2026, 1, 1, 2, 0, tzinfo=UTC))
    assert rounds.open_due(ctx) == []  # 2026-01-01 would overlap the hand-opened window
    [schedule] = rounds.load_schedules(tmp_path)
    assert (schedule.one_application_per_period, schedule.cases_run_days) == (True, 90)
    assert schedule.period_of(date(2025, 11, 3)) == (date(2025, 7, 1), date(2026, 1, 1))


def test_the_optional_period_settings_are_checked() -> None:
    entry = {
        "process_key": "timer_wait",
        "label": "{year}",
        "first_opens_on": "2023-07-01",
        "every_months": 6,
        "window_days": 30,
        "one_application_per_period": "yes",
        "cases_run_days": 0,
    }
    _, errors = rounds.read_entries([entry], {"timer_wait"})
    assert errors == {
        "rounds[0].one_application_per_period": ["应为 bool"],
        "rounds[0].cases_run_days": ["应在 1–1000 之间"],
    }
