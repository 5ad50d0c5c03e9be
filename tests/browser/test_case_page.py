"""The case page (/ui/audit/cases/<id>) for each role: who may check the hash chains, where the
case waits in words people read, and the score breakdown with Chinese headings."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import factories as f
from tests.browser.conftest import REGION

pytestmark = pytest.mark.browser

CHINA = ZoneInfo("Asia/Shanghai")


def open_case(open_browser, user: f.Api, instance_id: str):  # type: ignore[no-untyped-def]
    """A tab of `user` on the case page, once its diagram is coloured."""
    tab = open_browser(user.token)
    tab.page.goto(f"/ui/audit/cases/{instance_id}")
    tab.page.wait_for_selector("#canvas[data-current]")
    return tab


def deadline(value: str) -> str:
    """A deadline as the page words it: 00:00 in China is the previous day's 24:00."""
    at = datetime.fromisoformat(value).astimezone(CHINA)
    if at.time() == time(0):
        day = at - timedelta(days=1)
        return f"{day.year}/{day.month}/{day.day} 24:00"
    return f"{at.year}/{at.month}/{at.day} {at:%H:%M:%S}"


def in_notice(people: dict[str, f.Api], round_id: int | None = None, who: str = "ent") -> str:
    """An innovative-SME application approved by the city and now in its 市级公示."""
    if round_id is None:
        round_id = f.open_round(people["province"], opens_on=date(2025, 9, 1))["id"]
    case = f.apply(people[who], round_id)
    city = people["city"]
    city.complete("city_review", {"decision": "approve", "flag_for_spot_check": False}, case)
    f.pass_spot_check_if_drawn(city, "city_spot_check", case)
    return case


def test_only_auditors_and_the_province_are_offered_the_hash_chain_check(  # type: ignore[no-untyped-def]
    ctx, client, people, open_browser
) -> None:
    round_id = f.open_round(people["province"], opens_on=date(2025, 9, 1))["id"]
    case = f.apply(people["ent"], round_id)
    miit = f.user(ctx, client, role="miit", user_id="miit")
    little_giant = f.issue_qualification(  # a case MIIT reads
        ctx, uscc_code=f.uscc(REGION, 2), tier="little_giant", region=REGION
    ).lifecycle_instance_id
    for user, shown in ((people["ent"], case), (people["city"], case), (miit, little_giant)):
        page = open_case(open_browser, user, shown).page  # the API answers them 403
        assert page.locator("#verify").is_hidden(), user.user_id
        assert page.locator("#export-json").is_visible()
    city = open_browser(people["city"].token).page  # the search page hides it too
    city.goto("/ui/audit")
    city.wait_for_selector("body[data-loaded]")
    assert city.locator("#verify").is_hidden()

    page = open_case(open_browser, people["province"], case).page
    assert page.locator("#verify").is_visible()
    page.click("#verify")
    page.wait_for_selector("#status.ok >> text=所有哈希链校验通过")

    problem = {"title": "服务暂不可用", "status": 503}
    page.route(
        "**/api/v1/audit/verify",
        lambda route: route.fulfill(
            status=503, content_type="application/problem+json", body=json.dumps(problem)
        ),
    )
    page.click("#verify")  # a failure replaces 正在校验… (and the earlier result)
    page.wait_for_selector("#status.error >> text=校验失败")
    assert "服务暂不可用" in page.inner_text("#status")
    assert "正在校验" not in page.inner_text("#status")


def test_waits_are_named_in_chinese_with_their_deadlines(  # type: ignore[no-untyped-def]
    ctx, client, people, open_browser
) -> None:
    round_id = f.open_round(people["province"], opens_on=date(2025, 8, 31))["id"]  # 9-01: in_notice
    started = f.start(people["ent"], round_id)["id"]  # waits for the self-evaluation
    task = people["ent"].task("self_evaluation", started)
    assert task["due_at"]
    page = open_case(open_browser, people["auditor"], started).page
    assert f"截止 {deadline(task['due_at'])}" in page.inner_text("#waiting")

    people["ent2"] = f.enterprise(ctx, client, 2, region=REGION, name="赣江光电科技有限公司")
    case = in_notice(people, round_id, "ent2")  # one round: their windows may not overlap
    position = people["auditor"].get(f"/api/v1/instances/{case}/position").json
    [timer] = position["timers"]
    assert timer["due_at"].endswith("+08:00")  # ISO in China time, as everywhere else
    assert {m["name"] for m in position["messages"]} == {"objection"}
    tab = open_case(open_browser, people["auditor"], case)
    waiting = tab.page.inner_text("#waiting")
    assert f"市级公示中，{deadline(timer['due_at'])} 到期" in waiting
    assert "可接收消息：异议（市级公示中）" in waiting
    for raw in ("city_notice_wait", "objection"):
        assert raw not in waiting
    tab.shot("case-waiting")


def test_score_breakdown_has_chinese_headings_and_group_names(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    round_id = f.open_round(people["province"], opens_on=date(2025, 9, 1))["id"]
    case = f.apply(people["ent"], round_id)
    tab = open_case(open_browser, people["auditor"], case)
    scored = tab.page.locator("#decisions details[data-bpmn=score_innovative]")
    assert "创新型评价打分" in scored.locator("summary").inner_text()
    table = scored.locator("table.indicators")
    headers = table.locator("thead th").all_inner_texts()
    assert headers == ["指标编号", "指标", "类别", "填报值", "得分档", "得分", "规则"]
    groups = set(table.locator("tbody td.group").all_inner_texts())
    assert groups == {"创新能力", "成长性", "专业化"}
    assert not {"innovation", "growth", "specialization"} & set(
        table.locator("tbody td").all_inner_texts()
    )
    scored.scroll_into_view_if_needed()
    tab.shot("case-score-breakdown")


def test_history_names_actors_events_and_messages_in_chinese(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    from engine import users

    users.ensure_user(
        ctx,
        user_id="city-360100",
        display_name="南昌市工业和信息化局",
        role="city",
        region="360100",
    )
    case = in_notice(people)
    registered = people["city"].post(
        f"/api/v1/instances/{case}/objections",
        json={"submitted_by": "张三 13800000000", "content": "研发人员数量不实"},
    )
    assert registered.status_code < 300, registered.json
    tab = open_case(open_browser, people["auditor"], case)
    page = tab.page
    page.wait_for_selector("#events tr[data-kind='message.received']")
    events = page.inner_text("#events")
    assert "南昌市工业和信息化局（city-360100）" in events
    assert "系统（流程引擎）（engine）" not in events
    assert "系统（流程引擎）" in events
    received = page.inner_text("#events tr[data-kind='message.received']")
    assert "收到消息" in received
    assert "消息：异议" in received
    for raw in ("null", "undefined", "message.received", "objection（"):
        assert raw not in events, raw
    tab.shot("case-history-actors")

    page.goto("/ui/audit")  # 操作记录: every kind in the filter, actors by name
    page.wait_for_selector("body[data-loaded]")
    options = page.eval_on_selector_all("#f-kind option", "os => os.map((o) => o.value)")
    for kind in (
        "ban.recorded",
        "message.sent",
        "region.reassigned",
        "calendar.changed",
        "round.opened",
        "miit_list.imported",
        "legacy.imported",
    ):
        assert kind in options, kind
    page.select_option("#f-kind", "message.received")
    page.click("#event-filters button[type=submit]")
    row = page.locator("#event-list tr[data-kind='message.received']")
    row.first.wait_for()
    assert "收到消息" in row.first.inner_text()
    assert "南昌市工业和信息化局（city-360100）" in row.first.inner_text()
