"""What `tidu audit verify` checks beyond each hash chain, and the anchors of the chains' heads.

The chains (engine/history.py) prove that no event of a stream was edited or removed between
its first event and its head. They cannot prove on their own that

- a stream exists at all: every case, deployed definition, scheduled round, qualification,
  complaint, ban, holiday calendar year and evidence file has a stream (or an event in one)
  that records how it came to be; `cross_check` finds those whose whole stream is gone;
- a stream begins with the event that creates what it is about (`first_event_problem`);
- an evidence file still holds what was uploaded: its content against its sha256, the sha256
  against its upload event (`file:<id>`) and against every event that cites it (`EvidenceRefs`);
- the rows kept beside the history (a qualification's status and validity, a finished case's
  outcome, a complainant) still say what their events say (engine/audit_projections.py);
- a stream was not rewritten as a whole, hashes recomputed and head moved: only a copy of the
  heads kept outside the database can show that (`anchor` / `check_anchor`).

Every check reads the rows as a stream of batches or as one row per entity it finds broken:
memory holds one batch, however long the history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import and_, exists, func, literal, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine import audit_projections
from engine.audit_projections import local_zone
from engine.errors import Conflict, InvalidInput
from engine.store import (
    Ban,
    CalendarYear,
    Complainant,
    Definition,
    EvidenceFile,
    HistoryEvent,
    HistoryStream,
    Instance,
    Qualification,
    Round,
)

Db = Session | Connection
Problem = dict[str, Any]

# the kind of the first event of each stream, by the stream's name up to its ':' (or whole)
FIRST_KINDS = {
    "instance": "instance.started",
    "definition": "definition.deployed",
    "rounds": "round.opened",
    "round": "miit_list.imported",
    "enterprise": "region.reassigned",
    "file": "file.uploaded",
    "calendar": "calendar.changed",
    "incidents": "incident.raised",
    "messages": "message.sent",
    "legacy_import": "legacy.imported",
}
REF_BATCH = 500  # evidence references looked up at a time
FILE_BATCH = 16  # evidence files (with their content, on SQLite) read at a time
ANCHOR_BATCH = 500  # anchored heads looked up at a time
ANCHOR_FORMAT = "tidu-audit-anchor/1"
KEY_VARIABLE = "TIDU_AUDIT_KEY"


def problem(stream: str, reason: str, *, seq: int | None = None, event_id: Any = None) -> Problem:
    return {"stream": stream, "event_id": event_id, "seq": seq, "reason": reason}


def first_event_problem(row: Any) -> str | None:
    """Why the first event of a stream is not the event that creates what it is about."""
    expected = FIRST_KINDS.get(row.stream.split(":", 1)[0])
    if expected is None or row.kind == expected:
        return None
    return f"历史流的第 1 条事件应为 {expected}，实为 {row.kind}（创建记录缺失）"


# -- evidence files ---------------------------------------------------------------------------


class FileIntegrityError(Conflict):
    """A stored evidence file's content no longer matches the sha256 recorded at its upload."""

    code = "file-integrity"
    title = "文件内容与上传时登记的 sha256 不符，已拒绝提供"


def check_file(row: EvidenceFile) -> None:
    """Refuse a file whose content is not what was uploaded (never serve forged bytes)."""
    actual = hashlib.sha256(row.content or b"").hexdigest()
    if actual != row.sha256:
        raise FileIntegrityError(
            f"佐证材料 {row.id}（{row.filename}）的内容已被改动：登记 sha256 {row.sha256}，"
            f"实际 {actual}；请联系审计人员",
            file_id=row.id,
        )


def _cited_files(data: Any) -> Iterator[tuple[str, str]]:
    """(file id, sha256) of each evidence file an event's data cites: `evidence` as a list
    (a complaint's start) or as lists by form field (a completed task)."""
    evidence = data.get("evidence") if isinstance(data, dict) else None
    groups = evidence.values() if isinstance(evidence, dict) else [evidence]
    for group in groups:
        for item in group if isinstance(group, list) else []:
            if isinstance(item, dict) and item.get("id") and item.get("sha256"):
                yield str(item["id"]), str(item["sha256"])


class EvidenceRefs:
    """The evidence files cited by the verified events, looked up `REF_BATCH` at a time."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.pending: list[tuple[str, str, Any]] = []  # (file id, sha256, event row)
        self.problems: list[Problem] = []

    def see(self, row: Any) -> None:
        if row.kind not in ("task.completed", "instance.started"):
            return
        for file_id, sha in _cited_files(row.data):
            self.pending.append((file_id, sha, row))
        if len(self.pending) >= REF_BATCH:
            self.flush()

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if not pending:
            return
        ids = sorted({file_id for file_id, _, _ in pending})
        stored = dict(
            self.db.execute(
                select(EvidenceFile.id, EvidenceFile.sha256).where(EvidenceFile.id.in_(ids))
            ).all()
        )
        for file_id, sha, row in pending:
            found = stored.get(file_id)
            if found == sha:
                continue
            reason = (
                f"事件引用的佐证材料 {file_id} 已不存在（文件被删除）"
                if found is None
                else f"事件记录的佐证材料 {file_id} 的 sha256 为 {sha}，文件登记为 {found}"
                "（文件被替换）"
            )
            self.problems.append(problem(row.stream, reason, seq=row.seq, event_id=row.id))

    def done(self) -> list[Problem]:
        self.flush()
        return self.problems


def _stream_of(prefix: str, column: Any) -> Any:
    return literal(prefix) + column


def _no_stream(name: Any) -> Any:
    """Neither a head nor a first event: the stream named `name` is gone as a whole (a stream
    with one but not the other is the chain check's to report)."""
    return and_(
        ~exists().where(HistoryStream.stream == name),
        ~exists().where(HistoryEvent.stream == name, HistoryEvent.seq == 1),
    )


def _file_problems(db: Db) -> Iterator[Problem]:
    """Each stored file against its sha256, and its sha256 against its upload event."""
    stream = _stream_of("file:", EvidenceFile.id)
    bind = db if isinstance(db, Connection) else db.get_bind()
    postgres = bind.dialect.name == "postgresql"
    actual = (
        func.encode(func.sha256(EvidenceFile.content), "hex")  # hashed where it is stored
        if postgres
        else EvidenceFile.content
    )
    query = (
        select(
            EvidenceFile.id,
            EvidenceFile.filename,
            EvidenceFile.sha256,
            EvidenceFile.size,
            actual.label("actual"),
            HistoryEvent.kind,
            HistoryEvent.data,
            HistoryStream.seq.label("head_seq"),
        )
        .outerjoin(HistoryEvent, and_(HistoryEvent.stream == stream, HistoryEvent.seq == 1))
        .outerjoin(HistoryStream, HistoryStream.stream == stream)
        .order_by(EvidenceFile.id)
    )
    for row in db.execute(query, execution_options={"yield_per": FILE_BATCH}):
        name = f"file:{row.id}"
        content_sha = row.actual if postgres else hashlib.sha256(row.actual or b"").hexdigest()
        if content_sha != row.sha256:
            yield problem(
                name,
                f"佐证材料 {row.id}（{row.filename}）的内容与登记的 sha256 不符"
                f"（登记 {row.sha256}，实际 {content_sha}）：文件被替换",
            )
        if row.kind is None:
            if row.head_seq is None:
                yield problem(
                    name,
                    f"佐证材料 {row.id}（{row.filename}）的上传记录缺失（历史流不存在；"
                    "升级前上传的文件请运行 tidu audit register-files 补记）",
                )
            continue
        uploaded = row.data if isinstance(row.data, dict) else {}
        if row.kind == "file.uploaded" and uploaded.get("sha256") != row.sha256:
            yield problem(
                name,
                f"佐证材料 {row.id} 登记的 sha256 {row.sha256} 与上传记录的 "
                f"{uploaded.get('sha256')} 不符（文件被替换）",
                seq=1,
            )


def record_upload(
    session: Session, row: EvidenceFile, *, actor: str, at: datetime, **extra: Any
) -> None:
    """The `file.uploaded` event that opens a file's stream (`file:<id>`): what was stored and
    its sha256, which verification checks the file against."""
    from engine import history

    history.append(
        session,
        stream=f"file:{row.id}",
        new_stream=True,
        kind="file.uploaded",
        actor=actor,
        at=at,
        data={
            "file_id": row.id,
            "filename": row.filename,
            "content_type": row.content_type,
            "size": row.size,
            "sha256": row.sha256,
            "uscc": row.uscc,
            **extra,
        },
    )


def register_unrecorded_files(ctx: Any, actor: str) -> list[str]:
    """Record a `file.uploaded` event for each stored file that has none (files stored before
    uploads were recorded): the file's own data and sha256 as stored now, `at` and `actor` of
    this registration (the original upload's are kept in `uploaded_at` / `uploaded_by`), so
    the event says it was recorded after the fact. Returns the files' ids."""
    stream = _stream_of("file:", EvidenceFile.id)
    with ctx.transaction() as session:
        rows = session.scalars(
            select(EvidenceFile).where(_no_stream(stream)).order_by(EvidenceFile.id)
        ).all()
        now = ctx.now()
        for row in rows:
            record_upload(
                session,
                row,
                actor=actor,
                at=now,
                uploaded_by=row.uploaded_by,
                uploaded_at=row.uploaded_at,
                recorded_after_the_fact=True,
            )
        return [row.id for row in rows]


def _missing_streams(db: Db) -> Iterator[Problem]:
    """Every entity whose history must exist, and whose stream is gone as a whole."""
    case = _stream_of("instance:", Instance.id)
    for row in db.execute(
        select(Instance.id, Instance.process_key, Instance.business_key)
        .where(_no_stream(case))
        .order_by(Instance.id)
    ):
        yield problem(
            f"instance:{row.id}",
            f"案件 {row.id}（{row.process_key}，业务键 {row.business_key}）的历史记录整条缺失",
            seq=1,
        )
    key = _stream_of("definition:", Definition.process_key)
    for process_key, versions in db.execute(
        select(Definition.process_key, func.count())
        .where(_no_stream(key))
        .group_by(Definition.process_key)
        .order_by(Definition.process_key)
    ):
        yield problem(
            f"definition:{process_key}",
            f"流程定义 {process_key}（已部署 {versions} 个版本）的部署记录整条缺失",
            seq=1,
        )
    # a definition row without its deployment event, in a stream that has events
    for row in db.execute(
        select(Definition.id, Definition.process_key, Definition.version)
        .where(
            exists().where(HistoryEvent.stream == key, HistoryEvent.seq == 1),
            ~exists().where(
                HistoryEvent.stream == key,
                HistoryEvent.kind == "definition.deployed",
                HistoryEvent.definition_id == Definition.id,
            ),
        )
        .order_by(Definition.id)
    ):
        yield problem(
            f"definition:{row.process_key}",
            f"流程定义 {row.process_key} 第 {row.version} 版（id {row.id}）没有部署记录",
        )
    refs = [
        (Qualification.lifecycle_instance_id, Qualification.number, "资格 {} 的生命周期案件"),
        (Qualification.instance_id, Qualification.number, "资格 {} 的认定案件"),
        (Complainant.instance_id, Complainant.id, "投诉人登记 {} 的投诉案件"),
        (Ban.instance_id, Ban.uscc, "企业 {} 的禁止申报决定所在案件"),
    ]
    for column, label, template in refs:
        stream = _stream_of("instance:", column)
        for case_id, name in db.execute(
            select(column, label)
            .where(column.is_not(None), _no_stream(stream))
            .order_by(column, label)
        ):
            yield problem(
                f"instance:{case_id}",
                f"{template.format(name)} {case_id} 的历史记录整条缺失",
                seq=1,
            )
    # a qualification is issued by a case or registered with its lifecycle case; a ban is
    # decided in a case: one that names none came from outside the engine
    for number, uscc in db.execute(
        select(Qualification.number, Qualification.uscc)
        .where(Qualification.lifecycle_instance_id.is_(None), Qualification.instance_id.is_(None))
        .order_by(Qualification.number)
    ):
        yield problem(
            f"qualification:{number}", f"资格 {number}（企业 {uscc}）没有任何案件与历史记录"
        )
    for ban_id, uscc in db.execute(
        select(Ban.id, Ban.uscc).where(Ban.instance_id.is_(None)).order_by(Ban.id)
    ):
        yield problem(
            f"ban:{ban_id}", f"企业 {uscc} 的禁止申报记录 {ban_id} 没有所在案件与历史记录"
        )
    yield from _recorded_in(
        db,
        select(Round.id, Round.process_key, Round.label).where(Round.schedule_key.is_not(None)),
        stream=lambda r: f"rounds:{r.process_key}",
        kind="round.opened",
        field="round_id",
        value=lambda r: r.id,
        reason=lambda r: f"按计划开放的批次 {r.id}（{r.label}）没有开放记录",
    )
    yield from _recorded_in(
        db,
        select(CalendarYear.year),
        stream=lambda r: "calendar",
        kind="calendar.changed",
        field="year",
        value=lambda r: r.year,
        reason=lambda r: f"{r.year} 年工作日历没有上传记录",
    )


def _recorded_in(
    db: Db, query: Any, *, stream: Any, kind: str, field: str, value: Any, reason: Any
) -> Iterator[Problem]:
    """Entities few enough to hold (rounds, calendar years) each named by an event's data."""
    rows = db.execute(query).all()
    seen: dict[str, set[Any]] = {}
    for row in rows:
        name = stream(row)
        if name not in seen:
            seen[name] = {
                data.get(field)
                for (data,) in db.execute(
                    select(HistoryEvent.data).where(
                        HistoryEvent.stream == name, HistoryEvent.kind == kind
                    )
                )
                if isinstance(data, dict)
            }
        if value(row) not in seen[name]:
            yield problem(name, reason(row))


def cross_check(db: Db) -> list[Problem]:
    """Entities without their history, evidence files that are not what was uploaded, and
    rows that disagree with their history."""
    return [*_missing_streams(db), *_file_problems(db), *audit_projections.cross_check(db)]


def unverifiable(db: Db) -> list[str]:
    """What verification has nothing to compare with (kept before the history recorded it)."""
    return audit_projections.unverifiable(db)


# -- anchors ----------------------------------------------------------------------------------


def _key() -> bytes | None:
    value = os.environ.get(KEY_VARIABLE, "")
    return value.encode() if value else None


def _head_line(stream: str, seq: int, head_hash: str) -> bytes:
    return f"{stream}\t{seq}\t{head_hash}\n".encode()


def _signature(key: bytes, created_at: str, streams: int, digest: str) -> str:
    text = f"{ANCHOR_FORMAT}\n{created_at}\n{streams}\n{digest}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def anchor(db: Db, created_at: datetime, zone: tzinfo | None = None) -> dict[str, Any]:
    """Every stream's head (stream, seq, hash) in one statement's snapshot, their combined
    digest (sha256 over "stream TAB seq TAB hash LF" in the listed order) and, with
    TIDU_AUDIT_KEY set, an HMAC-SHA256 over the format, time, count and digest. `created_at`
    is written in `zone` (default: the programme's, TIDU_TIMEZONE)."""
    digest = hashlib.sha256()
    heads = []
    query = select(HistoryStream.stream, HistoryStream.seq, HistoryStream.head_hash).order_by(
        HistoryStream.stream
    )
    for stream, seq, head_hash in db.execute(query):
        heads.append([stream, seq, head_hash])
        digest.update(_head_line(stream, seq, head_hash))
    at = created_at.astimezone(zone or local_zone()).isoformat()
    out: dict[str, Any] = {
        "format": ANCHOR_FORMAT,
        "created_at": at,
        "streams": len(heads),
        "digest": digest.hexdigest(),
    }
    key = _key()
    if key is not None:
        out["hmac"] = _signature(key, at, len(heads), out["digest"])
    out["heads"] = heads
    return out


def dump_anchor(value: dict[str, Any]) -> str:
    """The anchor as JSON, one head a line."""
    heads = value["heads"]
    top = {k: v for k, v in value.items() if k != "heads"}
    lines = ",\n".join(json.dumps(h, ensure_ascii=False) for h in heads)
    text = json.dumps(top, ensure_ascii=False, indent=1)[:-2]
    return f'{text},\n "heads": [\n{lines}\n ]\n}}\n'


def _anchor_heads(value: Any) -> list[tuple[str, int, str]]:
    """The heads of a parsed anchor file, or InvalidInput naming what is wrong with it."""
    bad = InvalidInput("锚点文件格式不正确", errors={"anchor": ["不是 tidu audit anchor 的输出"]})
    if not isinstance(value, dict) or value.get("format") != ANCHOR_FORMAT:
        raise bad
    heads = value.get("heads")
    if not isinstance(heads, list) or not isinstance(value.get("digest"), str):
        raise bad
    out = []
    for head in heads:
        if not (
            isinstance(head, list)
            and len(head) == 3
            and isinstance(head[0], str)
            and isinstance(head[1], int)
            and isinstance(head[2], str)
        ):
            raise bad
        out.append((head[0], head[1], head[2]))
    return out


def check_anchor_file(value: Any) -> None:
    """InvalidInput unless `value` is an anchor file's content (before a long verification)."""
    _anchor_heads(value)


def _anchor_problems(value: dict[str, Any], heads: list[tuple[str, int, str]]) -> list[Problem]:
    """The anchor file itself: its digest over its heads, its HMAC under TIDU_AUDIT_KEY."""
    digest = hashlib.sha256()
    for head in heads:
        digest.update(_head_line(*head))
    found: list[Problem] = []
    if digest.hexdigest() != value["digest"] or value.get("streams") != len(heads):
        found.append(problem("(anchor)", "锚点文件的合并摘要与其中的链头不符（锚点文件被改动）"))
    key, signed = _key(), value.get("hmac")
    if key is None and signed is not None:
        found.append(
            problem("(anchor)", f"锚点文件带有签名，但未设置 {KEY_VARIABLE}，无法核对签名")
        )
    elif key is not None and signed is None:
        found.append(problem("(anchor)", f"已设置 {KEY_VARIABLE}，但锚点文件没有签名"))
    elif key is not None and not hmac.compare_digest(
        str(signed),
        _signature(key, str(value.get("created_at")), len(heads), str(value["digest"])),
    ):
        found.append(problem("(anchor)", "锚点文件的签名不符（伪造或被改动）"))
    return found


def _batches(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _anchored_at(value: Any, zone: tzinfo) -> str:
    """When an anchor was made, in `zone` (an anchor written before times were local says UTC;
    its signature covers the text as written, which is left as it is)."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.astimezone(zone).isoformat() if moment.tzinfo else str(value)


def check_anchor(db: Db, value: Any, zone: tzinfo | None = None) -> list[Problem]:
    """Whether each head the anchor kept is still in its chain at that seq with that hash
    (events appended since are fine: the chain check links them to it). Times in messages are
    in `zone` (default: the programme's, TIDU_TIMEZONE)."""
    heads = _anchor_heads(value)
    found = _anchor_problems(value, heads)
    at = _anchored_at(value.get("created_at"), zone or local_zone())
    for batch in _batches(heads, ANCHOR_BATCH):
        stored = {
            (stream, seq): (event_id, event_hash)
            for stream, seq, event_id, event_hash in db.execute(
                select(
                    HistoryEvent.stream, HistoryEvent.seq, HistoryEvent.id, HistoryEvent.hash
                ).where(
                    tuple_(HistoryEvent.stream, HistoryEvent.seq).in_(
                        [(stream, seq) for stream, seq, _ in batch]
                    )
                )
            )
        }
        for stream, seq, head_hash in batch:
            event_id, event_hash = stored.get((stream, seq), (None, None))
            if event_id is None:
                reason = f"锚点（{at}）记录的第 {seq} 条事件已不存在（历史被截断或删除）"
            elif event_hash != head_hash:
                reason = f"第 {seq} 条事件的哈希与锚点（{at}）记录的不符（历史被改写）"
            else:
                continue
            found.append(problem(stream, reason, seq=seq, event_id=event_id))
    return found


def load_anchor(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput(
            "锚点文件不是合法的 JSON", errors={"anchor": ["不是 tidu audit anchor 的输出"]}
        ) from None
