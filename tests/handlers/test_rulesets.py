"""Rule sets carry their effective range; handlers use the version in force on a date."""

import json

import pytest

from engine import definitions, registry
from engine.registry import RuleSet
from handlers import preview
from handlers.rules import PROCESSES_DIR, catalog, in_force

SP = "rules/specialized_score.dmn"
FROM = '<outputEntry id="ruleset_row_o1"><text>"2023-06-20"</text></outputEntry>'


def revised(rules, file, start, *edits):
    """Add a copy of `file` effective from `start`, with text replacements applied."""
    text = rules.files[file].replace(
        FROM.replace("2023-06-20", _start(rules, file)), FROM.replace("2023-06-20", start)
    )
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    return RuleSet({**rules.files, file.replace(".dmn", f"_{start[:4]}.dmn"): text})


def _start(rules, file):
    return next(
        v for vs in catalog(rules).values() for v in vs if v.file == file
    ).effective_from.isoformat()


def test_every_rule_file_names_its_standard_and_effective_date(rules):
    standards = {std: [v.file for v in vs] for std, vs in catalog(rules).items()}
    assert standards == {
        "eligibility": ["rules/eligibility.dmn"],
        "innovative_score": ["rules/innovative_score.dmn"],
        "little_giant": ["rules/little_giant.dmn"],
        "regions": ["rules/regions.dmn"],
        "size_class": ["rules/size_class.dmn"],
        "specialized_score": [SP],
    }
    info = in_force(rules, SP, "2025-09-01").info()
    assert (info["effective_from"], info["effective_to"]) == ("2023-06-20", None)
    assert len(info["checksum"]) == 64


def test_a_later_version_scores_rounds_on_either_side_of_its_start(call, rules):
    stricter = revised(
        rules,
        SP,
        "2026-04-01",
        (
            '<inputEntry id="sp_thresholds_total_i0"><text>"total"</text></inputEntry>\n'
            '        <outputEntry id="sp_thresholds_total_o0"><text>"总分"</text></outputEntry>\n'
            '        <outputEntry id="sp_thresholds_total_o1"><text>60',
            '<inputEntry id="sp_thresholds_total_i0"><text>"total"</text></inputEntry>\n'
            '        <outputEntry id="sp_thresholds_total_o0"><text>"总分"</text></outputEntry>\n'
            '        <outputEntry id="sp_thresholds_total_o1"><text>90',
        ),
    )
    figures = json.loads(
        (PROCESSES_DIR.parent / "docs/examples/score-specialized.json").read_text()
    )
    before = call(
        "scoring.score_specialized", figures=figures, reference_on="2026-03-31", rules=stricter
    )
    after = call(
        "scoring.score_specialized", figures=figures, reference_on="2026-04-01", rules=stricter
    )
    assert (before["pass_line"], before["passed"]) == (60, True)
    assert (after["pass_line"], after["passed"]) == (90, False)
    assert (before["ruleset"]["file"], before["ruleset"]["effective_to"]) == (SP, "2026-03-31")
    assert after["ruleset"]["file"] == "rules/specialized_score_2026.dmn"
    assert after["ruleset"]["effective_to"] is None
    newest = call("scoring.score_specialized", figures=figures, rules=stricter)
    assert newest["pass_line"] == 90  # no reference date: the newest version
    assert registry.validate_rules(stricter) == []


def test_a_date_before_every_version_is_refused_by_name(call, rules):
    with pytest.raises(ValueError, match="2020-01-01 没有施行中的 specialized_score"):
        call("scoring.score_specialized", figures={}, reference_on="2020-01-01")
    result = call(
        "evaluation.preview", figures={}, reference_on="2020-01-01", evaluated_on="2020-01-01"
    )
    assert list(result["invalid"]) == ["reference_on"]


def test_an_explicit_end_date_leaves_later_days_without_rules(call, rules, edit):
    ended = edit(
        rules,
        "rules/size_class.dmn",
        '<outputEntry id="ruleset_row_o2"><text></text>',
        '<outputEntry id="ruleset_row_o2"><text>"2025-12-31"</text>',
    )
    kwargs = {"industry": "other", "employees": 5, "rules": ended}
    assert call("size_class.classify", reference_on="2025-12-31", **kwargs)["size_class"] == "micro"
    with pytest.raises(ValueError, match="2026-01-01 没有施行中的 size_class"):
        call("size_class.classify", reference_on="2026-01-01", **kwargs)


def test_overlapping_versions_are_a_deploy_error(rules):
    copy = RuleSet({**rules.files, "rules/regions_copy.dmn": rules.files["rules/regions.dmn"]})
    problems = registry.validate_rules(copy)
    assert [(p["file"], p["element_id"]) for p in problems] == [
        ("rules/regions_copy.dmn", "ruleset")
    ]
    assert "重叠" in problems[0]["message"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('<text>"2023-06-20"</text>', '<text>"2023-13-01"</text>', "effective_from 不是有效日期"),
        ('<text>"regions"</text>', '<text>"zones"</text>', "未知的适用标准 zones"),
        ('id="ruleset"', 'id="rules_info"', "缺少规则集信息表 ruleset"),
    ],
)
def test_bad_ruleset_metadata_is_reported(rules, edit, old, new, message):
    problems = registry.validate_rules(edit(rules, "rules/regions.dmn", old, new))
    assert any(p["file"] == "rules/regions.dmn" and message in p["message"] for p in problems)


def test_every_decision_records_the_ruleset_it_used(call):
    size = call("size_class.classify", industry="other", employees=5, reference_on="2025-09-01")
    elig = call("eligibility.check", uscc="x", size_class="micro", evaluated_on="2025-09-01")
    region = call("region.of_uscc", uscc="x")
    for result, standard in ((size, "size_class"), (elig, "eligibility"), (region, "regions")):
        assert result["ruleset"]["standard"] == standard
        assert set(result["ruleset"]) == {
            "standard",
            "name",
            "file",
            "effective_from",
            "effective_to",
            "checksum",
            "note",
        }


# -- forms derived from the indicator definitions --------------------------------------------


@pytest.mark.parametrize("tier", ["specialized", "little_giant"])
def test_forms_are_generated_from_the_field_definitions(tier):
    path = PROCESSES_DIR / "forms" / f"{tier}_self_evaluation.schema.json"
    assert json.loads(path.read_text(encoding="utf-8")) == preview.form(tier)


def test_repository_file_set_passes_the_form_check():
    assert registry.validate_files(definitions.read_directory(PROCESSES_DIR)) == []


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ("forms/specialized_self_evaluation.schema.json", "net_profit_y1"),
        ("forms/little_giant_self_evaluation.schema.json", "national_market_share"),
        ("forms/innovative_self_evaluation.schema.json", "equity_financing_3y"),
        ("forms/specialized_self_evaluation.schema.json", "employees"),
    ],
)
def test_a_figure_the_rules_need_but_the_form_lacks_is_a_deploy_error(form, field):
    files = definitions.read_directory(PROCESSES_DIR)
    schema = json.loads(files[form])
    del schema["properties"][field]
    files[form] = json.dumps(schema, ensure_ascii=False)
    _, problems = definitions.validate(files)
    at_form = [p for p in problems if p["file"] == form]
    assert [(p["file"], p["element_id"]) for p in at_form] == [(form, field)]
    assert "表单缺少规则所需的字段" in at_form[0]["message"]
    assert at_form[0]["line"] == files[form][: files[form].index('"properties"')].count("\n") + 1
    readers = [p for p in problems if p not in at_form]  # steps passing the field on: NameError
    assert all(p["file"].endswith(".bpmn") and f"读取了 {field}" in p["message"] for p in readers)


def test_a_new_table_input_must_be_in_the_form(rules):
    files = definitions.read_directory(PROCESSES_DIR)
    files[SP] = files[SP].replace("<text>maker_china_top500_3y</text>", "<text>maker_top100</text>")
    problems = registry.validate_files(files)
    assert [(p["file"], p["element_id"]) for p in problems] == [
        ("forms/specialized_self_evaluation.schema.json", "maker_top100")
    ]


def test_a_missing_form_file_is_a_deploy_error():
    files = definitions.read_directory(PROCESSES_DIR)
    del files["forms/little_giant_self_evaluation.schema.json"]
    problems = registry.validate_files(files)
    assert [p["file"] for p in problems] == ["forms/little_giant_self_evaluation.schema.json"]
