"""Review findings on P1 rounds: overlapping or closed rounds, second applications in one
period (第六条 每半年集中评价一次), round counts by what the caller may see, and a missing
working-day calendar told to the user."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask.testing import FlaskClient

from engine import instances, registry
from engine.clock import SimulatedClock
from engine.context import EngineContext
from tests import factories as f

BODY = {"process_key": "innovative_evaluation", "label": "2025年第2批", "window_days": 30}


def _open(province: f.Api, opens_on: str, **extra: Any) -> Any:
    return province.post("/api/v1/rounds", json=BODY | {"opens_on": opens_on} | extra)


def test_a_round_overlapping_another_of_the_procedure_is_refused_naming_it(p1: f.People) -> None:
    province = p1["province"]
    first = _open(province, "2025-11-30")
    assert first.status_code == 201, first.json
    for day in ("2025-12-01", "2025-11-29", "2025-12-29"):
        refused = _open(province, day, label=f"重叠 {day}")
        assert refused.status_code == 409, refused.json
        assert refused.json["rule"] == "round-overlaps"
        assert refused.json["round_id"] == first.json["id"]
        assert "2025-11-30 至 2025-12-29 24:00" in refused.json["detail"]
    after = _open(province, "2025-12-30", label="紧接其后", window_days=5)
    assert after.status_code == 201, after.json


def test_a_round_whose_window_has_closed_is_refused_and_one_still_open_is_taken(
    p1: f.People,
) -> None:
    province = p1["province"]  # today is 2025-09-01
    closed = _open(province, "2020-01-01")
    assert closed.status_code == 422, closed.json
    assert "opens_on" in closed.json["errors"]
    assert "已结束" in closed.json["detail"]
    still_open = _open(province, "2025-08-20")
    assert still_open.status_code == 201, still_open.json
    assert still_open.json["window"] == "open"


def test_an_enterprise_applies_once_at_a_time_and_once_per_half_year(
    ctx: EngineContext, client: FlaskClient, clock: SimulatedClock, p1: f.People
) -> None:
    province, ent, ent2 = p1["province"], p1["ent"], p1["ent2"]
    autumn = _open(province, "2025-09-01", window_days=10).json
    rejected = f.start(ent, autumn["id"])["id"]
    data = f.self_evaluation([ent.upload()["id"]], on_abnormal_list=True)
    ent.complete("self_evaluation", data, rejected)  # 第四条 fails: finished at once
    assert ent.get(f"/api/v1/instances/{rejected}").json["status"] == "completed"
    running = f.start(ent2, autumn["id"])["id"]
    clock.set(datetime(2025, 11, 3, 1, 0, tzinfo=UTC))
    winter = _open(province, "2025-11-03", label="同一半年的另一批").json
    body = {"process_key": "innovative_evaluation", "round_id": winter["id"]}

    busy = ent2.post("/api/v1/instances", json=body)
    assert busy.status_code == 409, busy.json
    assert busy.json["rule"] == "application-running"
    assert running in busy.json["detail"]
    again = ent.post("/api/v1/instances", json=body)
    assert again.status_code == 409, again.json
    assert again.json["rule"] == "one-application-per-period"
    assert "2025-07-01 至 2025-12-31" in again.json["detail"]
    assert rejected in again.json["detail"]
    assert f.start(f.enterprise(ctx, client, 3, region="360100"), winter["id"])  # a newcomer may


def test_round_counts_are_those_of_the_cases_the_caller_may_see(
    ctx: EngineContext, client: FlaskClient, p1: f.People, p1_round: int
) -> None:
    f.start(p1["ent"], p1_round)
    f.start(p1["ent2"], p1_round)
    other = f.enterprise(ctx, client, 7, region="360700")
    f.start(other, p1_round)
    gz = f.user(ctx, client, role="city", user_id="city-gz", region="360700")

    def counts(user: f.Api) -> dict[str, int]:
        [found] = [r for r in user.get("/api/v1/rounds").json if r["id"] == p1_round]
        return found["counts"]

    assert counts(p1["province"]) == {"running": 3}
    assert counts(p1["city"]) == {"running": 2}
    assert counts(gz) == {"running": 1}
    assert counts(p1["ent"]) == {"running": 1}
    assert counts(p1["owner"]) == {}


def test_a_notice_in_a_year_without_calendar_tells_the_user_why(
    ctx: EngineContext, clock: SimulatedClock, p1: f.People
) -> None:
    clock.set(datetime(2031, 3, 3, 1, 0, tzinfo=UTC))
    opened = _open(p1["province"], "2031-03-03", label="2031年第1批")
    assert opened.status_code == 201, opened.json
    assert "2031" in opened.json["warning"]
    assert "/ui/incidents" in opened.json["warning"]
    ent, city = p1["ent"], p1["city"]
    case = f.start(ent, opened.json["id"])["id"]
    ent.complete("self_evaluation", f.self_evaluation([ent.upload()["id"]]), case)
    not_drawn = lambda **kw: {"seed": kw["seed"], "selected": False, "rate": kw["rate"]}  # noqa: E731
    with registry.override("sampling.draw", not_drawn):
        failed = city.complete("city_review", {"decision": "approve"}, case, status=503)
    assert failed["type"].endswith("/calendar-missing")
    assert "尚无 2031 年工作日历数据" in failed["detail"]
    assert "/ui/incidents" in failed["detail"]
    assert failed["incident_id"] in failed["detail"]


def test_a_round_within_calendar_data_has_no_warning(p1: f.People) -> None:
    opened = _open(p1["province"], date(2025, 9, 1).isoformat())
    assert opened.json["warning"] is None


def _rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.json
    text = response.get_data(as_text=True).lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def test_notice_city_report_and_announcement_lists_keep_what_happened(
    ctx: EngineContext, clock: SimulatedClock, people: f.People, round_id: int
) -> None:
    ent, city, province = people["ent"], people["city"], people["province"]
    p1_round = round_id
    case = f.apply(ent, p1_round)
    not_drawn = lambda **kw: {"seed": kw["seed"], "selected": False, "rate": kw["rate"]}  # noqa: E731
    with registry.override("sampling.draw", not_drawn):
        city.complete("city_review", {"decision": "approve", "flag_for_spot_check": False}, case)
        clock.advance(timedelta(days=10))
        instances.fire_due(ctx)
        export = f"/api/v1/rounds/{p1_round}/exports"
        [reported] = _rows(city.get(f"{export}/city-report"))
        assert reported["市级抽查"] == "未抽中"
        city.complete("city_report", {"remarks": "同意推荐"}, case)
        province.complete("province_review", {"decision": "approve"}, case)
        clock.advance(timedelta(days=10))
        instances.fire_due(ctx)
    province.complete("province_announce", {"announcement_no": "赣工信企业字〔2025〕7号"}, case)
    assert ent.get(f"/api/v1/instances/{case}").json["outcome"] == "qualified"

    for level in ("city", "province"):  # both notices are over: still listed, with their dates
        [row] = _rows(city.get(f"{export}/notice-list", query_string={"level": level}))
        assert row["统一社会信用代码"] == f.uscc("360100", 1)
        assert row["公示状态"] == "公示期满：无成立的异议"
        assert row["公示开始"]
        assert row["公示截止"].endswith("24:00")
    [announced] = _rows(province.get(f"{export}/announcement-list"))
    assert announced["公告文号"] == "赣工信企业字〔2025〕7号"
