"""Process owners in the browser: failed commands (incidents) retried or closed by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from engine import incidents, registry
from engine.errors import ProcessingFailed
from engine.store import HistoryEvent
from tests import factories as f
from tests.fixtures import timer_support as ts

pytestmark = pytest.mark.browser


def test_owner_retries_one_incident_and_closes_another_by_hand(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    ts.deploy_fixture(ctx, "timer_deadline")
    clock.set(datetime(2031, 3, 3, 1, 0, tzinfo=UTC))  # no working-day calendar for 2031
    for _ in range(2):
        with pytest.raises(ProcessingFailed):
            ts.start(ctx, "timer_deadline")
    first, second = incidents.list_incidents(ctx)

    tab = open_browser(people["owner"].token)
    page = tab.page
    page.goto("/ui/incidents")
    page.wait_for_selector("body[data-loaded]")
    rows = page.locator("#incidents tr[data-incident]")
    assert rows.count() == 2
    assert "无 2031 年工作日历数据" in rows.first.inner_text()
    assert "发起案件" in rows.first.inner_text()
    page.wait_for_selector("#calendar-warning")  # the cause, announced on the same page
    assert "2031 年工作日历数据缺失" in page.inner_text("#calendar-warning")
    tab.shot("incidents-open")

    clock.set(datetime(2025, 9, 1, 1, 0, tzinfo=UTC))  # the cause is gone: a retry succeeds
    page.click(f"tr[data-incident='{first.id}'] button.retry")
    page.wait_for_selector("#notice.ok >> text=重试成功")
    page.wait_for_selector(f"tr[data-incident='{first.id}']", state="detached")

    page.once("dialog", lambda dialog: dialog.accept("已线下通知企业"))
    page.click(f"tr[data-incident='{second.id}'] button.resolve")
    page.wait_for_selector("#notice.ok >> text=异常已手工关闭")
    page.wait_for_selector("#incidents >> text=没有符合条件的异常。")
    page.select_option("select[name=status]", "all")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#incidents tr[data-status=resolved] >> nth=1")
    assert [i.status for i in incidents.list_incidents(ctx, status=None)] == ["resolved"] * 2
    notes = [e.data for e in incidents_history(ctx) if e.data.get("by") == "hand"]
    assert notes[0]["note"] == "已线下通知企业"

    auditor = open_browser(people["auditor"].token).page  # reads, never acts
    auditor.goto("/ui/incidents")
    auditor.select_option("select[name=status]", "all")
    auditor.click("#filters button[type=submit]")
    auditor.wait_for_selector("#incidents tr[data-incident] >> nth=1")
    assert auditor.locator("#incidents button").count() == 0


def incidents_history(ctx):  # type: ignore[no-untyped-def]
    with ctx.reading() as session:
        return list(
            session.scalars(select(HistoryEvent).where(HistoryEvent.kind == "incident.resolved"))
        )


def test_owner_uploads_a_missing_year_and_the_failed_command_then_runs(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser, tmp_path
) -> None:
    ts.deploy_fixture(ctx, "timer_deadline")
    clock.set(datetime(2031, 3, 3, 1, 0, tzinfo=UTC))  # no working-day calendar for 2031
    with pytest.raises(ProcessingFailed):
        ts.start(ctx, "timer_deadline")
    [failed] = incidents.list_incidents(ctx)
    tab = open_browser(people["owner"].token)
    page = tab.page
    page.goto("/ui/incidents")
    page.wait_for_selector("#calendar-warning")

    bad = tmp_path / "2031.json"
    bad.write_text(
        json.dumps({"holidays": {"2031-01-01": "元旦"}, "workdays": {"2031-03-04": "调休"}}),
        encoding="utf-8",
    )  # a Tuesday
    page.fill("#cal-year", "2031")
    page.set_input_files("#cal-file", str(bad))
    page.click("#calendar-form button[type=submit]")
    page.wait_for_selector("#calendar-errors li")
    assert "workdays['2031-03-04'] 是周一至周五" in page.inner_text("#calendar-errors")

    good = tmp_path / "2031-fixed.json"
    good.write_text(
        json.dumps({"source": "国办发明电〔2030〕7号", "holidays": {"2031-01-01": "元旦"}}),
        encoding="utf-8",
    )
    page.fill("#cal-year", "2031")
    page.set_input_files("#cal-file", str(good))
    page.click("#calendar-form button[type=submit]")
    page.wait_for_selector("#notice.ok >> text=2031 年工作日历已上传")
    page.wait_for_selector("#calendar-status .status.ok")  # no warning any more
    assert "上传（owner" in page.inner_text("#calendar-status")
    tab.shot("incidents-calendar-uploaded")

    page.click(f"tr[data-incident='{failed.id}'] button.retry")  # the same day, now computable
    page.wait_for_selector("#notice.ok >> text=重试成功")


def draw_unavailable(**_: Any) -> dict[str, Any]:
    raise RuntimeError("sampling service unavailable")


def test_the_case_of_an_incident_is_a_link_only_for_those_who_may_read_it(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    round_id = f.open_round(people["province"], opens_on=date(2025, 9, 1))["id"]
    case = f.apply(people["ent"], round_id)
    with registry.override("sampling.draw", draw_unavailable):
        people["city"].complete("city_review", {"decision": "approve"}, case, status=500)
    [incident] = incidents.list_incidents(ctx)
    assert incident.instance_id == case
    row = f"tr[data-incident='{incident.id}']"

    owner = open_browser(people["owner"].token).page  # may not read cases: no link to a 404
    owner.goto("/ui/incidents")
    owner.wait_for_selector(row)
    assert owner.locator(f"{row} a").count() == 0
    assert owner.inner_text(f"{row} code.case") == case[:8]
    assert case in owner.get_attribute(f"{row} code.case", "title")
    assert owner.locator(f"{row} button.retry").is_visible()  # still handled here

    for reader in (people["province"], people["auditor"]):
        page = open_browser(reader.token).page
        page.goto("/ui/incidents")
        page.click(f"{row} a >> text={case[:8]}")
        page.wait_for_selector("#canvas[data-current]")
        assert case in page.inner_text("#case-meta")
