"""Diagram defects a process owner's review found that deploy used to accept and that stopped
cases at run time: names nothing assigns (a NameError in English when reached), a form option no
gateway branch takes ("No conditions satisfied"); and value checks that refused a good condition
or missed a bad one, and a lane error reported twice."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from lxml import etree
from sqlalchemy import select

from engine import definitions, lifecycle, setting_checks
from engine.context import EngineContext
from engine.store import HistoryEvent
from tests import factories as f
from tests.engine.test_deploy_checks import line_of, only, refused

P1 = f.P1_BPMN
REVIEW_FORM = "forms/review_with_return.schema.json"
APPROVE = (
    'targetRef="city_draw">\n      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
    'decision == "approve"'
)


def condition(expression: str) -> dict[str, str]:
    """P1 with the city review's approve branch testing `expression` instead."""
    return f.process_files({P1: (APPROVE, APPROVE.replace('decision == "approve"', expression))})


# -- 3. names nothing assigns ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "element", "name", "guess"),
    [
        (APPROVE, APPROVE.replace("decision ==", "decison =="), "flow_city_approve", "decison",
         "decision"),
        ('id="revenue" type="float" value="revenue_y1"',
         'id="revenue" type="float" value="revenu_y1"', "classify_size", "revenu_y1",
         "revenue_y1"),
        ('correction_days = defaults["correction_days"]</spiffworkflow:preScript>',
         'correction_days = default["correction_days"]</spiffworkflow:preScript>', "city_review",
         "default", "defaults"),
    ],
    ids=["gateway-condition", "service-parameter", "pre-script"],
)  # fmt: skip
def test_a_name_nothing_assigns_is_refused_with_a_guess(
    old: str, new: str, element: str, name: str, guess: str
) -> None:
    files = f.process_files({P1: (old, new)})
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (P1, element)
    assert found["line"] == line_of(files[P1], new) + new.count("\n")  # the line reading it
    assert f"读取了 {name}，" in found["message"]
    assert "NameError" in found["message"]
    assert f"是否应为 {guess}？" in found["message"]


def test_a_name_read_on_a_later_line_of_a_script_names_that_line() -> None:
    script = 'city_notice_pending = True\nnotice_ends = city_notic["ends_at"]'
    files = f.process_files()
    tree = etree.fromstring(files[P1].encode())
    scripts = [s for s in tree.iter("{*}script") if (s.text or "").startswith("outcome = ")]
    text = scripts[0].text or ""
    files[P1] = files[P1].replace(f">{text}<", f">{text}\n{script}<", 1)
    found = only(refused(files))
    assert found["line"] == line_of(files[P1], 'notice_ends = city_notic["ends_at"]')
    assert "是否应为 city_notice？" in found["message"]


def test_every_shipped_diagram_reads_only_names_something_provides() -> None:
    files = definitions.read_directory(f.ROOT_PROCESSES)
    roots = {n: etree.fromstring(t.encode()) for n, t in files.items() if n.endswith(".bpmn")}
    library = definitions._process_index(roots)
    top = [n for n in roots if not n.startswith("shared/")]
    assert len(top) >= 7
    for name in top:
        called, _ = definitions._called_files(name, roots[name], library)
        assert setting_checks.check_names(name, roots[name], files, called) == [], name


def test_a_user_task_without_a_form_may_provide_any_name() -> None:
    """Such a task takes whatever fields are submitted (test and benchmark diagrams)."""
    folder = f.ROOT_PROCESSES.parent / "tests" / "fixtures" / "messages"
    files = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.bpmn")}
    sender = etree.fromstring(files["revoke_sender.bpmn"].encode())
    assert "messagePayload" in files["revoke_sender.bpmn"]  # it reads the task's `target`
    assert setting_checks.check_names("revoke_sender.bpmn", sender, files, []) == []
    assert definitions.validate(files)[1] == []


def test_every_start_path_puts_only_start_data_the_check_knows(
    ctx: EngineContext, people: f.People
) -> None:
    """START_DATA is what the name check accepts without a step assigning it: the data of an
    application, a lifecycle and a complaint as the engine starts them."""
    uscc = f.uscc("360100", 1)
    f.start(people["ent"], f.open_round(people["province"], opens_on=date(2025, 9, 1))["id"])
    f.issue_qualification(ctx, uscc_code=uscc, tier="innovative")  # starts its lifecycle
    public = f.user(ctx, people["ent"].client, role="public", user_id="someone")
    filed = public.post(
        "/api/v1/complaints",
        json={
            "uscc": uscc,
            "subject": "研发投入不实",
            "content": "研发费用与实际不符",
            "evidence": [public.upload()["id"]],
            "complainant": {
                "name": "张三",
                "id_number": "36010219800101123X",
                "contact": "13800000000",
            },
        },
    )
    assert filed.status_code == 201, filed.json
    with ctx.reading() as session:
        started = session.scalars(
            select(HistoryEvent).where(HistoryEvent.kind == "instance.started")
        ).all()
    keys = {key for event in started for key in event.data["start_data"]}
    assert {"round_opens_on", "qualification_id", "complainant_ref"} <= keys  # all three ran
    assert keys <= setting_checks.START_DATA
    period = lifecycle.start_data(
        SimpleNamespace(**dict.fromkeys(("id", "number", "tier", "uscc", "enterprise_name",
                                         "region", "renewal_eligible", "source")),
                        issued_on=date(2025, 1, 1), expires_on=date(2028, 1, 1)),
        period=2,
        case_ref="x",
    )  # fmt: skip
    assert set(period) <= setting_checks.START_DATA


# -- 4. every value a form offers has a branch ---------------------------------------------------

DEFER = (
    '"title": "不予通过"\n        }\n      ]',
    '"title": "不予通过"\n        },\n        {\n          "const": "defer",\n'
    '          "title": "暂缓"\n        }\n      ]',
)


def test_a_form_option_no_branch_takes_is_refused_at_the_gateway() -> None:
    files = f.process_files({REVIEW_FORM: DEFER})
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (P1, "city_review_decision")
    assert found["line"] == line_of(files[P1], '<bpmn:exclusiveGateway id="city_review_decision"')
    assert '"defer"（暂缓）' in found["message"]
    assert "city_review" in found["message"]


def test_a_tested_field_the_form_does_not_require_is_refused() -> None:
    required = '"required": [\n    "decision"\n  ],\n  "additionalProperties"'
    files = f.process_files({REVIEW_FORM: (required, '"required": [],\n  "additionalProperties"')})
    found = only(refused(files))
    assert found["element_id"] == "city_review_decision"
    assert "必填" in found["message"]
    assert "decision" in found["message"]


def test_a_default_branch_takes_every_other_value() -> None:
    files = f.process_files({REVIEW_FORM: DEFER})
    gateway = '<bpmn:exclusiveGateway id="city_review_decision"'
    files[P1] = files[P1].replace(gateway, f'{gateway} default="flow_city_reject"', 1)
    files[P1] = files[P1].replace(
        '>decision == "reject"</bpmn:conditionExpression>', ">True</bpmn:conditionExpression>", 1
    )
    _, problems = definitions.validate(files)
    assert problems == []


# -- 6. the value check reads `in` and reversed comparisons --------------------------------------


def test_a_branch_taking_one_of_several_values_is_accepted() -> None:
    _, problems = definitions.validate(condition('decision in ("approve", "approved")'))
    assert problems == []


def test_a_reversed_comparison_with_a_value_the_form_lacks_is_refused() -> None:
    files = condition('"approved" == decision')
    problems = refused(files)
    never = only([p for p in problems if p["element_id"] == "flow_city_approve"])
    assert never["line"] == line_of(files[P1], '"approved" == decision')
    assert "这条路径永远不会走到" in never["message"]
    _, fine = definitions.validate(condition('"approve" == decision'))
    assert fine == []


def test_a_not_equal_with_a_value_the_form_lacks_is_always_true() -> None:
    found = only(refused(condition('decision != "rejected" and decision == "approve"')))
    assert "总是成立" in found["message"]
    assert "永远不会走到" not in found["message"]


# -- 8. a task in a lane of no known role --------------------------------------------------------


def test_a_task_in_a_lane_of_no_known_role_gets_the_lane_error_only() -> None:
    files = f.process_files(
        {
            P1: (
                '<bpmn:lane id="province" name="省工信厅">',
                '<bpmn:lane id="Lane_0w1x2y3" name="工信部">',
            )
        }
    )
    found = only(refused(files))
    assert (found["element_id"], found["line"]) == (
        "Lane_0w1x2y3",
        line_of(files[P1], '<bpmn:lane id="Lane_0w1x2y3"'),
    )
    assert "不对应已知角色" in found["message"]
