"""The audit API and file downloads against a deleted case history, a replaced evidence file and
a rewritten stream (with an anchor kept outside the database)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from engine import audit_checks
from engine.context import EngineContext
from tests import factories as f
from tests.engine.test_audit_integrity import delete_stream, rewrite, set_content

PROBLEM = "application/problem+json"


def post_anchor(api: f.Api, body: Any) -> Any:
    return api.post("/api/v1/audit/verify", data=body, content_type="application/json")


def test_verify_reports_a_case_whose_whole_history_was_deleted(
    db_engine: Engine, p1: f.People, p1_round: int
) -> None:
    auditor = p1["auditor"]
    case = f.apply(p1["ent"], p1_round)
    assert auditor.get("/api/v1/audit/verify").json == {"ok": True, "problems": []}
    delete_stream(db_engine, f"instance:{case}")
    with db_engine.connect() as conn:  # the case row itself is left
        assert conn.scalar(text("SELECT count(*) FROM process_instance WHERE id = :i"), {"i": case})
    body = auditor.get("/api/v1/audit/verify").json
    assert body["ok"] is False
    [problem] = body["problems"]
    assert problem["stream"] == f"instance:{case}"
    assert f"案件 {case}（innovative_evaluation，" in problem["reason"]


def test_a_replaced_file_is_refused_and_reported(db_engine: Engine, p1: f.People) -> None:
    ent, auditor = p1["ent"], p1["auditor"]
    file_id = ent.upload(b"%PDF genuine", "report.pdf")["id"]
    assert ent.get(f"/api/v1/files/{file_id}").data == b"%PDF genuine"
    set_content(db_engine, file_id, b"%PDF forged")
    for reader in (ent, auditor):
        response = reader.get(f"/api/v1/files/{file_id}")
        assert response.status_code == 409
        assert response.mimetype == PROBLEM
        assert response.json["type"].endswith("/file-integrity")
        assert response.json["title"] == "文件内容与上传时登记的 sha256 不符，已拒绝提供"
        assert response.json["file_id"] == file_id
        assert b"forged" not in response.data
    # a stranger still learns nothing about the file
    assert p1["ent2"].get(f"/api/v1/files/{file_id}").status_code == 404
    [problem] = auditor.get("/api/v1/audit/verify").json["problems"]
    assert problem["stream"] == f"file:{file_id}"
    assert hashlib.sha256(b"%PDF forged").hexdigest() in problem["reason"]


def test_verify_with_a_posted_anchor(
    ctx: EngineContext, db_engine: Engine, p1: f.People, p1_round: int
) -> None:
    auditor = p1["auditor"]
    case = f.apply(p1["ent"], p1_round)
    with ctx.reading_rows() as conn:
        kept = audit_checks.dump_anchor(audit_checks.anchor(conn, ctx.now()))
    assert post_anchor(auditor, kept).json == {"ok": True, "problems": []}
    rewrite(db_engine, f"instance:{case}", from_seq=1, data={"start_data": {}})
    assert auditor.get("/api/v1/audit/verify").json["ok"] is True  # the chains alone
    body = post_anchor(auditor, kept).json
    assert body["ok"] is False
    [problem] = body["problems"]
    assert problem["stream"] == f"instance:{case}"
    assert "历史被改写" in problem["reason"]

    bad = post_anchor(auditor, json.dumps({"format": "x"}))
    assert (bad.status_code, bad.mimetype) == (422, PROBLEM)
    assert bad.json["title"] == "提交的数据不合法"
    assert bad.json["detail"] == "锚点文件格式不正确"
    assert post_anchor(auditor, "not json").status_code == 422
    assert post_anchor(p1["city"], kept).status_code == 403


def test_verify_reports_a_finished_case_whose_outcome_was_edited(
    db_engine: Engine, p1: f.People, p1_round: int
) -> None:
    auditor = p1["auditor"]
    case = f.apply(p1["ent"], p1_round, on_abnormal_list=True, employees=1500, revenue_y1=50000)
    assert auditor.get("/api/v1/audit/verify").json == {"ok": True, "problems": []}
    with db_engine.begin() as conn:
        conn.execute(
            text("UPDATE process_instance SET outcome = 'qualified' WHERE id = :i"), {"i": case}
        )
    body = auditor.get("/api/v1/audit/verify").json
    assert body["ok"] is False
    [problem] = body["problems"]
    assert problem["stream"] == f"instance:{case}"
    assert "的办理结果（outcome）为 qualified，历史记录为 ineligible" in problem["reason"]
