"""Deploy refuses what would break open rounds or lose later edits, and says what else a shared
file change concerns."""

from __future__ import annotations

from datetime import date

import pytest

from engine import definitions, deploy_safety, queries
from engine.context import Actor
from engine.errors import InvalidDefinition
from tests import factories as f

OWNER = Actor(id="owner", role="process_owner")
INN = "rules/innovative_score.dmn"


def _open_p1_round(ctx, opens_on: date = date(2025, 8, 25)) -> None:  # type: ignore[no-untyped-def]
    queries.open_round(
        ctx,
        process_key="innovative_evaluation",
        label="2025年第2批创新型中小企业评价",
        opens_on=opens_on,
        window_days=30,
    )


def test_a_rule_set_starting_after_an_open_round_opened_is_refused_naming_file_and_round(ctx):
    f.deploy_processes(ctx)
    _open_p1_round(ctx)
    files = f.process_files({INN: ('"2022-08-01"', '"2025-09-15"')})
    with pytest.raises(InvalidDefinition) as raised:
        definitions.deploy_set(ctx, files=files, actor=OWNER, source=deploy_safety.UPLOAD)
    [problem] = raised.value.errors
    assert problem["file"] == INN
    assert problem["element_id"] == "ruleset"
    assert "2025-09-15" in problem["message"]
    assert "2025年第2批创新型中小企业评价" in problem["message"]
    assert "2025-08-25" in problem["message"]


def test_a_new_version_starting_within_an_open_round_deploys_with_a_warning(ctx):
    f.deploy_processes(ctx)
    _open_p1_round(ctx)
    files = f.process_files()
    files["rules/innovative_score_2025.dmn"] = files[INN].replace('"2022-08-01"', '"2025-09-10"')
    done = definitions.deploy_set(ctx, files=files, actor=OWNER, source=deploy_safety.UPLOAD)
    assert done.rows[0].version == 2
    texts = [w["message"] for w in done.warnings]
    assert any("innovative_score_2025.dmn" in t and "2025-09-10" in t for t in texts), texts
    assert all(w["process_key"] == "innovative_evaluation" for w in done.warnings)


def test_changing_the_standard_of_an_open_round_warns(ctx):
    f.deploy_processes(ctx)
    _open_p1_round(ctx)
    files = f.process_files()
    files[INN] = files[INN].replace("创新型中小企业评价标准", "创新型中小企业评价标准（修订）", 1)
    done = definitions.deploy_set(ctx, files=files, actor=OWNER, source=deploy_safety.UPLOAD)
    assert any("与此前已提交的申报标准不一致" in w["message"] for w in done.warnings)


def test_deploying_an_edit_of_an_older_version_is_refused_unless_forced(ctx):
    files = f.process_files()
    definitions.deploy_set(ctx, files=files, actor=OWNER)
    edited = f.process_files({f.P1_BPMN: ('name="市级初审"', 'name="市级初审（改）"')})
    definitions.deploy_set(ctx, files=edited, actor=OWNER, based_on={"innovative_evaluation": 1})
    older = f.process_files({f.P1_BPMN: ('name="市级初审"', 'name="市级审核"')})
    with pytest.raises(deploy_safety.DefinitionOutdated) as raised:
        definitions.deploy_set(ctx, files=older, actor=OWNER, based_on={"innovative_evaluation": 1})
    assert raised.value.extra["outdated"] == [
        {
            "process_key": "innovative_evaluation",
            "name": "创新型中小企业评价",
            "based_on": 1,
            "latest": 2,
        }
    ]
    assert "第 1 版" in raised.value.detail
    assert "第 2 版" in raised.value.detail
    done = definitions.deploy_set(
        ctx, files=older, actor=OWNER, based_on={"innovative_evaluation": 1}, force=True
    )
    assert done.rows[0].version == 3


def test_a_directory_deploy_keeps_a_newer_version_deployed_from_the_page(ctx):
    definitions.deploy_set(ctx, files=f.process_files(), actor=OWNER)
    edited = f.process_files({f.P1_BPMN: ('name="市级初审"', 'name="市级初审（改）"')})
    definitions.deploy_set(ctx, files=edited, actor=OWNER, source=deploy_safety.UPLOAD)
    done = definitions.deploy_set(ctx, files=f.process_files(), actor=OWNER)
    assert done.rows == []
    assert done.skipped[0]["process_key"] == "innovative_evaluation"
    assert done.skipped[0]["version"] == 2
    again = definitions.deploy_set(ctx, files=edited, actor=OWNER)  # the exported files: no-op
    assert [r.version for r in again.rows] == [2]
    forced = definitions.deploy_set(ctx, files=f.process_files(), actor=OWNER, force=True)
    assert [r.version for r in forced.rows] == [3]


def test_changing_a_shared_file_names_the_other_procedures_using_it(ctx):
    f.deploy_processes(ctx)
    spot_check = {"shared/spot_check.bpmn": ('name="开始抽查"', 'name="开始实地抽查"')}
    files = f.process_files(spot_check, bpmn="specialized_certification.bpmn")
    done = definitions.deploy_set(ctx, files=files, actor=OWNER, source=deploy_safety.UPLOAD)
    [entry] = done.shared["specialized_certification"]
    assert entry["file"] == "shared/spot_check.bpmn"
    keys = {p["process_key"] for p in entry["processes"]}
    assert "little_giant_recommendation" in keys
    assert "specialized_certification" not in keys


def test_tidu_deploy_skips_a_procedure_deployed_from_the_page_and_export_restores_it(
    ctx, tidu, tmp_path
):  # type: ignore[no-untyped-def]
    processes = tmp_path / "processes"
    for name, text in f.process_files().items():
        (processes / name).parent.mkdir(parents=True, exist_ok=True)
        (processes / name).write_text(text, encoding="utf-8")
    assert tidu("deploy", str(processes)).exit_code == 0
    edited = f.process_files({f.P1_BPMN: ('name="市级初审"', 'name="市级初审（改）"')})
    definitions.deploy_set(ctx, files=edited, actor=OWNER, source=deploy_safety.UPLOAD)
    result = tidu("deploy", str(processes))
    assert result.exit_code == 0
    assert "innovative_evaluation v" not in result.stdout
    assert "未部署" in result.stderr
    assert "tidu export innovative_evaluation 2" in result.stderr
    assert tidu("export", "innovative_evaluation", "2", str(processes)).exit_code == 0
    assert "市级初审（改）" in (processes / f.P1_BPMN).read_text(encoding="utf-8")
    again = tidu("deploy", str(processes))
    assert "innovative_evaluation v2" in again.stdout
    assert "未部署" not in again.stderr
