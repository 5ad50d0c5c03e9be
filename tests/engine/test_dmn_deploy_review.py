"""Rule-table defects a process owner's review found that deploy used to accept and that broke
cases at run time: duplicate ids in a DMN file, a 划型 table without an industry the forms offer,
an indicator list naming a decision the file lacks (refused by loading the rule set as the
scoring operators do), points above an indicator's maximum, unknown groups, input cells with a
value the form never gives, empty output cells; and form problems without a line."""

from __future__ import annotations

import json
import re

import pytest
from lxml import etree

from engine import definitions, dmn_checks
from engine.registry import RuleSet
from handlers import preview
from tests import factories as f
from tests.engine.test_deploy_checks import line_of, only, refused

SIZE = "rules/size_class.dmn"
INN = "rules/innovative_score.dmn"
SP = "rules/specialized_score.dmn"
INN_FORM = "forms/innovative_self_evaluation.schema.json"
SHARE_DECISION = '<outputEntry id="inn_ind_6_o3"><text>"inn_main_revenue_share"</text>'
IP1_POINTS = '<outputEntry id="inn_ip_1_o0"><text>20</text>'
IND1_GROUP = '<outputEntry id="inn_ind_1_o1"><text>"innovation"</text>'


def without_rule(text: str, rule_id: str) -> str:
    found = re.subn(rf'\s*<rule id="{rule_id}">.*?</rule>', "", text, flags=re.S)
    assert found[1] == 1, rule_id
    return found[0]


# -- 1. duplicate ids, a 划型 table missing an industry -----------------------------------------


def test_the_shipped_rule_files_have_no_duplicate_ids() -> None:
    files = definitions.read_directory(f.ROOT_PROCESSES)
    for name in (n for n in files if n.endswith(".dmn")):
        assert definitions.duplicate_ids(etree.fromstring(files[name].encode()), name) == []


def test_a_duplicate_id_in_a_dmn_file_is_refused_with_both_lines() -> None:
    files = f.process_files({SIZE: ('<rule id="size_industrial">', '<rule id="size_industry">')})
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (SIZE, "size_industry")
    column = line_of(files[SIZE], '<input id="size_industry"')
    rule = line_of(files[SIZE], '<rule id="size_industry">')
    assert found["line"] == rule
    assert f"第 {column}、{rule} 行" in found["message"]
    assert "重复" in found["message"]


def test_a_size_table_without_an_industry_the_forms_offer_is_refused() -> None:
    files = f.process_files()
    files[SIZE] = without_rule(files[SIZE], "size_construction")
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (SIZE, "size_thresholds")
    assert found["line"] == line_of(files[SIZE], '<decisionTable id="size_thresholds_table"')
    assert '"construction"（建筑业）' in found["message"]
    assert INN_FORM in found["message"]  # where the option is offered, with its line
    form_line = line_of(files[INN_FORM], '"industry": {')
    assert f"{INN_FORM} 第 {form_line} 行" in found["message"]


def test_a_band_table_without_a_choice_the_form_offers_is_refused() -> None:
    files = f.process_files()
    files[INN] = without_rule(files[INN], "inn_ip_5")  # ip_class "none"
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (INN, "inn_ip_class")
    assert '"none"（无）' in found["message"]


# -- 2. the rule set loaded as the scoring operators load it ------------------------------------


def test_an_indicator_naming_a_missing_decision_is_refused_at_its_cell() -> None:
    edit = (SHARE_DECISION, SHARE_DECISION.replace("share", "shares"))
    files = f.process_files({INN: edit})
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (INN, "inn_ind_6")
    assert found["line"] == line_of(files[INN], edit[1])
    assert "缺少决策表 inn_main_revenue_shares" in found["message"]
    assert "scoring.score_innovative" in found["message"]
    assert "是否应为 inn_main_revenue_share？" in found["message"]


def test_a_row_hit_twice_in_a_unique_table_is_refused() -> None:
    retail = '<inputEntry id="size_retail_i0"><text>"retail"'
    files = f.process_files({SIZE: (retail, retail.replace('"retail"', '"retail","wholesale"'))})
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (SIZE, "size_thresholds")
    assert isinstance(found["line"], int)
    assert "命中多条规则" in found["message"]
    assert "size_class.classify" in found["message"]


def test_the_shipped_rule_sets_run_as_a_case_will() -> None:
    files = definitions.read_directory(f.ROOT_PROCESSES)
    rules = RuleSet({name: text for name, text in files.items() if name.endswith(".dmn")})
    assert preview.runs_as_a_case_will(rules) == []


# -- 5. score tables ----------------------------------------------------------------------------


def test_points_above_the_indicators_maximum_are_refused() -> None:
    edit = (IP1_POINTS, IP1_POINTS.replace("20", "25"))
    files = f.process_files({INN: edit})
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (INN, "inn_ip_1")
    assert found["line"] == line_of(files[INN], edit[1])
    assert "25" in found["message"]
    assert "满分 20" in found["message"]


def test_a_group_the_thresholds_table_lacks_is_refused() -> None:
    edit = (IND1_GROUP, IND1_GROUP.replace("innovation", "innovaton"))
    files = f.process_files({INN: edit})
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (INN, "inn_ind_1")
    assert found["line"] == line_of(files[INN], edit[1])
    assert "inn_thresholds" in found["message"]
    assert "是否应为 innovation？" in found["message"]


def test_an_input_cell_with_a_value_the_form_never_gives_is_refused() -> None:
    edit = (
        '<inputEntry id="inn_ip_2_i0"><text>"own_class1"',
        '<inputEntry id="inn_ip_2_i0"><text>"own_clas1"',
    )
    files = f.process_files({INN: edit})
    found = only(refused(files))  # not also "own_class1 has no row": the typo says it
    assert (found["file"], found["element_id"]) == (INN, "inn_ip_2")
    assert found["line"] == line_of(files[INN], edit[1])
    assert '"own_clas1"' in found["message"]
    assert INN_FORM in found["message"]
    assert '是否应为 "own_class1"？' in found["message"]


def test_a_quoted_input_cell_on_a_yes_no_field_is_refused() -> None:
    edit = (
        '<inputEntry id="inn_field_1_i0"><text>true',
        '<inputEntry id="inn_field_1_i0"><text>"true"',
    )
    found = only(refused(f.process_files({INN: edit})))
    assert found["element_id"] == "inn_field_1"
    assert "true 或 false" in found["message"]


@pytest.mark.parametrize(
    ("cell", "column"),
    [(IP1_POINTS, "points"), (IND1_GROUP, "group"), (SHARE_DECISION, "decision")],
)
def test_an_empty_output_cell_is_refused(cell: str, column: str) -> None:
    empty = re.sub(r"<text>.*</text>", "<text></text>", cell)
    files = f.process_files({INN: (cell, empty)})
    found = only(refused(files))
    assert found["file"] == INN
    assert found["line"] == line_of(files[INN], empty)
    assert f"输出列 {column}" in found["message"]
    assert "为空" in found["message"]


def test_a_number_column_holding_text_is_refused() -> None:
    bound = '<outputEntry id="size_retail_o1"><text>300'
    files = f.process_files({SIZE: (bound, bound.replace("300", '"三百"'))})
    found = only(refused(files))
    assert (found["element_id"], found["line"]) == ("size_retail", line_of(files[SIZE], '"三百"'))
    assert "数字列" in found["message"]


def test_a_size_level_without_any_bound_is_refused() -> None:
    files = f.process_files()
    text = files[SIZE]
    for i in (4, 5, 6):  # the retail row's medium bounds
        text = re.sub(rf'(<outputEntry id="size_retail_o{i}"><text>)[^<]*', r"\1", text)
    files[SIZE] = text
    found = only(refused(files))
    assert (found["element_id"], found["line"]) == (
        "size_retail",
        line_of(text, '<rule id="size_retail">'),
    )
    assert "中型" in found["message"]


def test_the_shipped_rule_tables_pass_the_table_checks() -> None:
    assert dmn_checks.check(definitions.read_directory(f.ROOT_PROCESSES)) == []


# -- 9. form problems carry a line --------------------------------------------------------------


def test_a_field_the_rules_need_but_the_form_lacks_has_the_line_of_its_properties() -> None:
    files = f.process_files()
    schema = json.loads(files[INN_FORM])
    del schema["properties"]["rd_expense_y1"]
    files[INN_FORM] = json.dumps(schema, ensure_ascii=False, indent=2)
    found = only([p for p in refused(files) if p["file"] == INN_FORM])
    assert found["element_id"] == "rd_expense_y1"
    assert found["line"] == line_of(files[INN_FORM], '"properties"')


def test_a_missing_decision_has_the_line_of_the_cell_that_names_it() -> None:
    files = f.process_files({INN: ('<decision id="inn_debt_ratio"', '<decision id="inn_debt"')})
    found = only(refused(files))
    assert (found["element_id"], found["message"]) == (
        "inn_debt_ratio",
        "缺少决策表 inn_debt_ratio",
    )
    assert found["line"] == line_of(files[INN], '<text>"inn_debt_ratio"</text>')
