"""GET /calendars and `tidu calendar check`: a year without holiday data is announced before
deadlines reach it (TIDU_CALENDAR_WARN_DAYS), never found out by a failing command."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

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
    ctx: EngineContext, clock: SimulatedClock, client: FlaskClient, calendars
) -> None:
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

    (calendars / f"{LAST + 1}.json").write_text(
        json.dumps({"holidays": {f"{LAST + 1}-01-01": "元旦"}}), encoding="utf-8"
    )  # added by the owner, no restart
    found = owner.get("/api/v1/calendars").json
    assert found["missing"] == []
    assert found["warning"] is None
    assert client.get("/api/v1/calendars").status_code == 401  # signed-in users only


def test_calendar_check_exits_1_naming_the_missing_year(  # type: ignore[no-untyped-def]
    ctx: EngineContext, clock: SimulatedClock, calendars, monkeypatch
) -> None:
    monkeypatch.setattr(cli, "_ctx", lambda: ctx)  # the command on this test's database and clock
    clock.set(datetime(LAST, 12, 1, 1, tzinfo=UTC))
    result = CliRunner().invoke(cli.main, ["calendar", "check"])
    assert result.exit_code == 1
    assert f"{LAST + 1} 年工作日历数据缺失" in result.output
    (calendars / f"{LAST + 1}.json").write_text(
        json.dumps({"holidays": {f"{LAST + 1}-01-01": "元旦"}}), encoding="utf-8"
    )
    result = CliRunner().invoke(cli.main, ["calendar", "check"])
    assert result.exit_code == 0, result.output
    assert f"{LAST + 1}  processes/calendars/{LAST + 1}.json" in result.output


def test_an_uploaded_year_serves_working_days_in_every_process(  # type: ignore[no-untyped-def]
    ctx: EngineContext, clock: SimulatedClock, client: FlaskClient, calendars
) -> None:
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    city = f.user(ctx, client, role="city", user_id="city-nc", region="360100")
    clock.set(datetime(2098, 12, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="无 2099 年工作日历数据"):
        workdays.add_working_days(date(2098, 12, 31), 1)

    bad = owner.put(
        "/api/v1/calendars/2099",
        json={
            "holidays": {"2099-01-01": "元旦", "2099-13-01": "?"},
            "workdays": {"2099-01-05": "调休"},
        },
    )
    assert bad.status_code == 422
    assert bad.json["errors"]["calendar"] == [
        "2099 年日历: holidays['2099-13-01'] 不是 YYYY-MM-DD 日期",
        "2099 年日历: workdays['2099-01-05'] 是周一至周五，本来就是工作日（调休上班日只列周末）",
    ]
    covered = owner.put(f"/api/v1/calendars/{LAST}", json={"holidays": {f"{LAST}-01-01": "元旦"}})
    assert covered.status_code == 422
    assert "chinesecalendar 已含该年" in covered.json["errors"]["year"][0]
    assert city.put("/api/v1/calendars/2099", json={"holidays": {}}).status_code == 403

    notice = {
        "source": "国办发明电〔2098〕1号",
        "holidays": {"2099-01-01": "元旦", "2099-01-02": "元旦"},
        "workdays": {"2099-01-04": "元旦调休上班"},
    }
    stored = owner.put("/api/v1/calendars/2099", json=notice)
    assert stored.status_code == 200, stored.json
    assert (stored.json["uploaded_by"], len(stored.json["checksum"])) == ("owner", 64)
    # 2098-12-31 is a Wednesday; 1 and 2 January off, Sunday the 4th a working day
    assert workdays.add_working_days(date(2098, 12, 31), 1) == date(2099, 1, 4)
    found = owner.get("/api/v1/calendars").json
    assert found["missing"] == [2098]  # this year still lacks data; the next one is there
    assert found["years"][-1]["source"].startswith("上传（owner，")
    events = owner.get("/api/v1/audit/events", query_string={"kind": "calendar.changed"})
    assert events.status_code == 403  # owners upload; auditors and the province read the trail
    [event] = (
        f.user(ctx, client, role="auditor", user_id="aud")
        .get("/api/v1/audit/events", query_string={"kind": "calendar.changed"})
        .json["items"]
    )
    assert (event["actor"], event["data"]["year"], event["data"]["holidays"]) == ("owner", 2099, 2)


def test_a_corrected_upload_changes_the_periods_computed_after_it(  # type: ignore[no-untyped-def]
    ctx: EngineContext, clock: SimulatedClock, client: FlaskClient, calendars
) -> None:
    from handlers import deadlines

    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    clock.set(datetime(2098, 12, 1, 1, tzinfo=UTC))
    first = {"holidays": {"2099-10-01": "国庆节"}}
    assert owner.put("/api/v1/calendars/2099", json=first).status_code == 200
    before = deadlines.add_working_days(start_on="2099-09-30", days=5)
    fixed = {"holidays": {f"2099-10-0{d}": "国庆节" for d in range(1, 8)}}
    assert owner.put("/api/v1/calendars/2099", json=fixed).status_code == 200
    after = deadlines.add_working_days(start_on="2099-09-30", days=5)
    assert before["ends_on"] < after["ends_on"]  # the whole holiday week now skipped
    assert after["ends_on"] == workdays.add_working_days(date(2099, 9, 30), 5).isoformat()
