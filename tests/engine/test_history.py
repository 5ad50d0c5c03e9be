"""Hash-chained history: verify finds edited, deleted and truncated rows; audit CLI, API, export."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine import history, instances
from engine.clock import SimulatedClock
from engine.context import EngineContext
from tests import factories as f
from tests.engine.conftest import Tidu

Problems = list[dict[str, Any]]


def spot_checked(p1: f.People, p1_round: int) -> str:
    """A P1 case through 市级初审 (flagged) and 抽查; returns the instance id."""
    instance_id = f.apply(p1["ent"], p1_round)
    city = p1["city"]
    city.complete("city_review", {"decision": "approve", "flag_for_spot_check": True}, instance_id)
    city.complete("city_spot_check", {"result": "pass", "findings": "现场核查属实"}, instance_id)
    return instance_id


@pytest.fixture
def run(ctx: EngineContext, clock: SimulatedClock, p1: f.People, p1_round: int) -> str:
    """A P1 case through 市级初审 (flagged), 抽查, 公示 and 推荐上报; returns the instance id."""
    instance_id = spot_checked(p1, p1_round)
    clock.advance(timedelta(days=10))
    instances.fire_due(ctx)
    p1["city"].complete("city_report", {"remarks": "同意推荐"}, instance_id)
    return instance_id


def verify(ctx: EngineContext) -> Problems:
    return history.verify_all(ctx)


def stream_rows(db: Engine, instance_id: str) -> list[tuple[int, int, str]]:
    """(id, seq, kind) of the case's events, in order."""
    sql = text("SELECT id, seq, kind FROM history_event WHERE stream = :s ORDER BY seq")
    with db.connect() as conn:
        return [(r.id, r.seq, r.kind) for r in conn.execute(sql, {"s": f"instance:{instance_id}"})]


def execute(db: Engine, sql: str, **params: Any) -> None:
    with db.begin() as conn:
        conn.execute(text(sql), params)


def tamper(db: Engine, event_id: int, data: dict[str, Any]) -> None:
    value = "CAST(:data AS JSON)" if db.dialect.name == "postgresql" else ":data"
    execute(
        db,
        f"UPDATE history_event SET data = {value} WHERE id = :id",
        data=json.dumps(data, ensure_ascii=False),
        id=event_id,
    )


def city_decision(db: Engine, instance_id: str) -> int:
    """Id of the history row recording the completion of 市级初审."""
    sql = text(
        "SELECT id FROM history_event WHERE stream = :s AND kind = 'task.completed' "
        "AND bpmn_id = 'city_review'"
    )
    with db.connect() as conn:
        return conn.scalar(sql, {"s": f"instance:{instance_id}"})


def test_history_of_a_p1_run_verifies_clean(
    ctx: EngineContext, db_engine: Engine, run: str
) -> None:
    rows = stream_rows(db_engine, run)
    assert [seq for _, seq, _ in rows] == list(range(1, len(rows) + 1))
    assert rows[0][2] == "instance.started"
    assert verify(ctx) == []


def test_editing_one_rows_data_names_that_row(
    ctx: EngineContext, db_engine: Engine, run: str
) -> None:
    event_id = city_decision(db_engine, run)
    tamper(db_engine, event_id, {"submitted": {"decision": "reject", "reason": "篡改"}})
    [problem] = verify(ctx)
    assert (problem["stream"], problem["event_id"]) == (f"instance:{run}", event_id)
    assert "已被修改" in problem["reason"]


def test_deleting_a_middle_row_names_the_stream_and_the_gap(
    ctx: EngineContext, db_engine: Engine, run: str
) -> None:
    rows = stream_rows(db_engine, run)
    execute(db_engine, "DELETE FROM history_event WHERE id = :id", id=rows[2][0])  # seq 3
    [problem] = verify(ctx)
    assert (problem["stream"], problem["event_id"]) == (f"instance:{run}", rows[3][0])
    assert problem["seq"] == 4
    assert "第 3 条事件缺失" in problem["reason"]


def test_deleting_the_last_row_is_detected_by_the_stream_head(
    ctx: EngineContext, db_engine: Engine, run: str
) -> None:
    rows = stream_rows(db_engine, run)
    execute(db_engine, "DELETE FROM history_event WHERE id = :id", id=rows[-1][0])
    [problem] = verify(ctx)
    assert (problem["stream"], problem["event_id"]) == (f"instance:{run}", None)
    assert problem["seq"] == len(rows)
    assert "链尾" in problem["reason"]


def test_deleting_a_whole_stream_is_detected_by_its_head(
    ctx: EngineContext, db_engine: Engine, run: str
) -> None:
    stream = "definition:innovative_evaluation"
    execute(db_engine, "DELETE FROM history_event WHERE stream = :s", s=stream)
    [problem] = verify(ctx)
    assert (problem["stream"], problem["event_id"]) == (stream, None)


def test_cli_audit_verify_exits_1_naming_the_broken_row(
    db_engine: Engine, run: str, tidu: Tidu
) -> None:
    intact = tidu("audit", "verify")
    assert (intact.exit_code, intact.output.strip()) == (0, "历史记录完整：所有哈希链校验通过")
    event_id = city_decision(db_engine, run)
    tamper(db_engine, event_id, {})
    broken = tidu("audit", "verify")
    assert broken.exit_code == 1
    assert f"stream=instance:{run} event_id={event_id} " in broken.output


def test_audit_verify_endpoint_reports_the_same_problems(
    ctx: EngineContext, db_engine: Engine, p1: f.People, run: str
) -> None:
    auditor = p1["auditor"]
    assert auditor.get("/api/v1/audit/verify").json == {"ok": True, "problems": []}
    tamper(db_engine, city_decision(db_engine, run), {"submitted": {}})
    response = auditor.get("/api/v1/audit/verify")
    assert response.status_code == 200
    assert response.json == {"ok": False, "problems": verify(ctx)}
    assert len(response.json["problems"]) == 1
    assert p1["city"].get("/api/v1/audit/verify").status_code == 403


def test_history_exports_as_json_and_csv(db_engine: Engine, p1: f.People, run: str) -> None:
    auditor, url = p1["auditor"], f"/api/v1/audit/instances/{run}/export"
    exported = auditor.get(url)
    assert (exported.status_code, exported.mimetype) == (200, "application/json")
    events = json.loads(exported.get_data(as_text=True))
    assert [(e["id"], e["seq"], e["kind"]) for e in events] == stream_rows(db_engine, run)
    assert all(e["prev_hash"] == prev["hash"] for prev, e in pairwise(events))

    as_csv = auditor.get(url, query_string={"format": "csv"})
    assert (as_csv.status_code, as_csv.mimetype) == (200, "text/csv")
    assert f"history-{run}.csv" in as_csv.headers["Content-Disposition"]
    body = as_csv.get_data(as_text=True)
    assert body.startswith("\ufeff")  # Excel opens UTF-8 with a BOM
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))
    assert [(int(r["事件编号"]), r["事件类型"], r["哈希"]) for r in rows] == [
        (e["id"], e["kind"], e["hash"]) for e in events
    ]
    assert [json.loads(r["数据"]) for r in rows] == [e["data"] for e in events]
    assert p1["ent2"].get(url).status_code == 404


@pytest.mark.postgres
@pytest.mark.usefixtures("requires_postgres")
def test_verify_does_not_depend_on_the_database_session_time_zone(db_url: str, run: str) -> None:
    local = create_engine(db_url, connect_args={"options": "-c TimeZone=Asia/Shanghai"})
    try:
        with Session(local) as session:
            assert session.scalar(text("SHOW TimeZone")) == "Asia/Shanghai"
            assert history.verify(session) == []
    finally:
        local.dispose()


def test_verify_reads_chains_in_batches_and_checks_each_stream_at_its_end(
    ctx: EngineContext, db_engine: Engine, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # streams of 3 events read 2 at a time: every stream ends inside a batch or at its edge
    monkeypatch.setattr(history, "VERIFY_BATCH", 2)
    with ctx.transaction() as session:
        for n in range(5):
            for i in range(3):
                history.append(
                    session,
                    stream=f"test:{n}",
                    kind="test.event",
                    actor="t",
                    at=clock.now(),
                    data={"i": i},
                    new_stream=i == 0,
                )
    assert verify(ctx) == []

    def ids(stream: str) -> list[int]:
        with db_engine.connect() as conn:
            return list(
                conn.scalars(
                    text("SELECT id FROM history_event WHERE stream = :s ORDER BY seq"),
                    {"s": stream},
                )
            )

    tamper(db_engine, ids("test:1")[1], {"i": 9})
    execute(db_engine, "DELETE FROM history_event WHERE id = :id", id=ids("test:3")[-1])
    execute(db_engine, "DELETE FROM history_event WHERE stream = 'test:4'")
    assert [(p["stream"], p["seq"], p["event_id"] is None) for p in verify(ctx)] == [
        ("test:1", 2, False),  # edited
        ("test:3", 3, True),  # its last event gone: its head says 3
        ("test:4", 1, True),  # every event gone: only its head is left
    ]
