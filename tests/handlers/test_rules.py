import json

import handlers
from engine import registry
from handlers.rules import load_ruleset

OPERATORS = {
    "size_class.classify",
    "eligibility.check",
    "scoring.score_innovative",
    "sampling.draw",
    "calendar.add_working_days",
    "calendar.add_days",
    "qualification.issue",
    "region.of_uscc",
    "scoring.score_specialized",
    "scoring.check_little_giant",
    "evaluation.preview",
}


def test_importing_handlers_registers_every_operator():
    assert handlers.__file__ is not None
    assert registry.names() >= OPERATORS


def test_rule_based_operators_declare_rules():
    uses = {name for name in OPERATORS if registry.get(name).uses_rules}
    assert uses == {
        "size_class.classify",
        "eligibility.check",
        "scoring.score_innovative",
        "region.of_uscc",
        "scoring.score_specialized",
        "scoring.check_little_giant",
        "evaluation.preview",
    }


def test_load_ruleset_reads_every_dmn_file(rules):
    assert set(rules.files) == {
        "rules/eligibility.dmn",
        "rules/innovative_score.dmn",
        "rules/little_giant.dmn",
        "rules/regions.dmn",
        "rules/size_class.dmn",
        "rules/specialized_score.dmn",
    }


def test_repository_rules_validate_cleanly(rules):
    assert registry.validate_rules(rules) == []


def test_missing_file_and_missing_decision_are_reported(rules, edit):
    broken = edit(rules, "rules/innovative_score.dmn", 'id="inn_debt_ratio"', 'id="inn_debt"')
    files = {k: v for k, v in broken.files.items() if k != "rules/regions.dmn"}
    problems = registry.validate_rules(type(rules)(files))
    messages = {(p["file"], p["element_id"]) for p in problems}
    assert ("rules/innovative_score.dmn", "inn_debt_ratio") in messages
    assert ("rules/regions.dmn", "region_catalog") in messages
    assert all(set(p) == {"file", "element_id", "line", "message"} for p in problems)


def test_unparseable_cell_is_reported_with_rule_and_line(rules, edit):
    broken = edit(
        rules, "rules/size_class.dmn", '<text>"industry"</text>', "<text>industry?</text>"
    )
    problems = registry.validate_rules(broken)
    assert [(p["file"], p["element_id"]) for p in problems] == [
        ("rules/size_class.dmn", "size_industrial")
    ]
    assert isinstance(problems[0]["line"], int)
    assert "industry?" in problems[0]["message"]


def test_malformed_xml_is_reported(rules):
    files = dict(rules.files) | {"rules/eligibility.dmn": "<definitions>"}
    problems = registry.validate_rules(type(rules)(files))
    assert problems[0]["file"] == "rules/eligibility.dmn"
    assert "XML" in problems[0]["message"]


def test_disabling_a_condition_in_the_table_skips_it(call, rules, edit):
    row = 'rule_elig_abnormal_list_o2"><text>true'
    relaxed = edit(rules, "rules/eligibility.dmn", row, row.replace("true", "false"))
    result = call(
        "eligibility.check",
        uscc="x",
        size_class="small",
        independent_legal_person=True,
        on_abnormal_list=True,
        evaluated_on="2025-01-01",
        rules=relaxed,
    )
    assert "elig_abnormal_list" not in result["checked"]
    assert "elig_abnormal_list" not in [f["code"] for f in result["failed"]]


def test_the_article_12_ban_cannot_be_disabled(rules, edit):
    row = 'rule_elig_ban_o2"><text>true'
    relaxed = edit(rules, "rules/eligibility.dmn", row, row.replace("true", "false"))
    problems = registry.validate_rules(relaxed)
    assert [(p["file"], p["element_id"]) for p in problems] == [
        ("rules/eligibility.dmn", "rule_elig_ban")
    ]
    assert "第十二条" in problems[0]["message"]
    assert "不能停用" in problems[0]["message"]


def test_editing_a_size_threshold_changes_the_class(call, rules, edit):
    cell = 'size_industry_o4"><text>300'  # industry: medium lower bound of employees
    edited = edit(rules, "rules/size_class.dmn", cell, cell.replace("300", "250"))
    inputs = {"industry": "industry", "employees": 260, "revenue": 2000, "assets": None}
    assert call("size_class.classify", **inputs)["size_class"] == "small"
    assert call("size_class.classify", **inputs, rules=edited)["size_class"] == "medium"


def test_outputs_are_json_native(call):
    result = call("size_class.classify", industry="other", employees=5, revenue=None, assets=None)
    assert json.loads(json.dumps(result)) == result


def test_ruleset_directory_argument(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.dmn").write_text("<x/>", encoding="utf-8")
    (tmp_path / "rules" / "notes.txt").write_text("-", encoding="utf-8")
    assert dict(load_ruleset(tmp_path).files) == {"rules/a.dmn": "<x/>"}


def test_the_same_decision_ids_in_another_standard_file_are_allowed(rules, edit):
    renamed = edit(rules, "rules/regions.dmn", "2023-06-20", "2030-01-01")
    files = dict(renamed.files) | {"rules/regions_2023.dmn": rules.files["rules/regions.dmn"]}
    assert registry.validate_rules(type(rules)(files)) == []
