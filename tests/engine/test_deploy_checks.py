"""Deploy refuses what would otherwise fail at run time: settings values and names, rule-table
values the handlers interpret, literal timers, duplicate ids, forms, outcomes — every problem
at once, each once, in Chinese, with file, element id and line."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine import definitions
from engine.context import Actor, EngineContext
from engine.errors import InvalidDefinition
from tests import factories as f

P1 = f.P1_BPMN
OWNER = Actor(id="owner", role="process_owner")
ARTICLE12 = "article12_incident.bpmn"
LIFECYCLE = "qualification_lifecycle.bpmn"
LITTLE_GIANT = "rules/little_giant.dmn"
ELIGIBILITY = "rules/eligibility.dmn"
BAN_ENABLED = '<outputEntry id="rule_elig_ban_o2"><text>true</text>'
CITY_NOTICE_TIMER = '>city_notice["ends_at"]</bpmn:timeDate>'


def line_of(text: str, needle: str) -> int:
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def refused(files: dict[str, str]) -> list[dict[str, Any]]:
    _, problems = definitions.validate(files)
    assert problems, "deploy accepted the defect"
    return problems


def only(problems: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(problems) == 1, problems
    return problems[0]


def settings_edit(value: str, old: str = "spot_check_rate = 0.2 ", bpmn: str = P1) -> Any:
    name = old.split("=")[0].strip()
    return f.process_files({bpmn: (old, f"{name} = {value} ")}, bpmn=bpmn)


def test_every_shipped_process_still_deploys() -> None:
    processes, problems = definitions.validate(definitions.read_directory(f.ROOT_PROCESSES))
    assert problems == []
    assert processes


# -- 1. settings --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1.5", "-0.1", '"20%"', "True"])
def test_a_spot_check_rate_outside_0_to_1_is_refused(value: str) -> None:
    files = settings_edit(value)
    found = only(refused(files))
    assert found["file"] == P1
    assert found["element_id"] == "settings"
    assert found["line"] == line_of(files[P1], f"spot_check_rate = {value} ")
    assert "spot_check_rate" in found["message"]
    assert "0 到 1" in found["message"]


@pytest.mark.parametrize("value", ["-1", '"five"', "0", "2.5"])
def test_a_day_count_that_is_not_a_positive_integer_is_refused(value: str) -> None:
    found = only(refused(settings_edit(value, "correction_days = 10 ")))
    assert "correction_days" in found["message"]
    assert "不小于 1 的整数" in found["message"]


def test_validity_years_must_be_positive() -> None:
    found = only(refused(settings_edit("0", "validity_years = 3 ")))
    assert "validity_years" in found["message"]


def test_a_ban_shorter_than_article_12s_three_years_is_refused() -> None:
    files = settings_edit("2", "ban_years = 3 ", ARTICLE12)
    found = only(refused(files))
    assert found["file"] == ARTICLE12
    assert found["line"] == line_of(files[ARTICLE12], "ban_years = 2 ")
    assert "不小于 3 的整数" in found["message"]


@pytest.mark.parametrize("value", ['"04-31"', '"02-29"', '"4/30"', "430"])
def test_an_update_deadline_that_is_not_a_real_month_day_is_refused(value: str) -> None:
    found = only(refused(settings_edit(value, 'update_deadline = "04-30" ', LIFECYCLE)))
    assert found["file"] == LIFECYCLE
    assert "update_deadline" in found["message"]


def test_a_grace_period_of_zero_days_is_fine() -> None:
    _, problems = definitions.validate(settings_edit("0", "renewal_grace_days = 0 ", LIFECYCLE))
    assert problems == []


def test_the_little_giant_revocation_route_takes_true_or_false_only() -> None:
    setting = "little_giant_revocation_by_miit = "
    files = f.process_files({LIFECYCLE: (setting + "True", setting + '"否"')}, bpmn=LIFECYCLE)
    found = only(refused(files))
    assert "little_giant_revocation_by_miit" in found["message"]
    assert "True（是）或 False（否）" in found["message"]
    _, problems = definitions.validate(
        f.process_files({LIFECYCLE: (setting + "True", setting + "False")}, bpmn=LIFECYCLE)
    )
    assert problems == []


def test_a_misspelt_setting_is_refused_and_the_setting_it_replaced_is_missed() -> None:
    files = f.process_files({P1: ("spot_check_rate = 0.2 ", "spot_check_ratio = 0.2 ")})
    problems = refused(files)
    misspelt = [p for p in problems if "spot_check_ratio" in p["message"]]
    assert len(misspelt) == 1
    assert "spot_check_rate" in misspelt[0]["message"]
    assert misspelt[0]["line"] == line_of(files[P1], "spot_check_ratio = 0.2 ")
    missed = [p for p in problems if "没有给它赋值" in p["message"]]
    assert missed
    assert all("spot_check_rate" in p["message"] for p in missed)
    assert all(p["element_id"] and p["line"] for p in missed)


def test_a_settings_script_that_fails_is_refused_with_its_line() -> None:
    files = settings_edit("1 / 0")
    found = only(refused(files))
    assert found["line"] == line_of(files[P1], "spot_check_rate = 1 / 0 ")
    assert "ZeroDivisionError" in found["message"]


def test_every_settings_problem_is_listed_at_once() -> None:
    files = f.process_files(
        {
            P1: (
                "spot_check_rate = 0.2          # 实地抽查比例\ncorrection_days = 10 ",
                "spot_check_rate = 1.5          # 实地抽查比例\ncorrection_days = -1 ",
            )
        }
    )
    names = {p["message"].split()[1].split("（")[0] for p in refused(files)}
    assert names == {"spot_check_rate", "correction_days"}


# -- 2. rule-table values the handlers interpret ------------------------------------------------

GROWTH = '<outputEntry id="lg_settings_growth_method_o0"><text>"mean"</text>'
RD_2Y = '<outputEntry id="lg_settings_rd_expense_2y_o0"><text>"sum"</text>'


@pytest.mark.parametrize(
    ("edit", "rule_id", "column"),
    [
        ((GROWTH, GROWTH.replace("mean", "median")), "lg_settings_growth_method", "growth_method"),
        ((RD_2Y, RD_2Y.replace("sum", "total")), "lg_settings_rd_expense_2y", "rd_expense_2y"),
    ],
)
def test_an_unknown_settings_table_value_is_refused(
    edit: tuple[str, str], rule_id: str, column: str
) -> None:
    files = f.process_files({LITTLE_GIANT: edit})
    found = only(refused(files))
    assert found["file"] == LITTLE_GIANT
    assert found["element_id"] == rule_id
    assert found["line"] == line_of(files[LITTLE_GIANT], edit[1])
    assert column in found["message"]
    assert "列 value" in found["message"]


def test_a_quoted_false_in_a_boolean_column_is_refused() -> None:
    edit = (BAN_ENABLED, BAN_ENABLED.replace("true", '"false"'))
    found = only(refused(f.process_files({ELIGIBILITY: edit})))
    assert found["element_id"] == "rule_elig_ban"
    assert "enabled" in found["message"]
    assert "true 或 false" in found["message"]


# -- 3. timers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    ['"2030-02-30T00:00:00+08:00"', '"2030-02-01T00:00:00"', '"P5D"', ""],
    ids=["no-such-day", "no-offset", "duration-as-date", "empty"],
)
def test_a_bad_literal_time_date_is_refused_naming_the_timer_event(expression: str) -> None:
    files = f.process_files({P1: (CITY_NOTICE_TIMER, f">{expression}</bpmn:timeDate>")})
    found = only(refused(files))
    assert found["element_id"] == "city_notice_ended"
    assert found["line"] == line_of(files[P1], f">{expression}</bpmn:timeDate>")
    assert "定时器" in found["message"]


def timer_kind(tag: str, expression: str) -> dict[str, str]:
    old = f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression"{CITY_NOTICE_TIMER}'
    new = f'<bpmn:{tag} xsi:type="bpmn:tFormalExpression">{expression}</bpmn:{tag}>'
    return f.process_files({P1: (old, new)})


@pytest.mark.parametrize(
    ("tag", "expression", "ok"),
    [
        ("timeDuration", '"P5D"', True),
        ("timeDuration", '"P5X"', False),
        ("timeDuration", '"5 days"', False),
        ("timeCycle", '"R3/2030-07-01T00:00:00+08:00/P1D"', True),
        ("timeCycle", '"R/P1D"', True),
        ("timeCycle", '"P1D"', False),
        ("timeCycle", '"R/2030-13-01T00:00:00+08:00/P1D"', False),
    ],
)
def test_literal_durations_and_cycles_are_parsed_as_spiffworkflow_will(
    tag: str, expression: str, ok: bool
) -> None:
    _, problems = definitions.validate(timer_kind(tag, expression))
    if ok:
        assert problems == []
    else:
        assert only(problems)["element_id"] == "city_notice_ended"


# -- 4. duplicate ids ---------------------------------------------------------------------------


def test_a_duplicate_id_is_named_with_both_lines() -> None:
    files = f.process_files({P1: ('id="city_notice_ended_timer"', 'id="city_review"')})
    found = only(refused(files))
    assert found["element_id"] == "city_review"
    first = line_of(files[P1], '<bpmn:userTask id="city_review"')
    second = line_of(files[P1], '<bpmn:timerEventDefinition id="city_review"')
    assert found["line"] == second
    assert f"第 {first}、{second} 行" in found["message"]
    assert "重复" in found["message"]
    assert "xs:ID" not in found["message"]


def test_a_duplicate_id_does_not_hide_the_other_problems() -> None:
    files = f.process_files(
        {P1: ('<bpmn:userTask id="city_report"', '<bpmn:userTask id="city_review"')}
    )
    problems = refused(files)
    assert any("重复" in p["message"] for p in problems)
    assert any("city_report" in p["message"] for p in problems)  # dangling references


# -- 5. forms and outcomes ----------------------------------------------------------------------


def test_a_form_without_additional_properties_false_is_refused_once() -> None:
    edit = ('"additionalProperties": false', '"additionalProperties": true')
    files = f.process_files({"forms/review.schema.json": edit})
    found = only(refused(files))  # review.schema.json serves several user tasks
    assert found["file"] == "forms/review.schema.json"
    assert found["element_id"] == "additionalProperties"
    assert found["line"] == line_of(files["forms/review.schema.json"], edit[1])


def test_a_form_schema_error_is_reported_once_naming_the_property() -> None:
    form = "forms/review.schema.json"
    edit = (
        '"type": "string",\n      "title": "审核结论"',
        '"type": "strng",\n      "title": "审核结论"',
    )
    files = f.process_files({form: edit})
    found = only(refused(files))  # the form serves several user tasks: reported once
    assert found["file"] == form
    assert found["element_id"] == "decision"
    text = files[form]
    assert found["line"] == text[: text.index('"decision": {')].count("\n") + 1
    assert "表单 JSON Schema 无效" in found["message"]
    assert "decision" in found["message"]


def test_an_outcome_not_in_the_outcome_list_is_refused() -> None:
    files = f.process_files({P1: ('outcome = "qualified"', 'outcome = "qualifed"')})
    found = only(refused(files))
    assert found["element_id"] == "set_outcome_qualified"
    assert found["line"] == line_of(files[P1], 'outcome = "qualifed"')
    assert "'qualified'" in found["message"]  # the guess


# -- 6. once each, with lines -------------------------------------------------------------------


def test_an_xml_error_in_a_rule_file_is_reported_once() -> None:
    edit = ('<rule id="lg_settings_growth_method">', '<rule id="lg_settings_growth_method"')
    found = only(refused(f.process_files({LITTLE_GIANT: edit})))
    assert found["file"] == LITTLE_GIANT
    assert found["line"]


def test_switching_off_the_ban_names_its_rule_line() -> None:
    edit = (BAN_ENABLED, BAN_ENABLED.replace("true", "false"))
    files = f.process_files({ELIGIBILITY: edit})
    found = only(refused(files))
    assert found["element_id"] == "rule_elig_ban"
    assert found["line"] == line_of(files[ELIGIBILITY], '<rule id="rule_elig_ban">')


def test_overlapping_rule_versions_name_their_line() -> None:
    files = f.process_files()
    files["rules/eligibility_copy.dmn"] = files[ELIGIBILITY]
    found = only(refused(files))
    assert found["file"] == "rules/eligibility_copy.dmn"
    assert isinstance(found["line"], int)


# -- through the deploy API ---------------------------------------------------------------------


def test_the_api_lists_every_problem_in_the_problem_json(
    ctx: EngineContext, client: FlaskClient
) -> None:
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    files = f.process_files(
        {
            P1: ('outcome = "qualified"', 'outcome = "qualifed"'),
            LITTLE_GIANT: (GROWTH, GROWTH.replace("mean", "median")),
        }
    )
    files[P1] = files[P1].replace("spot_check_rate = 0.2 ", "spot_check_rate = 1.5 ")
    checked = f.post_files(owner, "/api/v1/definitions/validate", files)
    assert checked.status_code == 200
    assert checked.json["valid"] is False
    assert len(checked.json["errors"]) == 3
    response = f.post_files(owner, "/api/v1/definitions", files)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = response.json["errors"]
    assert {e["element_id"] for e in errors} == {
        "settings",
        "set_outcome_qualified",
        "lg_settings_growth_method",
    }
    assert all(e["file"] and e["line"] and e["message"] for e in errors)
    assert owner.get("/api/v1/definitions").json == []


def test_deploy_raises_invalid_definition(ctx: EngineContext) -> None:
    with pytest.raises(InvalidDefinition) as raised:
        definitions.deploy(ctx, files=settings_edit("1.5"), actor=OWNER)
    assert raised.value.errors[0]["element_id"] == "settings"
