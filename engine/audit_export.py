"""A case's history as auditors download it (GET /audit/instances/{id}/export).

Each event as `queries.instance_history` reads it (the complainant's identity withheld from
whoever may not see it), with what people need to read it: the event's Chinese name, the name
of the element it happened at (a task, an automatic step, a timer; inside a called process
`call activity / element`) and the version of the procedure it ran on. The JSON keeps the
stored columns as they are and adds these; the CSV has Chinese headers and local times.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from engine import definitions, queries, stages
from engine.context import Actor, EngineContext
from engine.errors import NotFound

# every event kind the engine and the handlers write, as the pages name them
# (api/web/static/js/common.js EVENT_NAMES; tests/engine/test_audit_export.py keeps them equal)
EVENT_NAMES = {
    "instance.started": "案件发起",
    "instance.completed": "案件办结",
    "instance.cancelled": "案件取消",
    "task.created": "任务生成",
    "task.claimed": "任务认领",
    "task.unclaimed": "释放认领",
    "task.completed": "任务办理",
    "task.cancelled": "任务取消",
    "timer.fired": "定时器触发",
    "message.sent": "发送消息",
    "message.received": "收到消息",
    "handler.decision": "自动决策",
    "incident.raised": "发生异常",
    "incident.resolved": "异常已处理",
    "definition.deployed": "流程部署",
    "instance.migrated": "迁移到新版本",
    "qualification.changed": "资格状态变更",
    "instance.continued": "生命周期延续（新的有效期）",
    "instance.state_compacted": "流程状态压缩",
    "ban.recorded": "记录禁止申报（第十二条）",
    "region.reassigned": "变更负责地区",
    "calendar.changed": "工作日历变更",
    "round.opened": "开放申报批次",
    "miit_list.imported": "导入工信部认定名单",
    "legacy.imported": "导入存量资格（第二十条）",
    "file.uploaded": "上传证据文件",
}
# the CSV's columns: header, and the event's attribute each shows
CSV_COLUMNS = (
    ("序号", "seq"),
    ("时间", "at"),
    ("事件", "kind_label"),
    ("环节", "element_name"),
    ("操作人", "actor_name"),
    ("操作人账号", "actor"),
    ("流程", "process_name"),
    ("流程版本", "definition_version"),
    ("数据", "data"),
    ("事件类型", "kind"),
    ("环节编号", "bpmn_id"),
    ("任务编号", "task_id"),
    ("流程定义编号", "definition_id"),
    ("案件编号", "instance_id"),
    ("历史流", "stream"),
    ("事件编号", "id"),
    ("前序哈希", "prev_hash"),
    ("哈希", "hash"),
)
ADDED = ("kind_label", "element_name", "definition_version", "process_name")


def event_label(kind: str | None) -> str:
    """An event kind for people: its Chinese name (an unknown kind: 其他事件 and the kind)."""
    return EVENT_NAMES.get(kind or "") or f"其他事件（{kind or '未知'}）"


def element_name(names: dict[str, str], bpmn_id: str | None) -> str | None:
    """The name of the element `bpmn_id` names (scoped `call/element`: each part's name)."""
    if not bpmn_id:
        return None
    parts = bpmn_id.split("/")
    if not any(p in names for p in parts):
        return None
    return " / ".join(names.get(p, p) for p in parts)


def case_history(ctx: EngineContext, actor: Actor, instance_id: str) -> list[Any]:
    """A case's events as `actor` may read them, each with `kind_label`, `element_name`,
    `definition_version` and `process_name` (the version it happened under)."""
    events = queries.instance_history(ctx, actor, instance_id)
    versions = _versions(ctx, events)
    names = {i: stages.element_names(d) for i, d in versions.items()}
    for e in events:
        version = versions.get(e.definition_id) if e.definition_id is not None else None
        e.kind_label = event_label(e.kind)
        e.element_name = element_name(names.get(e.definition_id, {}), e.bpmn_id)
        e.definition_version = version.version if version is not None else None
        e.process_name = version.name if version is not None else None
    return events


def with_element_names(ctx: EngineContext, events: list[Any]) -> list[Any]:
    """`events` each with `element_name`: the name of the step its `bpmn_id` names, in the
    version it happened under (the audit log's 环节 column)."""
    names = {i: stages.element_names(d) for i, d in _versions(ctx, events).items()}
    for e in events:
        e.element_name = element_name(names.get(e.definition_id, {}), e.bpmn_id)
    return events


def _versions(ctx: EngineContext, events: list[Any]) -> dict[int, Any]:
    versions: dict[int, Any] = {}
    with ctx.reading() as session:
        for definition_id in {e.definition_id for e in events if e.definition_id is not None}:
            try:
                versions[definition_id] = definitions.by_id(ctx, session, definition_id)
            except NotFound:
                continue  # a version row gone: the event still names its id
    return versions


def added_fields(event: Any) -> dict[str, Any]:
    """What the JSON export adds to an event's stored columns."""
    return {key: getattr(event, key) for key in ADDED}


def csv_header() -> list[str]:
    return [header for header, _ in CSV_COLUMNS]


def csv_rows(ctx: EngineContext, events: list[Any]) -> Iterator[list[Any]]:
    """One row per event in CSV_COLUMNS order: times with the programme's offset (+08:00), to
    the microsecond as the history holds them; data as JSON."""
    zone = ZoneInfo(ctx.settings.timezone)
    for e in events:
        row = []
        for _, key in CSV_COLUMNS:
            value = getattr(e, key)
            if key == "at":
                value = value.astimezone(zone).isoformat()
            elif key == "data":
                value = json.dumps(value, ensure_ascii=False)
            row.append(value)
        yield row
