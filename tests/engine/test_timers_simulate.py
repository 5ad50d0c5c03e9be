"""`tidu simulate`: rounds on a simulated clock, deterministic for a seed, loud about calendars."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from api import simulation
from api.cli import main
from tests.fixtures.timer_support import ROOT

P1 = "innovative_evaluation"


@pytest.fixture(scope="module")
def p1_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """processes/ with P1 only (its BPMN, rules, forms and the round schedule): a faster deploy."""
    target = tmp_path_factory.mktemp("processes")
    source = ROOT / "processes"
    shutil.copy(source / "innovative_evaluation.bpmn", target)
    schedule = json.loads((source / "rounds.json").read_text(encoding="utf-8"))
    schedule["rounds"] = [r for r in schedule["rounds"] if r["process_key"] == P1]
    (target / "rounds.json").write_text(json.dumps(schedule), encoding="utf-8")
    shutil.copytree(source / "rules", target / "rules")
    shutil.copytree(source / "forms", target / "forms")
    return target


def _run(seed: int, processes: Path) -> dict:  # type: ignore[type-arg]
    config = simulation.Config(
        start=date(2026, 6, 30),
        until=date(2026, 8, 31),
        enterprises=5,
        seed=seed,
        processes=processes,
    )
    summary = simulation.run(config)
    summary.pop("database")
    return summary


def test_simulation_runs_the_round_and_is_deterministic_for_a_seed(p1_only: Path) -> None:
    first = _run(5, p1_only)
    assert first == _run(5, p1_only)
    assert "2026年第2批创新型中小企业评价（2026-07-01）" in first["rounds"]
    assert first["applications"] > 0
    assert first["timers_fired"] > 0
    assert sum(first["outcomes"].values()) + first["running"] == first["applications"]


def test_simulating_a_year_without_calendar_data_stops_naming_the_year() -> None:
    result = CliRunner().invoke(
        main,
        [
            "simulate",
            "--from",
            "2031-06-25",
            "--until",
            "2031-07-10",
            "--enterprises",
            "2",
            "--processes",
            str(ROOT / "processes"),
        ],
    )
    assert result.exit_code == 1
    assert "无 2031 年工作日历数据" in result.output


@pytest.mark.parametrize("args", [["--from", "2026-02-01", "--until", "2026-01-01"]])
def test_simulate_rejects_an_empty_period(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["simulate", *args])
    assert result.exit_code == 2
    assert "--until" in result.output


@pytest.mark.parametrize("form", sorted((ROOT / "processes" / "forms").glob("*.schema.json")))
def test_the_simulation_fills_every_shipped_form_as_the_form_allows(form: Path) -> None:
    """A form the simulation was not taught (choices as `oneOf` constants, evidence required)
    is still filled validly: otherwise its cases fail where real ones would not."""
    import random

    from jsonschema import Draft202012Validator

    schema = json.loads(form.read_text(encoding="utf-8"))
    name = form.name
    if name in simulation.TIER_FORMS:
        firm = simulation.Firm.__new__(simulation.Firm)
        object.__setattr__(firm, "evidence", "file-1")
        data = simulation._tier_figures(name, firm)
    else:
        data = simulation._from_schema(schema, random.Random(7), evidence="file-1")
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(data)]
    assert errors == [], (name, errors)
