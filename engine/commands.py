"""Command wrapper: unexpected failures roll back and become retryable incidents."""

from __future__ import annotations

import contextvars
import functools
import json
import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine import history, outbox
from engine.context import Actor, EngineContext
from engine.errors import (
    Busy,
    CalendarMissing,
    Conflict,
    DatabaseUnavailable,
    EngineError,
    ProcessingFailed,
    StaleInstance,
)
from engine.lint_messages import runtime_message
from engine.runtime import task_error_location
from engine.store import HumanTask, Incident

F = TypeVar("F", bound=Callable[..., Any])
COMMANDS: dict[str, Callable[..., Any]] = {}
AFTER_COMMIT: list[Callable[[EngineContext], Any]] = []  # run after a top-level command succeeded
_IN_COMMAND: contextvars.ContextVar[bool] = contextvars.ContextVar("tidu_in_command", default=False)


def _json_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: (asdict(v) if isinstance(v, Actor) else v)
        for k, v in kwargs.items()
        if k not in ("incident_id", "retried_by")
    }
    return json.loads(json.dumps(out, default=str))


def restore_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: (Actor(**v) if k == "actor" else v) for k, v in args.items()}


def _root_cause(error: BaseException) -> BaseException:
    seen = error
    while seen.__cause__ is not None and not hasattr(seen, "bpmn_id"):
        seen = seen.__cause__
    return seen


def record_incident(
    ctx: EngineContext, name: str, kwargs: dict[str, Any], error: BaseException
) -> str:
    """Store (or update, on a failed retry) a failed command's incident in its own transaction."""
    cause = _root_cause(error)
    element = task_error_location(cause) or task_error_location(error)
    message = runtime_message(type(cause).__name__, str(cause), element)[:4000]
    with ctx.transaction() as session:
        incident_id = kwargs.get("incident_id")
        row = session.get(Incident, incident_id) if incident_id else None
        if row is not None:
            row.attempts += 1
            row.message, row.element_id, row.error_type = message, element, type(cause).__name__
            return row.id
        instance_id = kwargs.get("instance_id")
        if instance_id is None and kwargs.get("task_id"):
            task = session.get(HumanTask, str(kwargs["task_id"]))
            instance_id = task.instance_id if task else None
        row = Incident(
            instance_id=instance_id,
            command=name,
            args=_json_args(kwargs),
            error_type=type(cause).__name__,
            message=message,
            element_id=element,
            status="open",
            attempts=1,
            created_at=ctx.now(),
        )
        session.add(row)
        session.flush()
        history.append(
            session,
            stream=f"instance:{instance_id}" if instance_id else "incidents",
            kind="incident.raised",
            actor="engine",
            at=ctx.now(),
            instance_id=instance_id,
            bpmn_id=element,
            data={"incident_id": row.id, "command": name, "error": message},
        )
        return row.id


# PostgreSQL: lock_not_available (lock_timeout), deadlock_detected, serialization_failure
_BUSY_STATES = frozenset({"55P03", "40P01", "40001"})


def is_busy(error: DBAPIError) -> bool:
    """Whether a database error says another transaction held what this one needed: a lock
    not granted within the lock timeout (PostgreSQL's lock_timeout, SQLite's busy timeout), a
    deadlock or a serialization failure. The transaction was rolled back; repeating it may
    succeed."""
    orig = error.orig
    if getattr(orig, "sqlstate", None) in _BUSY_STATES:
        return True
    return getattr(orig, "sqlite_errorname", "").startswith("SQLITE_BUSY")


def _run_once_more_if_disconnected(
    fn: Callable[..., Any], ctx: EngineContext, kwargs: dict[str, Any], top: bool
) -> Any:
    """Run a command; if the database dropped its connection (a restart, a failover, an idle
    connection closed), the transaction was rolled back, so a top-level command runs again
    once on a new connection."""
    try:
        return fn(ctx, **kwargs)
    except DBAPIError as error:
        if not (top and error.connection_invalidated):
            raise
    try:
        return fn(ctx, **kwargs)
    except DBAPIError as error:
        if error.connection_invalidated:  # lost again: nothing was kept, and it can be repeated
            raise DatabaseUnavailable() from error
        raise


def _conflict(error: Exception) -> Exception | None:
    """A conflict with another transaction (a stale version, a row created at the same time,
    a lock not granted in time) as the 409 it is answered with; None for anything else."""
    if isinstance(error, StaleDataError):
        return StaleInstance()
    if isinstance(error, IntegrityError):  # a concurrent command created the same row first
        return Conflict("数据已被同时提交，请刷新后重试", rule="unique")
    if isinstance(error, DBAPIError) and is_busy(error):
        return Busy(
            "所需数据被其他操作占用，等待超时；本次操作未生效，请稍后重试", rule="lock-timeout"
        )
    return None


def answers_conflicts(fn: F) -> F:
    """For a write that is not a command (nothing to retry: an upload, a hand-close): a
    conflict with another transaction is answered 409 as a command's is, never a 500."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (StaleDataError, DBAPIError) as error:
            answer = _conflict(error)
            if answer is None:
                raise
            raise answer from error

    return run  # type: ignore[return-value]


def _answer(ctx: EngineContext, name: str, kwargs: dict[str, Any], error: Exception) -> Exception:
    """What a failed command is answered with: a domain error as it is; a conflict with
    another transaction as a conflict (`_conflict`); anything else as a new incident."""
    if isinstance(error, EngineError):
        return error
    conflict = _conflict(error)
    if conflict is not None:
        return conflict
    incident_id = record_incident(ctx, name, kwargs, error)
    year = _missing_calendar_year(error)
    if year is not None:
        return CalendarMissing(
            f"无法计算期限（如公示期）：尚无 {year} 年工作日历数据，本次操作未生效。请联系省工信厅"
            f"或流程负责人在“异常”页面（/ui/incidents）的“工作日历”中上传 {year} 年节假日安排，"
            f"之后重试（事件编号 {incident_id}）",
            incident_id=incident_id,
            year=year,
        )
    return ProcessingFailed(f"事件编号 {incident_id}", incident_id=incident_id)


_NO_CALENDAR = re.compile(r"无 (\d{4}) 年工作日历数据")


def _missing_calendar_year(error: BaseException) -> int | None:
    """The year a failure says has no working-day data (handlers.workdays words it so), if any
    error of its chain says so."""
    seen: BaseException | None = error
    while seen is not None:
        found = _NO_CALENDAR.search(str(seen))
        if found:
            return int(found.group(1))
        seen = seen.__cause__ or seen.__context__
    return None


def command(name: str) -> Callable[[F], F]:
    """Register an engine command; non-domain failures become incidents (nothing else is kept)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(ctx: EngineContext, **kwargs: Any) -> Any:
            top = not _IN_COMMAND.get()
            token = _IN_COMMAND.set(True)
            dispatch_token = outbox.DISPATCH_NEEDED.set(False) if top else None
            try:
                result = _run_once_more_if_disconnected(fn, ctx, kwargs, top)
            except Exception as error:
                answer = _answer(ctx, name, kwargs, error)
                if answer is error:
                    raise
                raise answer from error
            finally:
                _IN_COMMAND.reset(token)
                dispatch = top and outbox.DISPATCH_NEEDED.get()
                if dispatch_token is not None:
                    outbox.DISPATCH_NEEDED.reset(dispatch_token)
            if dispatch:  # route messages once the sender's transaction is committed
                for hook in AFTER_COMMIT:
                    hook(ctx)
            return result

        COMMANDS[name] = run
        return run  # type: ignore[return-value]

    return wrap
