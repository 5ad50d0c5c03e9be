"""The deploy API: 409 for an edit of an older version, rule dates against open rounds, the
whole file set of a version as a ZIP."""

from __future__ import annotations

import io
import zipfile

from tests import factories as f

INN = "rules/innovative_score.dmn"


def _post(owner: f.Api, files: dict[str, str], **form: str | list[str]):  # type: ignore[no-untyped-def]
    parts: dict[str, object] = {"files": [(io.BytesIO(t.encode()), n) for n, t in files.items()]}
    parts |= form
    return owner.client.post(
        "/api/v1/definitions",
        headers=owner._headers(),
        data=parts,
        content_type="multipart/form-data",
    )


def test_deploying_from_an_older_version_answers_409_naming_both_versions(p1: f.People) -> None:
    owner = p1["owner"]
    edited = f.process_files({f.P1_BPMN: ('name="市级初审"', 'name="市级初审（改）"')})
    assert _post(owner, edited, based_on="innovative_evaluation:1").status_code == 201
    older = f.process_files({f.P1_BPMN: ('name="市级初审"', 'name="市级审核"')})
    response = _post(owner, older, based_on="innovative_evaluation:1")
    assert response.status_code == 409
    body = response.json
    assert body["type"].endswith("/definition-outdated")
    assert "第 1 版" in body["detail"]
    assert "第 2 版" in body["detail"]
    assert body["outdated"][0]["latest"] == 2
    forced = _post(owner, older, based_on="innovative_evaluation:1", force="true")
    assert forced.status_code == 201
    assert forced.json[0]["version"] == 3


def test_validate_refuses_a_rule_set_that_leaves_an_open_round_without_rules(
    p1: f.People, p1_round: int
) -> None:
    files = f.process_files({INN: ('"2022-08-01"', '"2025-09-15"')})
    response = f.post_files(p1["owner"], "/api/v1/definitions/validate", files)
    assert response.status_code == 200
    assert response.json["valid"] is False
    [problem] = response.json["errors"]
    assert problem["file"] == INN
    assert "2025-09-15" in problem["message"]
    refused = f.post_files(p1["owner"], "/api/v1/definitions", files)
    assert refused.status_code == 422


def test_deploy_answers_warnings_and_shared_files(p1: f.People, p1_round: int) -> None:
    files = f.process_files()
    files["rules/innovative_score_2025.dmn"] = files[INN].replace('"2022-08-01"', '"2025-09-10"')
    checked = f.post_files(p1["owner"], "/api/v1/definitions/validate", files)
    assert checked.json["valid"] is True
    assert any("2025-09-10" in w["message"] for w in checked.json["warnings"])
    response = f.post_files(p1["owner"], "/api/v1/definitions", files)
    assert response.status_code == 201
    assert any("2025-09-10" in w["message"] for w in response.json[0]["warnings"])
    assert response.json[0]["shared"] == []


def test_a_version_downloads_as_a_zip_of_all_its_files(p1: f.People) -> None:
    response = p1["owner"].get("/api/v1/definitions/innovative_evaluation/1/files.zip")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert f.P1_BPMN in names
    assert INN in names
    assert "forms/review_with_return.schema.json" in names
