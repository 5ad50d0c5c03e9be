"""SQLAlchemy models (the only schema; Alembic migrations mirror it) and the session factory."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    text,
    true,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

from engine import writes


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        # psycopg returns the session's TimeZone (e.g. +08:00 on a server set to Asia/Shanghai)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Definition(Base):
    """One deployed version of a process key: its files, parsed spec and lane -> role map."""

    __tablename__ = "definition"
    __table_args__ = (UniqueConstraint("process_key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    checksum: Mapped[str] = mapped_column(String(64), index=True)
    bpmn_file: Mapped[str] = mapped_column(String(200))
    files: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_json: Mapped[str] = mapped_column(Text)
    lanes: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))


class Round(Base):
    """One opening of a procedure (e.g. 2027年上半年创新型中小企业评价)."""

    __tablename__ = "round"
    __table_args__ = (
        UniqueConstraint("schedule_key", name="uq_round_schedule_key"),
        # one round of a procedure per opening day (migration 0011)
        Index("uq_round_process_opens_on", "process_key", "opens_on", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    label: Mapped[str] = mapped_column(String(200))
    opens_on: Mapped[date] = mapped_column(Date)
    closes_at: Mapped[datetime]
    created_at: Mapped[datetime]
    schedule_key: Mapped[str | None] = mapped_column(String(150))  # "<key>@<opens_on>"


class Instance(Base):
    """A case: serialized SpiffWorkflow state plus what queries need, with an optimistic version."""

    __tablename__ = "process_instance"
    __table_args__ = (
        UniqueConstraint("process_key", "business_key", name="uq_instance_business_key"),
        # a round's page of cases in order, of all stages or of one (round cases only)
        Index(
            "ix_instance_round_order",
            "round_id",
            "started_at",
            "uscc",
            "id",
            sqlite_where=text("round_id IS NOT NULL"),
            postgresql_where=text("round_id IS NOT NULL"),
        ),
        Index(
            "ix_instance_round_stage",
            "round_id",
            "stage",
            "started_at",
            "uscc",
            "id",
            sqlite_where=text("round_id IS NOT NULL"),
            postgresql_where=text("round_id IS NOT NULL"),
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"), index=True)
    definition_version: Mapped[int] = mapped_column(Integer)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    business_key: Mapped[str] = mapped_column(String(200), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    region: Mapped[str | None] = mapped_column(String(6), index=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("round.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    outcome: Mapped[str | None] = mapped_column(String(50))
    # where the case stands (engine/stages.py), for the round pages
    stage: Mapped[str | None] = mapped_column(String(200))
    stage_name: Mapped[str | None] = mapped_column(String(200))
    stage_due_at: Mapped[datetime | None]
    state_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    started_by: Mapped[str] = mapped_column(String(100))
    # 第十三条: True while a complaint is withheld from the enterprise it concerns (until the
    # authority asks it to respond, engine/complaints.py); NULL for every other case
    hidden_from_enterprise: Mapped[bool | None] = mapped_column(Boolean)
    __mapper_args__: ClassVar = {"version_id_col": version}

    @property
    def outcome_name(self) -> str | None:
        return outcome_label(self.process_key, self.outcome)


class HumanTask(Base):
    """Projection of a user task (open, completed or cancelled) for inboxes and history."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index(
            "ix_human_task_inbox_region_order",
            "state",
            "role",
            "region",
            "due_at",
            "created_at",
            "id",
        ),
        Index("ix_human_task_inbox_role_order", "state", "role", "due_at", "created_at", "id"),
        # an enterprise's inbox (and any lookup by enterprise): its few tasks, never a scan of
        # every enterprise's open tasks
        Index(
            "ix_human_task_inbox_uscc_order",
            "uscc",
            "state",
            "role",
            "due_at",
            "created_at",
            "id",
        ),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    # never loaded: it only tells the unit of work to insert a new case before its rows
    instance: Mapped[Instance] = relationship(lazy="raise")
    process_key: Mapped[str] = mapped_column(String(100))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    region: Mapped[str | None] = mapped_column(String(6))
    uscc: Mapped[str | None] = mapped_column(String(18))
    state: Mapped[str] = mapped_column(String(20))
    form: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    assignee: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))


class Timer(Base):
    """Projection of a waiting timer; claimed by schedulers."""

    __tablename__ = "timer"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    # never loaded: it only tells the unit of work to insert a new case before its rows
    instance: Mapped[Instance] = relationship(lazy="raise")
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime] = mapped_column(index=True)
    lock_owner: Mapped[str | None] = mapped_column(String(100))
    lock_expires_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class MessageSubscription(Base):
    """Projection of a message the instance waits for."""

    __tablename__ = "message_subscription"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instance.id"), index=True)
    # never loaded: it only tells the unit of work to insert a new case before its rows
    instance: Mapped[Instance] = relationship(lazy="raise")
    task_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100), index=True)
    correlation_key: Mapped[str | None] = mapped_column(String(200), index=True)


class HistoryStream(Base):
    """Head of one hash chain (an instance, or a process key's deployments)."""

    __tablename__ = "history_stream"
    stream: Mapped[str] = mapped_column(String(150), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


class HistoryEvent(Base):
    """Append-only, hash-chained history row."""

    __tablename__ = "history_event"
    __table_args__ = (UniqueConstraint("stream", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(150))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(100), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    definition_id: Mapped[int | None] = mapped_column(Integer)
    task_id: Mapped[str | None] = mapped_column(String(36))
    bpmn_id: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Incident(Base):
    """A failed command, kept with its arguments so it can be retried."""

    __tablename__ = "incident"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    command: Mapped[str] = mapped_column(String(50))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    error_type: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    element_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))


class Notification(Base):
    """A reminder or outcome for a user, or for every user of a role (and region / enterprise)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_address", "role", "region"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str | None] = mapped_column(String(100), index=True)
    role: Mapped[str | None] = mapped_column(String(30))
    region: Mapped[str | None] = mapped_column(String(6))
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    bpmn_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    read_by: Mapped[str | None] = mapped_column(String(100))


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    region: Mapped[str | None] = mapped_column(String(6))
    uscc: Mapped[str | None] = mapped_column(String(18))


class ApiToken(Base):
    """Bearer tokens, stored as sha256 only."""

    __tablename__ = "api_token"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime]


def trigram_index(name: str, column: str) -> Index:
    """A PostgreSQL GIN index (pg_trgm, migration 0009) serving `LIKE '%...%'` on a column;
    no index on SQLite."""
    return Index(
        name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}
    ).ddl_if(dialect="postgresql")


class Enterprise(Base):
    __tablename__ = "enterprise"
    __table_args__ = (
        # the case search by part of the enterprise's name
        trigram_index("ix_enterprise_name_trgm", "name"),
    )
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(6))


class EvidenceFile(Base):
    """An uploaded evidence file (佐证材料), kept with its sha256."""

    __tablename__ = "evidence_file"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uscc: Mapped[str | None] = mapped_column(String(18))
    uploaded_at: Mapped[datetime]


# what staff and enterprises read for a qualification's tier and status
TIER_LABELS = {
    "innovative": "创新型中小企业",
    "specialized": "专精特新中小企业",
    "little_giant": "专精特新“小巨人”企业",
}
# the procedure that decides each tier (P1, P2, P3): an application to it needs a round, and its
# newest deployment's rule tables score a preview of the tier (each deployment has its own copy)
TIER_PROCESSES = {
    "innovative": "innovative_evaluation",
    "specialized": "specialized_certification",
    "little_giant": "little_giant_recommendation",
}
# a case's outcome as staff and enterprises read it (the diagrams' "结果：…" steps set them)
OUTCOME_LABELS = {
    "qualified": "认定通过",
    "ineligible": "不符合条件",
    "rejected_by_city": "市级未通过",
    "rejected_by_province": "省级未通过",
    "rejected_by_miit": "工信部未予认定",
    "spot_check_failed": "抽查不合格",
    "objection_upheld": "异议成立",
    "lapsed": "逾期终止",
    "prerequisite_expired": "前置资格已失效",
    "banned": "处于禁止申报期（第十二条）",
    "cancelled": "已撤销",
    "revoked": "撤销资格",
    "referred_to_miit": "已报工业和信息化部决定",
    "dismissed": "不成立",
    "renewal_withdrawn": "取消复核资格",
    "rectified": "整改到位",
    "not_accepted": "不予受理",
    "kept": "保留资格",
    "expired": "到期失效",
    "continued": "延期，进入新的有效期",
    # a case that ended without an outcome, or runs on without a task or wait
    "completed": "已办结",
    "running": "进行中",
}
# where one procedure words an outcome its own way
PROCESS_OUTCOME_LABELS = {
    ("innovative_evaluation", "qualified"): "评价通过",
    ("complaint", "dismissed"): "投诉不成立",
    ("complaint", "rectified"): "已责令整改并复查通过",
    ("complaint", "revoked"): "已撤销资格",
    ("article12_incident", "dismissed"): "不予确认",
    ("article12_incident", "referred_to_miit"): "已禁止申请，“小巨人”资格报工信部决定",
}


def outcome_label(process_key: str | None, outcome: str | None) -> str | None:
    """The Chinese label of a case's outcome (or of its status where it has none)."""
    if outcome is None:
        return None
    found = PROCESS_OUTCOME_LABELS.get((process_key or "", outcome))
    return found or OUTCOME_LABELS.get(outcome, outcome)


QUALIFICATION_STATUS_LABELS = {
    "active": "有效",
    "renewal_ineligible": "有效（已取消复核资格）",  # 第十条: no annual update by 30 April
    "expired": "已失效",
    "revoked": "已撤销",
}


class Qualification(Base):
    """An issued qualification (创新型 / 专精特新 / 小巨人)."""

    __tablename__ = "qualification"
    __table_args__ = (
        Index("ix_qualification_status_expires", "status", "expires_on"),
        # the public list's order (migration 0009)
        Index("ix_qualification_public_order", "tier", "enterprise_name", "number"),
        trigram_index("ix_qualification_name_trgm", "enterprise_name"),  # the public lookup
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(100), unique=True)
    tier: Mapped[str] = mapped_column(String(30), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(6))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(30))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    # lifecycle (P4, migration 0004): renewal eligibility (第十条), last status change, its instance
    renewal_eligible: Mapped[bool] = mapped_column(default=True, server_default=true())
    source: Mapped[str] = mapped_column(
        String(20), default="evaluation", server_default="evaluation"
    )
    lifecycle_instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime | None]
    status_changed_by: Mapped[str | None] = mapped_column(String(100))
    info_updated_on: Mapped[date | None] = mapped_column(Date)


def make_engine(
    url: str,
    *,
    pre_ping: bool = False,
    recycle_s: int = 600,
    wal_autocheckpoint: int = 10_000,
    pipeline_writes: bool = True,
    prepare_threshold: int | None = 5,
    lock_timeout_s: float = 10.0,
) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout.

    `wal_autocheckpoint`: WAL pages after which SQLite copies them into the database file
    (SQLite's default is 1,000: ~4 MB). Each checkpoint syncs both files; a command writes
    15-30 pages, so the default syncs every ~50 commands and that cost every command's commit
    ~15%. 10,000 pages (~40 MB of WAL) syncs a tenth as often.

    `lock_timeout_s`: how long a statement waits for a lock another transaction holds (SQLite's
    busy timeout, PostgreSQL's lock_timeout, given at connect); 0: no limit."""
    if url.startswith("sqlite"):
        busy_s = lock_timeout_s if lock_timeout_s > 0 else 86_400.0
        engine = create_engine(url, connect_args={"timeout": busy_s, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # commands take the write lock up front (one writer at a time, no upgrade deadlocks);
            # read-only queries (ctx.reading()) use a deferred BEGIN and run beside them under WAL
            read_only = conn.get_execution_options().get("tidu_read", False)
            sql = "BEGIN" if read_only else "BEGIN IMMEDIATE"
            # on the driver's cursor, as the hot writes run: SQLAlchemy's statement setup cost
            # more than the BEGIN; a driver error (a lock not granted in time) is raised as
            # SQLAlchemy raises it
            writes.on_driver(conn, sql, None, lambda cursor: cursor.execute(sql))

        return engine
    connect_args: dict[str, Any] = {}
    parsed = make_url(url)
    if parsed.get_driver_name() == "psycopg":
        # psycopg prepares a statement on the server once a connection has run it this often
        connect_args["prepare_threshold"] = prepare_threshold
    if lock_timeout_s > 0:  # a startup parameter: no statement, no round trip
        given = parsed.query.get("options")  # the URL's own (?options=-c ...) are kept
        options = [given] if isinstance(given, str) else list(given or ())
        options.append(f"-c lock_timeout={max(1, round(lock_timeout_s * 1000))}")
        connect_args["options"] = " ".join(options)
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=pre_ping,
        pool_recycle=recycle_s,
        connect_args=connect_args,
    )
    if pipeline_writes:  # PostgreSQL: a command's writes go in one pipelined round trip
        writes.defer_writes(engine)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


class Message(Base):
    """Outbox: a BPMN message thrown by an instance (or published by staff), routed by key."""

    __tablename__ = "message"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    correlation: Mapped[dict[str, Any]] = mapped_column(JSON)
    broadcast: Mapped[bool] = mapped_column(default=False)
    sender_instance_id: Mapped[str | None] = mapped_column(String(36))
    sent_by: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class CalendarYear(Base):
    """A year's statutory holidays and make-up workdays uploaded by a process owner (for years
    the chinesecalendar package does not cover); one row per year, replaced on upload."""

    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    checksum: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(String(100))


class MessageDelivery(Base):
    """One delivery of a message to one instance (a message reaches each receiver once)."""

    __tablename__ = "message_delivery"
    __table_args__ = (UniqueConstraint("message_id", "instance_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("message.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(36), index=True)
    delivered_at: Mapped[datetime]


class Ban(Base):
    """第十二条: an enterprise barred from applying until `ends_on` (exclusive), and why."""

    __tablename__ = "ban"
    __table_args__ = (Index("ix_ban_uscc_ends_on", "uscc", "ends_on"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    uscc: Mapped[str] = mapped_column(String(18))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(String(50))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))


class Complainant(Base):
    """第十三条: a complainant's identity, kept out of case data (authority and auditors only)."""

    __tablename__ = "complainant"
    __table_args__ = (UniqueConstraint("instance_id", name="uq_complainant_instance"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    instance_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(100))
    id_number: Mapped[str] = mapped_column(String(30))
    contact: Mapped[str] = mapped_column(String(100))
    authority: Mapped[str] = mapped_column(String(30))  # role handling it: city or province
    region: Mapped[str | None] = mapped_column(String(6))  # the handling city's region
    filed_by: Mapped[str] = mapped_column(String(100), index=True)
    filed_at: Mapped[datetime]
