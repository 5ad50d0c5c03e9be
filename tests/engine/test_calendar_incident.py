"""Deadlines in a year without working-day data fail loudly: an incident naming the year."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from engine import incidents, registry
from engine.errors import ProcessingFailed
from tests import factories as f
from tests.fixtures import timer_support as ts

REGION = "360100"


def test_p1_notice_in_a_year_without_calendar_raises_an_incident_naming_it(
    ctx, clock, client
) -> None:  # type: ignore[no-untyped-def]
    f.deploy_processes(ctx)
    ent = f.user(
        ctx, client, role="enterprise", user_id="ent-1", uscc_code=f.uscc(REGION, 1), region=REGION
    )
    city = f.user(ctx, client, role="city", user_id="city-nc", region=REGION)
    province = f.user(ctx, client, role="province", user_id="prov")
    clock.set(datetime(2031, 3, 3, 1, 0, tzinfo=UTC))
    round_ = f.open_round(province, opens_on=date(2031, 3, 3), label="2031年第1批")
    instance_id = ent.post(
        "/api/v1/instances", json={"process_key": "innovative_evaluation", "round_id": round_["id"]}
    ).json["id"]
    ent.complete("self_evaluation", f.self_evaluation([ent.upload()["id"]]), instance_id)
    not_drawn = lambda **kw: {"seed": kw["seed"], "selected": False, "rate": kw["rate"]}  # noqa: E731
    with registry.override("sampling.draw", not_drawn):
        failed = city.complete("city_review", {"decision": "approve"}, instance_id, status=503)
    [incident] = incidents.list_incidents(ctx)
    assert failed["incident_id"] == incident.id
    assert (incident.command, incident.element_id) == ("complete_task", "city_notice_period")
    assert "无 2031 年工作日历数据" in incident.message
    assert city.task("city_review", instance_id)  # nothing of the command was kept


def test_timer_expression_in_a_year_without_calendar_raises_an_incident(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    ts.deploy_fixture(ctx, "timer_deadline")
    clock.set(datetime(2031, 3, 3, 1, 0, tzinfo=UTC))
    with pytest.raises(ProcessingFailed):
        ts.start(ctx, "timer_deadline")
    [incident] = incidents.list_incidents(ctx)
    assert incident.command == "start_instance"
    assert "2031" in incident.message


def test_timer_functions_count_working_days_and_find_the_next_date() -> None:
    functions = registry.script_functions()
    # 5 working days after Mon 29 Sep 2025: 30 Sep, (国庆 1–8 Oct), 9, 10, Sat 11 (调休), 13 Oct.
    assert functions["working_days_end"]("2025-09-29", 5) == "2025-10-14T00:00:00+08:00"
    assert (
        functions["working_days_end"]("2025-09-29T10:00:00+08:00", 1) == "2025-10-01T00:00:00+08:00"
    )
    assert functions["next_annual_date"]("2026-04-30", "04-30") == "2027-04-30T00:00:00+08:00"
    assert functions["next_annual_date"]("2026-01-15", "04-30") == "2026-04-30T00:00:00+08:00"
    assert functions["days_before"]("2025-09-09T00:00:00+08:00", 3) == "2025-09-06T00:00:00+08:00"
