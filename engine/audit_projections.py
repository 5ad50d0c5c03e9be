"""What `tidu audit verify` checks of the rows kept beside the history: each against its events.

A qualification's status and validity, a finished case's outcome and a complainant's identity
are written in the transaction that appends their events, but they are not chained themselves:
an UPDATE or DELETE of such a row leaves every chain intact. Each check here reads the rows of
one table with the events that set them, in one streamed query, and names the row (table and
key), the field, the stored value and what the history says:

- `qualification`: tier, uscc, issued_on, expires_on, renewal_eligible as its lifecycle's
  `instance.started` recorded them (the registry row as issued or imported), then status,
  renewal_eligible, expires_on and info_updated_on as each `qualification.changed` set them;
- `process_instance`: a finished case's status, outcome and completed_at against its
  `instance.completed` event, and a case that the history says completed but that runs again;
- `complainant`: the row a complaint's filing (`instance.started`) named, its filer (the
  event's actor) and authority, and its identity against the sha256 the filing recorded
  (`filing_record`; filings before it was recorded are listed by `unverifiable`, not failed).

The complainant's identity is never written into a message (the province reads verification
too): a mismatch names the field and the row, and auditors read the row itself.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, literal, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, aliased

from engine.settings import Settings
from engine.store import (
    QUALIFICATION_STATUS_LABELS,
    TIER_LABELS,
    Complainant,
    HistoryEvent,
    Instance,
    Qualification,
)

Db = Session | Connection
Problem = dict[str, Any]

BATCH = 1000  # rows read from the database at a time
COMPLAINT = "complaint"  # engine/complaints.py PROCESS_KEY (it imports this module)
IDENTITY_FIELDS = ("name", "id_number", "contact", "filed_by", "authority")
QUALIFICATION_FIELDS = {
    "tier": "资格梯度",
    "uscc": "统一社会信用代码",
    "issued_on": "颁发日期",
    "expires_on": "有效期至",
    "status": "状态",
    "renewal_eligible": "复核资格",
    "info_updated_on": "企业信息更新日期",
}
STARTED_FIELDS = ("tier", "uscc", "issued_on", "expires_on", "renewal_eligible")
CHANGED_FIELDS = ("status", "renewal_eligible", "expires_on", "info_updated_on")
ENDINGS = {"instance.completed": "completed", "instance.cancelled": "cancelled"}
CASE_STATUS_LABELS = {"running": "进行中", "completed": "已办结", "cancelled": "已取消"}
AUTHORITIES = {"city": "市级主管部门", "province": "省级主管部门"}
EXAMPLES = 10  # entities named in one `unverifiable` line


def local_zone() -> tzinfo:
    """The programme's zone (TIDU_TIMEZONE, as Settings reads it) for times in verification
    messages: verification runs on a connection, without the engine context's settings."""
    return ZoneInfo(os.environ.get("TIDU_TIMEZONE") or Settings.timezone)


def local_time(moment: datetime | None, zone: tzinfo | None = None) -> str:
    return "（空）" if moment is None else moment.astimezone(zone or local_zone()).isoformat()


def _problem(case_id: str, reason: str, event: Any = None) -> Problem:
    return {
        "stream": f"instance:{case_id}",
        "event_id": getattr(event, "event_id", None),
        "seq": getattr(event, "seq", None),
        "reason": reason,
    }


def _as_recorded(value: Any) -> Any:
    """A column's value as event data holds it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def _shown(field: str, value: Any) -> str:
    if value is None:
        return "（空）"
    if isinstance(value, bool):
        return "有" if value else "无"
    labels = {"status": QUALIFICATION_STATUS_LABELS, "tier": TIER_LABELS}.get(field, {})
    return f"{value}（{labels[value]}）" if value in labels else str(value)


def _where(event: Any) -> str:
    return f"第 {event.seq} 条事件 {event.kind}"


# -- qualification ------------------------------------------------------------------------------


def _recorded_qualification(events: list[Any]) -> tuple[dict[str, tuple[Any, Any]], Any]:
    """What the lifecycle's events say of each field (value, the event that set it last),
    `number` included, and its `instance.started` (None if the stream has none)."""
    said: dict[str, tuple[Any, Any]] = {}
    started, number = None, events[0].number
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        if event.kind == "instance.started":
            start = data.get("start_data") if isinstance(data.get("start_data"), dict) else {}
            started, number = event, start.get("number", number)
            said["number"] = (number, event)
            said |= {f: (start[f], event) for f in STARTED_FIELDS if f in start}
            said["info_updated_on"] = (None, event)
        elif data.get("number") == number:  # qualification.changed
            changes = data.get("changes") if isinstance(data.get("changes"), dict) else {}
            said |= {f: (changes[f], event) for f in CHANGED_FIELDS if f in changes}
            if "to" in data:
                said["status"] = (data["to"], event)
    return said, started


def _qualification_against(events: list[Any]) -> Iterator[Problem]:
    row = events[0]
    said, started = _recorded_qualification(events)
    if started is None:
        return  # a stream that does not begin with its creation: the chain check reports it
    number, event = said.pop("number")
    if number != row.number:  # a row moved onto another qualification's lifecycle
        yield _problem(
            row.case_id,
            f"资格 {row.number}（qualification 表）的生命周期案件 {row.case_id} 的创建记录"
            f"（{_where(event)}）登记的是资格 {number}：资格登记被改动",
            event,
        )
        return
    for field, (value, event) in said.items():
        stored = _as_recorded(getattr(row, field))
        if stored != value:
            yield _problem(
                row.case_id,
                f"资格 {row.number}（qualification 表）的{QUALIFICATION_FIELDS[field]}（{field}）"
                f"为 {_shown(field, stored)}，历史记录为 {_shown(field, value)}"
                f"（{_where(event)}）：资格登记被改动",
                event,
            )


def _qualification_problems(db: Db) -> Iterator[Problem]:
    """Each qualification with a lifecycle case against the lifecycle's events."""
    stream = literal("instance:") + Qualification.lifecycle_instance_id
    query = (
        select(
            Qualification.number,
            Qualification.lifecycle_instance_id.label("case_id"),
            *(getattr(Qualification, f) for f in QUALIFICATION_FIELDS),
            HistoryEvent.id.label("event_id"),
            HistoryEvent.seq,
            HistoryEvent.kind,
            HistoryEvent.data,
        )
        .join(
            HistoryEvent,
            and_(
                HistoryEvent.stream == stream,
                HistoryEvent.kind.in_(("instance.started", "qualification.changed")),
            ),
        )
        .where(Qualification.lifecycle_instance_id.is_not(None))
        .order_by(Qualification.number, HistoryEvent.seq)
    )
    rows = db.execute(query, execution_options={"yield_per": BATCH})
    for _, events in groupby(rows, key=lambda r: r.number):
        yield from _qualification_against(list(events))


# -- process_instance ---------------------------------------------------------------------------


def _status_shown(status: str | None) -> str:
    return f"{status}（{CASE_STATUS_LABELS.get(status or '', status)}）"


def _case_against(rows: list[Any]) -> Iterator[Problem]:
    row = rows[0]
    ended = [r for r in rows if r.kind is not None]
    last = ended[-1] if ended else None
    said = ENDINGS[last.kind] if last is not None else "running"
    case = f"案件 {row.id}（process_instance 表，{row.process_key}）"
    if row.status != said:
        if last is None and not row.recorded:
            return  # the whole stream is gone: _missing_streams names it
        history = (
            f"{_status_shown(said)}（{_where(last)}，{local_time(last.at)}）"
            if last is not None
            else f"{_status_shown(said)}（没有 instance.completed 事件）"
        )
        yield _problem(
            row.id,
            f"{case}的状态（status）为 {_status_shown(row.status)}，历史记录为 {history}"
            "：案件记录被改动",
            last,
        )
        return
    if last is None:
        return
    outcome = last.data.get("outcome") if isinstance(last.data, dict) else None
    if row.outcome != outcome:
        yield _problem(
            row.id,
            f"{case}的办理结果（outcome）为 {row.outcome or '（空）'}，历史记录为 "
            f"{outcome or '（空）'}（{_where(last)}）：案件记录被改动",
            last,
        )
    if row.completed_at != last.at:
        yield _problem(
            row.id,
            f"{case}的办结时间（completed_at）为 {local_time(row.completed_at)}，历史记录为 "
            f"{local_time(last.at)}（{_where(last)}）：案件记录被改动",
            last,
        )


def _case_problems(db: Db) -> Iterator[Problem]:
    """Each case's status, outcome and completion time against its ending event, if any."""
    stream = literal("instance:") + Instance.id
    first = aliased(HistoryEvent)
    query = (
        select(
            Instance.id,
            Instance.process_key,
            Instance.status,
            Instance.outcome,
            Instance.completed_at,
            exists().where(first.stream == stream, first.seq == 1).label("recorded"),
            HistoryEvent.id.label("event_id"),
            HistoryEvent.seq,
            HistoryEvent.kind,
            HistoryEvent.at,
            HistoryEvent.data,
        )
        .outerjoin(
            HistoryEvent,
            and_(HistoryEvent.stream == stream, HistoryEvent.kind.in_(tuple(ENDINGS))),
        )
        .order_by(Instance.id, HistoryEvent.seq)
    )
    rows = db.execute(query, execution_options={"yield_per": BATCH})
    for _, found in groupby(rows, key=lambda r: r.id):
        yield from _case_against(list(found))


# -- complainant --------------------------------------------------------------------------------


def identity_digest(values: dict[str, Any]) -> str:
    """sha256 over the identity fields (name, id_number, contact, filed_by, authority) as a
    JSON list: what a filing records, so that verification can tell whether the row changed."""
    text = json.dumps(
        [values.get(f) for f in IDENTITY_FIELDS], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def filing_record(row: Complainant) -> dict[str, Any]:
    """What a complaint's `instance.started` keeps of its complainant row: the sha256 of its
    identity and the fields it covers, under the key `complainant` of the event's data, which
    reads of the history withhold from whoever may not see the identity (IDENTITY_KEYS)."""
    values = {f: getattr(row, f) for f in IDENTITY_FIELDS}
    return {"fields": list(IDENTITY_FIELDS), "sha256": identity_digest(values)}


def _filings(db: Db) -> Iterator[Any]:
    """Each complainant row with the first event of its case (None columns if it has none)."""
    start = aliased(HistoryEvent)
    stream = literal("instance:") + Complainant.instance_id
    query = (
        select(
            *Complainant.__table__.c,
            start.id.label("event_id"),
            start.seq,
            start.kind,
            start.actor,
            start.data,
        )
        .outerjoin(start, and_(start.stream == stream, start.seq == 1))
        .order_by(Complainant.instance_id)
    )
    yield from db.execute(query, execution_options={"yield_per": BATCH})


def _filed(row: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(start data, the `complainant` record) of a filing event's data."""
    data = row.data if isinstance(row.data, dict) else {}
    start = data.get("start_data") if isinstance(data.get("start_data"), dict) else {}
    kept = data.get("complainant") if isinstance(data.get("complainant"), dict) else {}
    return start, kept


def _complainant_against(row: Any) -> Iterator[Problem]:
    if row.event_id is None or row.kind != "instance.started":
        return  # no filing to compare with: the stream checks report it
    start, kept = _filed(row)
    who = f"投诉人登记 {row.id}（complainant 表，投诉案件 {row.instance_id}）"
    where = f"立案记录（{_where(row)}）"
    if start.get("complainant_ref") != row.id:
        yield _problem(
            row.instance_id,
            f"{who}不是{where}登记的投诉人 {start.get('complainant_ref') or '（空）'}"
            "：投诉人记录被替换",
            row,
        )
        return
    if row.filed_by != row.actor:
        yield _problem(
            row.instance_id,
            f"{who}的投诉人账号（filed_by）与{where}的操作人不符：投诉人记录被改动"
            "（身份信息不在核验结果中显示）",
            row,
        )
    if row.authority != start.get("authority"):
        yield _problem(
            row.instance_id,
            f"{who}的处理机关（authority）为 {_authority(row.authority)}，{where}为 "
            f"{_authority(start.get('authority'))}：投诉人记录被改动",
            row,
        )
    digest = kept.get("sha256")
    # filer and authority as the filing recorded them (compared above): a mismatch is the rest
    filed = dict(row._mapping) | {"filed_by": row.actor, "authority": start.get("authority")}
    if digest is not None and digest != identity_digest(filed):
        yield _problem(
            row.instance_id,
            f"{who}的姓名、证件号码或联系方式（name、id_number、contact）与{where}记录的"
            " sha256 不符：投诉人记录被改动（身份信息及其摘要不在核验结果中显示）",
            row,
        )


def _authority(value: Any) -> str:
    return f"{value}（{AUTHORITIES[value]}）" if value in AUTHORITIES else str(value or "（空）")


def _deleted_complainants(db: Db) -> Iterator[Problem]:
    """Complaint cases whose filing named a complainant row that is gone."""
    start = aliased(HistoryEvent)
    query = (
        select(Instance.id, start.id.label("event_id"), start.seq, start.kind, start.data)
        .join(
            start,
            and_(start.stream == literal("instance:") + Instance.id, start.seq == 1),
        )
        .where(
            Instance.process_key == COMPLAINT,
            ~exists().where(Complainant.instance_id == Instance.id),
        )
        .order_by(Instance.id)
    )
    for row in db.execute(query, execution_options={"yield_per": BATCH}):
        ref, _ = _filed(row)
        if row.kind == "instance.started" and ref.get("complainant_ref"):
            yield _problem(
                row.id,
                f"投诉案件 {row.id} 的立案记录（{_where(row)}）登记了投诉人 "
                f"{ref['complainant_ref']}，complainant 表中已没有该案件的投诉人记录（被删除）",
                row,
            )


def _complainant_problems(db: Db) -> Iterator[Problem]:
    for row in _filings(db):
        yield from _complainant_against(row)
    yield from _deleted_complainants(db)


def cross_check(db: Db) -> list[Problem]:
    """Qualifications, finished cases and complainants that disagree with their history."""
    return [*_qualification_problems(db), *_case_problems(db), *_complainant_problems(db)]


# -- what cannot be compared ---------------------------------------------------------------------


def _listed(items: list[str], total: int) -> str:
    return "、".join(items) + ("等" if total > len(items) else "")


def unverifiable(db: Db) -> list[str]:
    """Rows the history has nothing to compare with (kept before it recorded it), named
    EXAMPLES at a time with their count: verification does not fail for them."""
    notes = []
    without = [
        r.instance_id
        for r in _filings(db)
        if r.kind == "instance.started" and "sha256" not in _filed(r)[1]
    ]
    if without:
        notes.append(
            f"{len(without)} 件投诉的立案记录没有投诉人身份的 sha256（记录摘要之前登记），"
            f"complainant 表中的姓名、证件号码、联系方式无法核对：投诉案件 "
            f"{_listed(without[:EXAMPLES], len(without))}"
        )
    lone = Qualification.lifecycle_instance_id.is_(None) & Qualification.instance_id.is_not(None)
    count = db.execute(select(func.count()).where(lone)).scalar_one()
    if count:
        numbers = db.scalars(
            select(Qualification.number).where(lone).order_by(Qualification.number).limit(EXAMPLES)
        ).all()
        notes.append(
            f"{count} 个资格没有生命周期案件（资格生命周期之前颁发），qualification 表中的状态、"
            f"有效期与复核资格无法核对：资格 {_listed(list(numbers), count)}"
        )
    return notes
