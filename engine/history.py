"""Append-only, hash-chained history: one chain per stream (an instance or a process key)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine import writes
from engine.store import HistoryEvent, HistoryStream

if TYPE_CHECKING:
    from engine.context import EngineContext

GENESIS = "0" * 64


def _digest(row: Any) -> str:
    """The hash of one event (a row or a dict of its columns), chained by `prev`."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    body = {
        "stream": get("stream"),
        "seq": get("seq"),
        "at": get("at").isoformat(),
        "kind": get("kind"),
        "actor": get("actor"),
        "instance_id": get("instance_id"),
        "definition_id": get("definition_id"),
        "task_id": get("task_id"),
        "bpmn_id": get("bpmn_id"),
        "data": get("data"),
        "prev": get("prev_hash"),
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


class _Pending:
    """A transaction's unwritten events and the heads of the streams it appends to.

    Events are written in one multi-row INSERT (and each head in one statement) when the
    transaction commits, or earlier when a query in it reads the history tables.
    """

    def __init__(self) -> None:
        self.heads: dict[str, list[Any]] = {}  # stream -> [seq, hash, stored seq or None]
        self.rows: list[dict[str, Any]] = []
        # stream of a case -> the definition (version) the case runs on in this transaction
        self.definitions: dict[str, int] = {}


def _pending(session: Session) -> _Pending:
    found = session.info.get("history")
    if found is None:
        found = session.info["history"] = _Pending()
    return found


def known_head(session: Session, stream: str, seq: int, head_hash: str) -> None:
    """Record a stream head the caller read (and locked) with other rows."""
    _pending(session).heads.setdefault(stream, [seq, head_hash, seq])


def case_definition(session: Session, stream: str, definition_id: int | None) -> None:
    """Record the definition a case runs on: its events that name none are stamped with it."""
    if definition_id is not None:
        _pending(session).definitions[stream] = definition_id


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
    new_stream: bool = False,
) -> dict[str, Any]:
    """Append one event to a stream, linking it to the stream's head (row-locked).

    `new_stream`: the caller has just created what the stream is about (a new case), so there
    is no head to read. An event of a case that names no `definition_id` gets the definition
    the case runs on (`case_definition`), so every event says which version it happened under.
    """
    pending = _pending(session)
    if definition_id is None:
        definition_id = pending.definitions.get(stream)
    elif stream.startswith("instance:"):  # e.g. instance.migrated: the case's events that follow
        pending.definitions[stream] = definition_id
    head = pending.heads.get(stream)
    if head is None:
        found = (
            None
            if new_stream
            else session.execute(
                select(HistoryStream.seq, HistoryStream.head_hash)
                .where(HistoryStream.stream == stream)
                .with_for_update()
            ).first()
        )
        head = pending.heads[stream] = (
            [found[0], found[1], found[0]] if found else [0, GENESIS, None]
        )
    row = {
        "stream": stream,
        "seq": head[0] + 1,
        "at": at,
        "kind": kind,
        "actor": actor,
        "instance_id": instance_id,
        "definition_id": definition_id,
        "task_id": task_id,
        "bpmn_id": bpmn_id,
        "data": json.loads(json.dumps(data or {}, default=_jsonable)),
        "prev_hash": head[1],
    }
    row["hash"] = _digest(row)
    head[0], head[1] = row["seq"], row["hash"]
    pending.rows.append(row)
    return row


_MOVE_HEAD = (
    update(HistoryStream.__table__)
    .where(HistoryStream.__table__.c.stream == bindparam("h_stream"))
    .values(seq=bindparam("h_seq"), head_hash=bindparam("h_hash"))
)


def write_pending(session: Session) -> None:
    """Write the transaction's appended events and move the streams' heads."""
    pending = session.info.get("history")
    if pending is None or not pending.rows:
        return
    rows, pending.rows = pending.rows, []
    writes.insert_rows(session, HistoryEvent.__table__, rows)  # after the rows they refer to
    new_heads = []
    for stream in dict.fromkeys(r["stream"] for r in rows):
        seq, head_hash, stored = pending.heads[stream]
        if stored is None:
            new_heads.append({"stream": stream, "seq": seq, "head_hash": head_hash})
        else:
            writes.execute(
                session, _MOVE_HEAD, {"h_stream": stream, "h_seq": seq, "h_hash": head_hash}
            )
        pending.heads[stream][2] = seq
    writes.insert_rows(session, HistoryStream.__table__, new_heads)


_HISTORY_MAPPERS = {HistoryEvent.__mapper__, HistoryStream.__mapper__}


@event.listens_for(Session, "do_orm_execute")
def _before_history_query(state: Any) -> None:
    """A query that reads the history sees the events appended before it."""
    pending = state.session.info.get("history")
    if pending is not None and pending.rows and _HISTORY_MAPPERS & set(state.all_mappers):
        write_pending(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    write_pending(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("history", None)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop("history", None)


VERIFY_BATCH = 2000  # events read from the database at a time by `verify`

# every event with its stream's head, in chain order: one statement, so the events and the
# heads are read from one snapshot while commands keep appending
_CHAINS = (
    select(
        *HistoryEvent.__table__.c,
        HistoryStream.seq.label("head_seq"),
        HistoryStream.head_hash,
    )
    .outerjoin(HistoryStream, HistoryStream.stream == HistoryEvent.stream)
    .order_by(HistoryEvent.stream, HistoryEvent.seq)
)
_HEADS_WITHOUT_EVENTS = (
    select(HistoryStream.stream, HistoryStream.seq)
    .where(~select(HistoryEvent.id).where(HistoryEvent.stream == HistoryStream.stream).exists())
    .order_by(HistoryStream.stream)
)


def _tail_missing(
    stream: str, seq: int, last: str, head: tuple[int, str | None] | None
) -> list[dict[str, Any]]:
    """The problem of a stream whose checked events end at `seq` (hash `last`) short of its
    head, or that has no head: nothing then shows where it ended."""
    if head is None:
        return [
            {
                "stream": stream,
                "event_id": None,
                "seq": seq + 1,
                "reason": f"链头记录缺失（history_stream 中没有该流，第 {seq} 条之后的事件"
                "可能已被删除）",
            }
        ]
    if (seq, last) == head:
        return []
    return [
        {
            "stream": stream,
            "event_id": None,
            "seq": seq + 1,
            "reason": f"链尾事件缺失（应有 {head[0]} 条，实有 {seq} 条）",
        }
    ]


def _broken_link(row: Any, seq: int, prev: str) -> str | None:
    """Why an event does not follow the one before it (`seq`, hash `prev`), if it does not."""
    if row.seq != seq + 1:
        return f"第 {seq + 1} 条事件缺失（下一条为第 {row.seq} 条）"
    if row.prev_hash != prev:
        return "前序哈希不匹配（前一条事件被修改或删除）"
    if _digest(row) != row.hash:
        return "事件内容与哈希不符（已被修改）"
    return None


def verify(db: Session | Connection) -> list[dict[str, Any]]:
    """Check every chain; return one problem per broken stream, naming the first bad row.

    The events are read stream by stream in chain order, `VERIFY_BATCH` at a time as plain
    rows, and each stream is held to its head when it ends: memory holds one stream, however
    long the history (a national programme's runs to tens of millions of events). On
    PostgreSQL `db` must be in a transaction (the rows come through a server-side cursor):
    `verify_all` opens one. Then what the chains cannot show (engine/audit_checks.py): the
    first event of each stream, entities whose stream is gone, evidence files replaced.
    """
    from engine import audit_checks  # what the chains cannot show on their own

    problems: list[dict[str, Any]] = []
    cited = audit_checks.EvidenceRefs(db)
    stream: str | None = None
    seq, prev, head, broken = 0, GENESIS, None, False
    for row in db.execute(_CHAINS.execution_options(yield_per=VERIFY_BATCH)):
        if row.stream != stream:
            if stream is not None and not broken:
                problems += _tail_missing(stream, seq, prev, head)
            stream, seq, prev, broken = row.stream, 0, GENESIS, False
            head = None if row.head_seq is None else (row.head_seq, row.head_hash)
        if broken:
            continue
        reason = _broken_link(row, seq, prev) or (
            audit_checks.first_event_problem(row) if row.seq == 1 else None
        )
        if reason:
            problems.append(
                {"stream": row.stream, "event_id": row.id, "seq": row.seq, "reason": reason}
            )
            broken = True
            continue
        seq, prev = row.seq, row.hash
        cited.see(row)
    if stream is not None and not broken:
        problems += _tail_missing(stream, seq, prev, head)
    for empty, head_seq in db.execute(_HEADS_WITHOUT_EVENTS):
        problems += _tail_missing(empty, 0, GENESIS, (head_seq, None))
    return problems + cited.done() + audit_checks.cross_check(db)


def verify_all(ctx: EngineContext) -> list[dict[str, Any]]:
    """`verify` in a read transaction of its own (never the write lock)."""
    with ctx.streaming_rows(VERIFY_BATCH) as conn:
        return verify(conn)
