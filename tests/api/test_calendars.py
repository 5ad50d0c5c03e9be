"""GET /calendars and `tidu calendar check`: a year without holiday data is announced before
deadlines reach it (TIDU_CALENDAR_WARN_DAYS), never found out by a failing command."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from api import cli
from engine.clock import SimulatedClock
from engine.context import EngineContext
from handlers import workdays
from tests import factories as f

LAST = max(workdays.PACKAGE_YEARS)  # chinesecalendar's last year


@pytest.fixture
def calendars(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """An empty processes/calendars directory of this deployment."""
    monkeypatch.setattr(workdays, "CALENDAR_DIR", tmp_path)
    return tmp_path


def test_the_next_year_missing_is_announced_within_the_warning_days(  # type: ignore[no-untyped-def]
        ctx: EngineContext, clock: SimulatedClock, client: FlaskClient, calendars) -> None:
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    clock.set(datetime(LAST, 9, 1, 1, tzinfo=UTC))
    found = owner.get("/api/v1/calendars").json
    assert (found["needed"], found["missing"], found["warning"]) == ([LAST], [], None)
    assert found["warn_days"] == 60
    assert found["years"][-1]["year"] == LAST

    clock.set(datetime(LAST, 12, 1, 1, tzinfo=UTC))
    found = owner.get("/api/v1/calendars").json
    assert (found["needed"], found["missing"]) == ([LAST, LAST + 1], [LAST + 1])
    assert f"{LAST + 1} 年工作日历数据缺失" in found["warning"]

    (calendars / f"{LAST + 1}.json").write_text(json.dumps({"holidays": {
        f"{LAST + 1}-01-01": "元旦"}}), encoding="utf-8")  # added by the owner, no restart
    found = owner.get("/api/v1/calendars").json
    assert found["missing"] == []
    assert found["warning"] is None
    assert client.get("/api/v1/calendars").status_code == 401  # signed-in users only


def test_calendar_check_exits_1_naming_the_missing_year(  # type: ignore[no-untyped-def]
        ctx: EngineContext, clock: SimulatedClock, calendars, monkeypatch) -> None:
    monkeypatch.setattr(cli, "_ctx", lambda: ctx)  # the command on this test's database and clock
    clock.set(datetime(LAST, 12, 1, 1, tzinfo=UTC))
    result = CliRunner().invoke(cli.main, ["calendar", "check"])
    assert result.exit_code == 1
    assert f"{LAST + 1} 年工作日历数据缺失" in result.output
    (calendars / f"{LAST + 1}.json").write_text(json.dumps({"holidays": {
        f"{LAST + 1}-01-01": "元旦"}}), encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["calendar", "check"])
    assert result.exit_code == 0, result.output
    assert f"{LAST + 1}  processes/calendars/{LAST + 1}.json" in result.output
