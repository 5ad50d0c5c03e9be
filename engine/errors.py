"""Domain errors with stable English codes and Chinese titles; only api/errors.py knows HTTP."""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    code = "engine-error"
    title = "处理失败"

    def __init__(self, detail: str = "", *, errors: Any = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.extra = extra


class NotFound(EngineError):
    code = "not-found"
    title = "未找到该资源"


class Forbidden(EngineError):
    code = "forbidden"
    title = "无权执行该操作"


class Unauthorized(EngineError):
    code = "unauthorized"
    title = "未登录或令牌无效"


class Conflict(EngineError):
    code = "conflict"
    title = "操作冲突"


class TaskNotOpen(Conflict):
    code = "task-not-open"
    title = "任务已完成或已取消"


class TaskAlreadyClaimed(Conflict):
    code = "task-already-claimed"
    title = "任务已被他人认领"


class StaleInstance(Conflict):
    code = "stale-instance"
    title = "案件已被他人同时修改，请刷新后重试"


class Busy(Conflict):
    """A row the command needs stayed locked by another transaction past the lock timeout, or
    two transactions deadlocked: nothing was kept, and the request can be repeated."""

    code = "busy"
    title = "数据正被其他操作占用，请稍后重试"


class InvalidInput(EngineError):
    code = "invalid-input"
    title = "提交的数据不合法"


class InvalidTaskData(InvalidInput):
    code = "invalid-task-data"
    title = "表单数据校验失败"


class InvalidDefinition(InvalidInput):
    code = "invalid-definition"
    title = "流程定义校验失败"


class MessageNotExpected(Conflict):
    code = "message-not-expected"
    title = "案件当前不接收该消息"


class DatabaseUnavailable(EngineError):
    """The database connection was lost (nothing was kept); the request can be repeated."""

    code = "database-unavailable"
    title = "数据库连接中断，请稍后重试"


class ProcessingFailed(EngineError):
    """A command failed inside the engine (handler, script, timer); an incident was recorded."""

    code = "processing-failed"
    title = "处理过程中出错，已记录为待处理事件"


class CalendarMissing(ProcessingFailed):
    """A working-day deadline fell in a year without holiday data: the command was rolled back
    and recorded as an incident (retried once the year is uploaded); the user is told why."""

    code = "calendar-missing"
    title = "缺少工作日历数据，无法计算期限"
