"""Rules that keep one evaluation per enterprise per period (第六条 每半年集中评价一次; 第七、八条
每年一次): a procedure's round windows never overlap nor open already closed, and an enterprise
has one application of a procedure at a time, and one per period of its schedule.

The period and whether the one-per-period rule applies come from `processes/rounds.json`
(`every_months`, `one_application_per_period`): settings the process owner changes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine import holidays, rounds
from engine.context import EngineContext
from engine.errors import Conflict, InvalidInput
from engine.store import Instance, Round, outcome_label

DEFAULT_CASES_RUN_DAYS = 120
STATUS_TEXT = {"running": "办理中", "completed": "已办结"}


def require_openable(
    ctx: EngineContext, session: Any, *, process_key: str, opens_on: date, closes_at: datetime
) -> None:
    """Refuse a round whose window has already closed (422) or overlaps another round of the
    procedure (409 `round-overlaps`, naming it and its window)."""
    zone = ZoneInfo(ctx.settings.timezone)
    if closes_at <= ctx.now():
        last = (closes_at.astimezone(zone) - timedelta(seconds=1)).date()
        raise InvalidInput(
            f"申报窗口已于 {last} 24:00 截止，不能开放已结束的批次（可开放申报期尚未结束的批次）",
            errors={"opens_on": [f"申报窗口（至 {last} 24:00）已结束"]},
        )
    other = rounds.overlapping(session, process_key, opens_on, closes_at, zone)
    if other is not None:
        raise Conflict(
            f"申报窗口与已有批次 {other.id}（{other.label}，申报期 "
            f"{rounds.window_text(other, zone)}）重叠：同一流程的批次申报期不能重叠，"
            "以免同一企业在同一周期内被重复评价（第六条 每半年集中评价一次）",
            rule="round-overlaps",
            round_id=other.id,
        )


def require_one_application(
    ctx: EngineContext, session: Any, *, round_row: Round, uscc: str | None
) -> None:
    """Refuse an enterprise's second application: in the same round, while another of the same
    procedure is still running, or (rounds.json `one_application_per_period`) in another round
    of the same period."""
    if not uscc:
        return
    key = round_row.process_key
    cases = session.execute(
        select(
            Instance.id,
            Instance.status,
            Instance.outcome,
            Round.id.label("round_id"),
            Round.label,
            Round.opens_on,
        )
        .join(Round, Round.id == Instance.round_id)
        .where(Instance.process_key == key, Instance.uscc == uscc)
        .where(Instance.status != "cancelled")
        .order_by(Round.opens_on)
    ).all()
    if any(c.round_id == round_row.id for c in cases):
        raise Conflict("该企业已在本批次申报", rule="one-application-per-round")
    running = next((c for c in cases if c.status == "running"), None)
    if running is not None:
        raise Conflict(
            f"该企业在{running.label}（批次 {running.round_id}）的申报"
            f"（案件 {running.id}）仍在办理中：同一流程同时只能有一件申报，"
            "待其办结后才能在其他批次申报",
            rule="application-running",
            instance_id=running.id,
        )
    schedule = rounds.schedule_for(ctx, key)
    period = schedule.period_of(round_row.opens_on) if schedule else None
    if schedule is None or period is None or not schedule.one_application_per_period:
        return
    same = next((c for c in cases if period[0] <= c.opens_on < period[1]), None)
    if same is not None:
        result = (
            outcome_label(key, same.outcome)
            if same.outcome
            else STATUS_TEXT.get(same.status, same.status)
        )
        raise Conflict(
            f"该企业已在同一评价周期（{period[0]} 至 {period[1] - timedelta(days=1)}，"
            f"每 {schedule.every_months} 个月评价一次）的{same.label}申报过"
            f"（案件 {same.id}，{result}），本周期内不能再次申报，请在下一周期的批次申报",
            rule="one-application-per-period",
            instance_id=same.id,
        )


def calendar_warning(
    ctx: EngineContext, *, process_key: str, opens_on: date, closes_at: datetime
) -> str | None:
    """A warning when the round's cases would plausibly reach a year without working-day data:
    from its opening to `cases_run_days` (rounds.json, default 120) after its window closes."""
    schedule = rounds.schedule_for(ctx, process_key)
    run_days = schedule.cases_run_days if schedule else DEFAULT_CASES_RUN_DAYS
    zone = ZoneInfo(ctx.settings.timezone)
    last = closes_at.astimezone(zone).date() + timedelta(days=run_days)
    missing = holidays.years_without_data(ctx, range(opens_on.year, last.year + 1))
    if not missing:
        return None
    years = "、".join(str(y) for y in missing)
    return (
        f"本批次案件的期限（公示期等工作日期限）预计会计算到 {last}，"
        f"但尚无 {years} 年工作日历数据："
        f"届时相关办理将无法完成。请在“异常”页面（/ui/incidents）的“工作日历”中上传 {years} 年"
        "节假日安排（国务院办公厅通知）"
    )
