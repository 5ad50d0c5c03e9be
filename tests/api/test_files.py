"""Evidence files: download by the uploader's enterprise, the staff of a case that references the
file, auditors; 404 for everyone else; the task page's data names the files it references."""

from __future__ import annotations

import hashlib
import io
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from engine.context import EngineContext
from tests import factories as f

PROBLEM = "application/problem+json"
REPORT = "%PDF-1.4 2024 年度审计报告".encode()
NAME = "审计报告.pdf"
PERSON = {"name": "张三", "id_number": "36010219800101123X", "contact": "13800000000"}


@pytest.fixture
def others(ctx: EngineContext, client: FlaskClient) -> f.People:
    """Users outside a Nanchang case: another city, MIIT, and an enterprise colleague of ent-1."""
    return {
        "city_gz": f.user(ctx, client, role="city", user_id="city-gz", region="360700"),
        "miit": f.user(ctx, client, role="miit", user_id="miit"),
        "colleague": f.user(
            ctx,
            client,
            role="enterprise",
            user_id="ent-1-b",
            uscc_code=f.uscc("360100", 1),
            region="360100",
        ),
    }


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404, response.data
    assert response.mimetype == PROBLEM
    assert response.json["type"].endswith("/not-found")


def test_uploader_downloads_the_file_under_its_chinese_name(p1: f.People) -> None:
    uploaded = p1["ent"].upload(REPORT, NAME)
    response = p1["ent"].get(f"/api/v1/files/{uploaded['id']}")
    assert response.status_code == 200
    assert response.data == REPORT
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(NAME)}" in disposition  # RFC 5987
    assert "filename=evidence.pdf" in disposition  # a plain name for old clients
    assert response.headers["ETag"].strip('"') == hashlib.sha256(REPORT).hexdigest()
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]


def test_an_ascii_name_is_sent_as_it_is(p1: f.People) -> None:
    uploaded = p1["ent"].upload(b"PK zip", "report 2024.zip")
    response = p1["ent"].get(f"/api/v1/files/{uploaded['id']}")
    assert response.headers["Content-Disposition"] == 'attachment; filename="report 2024.zip"'
    assert response.mimetype == "application/zip"


def test_staff_of_a_case_that_references_the_file_and_auditors_may_download_it(
    p1: f.People, p1_round: int, others: f.People
) -> None:
    ent = p1["ent"]
    uploaded = ent.upload(REPORT, NAME)
    url = f"/api/v1/files/{uploaded['id']}"
    # uploaded but not yet submitted in any case: the enterprise only (and auditors)
    for staff in (p1["city"], p1["province"], others["miit"]):
        assert_not_found(staff.get(url))
    assert others["colleague"].get(url).status_code == 200  # the same enterprise
    assert p1["auditor"].get(url).status_code == 200

    f.apply(ent, p1_round, evidence=[uploaded["id"]])
    for allowed in (p1["city"], p1["city_b"], p1["province"], p1["auditor"]):
        response = allowed.get(url)
        assert response.status_code == 200, allowed.user_id
        assert response.data == REPORT
    # MIIT reads the province's 小巨人 cases only, not an innovative SME's evaluation
    for denied in (others["city_gz"], p1["ent2"], p1["owner"], others["miit"]):
        assert_not_found(denied.get(url))


def test_an_unknown_file_is_404(p1: f.People) -> None:
    assert_not_found(p1["auditor"].get("/api/v1/files/00000000-0000-4000-8000-000000000000"))


def test_a_complaint_evidence_file_is_for_the_authority_not_the_complained_of_enterprise(
    ctx: EngineContext, client: FlaskClient, people: f.People
) -> None:
    """第十三条: what a complainant submits goes to who handles it, never to the enterprise."""
    uscc = f.uscc("360100", 1)
    f.issue_qualification(ctx, uscc_code=uscc, tier="innovative")
    public = f.user(ctx, client, role="public", user_id="citizen")
    uploaded = public.upload(b"%PDF-1.4 photos", "现场照片.pdf")
    filed = public.post(
        "/api/v1/complaints",
        json={
            "uscc": uscc,
            "content": "研发人员数量与实际不符",
            "evidence": [uploaded["id"]],
            "complainant": PERSON,
        },
    )
    assert filed.status_code == 201, filed.json
    complaint, city, ent = filed.json["id"], people["city"], people["ent"]
    url = f"/api/v1/files/{uploaded['id']}"
    assert public.get(url).status_code == 200  # its uploader
    assert city.get(url).status_code == 200  # the handling city's region
    assert_not_found(ent.get(url))
    accept = city.get(f"/api/v1/tasks/{city.task('city_accept', complaint)['id']}").json
    assert list(accept["evidence_files"]) == [uploaded["id"]]
    assert accept["data_schema"]["properties"]["evidence"]["title"] == "证据材料"
    city.complete("city_accept", {"decision": "accept", "reason": "受理"}, complaint)
    answer = ent.get(f"/api/v1/tasks/{ent.task('enterprise_answer', complaint)['id']}").json
    assert answer["evidence_files"] == {}  # unless the city chooses to show it (share_evidence)
    assert_not_found(ent.get(url))


def test_task_detail_lists_the_evidence_and_the_fields_of_its_case_data(
    p1: f.People, p1_round: int, others: f.People
) -> None:
    ent = p1["ent"]
    uploaded = ent.upload(REPORT, NAME)
    instance_id = f.apply(ent, p1_round, evidence=[uploaded["id"]])
    task = p1["city"].task("city_review", instance_id)
    detail = p1["city"].get(f"/api/v1/tasks/{task['id']}").json
    assert detail["data"]["evidence"] == [uploaded["id"]]
    assert detail["evidence_files"] == {
        uploaded["id"]: {
            "id": uploaded["id"],
            "filename": NAME,
            "content_type": "application/pdf",
            "size": len(REPORT),
            "sha256": hashlib.sha256(REPORT).hexdigest(),
            "uploaded_at": uploaded["uploaded_at"],
        }
    }
    fields = detail["data_schema"]["properties"]
    assert fields["revenue_y1"]["title"] == "上年度营业收入"  # the self-evaluation's titles
    assert fields["evidence"]["items"]["format"] == "evidence-file"
    assert "decision" not in fields  # no review was completed before this one


def test_openapi_documents_the_download(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/files/{file_id}"]
    assert "post" in paths["/api/v1/files"]


@pytest.mark.parametrize("role", ["auditor", "process_owner"])
def test_read_only_roles_may_not_upload(ctx: EngineContext, client: FlaskClient, role: str) -> None:
    reader = f.user(ctx, client, role=role, user_id=f"{role}-1")
    response = reader.client.post(
        "/api/v1/files",
        data={"file": (io.BytesIO(REPORT), NAME)},
        headers=reader._headers(),
        content_type="multipart/form-data",
    )
    assert response.status_code == 403, response.json
    assert response.mimetype == PROBLEM
