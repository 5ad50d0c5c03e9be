"""A P1 round through the pages, as a reviewer found it: a correction opens with the application
it corrects, a completed task shows what was submitted, 我的案件 gives the reason of a refusal,
the inbox's 截止早于 D finds a task due at D 24:00, people and steps by name, only the lists and
searches a user may use."""

from __future__ import annotations

from datetime import date

import pytest

from engine import users
from tests import factories as f
from tests.api.test_pages_review_g import prefilled_p1, returned_for_correction
from tests.browser.conftest import REGION, fill_self_evaluation

pytestmark = pytest.mark.browser


@pytest.fixture
def p1(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    """The P1 cast with P1 alone deployed."""
    return f.p1_cast(ctx, client, files=f.process_files())


@pytest.fixture
def p1_round(p1: f.People) -> int:
    return f.open_round(p1["province"], opens_on=date(2025, 9, 1))["id"]


@pytest.fixture
def cast(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    """The P1 cast (P1 alone, its correction marked prefill)."""
    return prefilled_p1(ctx, client)


def test_a_correction_opens_with_the_application_and_its_evidence(  # type: ignore[no-untyped-def]
    cast, open_browser
) -> None:
    round_ = f.open_round(cast["province"], opens_on=date(2025, 9, 1))
    instance_id, submitted = returned_for_correction(cast, round_["id"])
    task = cast["ent"].task("correct_application", instance_id)
    tab = open_browser(cast["ent"].token)
    page = tab.page
    page.goto(f"/ui/tasks/{task['id']}")
    page.wait_for_selector("#complete:not([hidden])")
    assert page.input_value("#f-employees") == "120"
    assert page.input_value("#f-equity_financing_3y") == "0"
    assert page.input_value("#f-revenue_y1") == "8000"
    assert page.is_checked("#f-independent_legal_person")
    assert page.input_value("#f-industry") == '"industry"'
    (evidence,) = submitted["evidence"]
    item = page.locator(f"[data-field=evidence] li[data-file='{evidence}']")
    assert "审计报告.pdf" in item.inner_text()
    assert item.locator("button", has_text="移除").count() == 1
    tab.shot("review-g-correction-prefilled")

    page.fill("#f-rd_expense_y1", "500")
    page.click("#complete")
    page.wait_for_selector("#notice.ok")
    assert "任务已完成" in page.inner_text("#notice")
    page.wait_for_selector("#complete", state="hidden")  # the page reloads the completed task
    assert "不在办理中" not in page.inner_text("#status")
    assert page.locator("#status.error").count() == 0
    assert page.input_value("#f-rd_expense_y1") == "500"  # now shows what was submitted
    case = cast["auditor"].get(f"/api/v1/instances/{instance_id}/history").json
    corrected = [e for e in case if e["kind"] == "task.completed"][-1]["data"]["submitted"]
    assert corrected["evidence"] == [evidence]
    assert corrected["employees"] == 120


def test_a_completed_self_evaluation_shows_what_was_submitted(  # type: ignore[no-untyped-def]
    p1, p1_round, open_browser
) -> None:
    instance_id, _ = returned_for_correction(p1, p1_round)
    history = p1["auditor"].get(f"/api/v1/instances/{instance_id}/history").json
    first = next(e for e in history if e["kind"] == "task.completed")
    tab = open_browser(p1["ent"].token)
    page = tab.page
    page.goto(f"/ui/tasks/{first['task_id']}")
    page.wait_for_selector("#form-fields [data-field=employees]")
    assert page.input_value("#f-employees") == "120"
    assert page.input_value("#f-equity_financing_3y") == "0"
    assert page.is_disabled("#f-employees")
    assert "审计报告.pdf" in page.inner_text("[data-field=evidence]")
    assert page.locator("[data-field=evidence] button").count() == 0
    assert page.locator("#complete").is_hidden()
    assert page.locator("#status.error").count() == 0


def test_an_unknown_task_offers_no_submit_button(p1, open_browser) -> None:  # type: ignore[no-untyped-def]
    tab = open_browser(p1["ent"].token)
    page = tab.page
    page.goto("/ui/tasks/00000000-0000-0000-0000-000000000000")
    page.wait_for_selector("#notice:not([hidden])")
    assert page.locator("#complete").is_hidden()


def test_a_task_data_table_shows_a_zero_figure(  # type: ignore[no-untyped-def]
    p1, p1_round, open_browser
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    task = p1["city"].task("city_review", instance_id)
    tab = open_browser(p1["city"].token)
    page = tab.page
    page.goto(f"/ui/tasks/{task['id']}")
    row = page.locator("#case-figures tr[data-name=equity_financing_3y] td")
    row.wait_for()
    assert row.inner_text().startswith("0")


def test_my_cases_give_the_reason_of_a_refusal_and_link_the_case(  # type: ignore[no-untyped-def]
    p1, p1_round, open_browser
) -> None:
    instance_id = f.apply(p1["ent"], p1_round)
    p1["city"].complete(
        "city_review", {"decision": "reject", "reason": "主营业务不符"}, instance_id
    )
    tab = open_browser(p1["ent"].token)
    page = tab.page
    page.goto("/ui/inbox")
    page.wait_for_selector("body[data-loaded]")
    row = page.locator(f"#my-cases-list tr[data-instance='{instance_id}']")
    assert "市级初审不予通过。理由：主营业务不符" in row.locator(".outcome-note").inner_text()
    assert row.locator(f"a[href='/ui/audit/cases/{instance_id}']").count() == 1
    tab.shot("review-g-my-cases-reason")


def test_the_inbox_finds_a_task_due_at_the_days_end_and_names_its_holder(  # type: ignore[no-untyped-def]
    ctx, p1, p1_round, open_browser
) -> None:
    users.ensure_user(ctx, user_id="city-nc", display_name="王芳", role="city", region=REGION)
    instance_id = f.apply(p1["ent"], p1_round)
    task = p1["city"].task("city_review", instance_id)
    p1["city"].post(f"/api/v1/tasks/{task['id']}/claim")
    started = f.start(p1["ent2"], p1_round)["id"]
    (own,) = [t for t in p1["ent2"].inbox() if t["instance_id"] == started]
    assert own["due_at"] == "2025-10-01T00:00:00+08:00"  # 2025/9/30 24:00

    tab = open_browser(p1["ent2"].token)
    page = tab.page
    page.goto("/ui/inbox")
    page.wait_for_selector("body[data-loaded]")
    for day, found in [("2025-09-30", 1), ("2025-09-29", 0)]:
        page.fill("#filters input[name=due_before]", day)
        page.click("#filters button[type=submit]")
        if found:
            page.wait_for_selector(f"#tasks tr[data-task='{own['id']}']")
        else:
            page.wait_for_selector("#tasks >> text=没有符合条件的任务")
    city = open_browser(p1["city"].token).page
    city.goto("/ui/inbox")
    cell = city.locator(f"#tasks tr[data-task='{task['id']}'] .handler")
    cell.wait_for()
    assert cell.inner_text() == "王芳"


def test_the_miit_list_export_shows_only_on_little_giant_rounds(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    p1_round = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    giant = f.open_round_of(
        people["province"], "little_giant_recommendation", opens_on=date(2025, 9, 1)
    )
    page = open_browser(people["province"].token).page
    page.goto(f"/ui/rounds?round={p1_round['id']}")
    page.wait_for_selector("[data-export=city-report]")
    assert page.locator("[data-export=recommendation-list]").count() == 0
    page.goto(f"/ui/rounds?round={giant['id']}")
    page.wait_for_selector("[data-export=recommendation-list]")


@pytest.mark.parametrize("who", ["ent", "city"])
def test_the_history_search_is_offered_only_to_those_who_may_use_it(  # type: ignore[no-untyped-def]
    p1, open_browser, who: str
) -> None:
    page = open_browser(p1[who].token).page
    page.goto("/ui/audit")
    page.wait_for_selector("body[data-loaded]")
    assert page.locator("#events-search").is_hidden()


def test_the_history_search_names_the_step(p1, p1_round, open_browser) -> None:  # type: ignore[no-untyped-def]
    f.apply(p1["ent"], p1_round)
    page = open_browser(p1["auditor"].token).page
    page.goto("/ui/audit")
    page.wait_for_selector("#events-search:not([hidden])")
    page.select_option("#f-kind", "task.completed")
    page.click("#event-filters button[type=submit]")
    row = page.locator("#event-list tr[data-kind='task.completed']").first
    row.wait_for()
    assert "企业自评" in row.inner_text()
    assert "self_evaluation" not in row.locator("td").nth(4).inner_text()


def test_self_check_shows_no_maintenance_note_and_a_zero_base_growth(  # type: ignore[no-untyped-def]
    people, open_browser
) -> None:
    page = open_browser(people["ent"].token).page
    page.goto("/ui/self-check")
    page.wait_for_selector("body[data-loaded]")
    fill_self_evaluation(page, f.self_evaluation([], main_revenue_y2=0))
    page.click("#check")
    page.wait_for_selector("#result:not([hidden])")
    basis = page.inner_text("#basis")
    assert "63号" in basis
    assert "无须改程序" not in page.inner_text("#result")
    growth = page.inner_text("#result tr[data-indicator='INN-3']")
    assert "未填" not in growth
    assert "前年度主营业务收入 0万元" in growth


def test_the_correction_page_shows_why_it_was_returned_and_by_whom(  # type: ignore[no-untyped-def]
    cast, open_browser
) -> None:
    # 办理记录: the earlier steps with their conclusions, e.g. the city's 退回补正 and its reason
    round_ = f.open_round(cast["province"], opens_on=date(2025, 9, 1))
    instance_id, _ = returned_for_correction(cast, round_["id"])
    task = cast["ent"].task("correct_application", instance_id)
    page = open_browser(cast["ent"].token).page
    page.goto(f"/ui/tasks/{task['id']}")
    page.wait_for_selector("#case-steps li[data-step=city_review]")
    assert page.is_visible("#case-steps-title")
    said = page.inner_text("#case-steps li[data-step=city_review] summary")
    assert said.startswith("市级初审（")
    assert "退回补正" in said
    assert "研发费用佐证不全" in said
    assert "return" not in said  # the choice's title, not its value
