"""Staff in the browser: inbox (overdue first), a generated form, 422 by field, complete."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine import instances
from tests import factories as f
from tests.browser.conftest import REGION, fill_self_evaluation

pytestmark = pytest.mark.browser


def apply(people: dict[str, f.Api]) -> str:
    round_ = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    started = people["ent"].post(
        "/api/v1/instances", json={"process_key": "innovative_evaluation", "round_id": round_["id"]}
    )
    assert started.status_code == 201, started.json
    return started.json["id"]


def test_enterprise_fills_its_self_evaluation_with_an_evidence_upload(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser, tmp_path
) -> None:
    instance_id = apply(people)
    clock.advance(timedelta(days=31))  # past the round's window: the task is overdue
    tab = open_browser(people["ent"].token)
    page = tab.page
    page.goto("/ui/inbox")
    row = page.locator("tr[data-bpmn=self_evaluation]")
    row.wait_for()
    assert "overdue" in row.get_attribute("class")
    assert "已逾期" in row.inner_text()
    tab.shot("inbox-enterprise-overdue")
    clock.advance(timedelta(days=-31))

    row.locator("a").click()
    page.wait_for_selector("#form-fields [data-field=industry] select")
    assert "创新型中小企业评价（第 1 版）" in page.inner_text("#task-meta")  # the name, not the key
    page.click("#complete")  # empty form: every required field is named
    page.wait_for_selector("[data-field=industry].invalid")
    assert page.inner_text("[data-error-for=employees]") == "必填"
    assert page.inner_text("[data-error-for=evidence]") == "至少需要 1 项"

    fill_self_evaluation(page, f.self_evaluation([]))
    wrong = tmp_path / "说明.txt"  # not a type evidence may have: said next to the field
    wrong.write_bytes("说明".encode())
    page.set_input_files("#f-evidence", str(wrong))
    page.wait_for_selector("[data-field=evidence] .status >> text=上传失败")
    assert "PDF（.pdf）" in page.inner_text("[data-field=evidence] .status")
    evidence = tmp_path / "审计报告.pdf"
    evidence.write_bytes(b"%PDF-1.4 2024 audit report")
    page.set_input_files("#f-evidence", str(evidence))
    page.wait_for_selector("[data-field=evidence] li code")
    assert "审计报告.pdf" in page.inner_text("[data-field=evidence] .files")
    tab.shot("task-self-evaluation")
    # a click right after a full-page shot of this tall form can miss in headless Chromium
    page.focus("#complete")
    page.keyboard.press("Enter")
    page.wait_for_selector("#notice.ok >> text=任务已完成")
    detail = people["province"].get(f"/api/v1/instances/{instance_id}").json
    assert [t["bpmn_id"] for t in detail["open_tasks"]] == ["city_review"]


def test_city_completes_its_review_from_the_inbox(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    instance_id = apply(people)
    evidence = people["ent"].upload()["id"]
    people["ent"].complete("self_evaluation", f.self_evaluation([evidence]), instance_id)
    tab = open_browser(people["city"].token)
    page = tab.page
    page.goto("/ui/inbox")
    page.click("tr[data-bpmn=city_review] a")
    page.wait_for_selector("#form-fields [data-field=decision] select")
    page.click("#claim")
    page.wait_for_selector("#unclaim:not([hidden])")
    assert "city-360100" in page.inner_text("#task-meta")
    assert page.inner_text("#instructions").startswith("请审核企业自评表、自动核验结果")
    assert "南昌市（360100）" in page.inner_text("#task-meta")  # regions by name, code kept

    page.select_option("#f-decision", '"reject"')  # 不予通过 needs a reason: 422 names the field
    page.click("#complete")
    page.wait_for_selector("[data-field=reason].invalid")
    assert page.inner_text("[data-error-for=reason]")
    assert "表单数据校验失败" in page.inner_text("#form-error")
    tab.shot("task-city-review-422")

    page.select_option("#f-decision", '"approve"')
    page.click("#complete")
    page.wait_for_selector("#notice.ok >> text=任务已完成")
    tab.shot("task-city-review-done")
    history = people["province"].get(f"/api/v1/instances/{instance_id}/history").json
    done = [e for e in history if e["kind"] == "task.completed" and e["bpmn_id"] == "city_review"]
    assert done[0]["actor"] == "city-360100"
    assert done[0]["data"]["submitted"]["decision"] == "approve"


def test_inbox_names_the_enterprise_and_who_completed_a_task(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    instance_id = apply(people)
    people["ent"].complete(
        "self_evaluation", f.self_evaluation([people["ent"].upload()["id"]]), instance_id
    )
    city = open_browser(people["city"].token).page
    city.goto("/ui/inbox")
    row = city.locator("tr[data-bpmn=city_review]")
    row.wait_for()
    named = f"洪城精密机械有限公司（{f.uscc(REGION, 1)}）"
    assert row.locator("td.enterprise").inner_text() == named
    assert row.locator("td.handler").inner_text() == "未认领"
    assert "企业名称（统一社会信用代码）" in city.inner_text("#tasks thead")

    tab = open_browser(people["ent"].token)
    page = tab.page
    page.goto("/ui/inbox")
    page.wait_for_selector("body[data-loaded]")
    page.select_option("#filters select[name=state]", "completed")
    page.click("#filters button[type=submit]")
    done = page.locator("tr[data-bpmn=self_evaluation]")
    done.wait_for()
    assert done.locator("td.handler").inner_text() == "ent-1"  # completed without a claim
    assert "办理人" in page.inner_text("#tasks thead")
    tab.shot("inbox-enterprise-completed")
    done.locator("a").click()
    page.wait_for_selector("#task-meta dt >> text=办理人")
    assert "ent-1" in page.inner_text("#task-meta")
    assert named in page.inner_text("#task-meta")


def test_enterprise_applies_in_an_open_round_and_reports_a_change_from_its_inbox(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    f.open_round(people["province"], opens_on=date(2025, 9, 1))
    f.open_round(people["province"], opens_on=date(2025, 10, 1), label="尚未开放的批次")
    tab = open_browser(people["ent"].token)
    page = tab.page
    page.goto("/ui/inbox")
    rounds = page.locator("#apply-rounds tr[data-round]")
    rounds.first.wait_for()
    assert rounds.count() == 1  # only the round whose window is open
    assert "2025年下半年创新型中小企业评价" in rounds.inner_text()
    assert "2025/9/30 24:00" in rounds.inner_text()  # the window's last day, to its end
    assert page.inner_text("#my-cases-list") == "尚无案件。"
    nexts = page.inner_text("#next-rounds")  # procedures with no open round: when they open
    assert "2026年度专精特新“小巨人”企业推荐（2026-04-01 起，2026-04-30 24:00 截止）" in nexts
    assert "创新型" not in nexts  # its round is open now
    tab.shot("inbox-enterprise-apply")

    rounds.locator("button").click()  # apply: straight to the first task, the self-evaluation
    page.wait_for_selector("#form-fields [data-field=industry] select")
    assert "/ui/tasks/" in page.url

    page.goto("/ui/inbox")
    page.wait_for_selector("#apply-rounds tr[data-round] >> text=已申报：进行中")
    assert page.locator("#apply-rounds button").count() == 0  # one application per round
    assert page.locator("#tasks tr[data-bpmn=self_evaluation]").count() == 1
    cases = page.locator("#my-cases-list tr[data-instance]")
    assert cases.count() == 1
    assert "进行中" in cases.inner_text()
    assert cases.locator("td.stage").inner_text().startswith("企业自评（")  # and its deadline

    page.click("[data-start=major_change]")  # 第十一条 binds enterprises holding a qualification
    page.wait_for_selector("#notice.error >> text=资格有效期内")
    assert "重大变化报告" in page.inner_text("#notice")
    f.issue_qualification(
        ctx, uscc_code=people["ent"].get("/ui/session").json["uscc"], tier="innovative"
    )
    page.reload()
    page.wait_for_selector("[data-start=major_change]")
    page.click("[data-start=major_change]")  # a report needs no round
    page.wait_for_url("**/ui/tasks/*")
    page.wait_for_selector("#form-fields")
    regions = page.locator("#f-to_region option").all_inner_texts()  # by name, not a code
    assert (len(regions), regions[7], regions[-1]) == (14, "赣州市", "迁出江西省")  # 请选择, 13
    page.select_option("#f-to_region", label="赣州市")
    assert page.input_value("#f-to_region") == '"360700"'  # the stored value is the code
    started = people["ent"].get("/api/v1/instances").json["items"]
    assert sorted(c["process_key"] for c in started) == [
        "innovative_evaluation",
        "major_change",
        "qualification_lifecycle",
    ]


def test_a_round_needing_a_qualification_the_enterprise_lacks_is_offered_disabled(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    # 第八条: 小巨人 is recommended from among valid 专精特新 SMEs (applying would be a 409)
    f.open_round(people["province"], opens_on=date(2025, 9, 1))
    giant = f.open_round_of(
        people["province"], "little_giant_recommendation", opens_on=date(2025, 9, 1)
    )
    page = open_browser(people["ent"].token).page
    page.goto("/ui/inbox")
    page.wait_for_selector("body[data-loaded]")
    row = page.locator(f"#apply-rounds tr[data-round='{giant['id']}']")
    assert row.locator("button").is_disabled()
    assert "需先持有有效的专精特新中小企业资格" in row.inner_text()
    assert row.locator("[data-missing=specialized]").count() == 1
    others = page.locator(f"#apply-rounds tr[data-round]:not([data-round='{giant['id']}'])")
    assert others.locator("button").is_enabled()  # P1 needs no qualification
    f.grant_qualification(ctx, uscc_code=f.uscc(REGION, 1), tier="specialized", region=REGION)
    page.reload()
    page.wait_for_selector("body[data-loaded]")
    assert row.locator("button").is_enabled()
    assert "需先持有" not in row.inner_text()


def test_a_reminder_before_a_deadline_shows_in_the_inbox_until_read(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    instance_id = apply(people)
    people["ent"].complete(
        "self_evaluation", f.self_evaluation([people["ent"].upload()["id"]]), instance_id
    )
    people["city"].complete(
        "city_review",
        {"decision": "return", "reason": "研发费用佐证不全", "correction_days": 7},
        instance_id,
    )
    clock.advance(timedelta(days=5))  # the reminder is due 3 days before the correction deadline
    instances.fire_due(ctx)
    tab = open_browser(people["ent"].token)
    page = tab.page
    page.goto("/ui/inbox")
    note = page.locator("#notes-list tr[data-note]")
    note.wait_for()
    assert "补正材料即将逾期" in note.inner_text()
    assert page.inner_text("#notes-count") == "1 条未读"
    assert "2025/9/8 24:00" in note.inner_text()  # as the reminder's text words the deadline
    assert "2025/9/8 24:00" in page.inner_text("#tasks tr[data-bpmn=correct_application]")
    assert "创新型中小企业评价" in page.inner_text("#tasks tr[data-bpmn=correct_application]")
    tab.shot("inbox-reminder")
    note.locator("button").click()
    page.wait_for_selector("#notes", state="hidden")
    assert (
        people["ent"].get("/api/v1/notifications", query_string={"unread": True}).json["total"] == 0
    )
    city = open_browser(people["city"].token).page  # addressed to the enterprise only
    city.goto("/ui/inbox")
    city.wait_for_selector("body[data-loaded]")
    assert city.locator("#notes").is_hidden()


def test_an_enterprise_sees_its_qualifications_and_their_validity(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    mine = f.uscc(REGION, 1)
    f.grant_qualification(ctx, uscc_code=mine, tier="innovative", region=REGION)
    f.grant_qualification(
        ctx,
        uscc_code=mine,
        tier="specialized",
        region=REGION,
        issued_on=date(2024, 9, 1),
        status="renewal_ineligible",
    )
    f.grant_qualification(ctx, uscc_code=f.uscc(REGION, 2), tier="innovative", region=REGION)
    page = open_browser(people["ent"].token).page
    page.goto("/ui/inbox")
    page.wait_for_selector("body[data-loaded]")
    rows = page.locator("#my-qualifications-list tr[data-qualification]")
    assert rows.count() == 2  # its own only
    text = page.inner_text("#my-qualifications-list")
    assert "创新型中小企业" in text
    assert "2027-01-10" in text
    assert "有效（已取消复核资格）" in text
    city = open_browser(people["city"].token).page
    city.goto("/ui/inbox")
    city.wait_for_selector("body[data-loaded]")
    assert city.locator("#my-qualifications").is_hidden()
