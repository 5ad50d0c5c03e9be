"""Append-only, hash-chained history: one chain per stream (an instance or a process key)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store import HistoryEvent, HistoryStream

GENESIS = "0" * 64


def _digest(row: HistoryEvent) -> str:
    body = {
        "stream": row.stream,
        "seq": row.seq,
        "at": row.at.isoformat(),
        "kind": row.kind,
        "actor": row.actor,
        "instance_id": row.instance_id,
        "definition_id": row.definition_id,
        "task_id": row.task_id,
        "bpmn_id": row.bpmn_id,
        "data": row.data,
        "prev": row.prev_hash,
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def append(
    session: Session,
    *,
    stream: str,
    kind: str,
    actor: str,
    at: datetime,
    data: dict[str, Any] | None = None,
    instance_id: str | None = None,
    definition_id: int | None = None,
    task_id: str | None = None,
    bpmn_id: str | None = None,
) -> HistoryEvent:
    """Append one event to a stream, linking it to the stream's head (row-locked)."""
    heads = session.info.setdefault("history_heads", {})  # locked once per transaction
    head = heads.get(stream)
    if head is None:
        head = session.execute(
            select(HistoryStream).where(HistoryStream.stream == stream).with_for_update()
        ).scalar_one_or_none()
        if head is None:
            head = HistoryStream(stream=stream, seq=0, head_hash=GENESIS)
            session.add(head)
        heads[stream] = head
    row = HistoryEvent(
        stream=stream,
        seq=head.seq + 1,
        at=at.replace(microsecond=at.microsecond),
        kind=kind,
        actor=actor,
        instance_id=instance_id,
        definition_id=definition_id,
        task_id=task_id,
        bpmn_id=bpmn_id,
        data=json.loads(json.dumps(data or {}, default=_jsonable)),
        prev_hash=head.head_hash,
        hash="",
    )
    row.hash = _digest(row)
    head.seq, head.head_hash = row.seq, row.hash
    session.add(row)
    return row


def verify(session: Session) -> list[dict[str, Any]]:
    """Check every chain; return one problem per broken stream, naming the first bad row."""
    problems = []
    heads = {h.stream: h for h in session.scalars(select(HistoryStream))}
    rows = session.scalars(select(HistoryEvent).order_by(HistoryEvent.stream, HistoryEvent.seq))
    state: dict[str, tuple[int, str]] = {}
    broken: set[str] = set()
    for row in rows:
        if row.stream in broken:
            continue
        seq, prev = state.get(row.stream, (0, GENESIS))
        reason = None
        if row.seq != seq + 1:
            reason = f"第 {seq + 1} 条事件缺失（下一条为第 {row.seq} 条）"
        elif row.prev_hash != prev:
            reason = "前序哈希不匹配（前一条事件被修改或删除）"
        elif _digest(row) != row.hash:
            reason = "事件内容与哈希不符（已被修改）"
        if reason:
            problems.append(
                {"stream": row.stream, "event_id": row.id, "seq": row.seq, "reason": reason}
            )
            broken.add(row.stream)
            continue
        state[row.stream] = (row.seq, row.hash)
    for stream, head in heads.items():
        if stream in broken:
            continue
        seq, last = state.get(stream, (0, GENESIS))
        if (seq, last) != (head.seq, head.head_hash):
            problems.append(
                {
                    "stream": stream,
                    "event_id": None,
                    "seq": seq + 1,
                    "reason": f"链尾事件缺失（应有 {head.seq} 条，实有 {seq} 条）",
                }
            )
    return problems
