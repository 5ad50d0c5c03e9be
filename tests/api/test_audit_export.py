"""A case's history export: the CSV in Chinese (headers, event names, element names, version,
local times); the JSON with its stored columns as they were, plus the same names."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from engine import audit_export, instances
from engine.clock import SimulatedClock
from engine.context import EngineContext
from tests import factories as f
from tests.docs.test_event_names import named_kinds
from tests.engine.test_history import stream_rows

STORED = {"id", "stream", "seq", "at", "kind", "actor", "actor_name", "instance_id"}
STORED |= {"definition_id", "task_id", "bpmn_id", "data", "prev_hash", "hash"}


@pytest.fixture
def lapsed(ctx: EngineContext, clock: SimulatedClock, p1: f.People, p1_round: int) -> str:
    """A P1 case returned for correction whose deadline passed: automatic steps, a user task,
    timers and the case's end."""
    case = f.apply(p1["ent"], p1_round)
    p1["city"].complete(
        "city_review", {"decision": "return", "reason": "材料不全", "correction_days": 3}, case
    )
    clock.advance(timedelta(days=4))
    instances.fire_due(ctx)
    return case


def csv_rows(api: f.Api, case: str) -> list[dict[str, str]]:
    response = api.get(f"/api/v1/audit/instances/{case}/export", query_string={"format": "csv"})
    assert (response.status_code, response.mimetype) == (200, "text/csv")
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def test_the_csv_export_is_in_chinese_with_element_names_version_and_local_times(
    db_engine: Engine, p1: f.People, lapsed: str
) -> None:
    rows = csv_rows(p1["auditor"], lapsed)
    assert list(rows[0]) == [header for header, _ in audit_export.CSV_COLUMNS]
    assert list(rows[0])[:5] == ["序号", "时间", "事件", "环节", "操作人"]
    assert [(int(r["事件编号"]), int(r["序号"]), r["事件类型"]) for r in rows] == [
        (event_id, seq, kind) for event_id, seq, kind in stream_rows(db_engine, lapsed)
    ]
    named = {(r["事件"], r["环节编号"]): r for r in rows}
    assert named[("案件发起", "")]["流程"] == "创新型中小企业评价"
    decision = named[("自动决策", "check_eligibility")]
    assert decision["环节"] == "申报条件核验"  # an automatic step
    assert named[("任务办理", "city_review")]["环节"] == "市级初审"
    assert named[("任务办理", "city_review")]["操作人账号"] == "city-nc"
    timers = [r for r in rows if r["事件类型"] == "timer.fired"]
    assert {r["环节"] for r in timers} >= {"补正期满"}
    assert all(r["事件"] == "定时器触发" for r in timers)
    assert rows[-1]["事件"] == "案件办结"
    assert json.loads(rows[-1]["数据"]) == {"outcome": "lapsed"}
    assert {r["流程版本"] for r in rows} == {"1"}
    assert all(r["时间"].endswith("+08:00") for r in rows)
    assert rows[0]["时间"].startswith("2025-09-01T")


def test_the_json_export_keeps_its_columns_and_adds_the_names(p1: f.People, lapsed: str) -> None:
    exported = p1["auditor"].get(f"/api/v1/audit/instances/{lapsed}/export").json
    assert all(STORED <= set(e) for e in exported)
    assert all(set(e) - STORED == set(audit_export.ADDED) for e in exported)
    decision = next(e for e in exported if e["bpmn_id"] == "check_eligibility")
    assert (decision["kind"], decision["kind_label"]) == ("handler.decision", "自动决策")
    assert decision["element_name"] == "申报条件核验"
    assert (decision["definition_version"], decision["process_name"]) == (1, "创新型中小企业评价")
    assert exported[0]["at"].endswith("+08:00")
    started: dict[str, Any] = exported[0]
    assert (started["kind_label"], started["element_name"]) == ("案件发起", None)


def test_element_names_inside_a_called_process_name_both_parts() -> None:
    names = {"province_notice": "省级公示", "notice_wait": "公示期"}
    assert audit_export.element_name(names, "province_notice/notice_wait") == "省级公示 / 公示期"
    assert audit_export.element_name(names, "unknown") is None
    assert audit_export.element_name(names, None) is None
    assert audit_export.event_label("x.y") == "其他事件（x.y）"


def test_the_export_names_every_event_kind_as_the_pages_do() -> None:
    assert audit_export.EVENT_NAMES == named_kinds()
