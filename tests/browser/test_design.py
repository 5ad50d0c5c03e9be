"""Process owners in the browser: open a version in bpmn-js, edit, validate, deploy, compare."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from engine import definitions
from engine.context import Actor
from engine.store import Definition, Instance
from tests import factories as f
from tests.browser.conftest import REGION

pytestmark = pytest.mark.browser
KEY = "innovative_evaluation"


def test_owner_signs_in_as_demo_user_and_deploys_an_edited_diagram(  # type: ignore[no-untyped-def]
    ctx, app, people, open_browser
) -> None:
    with open(app.config["TIDU_DEMO_TOKENS"], "w") as out:
        json.dump({"owner": people["owner"].token}, out)
    tab = open_browser()
    page = tab.page
    page.goto("/ui/")
    page.click("#demo-users button[data-user=owner]")
    page.wait_for_url("**/ui/design")
    page.wait_for_selector("section[data-key=innovative_evaluation] tr[data-version='1']")
    row = "section[data-key=innovative_evaluation] tr[data-version='1']"
    assert page.inner_text(f"{row} td.running") == "0"
    tab.shot("design-definitions")

    page.click(f"{row} a.button")
    page.wait_for_selector("#bpmn-canvas g[data-element-id=city_review]")
    page.dblclick("#bpmn-canvas g[data-element-id=city_review]")
    page.keyboard.press("Control+A")
    page.keyboard.type("市级初审（修订）")
    page.click("#bpmn-canvas", position={"x": 5, "y": 5})
    bpmn_tab = "#file-tabs button[data-file='innovative_evaluation.bpmn']"
    assert "dirty" in page.get_attribute(bpmn_tab, "class")
    tab.shot("design-modeler-edited")
    page.click("#deploy")
    page.wait_for_selector("#status.ok, #status.error")
    assert page.inner_text("#status") == "已部署为第 2 版", page.inner_text("#problems")
    # the bpmn.io watermark stays visible (bpmn-js licence)
    assert page.is_visible("#bpmn-canvas .bjs-powered-by")

    with ctx.transaction() as session:
        v2 = session.scalars(
            select(Definition).where(Definition.process_key == KEY, Definition.version == 2)
        ).one()
        assert "市级初审（修订）" in v2.files["innovative_evaluation.bpmn"]
        v1 = session.scalars(
            select(Definition).where(Definition.process_key == KEY, Definition.version == 1)
        ).one()
        assert sorted(v2.files) == sorted(v1.files)

    page.click("#notice a >> text=与第 1 版比较")
    page.wait_for_selector("#diff tr[data-element=city_review]")
    assert "市级初审（修订）" in page.inner_text("#diff tr[data-element=city_review]")
    assert "修改 1 个" in page.inner_text("#summary"), page.inner_text("#diff")
    assert page.locator("#canvas-b g[data-element-id=city_review].tidu-changed").count() >= 1
    tab.shot("design-compare")


def test_validation_error_is_marked_on_the_element_it_names(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    tab = open_browser(people["owner"].token)
    page = tab.page
    page.goto("/ui/design/innovative_evaluation/1")
    page.wait_for_selector("#bpmn-canvas g[data-element-id=city_review_decision]")
    # draw a second, condition-less flow out of the 初审结论 gateway (as with the context pad)
    flow_id = page.evaluate("""() => {
        const registry = window.tidu.modeler.get('elementRegistry');
        const flow = window.tidu.modeler.get('modeling').connect(
            registry.get('city_review_decision'), registry.get('city_report'));
        return flow.id;
    }""")
    page.click("#validate")
    page.wait_for_selector("#status.error")
    problem = page.locator(f"#problems li[data-element='{flow_id}']").first
    assert "既无条件也不是默认路径" in problem.inner_text()
    assert page.locator(f"#bpmn-canvas g[data-element-id='{flow_id}'].tidu-error").count() >= 1
    assert page.locator(f".tidu-error-badge[data-element='{flow_id}']").is_visible()
    tab.shot("design-validation-error")

    page.click("#deploy")  # the deploy is refused with the same problems, nothing is stored
    page.wait_for_selector("#status.error >> text=部署被拒绝")
    with ctx.transaction() as session:
        assert session.scalars(
            select(Definition.version).where(Definition.process_key == KEY)
        ).all() == [1]


RECORD_STEP = (  # v2 of P1: a step recorded right after the self-evaluation
    '<bpmn:sequenceFlow id="flow_self_evaluation" sourceRef="self_evaluation" '
    'targetRef="application_merge"/>',
    '<bpmn:sequenceFlow id="flow_self_evaluation" sourceRef="self_evaluation" '
    'targetRef="record_submission"/><bpmn:scriptTask id="record_submission" name="登记申报材料">'
    "<bpmn:incoming>flow_self_evaluation</bpmn:incoming><bpmn:outgoing>flow_recorded"
    "</bpmn:outgoing><bpmn:script>submission_recorded = True</bpmn:script></bpmn:scriptTask>"
    '<bpmn:sequenceFlow id="flow_recorded" sourceRef="record_submission" '
    'targetRef="application_merge"/>',
)


def test_owner_previews_a_migration_and_moves_the_instances_that_can_move(  # type: ignore[no-untyped-def]
    ctx, client, people, open_browser
) -> None:
    round_id = f.open_round(people["province"], opens_on=date(2025, 9, 1))["id"]
    drafting = f.start(people["ent"], round_id)["id"]  # at 企业自评: v2's step lies ahead
    ent2 = f.enterprise(ctx, client, 2, region=REGION, name="赣江光电科技有限公司")
    reviewing = f.apply(ent2, round_id)  # past 企业自评: v2 changes the path it took
    files = f.process_files()
    old, new = RECORD_STEP
    files[f.P1_BPMN] = (
        files[f.P1_BPMN]
        .replace(old, new)
        .replace(
            "<bpmn:incoming>flow_self_evaluation</bpmn:incoming>\n      "
            "<bpmn:incoming>flow_corrected",
            "<bpmn:incoming>flow_recorded</bpmn:incoming>\n      <bpmn:incoming>flow_corrected",
        )
    )
    deployed = f.post_files(people["owner"], "/api/v1/definitions", files)
    assert deployed.status_code == 201, deployed.json

    tab = open_browser(people["owner"].token)
    page = tab.page
    page.goto("/ui/design")
    page.click("section[data-key=innovative_evaluation] a.migrate-link")
    page.wait_for_selector("#m-to option[value='2']", state="attached")
    assert page.input_value("#m-from") == "1"
    assert page.input_value("#m-to") == "2"
    page.click("#m-preview")
    page.wait_for_selector(f"#m-report tr[data-instance='{reviewing}']")
    assert "可迁移 1 件，不可迁移 1 件" in page.inner_text("#m-summary")
    assert page.inner_text(f"tr[data-instance='{drafting}'] td.verdict") == "可迁移"
    refused = page.inner_text(f"tr[data-instance='{reviewing}']")
    assert "不可迁移" in refused
    assert "self_evaluation（企业自评）" in refused
    assert "改动位于案件当前位置之前" in refused
    assert page.inner_text("#m-run") == "迁移可迁移的 1 件案件"
    page.locator("#migration").scroll_into_view_if_needed()
    tab.shot("design-migration-preview")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#m-run")
    page.wait_for_selector("#notice.ok")
    assert page.inner_text("#notice") == "已迁移 1 件到第 2 版。"
    page.wait_for_selector("#m-report p.hint, #m-report tr")
    assert page.locator(f"#m-report tr[data-instance='{drafting}']").count() == 0
    tab.shot("design-migration-done")
    with ctx.transaction() as session:
        versions = dict(session.execute(select(Instance.id, Instance.definition_version)).all())
    assert (versions[drafting], versions[reviewing]) == (2, 1)


def test_owner_sees_each_procedures_defaults_of_its_latest_version(  # type: ignore[no-untyped-def]
    ctx, people, open_browser
) -> None:
    files = definitions.read_directory(f.ROOT_PROCESSES)
    old = "notice_working_days = 5        # 公示期（工作日）"
    assert old in files["innovative_evaluation.bpmn"]
    files["innovative_evaluation.bpmn"] = files["innovative_evaluation.bpmn"].replace(
        old, "notice_working_days = 7        # 公示期（工作日）"
    )
    definitions.deploy(ctx, files=files, actor=Actor(id="owner", role="process_owner"))
    answer = people["owner"].get(f"/api/v1/definitions/{KEY}/1/settings").json
    assert {
        "element_id": "settings",
        "name": "notice_working_days",
        "value": 5,
        "note": "公示期（工作日）",
    } in answer

    page = open_browser(people["owner"].token).page
    page.goto("/ui/design")
    page.wait_for_selector("body[data-loaded]")
    box = page.locator(f"section[data-key={KEY}] details.settings")
    box.locator("summary").click()
    assert "流程参数（第 2 版）" in box.inner_text()
    row = box.locator("tr[data-setting=notice_working_days]")
    assert row.inner_text().split("\t")[1:] == ["7", "公示期（工作日）"]
    assert box.locator("tr[data-setting=spot_check_rate]").count() == 1
