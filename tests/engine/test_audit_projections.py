"""Verification cross-checks the rows kept beside the history against it: a qualification's
status and validity, a finished case's status and outcome, a complaint's complainant; and shows
the anchor's time in the programme's zone."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from engine import audit_checks, audit_projections, instances
from engine.clock import SimulatedClock
from engine.context import EngineContext
from engine.store import HistoryEvent, Qualification
from tests import factories as f
from tests.engine.conftest import Tidu
from tests.engine.test_audit_integrity import rewrite
from tests.engine.test_history import execute, verify
from tests.processes.test_qualification_lifecycle import at, register

REGION = "360100"
PERSON = {"name": "张三", "id_number": "36010219800101123X", "contact": "13800000000"}
IDENTITY = (PERSON["name"], PERSON["id_number"], PERSON["contact"], "zhangsan", "李四")


def only(problems: list[dict[str, Any]]) -> dict[str, Any]:
    [problem] = problems
    return problem


def tidu_verify(tidu: Tidu) -> Any:
    result = tidu("audit", "verify")
    assert result.exit_code in (0, 1), result.output
    return result


# -- qualification -----------------------------------------------------------------------------


@pytest.fixture
def issued(ctx: EngineContext, people: f.People) -> Qualification:
    """A 专精特新 qualification as its certification issues it, with its lifecycle."""
    return register(ctx)


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        (
            "expires_on",
            "'2031-08-31'",
            "有效期至（expires_on）为 2031-08-31，历史记录为 2028-08-31",
        ),
        ("status", "'revoked'", "状态（status）为 revoked（已撤销），历史记录为 active（有效）"),
        ("renewal_eligible", "false", "复核资格（renewal_eligible）为 无，历史记录为 有"),
        ("info_updated_on", "'2026-03-10'", "（info_updated_on）为 2026-03-10，历史记录为 （空）"),
        ("issued_on", "'2024-09-01'", "颁发日期（issued_on）为 2024-09-01，历史记录为 2025-09-01"),
    ],
)
def test_an_edited_qualification_names_the_field_the_stored_value_and_the_history(
    ctx: EngineContext,
    db_engine: Engine,
    issued: Qualification,
    tidu: Tidu,
    column: str,
    value: str,
    said: str,
) -> None:
    assert verify(ctx) == []
    execute(db_engine, f"UPDATE qualification SET {column} = {value} WHERE id = :id", id=issued.id)
    problem = only(verify(ctx))
    assert problem["stream"] == f"instance:{issued.lifecycle_instance_id}"
    assert problem["reason"].startswith(f"资格 {issued.number}（qualification 表）的")
    assert said in problem["reason"]
    assert problem["reason"].endswith("：资格登记被改动")
    with ctx.reading() as session:
        kind = session.scalar(
            select(HistoryEvent.kind).where(HistoryEvent.id == problem["event_id"])
        )
    assert kind in ("instance.started", "qualification.changed")
    result = tidu_verify(tidu)
    assert result.exit_code == 1
    assert said in result.output
    assert "历史记录完整" not in result.output


def test_a_qualification_is_held_to_its_latest_change(
    ctx: EngineContext, clock: SimulatedClock, db_engine: Engine, issued: Qualification
) -> None:
    at(ctx, clock, date(2026, 5, 1), hour=0)  # no annual update by 30 April: 第十条
    with ctx.reading() as session:
        q = session.get(Qualification, issued.id)
        assert (q.status, q.renewal_eligible) == ("renewal_ineligible", False)
    assert verify(ctx) == []  # the changes are in the history
    execute(
        db_engine,
        "UPDATE qualification SET status = 'active', renewal_eligible = true WHERE id = :id",
        id=issued.id,
    )
    reasons = sorted(p["reason"] for p in verify(ctx))
    assert len(reasons) == 2
    assert "复核资格（renewal_eligible）为 有，历史记录为 无（第 " in reasons[0]
    assert (
        "状态（status）为 active（有效），历史记录为 renewal_ineligible（有效（已取消复核资格））"
        in (reasons[1])
    )
    assert "条事件 qualification.changed）" in reasons[1]


def test_a_qualification_moved_onto_another_lifecycle_is_named(
    ctx: EngineContext, db_engine: Engine, people: f.People
) -> None:
    first, second = register(ctx, serial=1), register(ctx, serial=2, number="JX-T-2")
    execute(
        db_engine,
        "UPDATE qualification SET lifecycle_instance_id = :other WHERE id = :id",
        other=first.lifecycle_instance_id,
        id=second.id,
    )
    reasons = [p["reason"] for p in verify(ctx)]
    assert (
        f"资格 JX-T-2（qualification 表）的生命周期案件 {first.lifecycle_instance_id} 的创建记录"
        in (reasons[0])
    )
    assert f"登记的是资格 {first.number}：资格登记被改动" in reasons[0]


def test_qualifications_without_a_lifecycle_are_listed_as_unverifiable_not_failed(
    ctx: EngineContext, db_engine: Engine, issued: Qualification, tidu: Tidu
) -> None:
    execute(
        db_engine,
        "UPDATE qualification SET instance_id = lifecycle_instance_id, "
        "lifecycle_instance_id = NULL WHERE id = :id",
        id=issued.id,
    )
    assert verify(ctx) == []
    result = tidu_verify(tidu)
    assert result.exit_code == 0, result.output
    assert "历史记录完整" in result.output
    assert "无法核对：1 个资格没有生命周期案件" in result.output
    assert f"资格 {issued.number}" in result.output


# -- process_instance --------------------------------------------------------------------------


@pytest.fixture
def finished(ctx: EngineContext, p1: f.People, p1_round: int) -> str:
    """A P1 case the eligibility check ended (outcome ineligible)."""
    case = f.apply(p1["ent"], p1_round, on_abnormal_list=True, employees=1500, revenue_y1=50000)
    with ctx.reading_rows() as conn:
        row = conn.execute(
            text("SELECT status, outcome FROM process_instance WHERE id = :i"), {"i": case}
        ).one()
    assert tuple(row) == ("completed", "ineligible")
    return case


def test_a_finished_cases_edited_outcome_is_named(
    ctx: EngineContext, db_engine: Engine, finished: str
) -> None:
    assert verify(ctx) == []
    execute(
        db_engine, "UPDATE process_instance SET outcome = 'qualified' WHERE id = :i", i=finished
    )
    problem = only(verify(ctx))
    assert problem["stream"] == f"instance:{finished}"
    assert problem["reason"] == (
        f"案件 {finished}（process_instance 表，innovative_evaluation）的办理结果（outcome）为 "
        f"qualified，历史记录为 ineligible（第 {problem['seq']} 条事件 instance.completed）"
        "：案件记录被改动"
    )


def test_a_finished_case_set_running_again_is_named_with_its_local_completion_time(
    ctx: EngineContext, db_engine: Engine, finished: str
) -> None:
    execute(
        db_engine,
        "UPDATE process_instance SET status = 'running', outcome = NULL, completed_at = NULL "
        "WHERE id = :i",
        i=finished,
    )
    problem = only(verify(ctx))
    assert (
        "的状态（status）为 running（进行中），历史记录为 completed（已办结）（第 "
        in (problem["reason"])
    )
    assert "instance.completed，2025-09-01T" in problem["reason"]
    assert "+08:00）：案件记录被改动" in problem["reason"]


def test_a_running_case_marked_completed_without_its_completion_is_named(
    ctx: EngineContext, db_engine: Engine, p1: f.People, p1_round: int
) -> None:
    case = f.apply(p1["ent"], p1_round)
    execute(
        db_engine,
        "UPDATE process_instance SET status = 'completed', outcome = 'qualified' WHERE id = :i",
        i=case,
    )
    problem = only(verify(ctx))
    assert (problem["stream"], problem["event_id"]) == (f"instance:{case}", None)
    assert problem["reason"] == (
        f"案件 {case}（process_instance 表，innovative_evaluation）的状态（status）为 "
        "completed（已办结），历史记录为 running（进行中）（没有 instance.completed 事件）"
        "：案件记录被改动"
    )


def test_a_finished_cases_completion_time_is_checked(
    ctx: EngineContext, db_engine: Engine, finished: str
) -> None:
    execute(
        db_engine,
        "UPDATE process_instance SET completed_at = '2030-01-01 00:00:00.000000' WHERE id = :i",
        i=finished,
    )
    problem = only(verify(ctx))
    assert (
        "办结时间（completed_at）为 2030-01-01T08:00:00+08:00，历史记录为 2025-09-01T"
        in (problem["reason"])
    )


# -- complainant -------------------------------------------------------------------------------


@pytest.fixture
def complaint(ctx: EngineContext, client: FlaskClient, people: f.People) -> str:
    """A complaint by 张三 (public) about the enterprise's 创新型 qualification; its case id."""
    uscc = f.uscc(REGION, 1)
    f.issue_qualification(ctx, uscc_code=uscc, tier="innovative", region=REGION)
    public = f.user(ctx, client, role="public", user_id="zhangsan")
    filed = public.post(
        "/api/v1/complaints",
        json={
            "uscc": uscc,
            "subject": "研发投入不实",
            "content": "该企业申报的研发费用与实际不符",
            "evidence": [public.upload(b"%PDF evidence", "proof.pdf")["id"]],
            "complainant": PERSON,
        },
    )
    assert filed.status_code == 201, filed.json
    return str(filed.json["id"])


def test_a_filing_records_a_sha256_of_the_complainants_identity(
    ctx: EngineContext, complaint: str
) -> None:
    with ctx.reading() as session:
        data = session.scalar(
            select(HistoryEvent.data).where(
                HistoryEvent.stream == f"instance:{complaint}", HistoryEvent.seq == 1
            )
        )
    kept = data["complainant"]
    assert kept["fields"] == ["name", "id_number", "contact", "filed_by", "authority"]
    assert kept["sha256"] == audit_projections.identity_digest(
        PERSON | {"filed_by": "zhangsan", "authority": "city"}
    )
    assert verify(ctx) == []


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [
        ("name", "李四", "的姓名、证件号码或联系方式（name、id_number、contact）与立案记录"),
        ("id_number", "360102199001011234", "（name、id_number、contact）与立案记录（第 1 条"),
        ("contact", "13900000000", "（name、id_number、contact）与立案记录（第 1 条事件"),
        ("filed_by", "lisi", "的投诉人账号（filed_by）与立案记录（第 1 条事件 instance.started）"),
        ("authority", "province", "处理机关（authority）为 province（省级主管部门），立案记录"),
    ],
)
def test_an_edited_complainant_is_named_without_showing_the_identity(
    ctx: EngineContext,
    db_engine: Engine,
    complaint: str,
    tidu: Tidu,
    column: str,
    value: str,
    said: str,
) -> None:
    execute(
        db_engine,
        f"UPDATE complainant SET {column} = :v WHERE instance_id = :i",
        v=value,
        i=complaint,
    )
    problem = only(verify(ctx))
    assert (problem["stream"], problem["seq"]) == (f"instance:{complaint}", 1)
    assert problem["reason"].startswith("投诉人登记 ")
    assert f"（complainant 表，投诉案件 {complaint}）" in problem["reason"]
    assert said in problem["reason"]
    assert problem["reason"].split("：")[-1].startswith("投诉人记录被改动")
    for word in IDENTITY:  # the province reads verification too (第十三条)
        assert word not in problem["reason"]
    result = tidu_verify(tidu)
    assert result.exit_code == 1
    assert said in result.output


def test_a_deleted_complainant_is_named(
    ctx: EngineContext, db_engine: Engine, complaint: str
) -> None:
    execute(db_engine, "DELETE FROM complainant WHERE instance_id = :i", i=complaint)
    problem = only(verify(ctx))
    assert problem["stream"] == f"instance:{complaint}"
    assert problem["reason"].startswith(
        f"投诉案件 {complaint} 的立案记录（第 1 条事件 instance.started）"
    )
    assert problem["reason"].endswith("complainant 表中已没有该案件的投诉人记录（被删除）")


def test_a_filing_recorded_before_the_digest_cannot_be_compared_but_is_listed(
    ctx: EngineContext, db_engine: Engine, complaint: str, tidu: Tidu
) -> None:
    with ctx.reading() as session:
        data = session.scalar(
            select(HistoryEvent.data).where(
                HistoryEvent.stream == f"instance:{complaint}", HistoryEvent.seq == 1
            )
        )
    del data["complainant"]  # as filings before the digest was recorded
    rewrite(db_engine, f"instance:{complaint}", from_seq=1, data=data)
    execute(db_engine, "UPDATE complainant SET name = '李四' WHERE instance_id = :i", i=complaint)
    assert verify(ctx) == []
    result = tidu_verify(tidu)
    assert result.exit_code == 0, result.output
    assert "历史记录完整" in result.output
    assert (
        "无法核对：1 件投诉的立案记录没有投诉人身份的 sha256（记录摘要之前登记），complainant 表中"
        f"的姓名、证件号码、联系方式无法核对：投诉案件 {complaint}"
    ) in result.output
    # what the filing did record is still compared
    execute(
        db_engine,
        "UPDATE complainant SET authority = 'province' WHERE instance_id = :i",
        i=complaint,
    )
    assert "处理机关（authority）" in only(verify(ctx))["reason"]


# -- bulk reads ------------------------------------------------------------------------------------


def test_the_cross_checks_read_each_table_in_a_fixed_number_of_queries(
    ctx: EngineContext, clock: SimulatedClock, people: f.People
) -> None:
    def statements() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
            seen.append(statement)

        event.listen(ctx.db, "before_cursor_execute", count)
        try:
            with ctx.streaming_rows(audit_projections.BATCH) as conn:
                assert audit_projections.cross_check(conn) == []
        finally:
            event.remove(ctx.db, "before_cursor_execute", count)
        return len(seen)

    register(ctx, serial=1)
    one = statements()
    for serial in range(2, 6):
        register(ctx, serial=serial, number=f"JX-T-{serial}")
    clock.advance(timedelta(days=1))
    instances.fire_due(ctx)
    assert statements() == one


# -- local times ---------------------------------------------------------------------------------


def test_the_anchor_and_its_messages_are_in_the_programmes_zone(
    ctx: EngineContext, db_engine: Engine, finished: str, tidu: Tidu, tmp_path: Path
) -> None:
    out = tmp_path / "anchor.json"
    assert tidu("audit", "anchor", "--out", str(out)).exit_code == 0
    kept = json.loads(out.read_text(encoding="utf-8"))
    assert kept["created_at"].endswith("+08:00")
    with ctx.reading_rows() as conn:
        assert audit_checks.anchor(conn, ctx.now())["created_at"].endswith("+08:00")
    # an anchor written before times were local says UTC; its messages say +08:00
    old = kept | {"created_at": "2025-09-01T01:00:00+00:00"}
    execute(db_engine, "DELETE FROM history_event WHERE stream = :s", s=f"instance:{finished}")
    with ctx.reading_rows() as conn:
        reasons = [p["reason"] for p in audit_checks.check_anchor(conn, old)]
    assert any("锚点（2025-09-01T09:00:00+08:00）记录的第" in r for r in reasons)
    assert not any("+00:00" in r for r in reasons)
