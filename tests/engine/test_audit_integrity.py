"""What verification checks beyond each chain: entities whose whole history is gone, streams
without their creating event or head, replaced evidence files, and anchored heads."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from engine import audit_checks, history
from engine.clock import SimulatedClock
from engine.context import EngineContext
from engine.store import (
    Ban,
    CalendarYear,
    Complainant,
    Definition,
    HistoryEvent,
    Qualification,
    Round,
)
from tests import factories as f
from tests.engine.conftest import Tidu
from tests.engine.test_history import execute, spot_checked, stream_rows, verify


@pytest.fixture
def run(ctx: EngineContext, clock: SimulatedClock, p1: f.People, p1_round: int) -> str:
    """A P1 case through 市级初审 (with an evidence file) and 抽查; returns the instance id."""
    return spot_checked(p1, p1_round)


def delete_stream(db: Engine, stream: str) -> None:
    """What an intruder does to make a case's history disappear: its events and its head."""
    execute(db, "DELETE FROM history_event WHERE stream = :s", s=stream)
    execute(db, "DELETE FROM history_stream WHERE stream = :s", s=stream)


def set_content(db: Engine, file_id: str, content: bytes, **columns: Any) -> None:
    sets = ", ".join(["content = :content", *(f"{c} = :{c}" for c in columns)])
    execute(
        db,
        f"UPDATE evidence_file SET {sets} WHERE id = :id",
        content=content,
        id=file_id,
        **columns,
    )


# -- 1. an entity's whole history deleted ------------------------------------------------------


def test_deleting_a_cases_whole_history_and_its_head_names_the_case(
    ctx: EngineContext, db_engine: Engine, run: str, tidu: Tidu
) -> None:
    assert verify(ctx) == []
    delete_stream(db_engine, f"instance:{run}")
    [problem] = verify(ctx)
    assert (problem["stream"], problem["seq"], problem["event_id"]) == (f"instance:{run}", 1, None)
    assert problem["reason"].startswith(f"案件 {run}（innovative_evaluation，")
    assert "历史记录整条缺失" in problem["reason"]
    result = tidu("audit", "verify")
    assert result.exit_code == 1
    assert f"stream=instance:{run} " in result.output
    assert "整条缺失" in result.output


def test_deleting_a_definitions_deployment_stream_names_the_process_key(
    ctx: EngineContext, db_engine: Engine, p1: f.People
) -> None:
    delete_stream(db_engine, "definition:innovative_evaluation")
    [problem] = verify(ctx)
    assert problem["stream"] == "definition:innovative_evaluation"
    assert (
        "流程定义 innovative_evaluation（已部署 1 个版本）的部署记录整条缺失" in problem["reason"]
    )


def test_a_definition_row_without_its_deployment_event_is_named(
    ctx: EngineContext, p1: f.People
) -> None:
    with ctx.transaction() as session:
        v1 = session.scalars(
            select(Definition).where(Definition.process_key == "innovative_evaluation")
        ).one()
        columns = {c.key: getattr(v1, c.key) for c in Definition.__table__.c if c.key != "id"}
        forged = Definition(**(columns | {"version": 2, "checksum": "forged"}))
        session.add(forged)
        session.flush()
        forged_id = forged.id
    [problem] = verify(ctx)
    assert problem["stream"] == "definition:innovative_evaluation"
    assert problem["reason"] == (
        f"流程定义 innovative_evaluation 第 2 版（id {forged_id}）没有部署记录"
    )


def test_a_case_started_with_another_event_than_instance_started_is_named(
    ctx: EngineContext, clock: SimulatedClock
) -> None:
    with ctx.transaction() as session:
        history.append(
            session, stream="instance:x", kind="task.completed", actor="t", at=clock.now()
        )
    [problem] = verify(ctx)
    assert (problem["stream"], problem["seq"]) == ("instance:x", 1)
    assert "第 1 条事件应为 instance.started，实为 task.completed" in problem["reason"]


def test_events_without_their_stream_head_are_detected(
    ctx: EngineContext, db_engine: Engine, run: str
) -> None:
    rows = stream_rows(db_engine, run)
    execute(db_engine, "DELETE FROM history_event WHERE id = :id", id=rows[-1][0])
    execute(db_engine, "DELETE FROM history_stream WHERE stream = :s", s=f"instance:{run}")
    [problem] = verify(ctx)
    assert (problem["stream"], problem["seq"]) == (f"instance:{run}", len(rows))
    assert "链头记录缺失" in problem["reason"]


def test_qualifications_complaints_and_bans_name_their_missing_cases(ctx: EngineContext) -> None:
    now = ctx.now()
    gone, other = "0" * 8 + "-0000-0000-0000-" + "0" * 12, "1" * 8 + "-0000-0000-0000-" + "1" * 12
    uscc = f.uscc("360100", 7)
    with ctx.transaction() as session:
        common = {"tier": "innovative", "uscc": uscc, "enterprise_name": "企业", "status": "active"}
        dates = {"issued_on": date(2025, 1, 1), "expires_on": date(2028, 1, 1), "created_at": now}
        session.add(Qualification(number="Q-1", lifecycle_instance_id=gone, **common, **dates))
        session.add(Qualification(number="Q-2", **common, **dates))  # from outside the engine
        session.add(
            Complainant(
                instance_id=other,
                name="张三",
                id_number="x",
                contact="y",
                authority="city",
                filed_by="public",
                filed_at=now,
            )
        )
        ban = {"uscc": uscc, "reason": "r", "basis": "第十二条", "created_at": now}
        period = {"starts_on": date(2025, 1, 1), "ends_on": date(2028, 1, 1), "created_by": "p"}
        session.add(Ban(instance_id=gone, **ban, **period))
        session.add(Ban(id="ban-without-case", **ban, **period))
    reasons = {p["reason"] for p in verify(ctx)}
    assert f"资格 Q-1 的生命周期案件 {gone} 的历史记录整条缺失" in reasons
    assert f"资格 Q-2（企业 {uscc}）没有任何案件与历史记录" in reasons
    assert any(r.startswith("投诉人登记 ") and f"的投诉案件 {other} 的" in r for r in reasons)
    assert f"企业 {uscc} 的禁止申报决定所在案件 {gone} 的历史记录整条缺失" in reasons
    assert f"企业 {uscc} 的禁止申报记录 ban-without-case 没有所在案件与历史记录" in reasons
    assert len(reasons) == 5


def test_a_scheduled_round_or_calendar_year_without_its_event_is_named(
    ctx: EngineContext, p1: f.People, p1_round: int
) -> None:
    with ctx.transaction() as session:
        forged = Round(
            process_key="innovative_evaluation",
            label="伪造批次",
            opens_on=date(2025, 10, 1),
            closes_at=ctx.now(),
            created_at=ctx.now(),
            schedule_key="innovative_evaluation@2025-10-01",
        )
        session.add(forged)
        session.add(
            CalendarYear(year=2031, data={}, checksum="x", uploaded_at=ctx.now(), uploaded_by="p")
        )
        session.flush()
        forged_id = forged.id
    assert sorted((p["stream"], p["reason"]) for p in verify(ctx)) == [
        ("calendar", "2031 年工作日历没有上传记录"),
        ("rounds:innovative_evaluation", f"按计划开放的批次 {forged_id}（伪造批次）没有开放记录"),
    ]


# -- 3. evidence files -------------------------------------------------------------------------


def test_an_upload_is_recorded_in_the_files_own_stream(ctx: EngineContext, p1: f.People) -> None:
    uploaded = p1["ent"].upload(b"report", "r.pdf")
    with ctx.reading() as session:
        [event] = session.scalars(
            select(HistoryEvent).where(HistoryEvent.stream == f"file:{uploaded['id']}")
        )
    assert (event.seq, event.kind, event.actor) == (1, "file.uploaded", p1["ent"].user_id)
    assert event.data["sha256"] == hashlib.sha256(b"report").hexdigest() == uploaded["sha256"]
    assert verify(ctx) == []


def test_replacing_a_files_content_is_detected(
    ctx: EngineContext, db_engine: Engine, p1: f.People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_checks, "FILE_BATCH", 1)  # files read one at a time
    ids = [p1["ent"].upload(f"file {n}".encode())["id"] for n in range(3)]
    set_content(db_engine, ids[1], b"forged")
    [problem] = verify(ctx)
    assert problem["stream"] == f"file:{ids[1]}"
    forged = hashlib.sha256(b"forged").hexdigest()
    assert f"实际 {forged}）：文件被替换" in problem["reason"]


def test_replacing_a_files_content_and_its_sha256_is_detected_by_its_upload_event(
    ctx: EngineContext, db_engine: Engine, p1: f.People
) -> None:
    file_id = p1["ent"].upload(b"genuine")["id"]
    forged = hashlib.sha256(b"forged").hexdigest()
    set_content(db_engine, file_id, b"forged", sha256=forged)
    [problem] = verify(ctx)
    assert (problem["stream"], problem["seq"]) == (f"file:{file_id}", 1)
    assert f"登记的 sha256 {forged} 与上传记录的" in problem["reason"]


def test_a_file_cited_by_a_task_is_checked_against_the_citing_event(
    ctx: EngineContext, db_engine: Engine, run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_checks, "REF_BATCH", 1)
    with db_engine.connect() as conn:
        event_id, data = conn.execute(
            text(
                "SELECT id, data FROM history_event WHERE stream = :s AND kind = 'task.completed' "
                "AND bpmn_id = 'self_evaluation'"
            ),
            {"s": f"instance:{run}"},
        ).one()
    data = json.loads(data) if isinstance(data, str) else data
    [cited] = data["evidence"]["evidence"]
    # the file and its whole upload stream removed: only the citing event still knows it
    execute(db_engine, "DELETE FROM evidence_file WHERE id = :id", id=cited["id"])
    delete_stream(db_engine, f"file:{cited['id']}")
    [problem] = verify(ctx)
    assert (problem["stream"], problem["event_id"]) == (f"instance:{run}", event_id)
    assert problem["reason"] == f"事件引用的佐证材料 {cited['id']} 已不存在（文件被删除）"


# -- 2. anchors --------------------------------------------------------------------------------


def rewrite(db: Engine, stream: str, *, from_seq: int, data: dict[str, Any]) -> None:
    """Rewrite a stream from `from_seq` on, recomputing every hash and moving its head: what
    the chains alone cannot tell from the original."""
    with db.begin() as conn:
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                select(HistoryEvent.__table__)
                .where(HistoryEvent.stream == stream)
                .order_by(HistoryEvent.seq)
            )
        ]
        prev = history.GENESIS
        for row in rows:
            if row["seq"] == from_seq:
                row["data"] = data
            row["prev_hash"] = prev
            row["hash"] = prev = history._digest(row)
            conn.execute(
                HistoryEvent.__table__.update()
                .where(HistoryEvent.id == row["id"])
                .values(data=row["data"], prev_hash=row["prev_hash"], hash=row["hash"])
            )
        conn.execute(
            text("UPDATE history_stream SET head_hash = :h WHERE stream = :s"),
            {"h": prev, "s": stream},
        )


def test_a_rewritten_stream_passes_the_chains_but_fails_against_an_anchor(
    ctx: EngineContext, db_engine: Engine, run: str, p1: f.People
) -> None:
    with ctx.reading_rows() as conn:
        kept = json.loads(audit_checks.dump_anchor(audit_checks.anchor(conn, ctx.now())))
    assert kept["streams"] == len(kept["heads"]) > 0
    # later appends are fine
    p1["ent"].upload(b"later")
    with ctx.reading_rows() as conn:
        assert audit_checks.check_anchor(conn, kept) == []
    stream, rows = f"instance:{run}", stream_rows(db_engine, run)
    rewrite(db_engine, stream, from_seq=3, data={"rewritten": True})
    assert verify(ctx) == []  # the chains alone: consistent
    with ctx.reading_rows() as conn:
        [problem] = audit_checks.check_anchor(conn, kept)
    assert (problem["stream"], problem["seq"]) == (stream, len(rows))
    assert "哈希与锚点" in problem["reason"]
    assert "历史被改写" in problem["reason"]


def test_a_truncated_stream_fails_against_an_anchor(
    ctx: EngineContext, db_engine: Engine, run: str
) -> None:
    with ctx.reading_rows() as conn:
        kept = audit_checks.anchor(conn, ctx.now())
    stream, rows = f"instance:{run}", stream_rows(db_engine, run)
    execute(db_engine, "DELETE FROM history_event WHERE id = :id", id=rows[-1][0])
    with db_engine.connect() as conn:
        prev = conn.scalar(
            text("SELECT hash FROM history_event WHERE id = :id"), {"id": rows[-2][0]}
        )
    execute(
        db_engine,
        "UPDATE history_stream SET seq = :n, head_hash = :h WHERE stream = :s",
        n=len(rows) - 1,
        h=prev,
        s=stream,
    )
    assert verify(ctx) == []
    with ctx.reading_rows() as conn:
        [problem] = audit_checks.check_anchor(conn, kept)
    assert (problem["stream"], problem["seq"], problem["event_id"]) == (stream, len(rows), None)
    assert "已不存在（历史被截断或删除）" in problem["reason"]


def test_an_edited_anchor_file_fails_its_digest_and_a_forged_one_its_signature(
    ctx: EngineContext, run: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIDU_AUDIT_KEY", "kept-by-the-audit-office")
    with ctx.reading_rows() as conn:
        kept = audit_checks.anchor(conn, ctx.now())
        assert "hmac" in kept
        assert audit_checks.check_anchor(conn, kept) == []
        edited = json.loads(json.dumps(kept))
        edited["heads"][0][2] = "f" * 64
        reasons = [p["reason"] for p in audit_checks.check_anchor(conn, edited)]
        assert "锚点文件的合并摘要与其中的链头不符（锚点文件被改动）" in reasons
        # a forger recomputes the digest but cannot sign it
        digest = hashlib.sha256()
        for head in edited["heads"]:
            digest.update(f"{head[0]}\t{head[1]}\t{head[2]}\n".encode())
        edited["digest"] = digest.hexdigest()
        reasons = [p["reason"] for p in audit_checks.check_anchor(conn, edited)]
        assert reasons[0] == "锚点文件的签名不符（伪造或被改动）"
        unsigned = {k: v for k, v in kept.items() if k != "hmac"}
        [problem] = audit_checks.check_anchor(conn, unsigned)
        assert problem["reason"] == "已设置 TIDU_AUDIT_KEY，但锚点文件没有签名"


def test_cli_anchor_then_verify_with_the_anchor(
    ctx: EngineContext, db_engine: Engine, run: str, tidu: Tidu, tmp_path: Path
) -> None:
    out = tmp_path / "anchor.json"
    made = tidu("audit", "anchor", "--out", str(out))
    assert made.exit_code == 0, made.output
    kept = json.loads(out.read_text(encoding="utf-8"))
    assert kept["format"] == "tidu-audit-anchor/1"
    assert f"合并摘要 {kept['digest']}" in made.output
    assert [run_stream for run_stream, _, _ in kept["heads"] if run_stream.endswith(run)]
    ok = tidu("audit", "verify", "--anchor", str(out))
    assert ok.exit_code == 0, ok.output
    assert "记录的链头均仍在链中" in ok.output

    rewrite(db_engine, f"instance:{run}", from_seq=2, data={})
    assert tidu("audit", "verify").exit_code == 0  # without the anchor: undetectable
    broken = tidu("audit", "verify", "--anchor", str(out))
    assert broken.exit_code == 1
    assert f"stream=instance:{run} " in broken.output
    assert "历史被改写" in broken.output

    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    bad = tidu("audit", "verify", "--anchor", str(tmp_path / "bad.json"))
    assert bad.exit_code == 1
    assert "锚点文件格式不正确" in bad.output


def test_cli_anchor_refuses_a_history_that_fails_verification(
    db_engine: Engine, run: str, tidu: Tidu, tmp_path: Path
) -> None:
    delete_stream(db_engine, f"instance:{run}")
    out = tmp_path / "anchor.json"
    refused = tidu("audit", "anchor", "--out", str(out))
    assert refused.exit_code == 1
    assert "未生成锚点" in refused.output
    assert not out.exists()


def test_verify_takes_a_session_too(ctx: EngineContext, run: str) -> None:
    with ctx.sessions() as session:
        assert history.verify(session) == []


def test_files_stored_before_uploads_were_recorded_are_registered_once(
    ctx: EngineContext, db_engine: Engine, p1: f.People, tidu: Tidu
) -> None:
    file_id = p1["ent"].upload(b"older report", "old.pdf")["id"]
    delete_stream(db_engine, f"file:{file_id}")  # as a database from before the upload events
    [problem] = verify(ctx)
    assert "tidu audit register-files" in problem["reason"]

    registered = tidu("audit", "register-files")
    assert registered.exit_code == 0, registered.output
    assert f"已补记上传记录：file:{file_id}" in registered.output
    assert verify(ctx) == []
    with ctx.reading() as session:
        [event] = session.scalars(
            select(HistoryEvent).where(HistoryEvent.stream == f"file:{file_id}")
        )
    assert event.actor.startswith("cli:")  # who registered it, not the enterprise
    assert event.data["uploaded_by"] == p1["ent"].user_id
    assert event.data["recorded_after_the_fact"] is True
    again = tidu("audit", "register-files")
    assert "共补记 0 个文件" in again.output
