"""Timer claims: due timers are claimed in batches, fired one instance per transaction, retried.

A claim sets `lock_owner` and `lock_expires_at` on the timer rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so any number of schedulers share the work; SQLite serializes writers and runs one
guarded scheduler). Exactly-once firing does not rest on the claim alone: `fire_timers` locks
the instance row and re-reads which timers are still due, so a claim that expired while its
owner was slow (or killed) is harmless. A failing firing is retried with exponential backoff
(`attempts`, `last_error`; the lock expiry doubles as "not before"); the last try raises an
incident, and an instance with an open timer incident is skipped until the incident is retried.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, or_, select, update

from engine import instances
from engine.commands import record_incident
from engine.context import Actor, EngineContext
from engine.errors import ProcessingFailed
from engine.store import Incident, Timer

log = logging.getLogger("tidu.timers")


@dataclass(frozen=True)
class TimerPolicy:
    """How schedulers claim and retry (TIDU_TIMER_* environment variables)."""

    batch_size: int = 100  # timers claimed per round trip
    lease_s: float = 60.0  # a claim not finished by then may be taken by another scheduler
    max_attempts: int = 5  # the last failed try raises an incident
    backoff_s: float = 5.0  # wait before try n+1: backoff_s * 2**(n-1), at most backoff_max_s
    backoff_max_s: float = 3600.0
    idle_recheck_s: float = 30.0  # bound on how late a timer written by another process is seen

    @classmethod
    def from_env(cls, **overrides: float) -> TimerPolicy:
        """Read TIDU_TIMER_{BATCH,LEASE_S,MAX_ATTEMPTS,BACKOFF_S,BACKOFF_MAX_S,IDLE_RECHECK_S}."""
        env, values = os.environ, {}
        for name, var, kind in (
            ("batch_size", "BATCH", int),
            ("lease_s", "LEASE_S", float),
            ("max_attempts", "MAX_ATTEMPTS", int),
            ("backoff_s", "BACKOFF_S", float),
            ("backoff_max_s", "BACKOFF_MAX_S", float),
            ("idle_recheck_s", "IDLE_RECHECK_S", float),
        ):
            if f"TIDU_TIMER_{var}" in env:
                values[name] = kind(env[f"TIDU_TIMER_{var}"])
        return cls(**(values | overrides))  # type: ignore[arg-type]

    def backoff(self, attempts: int) -> timedelta:
        return timedelta(
            seconds=min(self.backoff_s * 2 ** max(attempts - 1, 0), self.backoff_max_s)
        )


@dataclass
class Claim:
    timer_id: int
    instance_id: str
    due_at: datetime
    attempts: int


@dataclass
class RunResult:
    claimed: int = 0
    instances: int = 0
    fired: int = 0
    failed: int = 0
    incidents: int = 0
    lateness_s: list[float] = field(default_factory=list)

    def add(self, other: RunResult) -> None:
        for name in ("claimed", "instances", "fired", "failed", "incidents"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.lateness_s += other.lateness_s

    def summary(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "instances": self.instances,
            "fired": self.fired,
            "failed": self.failed,
            "incidents": self.incidents,
        }


def _blocked_instances():  # type: ignore[no-untyped-def]
    return select(Incident.instance_id).where(
        Incident.status == "open",
        Incident.command == "fire_timers",
        Incident.instance_id.is_not(None),
    )


def _claimable(now: datetime):  # type: ignore[no-untyped-def]
    return (
        Timer.due_at <= now,
        or_(Timer.lock_expires_at.is_(None), Timer.lock_expires_at <= now),
        Timer.instance_id.not_in(_blocked_instances()),
    )


def claim(ctx: EngineContext, *, owner: str, policy: TimerPolicy) -> list[Claim]:
    """Claim up to `batch_size` due timers (earliest first) for `owner`, in one transaction."""
    with ctx.transaction() as session:
        now = ctx.now()
        rows = session.execute(
            select(Timer.id, Timer.instance_id, Timer.due_at, Timer.attempts)
            .where(*_claimable(now))
            .order_by(Timer.due_at, Timer.id)
            .limit(policy.batch_size)
            .with_for_update(skip_locked=True, of=Timer)
        ).all()
        if rows:
            session.execute(
                update(Timer)
                .where(Timer.id.in_([r.id for r in rows]))
                .values(lock_owner=owner, lock_expires_at=now + timedelta(seconds=policy.lease_s))
            )
        return [Claim(r.id, r.instance_id, r.due_at, r.attempts or 0) for r in rows]


def _release(ctx: EngineContext, ids: list[int], owner: str, **values: object) -> None:
    with ctx.transaction() as session:
        session.execute(
            update(Timer)
            .where(Timer.id.in_(ids), Timer.lock_owner == owner)
            .values(lock_owner=None, lock_expires_at=None, **values)
        )


def _fire_instance(
    ctx: EngineContext,
    instance_id: str,
    claims: list[Claim],
    owner: str,
    policy: TimerPolicy,
    result: RunResult,
) -> None:
    """Fire one instance's due timers; a failure is recorded, the last one raises an incident."""
    ids = [c.timer_id for c in claims]
    attempt = max(c.attempts for c in claims) + 1
    final = attempt >= policy.max_attempts
    actor = Actor.system("scheduler")
    try:
        fire = instances.fire_timers if final else instances.fire_timers.__wrapped__  # type: ignore[attr-defined]
        fired = fire(ctx, instance_id=instance_id, actor=actor)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"[:2000]
        result.failed += 1
        if final:
            if not isinstance(error, ProcessingFailed):
                record_incident(
                    ctx, "fire_timers", {"instance_id": instance_id, "actor": actor}, error
                )
            result.incidents += 1
            log.error(
                "timers of %s failed %d times, incident raised: %s", instance_id, attempt, message
            )
        else:
            log.warning("timers of %s failed (try %d): %s", instance_id, attempt, message)
        with ctx.transaction() as session:
            session.execute(
                update(Timer)
                .where(Timer.id.in_(ids), Timer.lock_owner == owner)
                .values(
                    lock_owner=None,
                    attempts=attempt,
                    last_error=message,
                    lock_expires_at=ctx.now() + policy.backoff(attempt),
                )
            )
        return
    if fired is None:  # fired meanwhile by someone else: nothing was saved, give the rows back
        _release(ctx, ids, owner)
        return
    now = ctx.now()  # the save ended the claim on rows still waiting
    result.fired += len(claims)
    result.lateness_s += [(now - c.due_at).total_seconds() for c in claims]


def fire_claimed(
    ctx: EngineContext, claims: list[Claim], *, owner: str, policy: TimerPolicy
) -> RunResult:
    """Fire claimed timers, one instance per transaction, earliest due first."""
    result = RunResult(claimed=len(claims))
    by_instance: dict[str, list[Claim]] = defaultdict(list)
    for c in claims:
        by_instance[c.instance_id].append(c)
    result.instances = len(by_instance)
    for instance_id, group in by_instance.items():
        _fire_instance(ctx, instance_id, group, owner, policy, result)
    return result


def run_due(
    ctx: EngineContext,
    *,
    owner: str,
    policy: TimerPolicy | None = None,
    max_batches: int | None = None,
) -> RunResult:
    """Claim and fire batches until nothing claimable is due (or `max_batches` were run)."""
    policy = policy or TimerPolicy.from_env()
    total = RunResult()
    batches = 0
    while max_batches is None or batches < max_batches:
        claims = claim(ctx, owner=owner, policy=policy)
        if not claims:
            break
        total.add(fire_claimed(ctx, claims, owner=owner, policy=policy))
        batches += 1
        if len(claims) < policy.batch_size:
            break
    return total


def next_wakeup(ctx: EngineContext) -> datetime | None:
    """The earliest moment a timer becomes claimable (due time, or end of claim/backoff)."""
    ready_at = case(
        (Timer.lock_expires_at > Timer.due_at, Timer.lock_expires_at), else_=Timer.due_at
    )
    with ctx.transaction() as session:
        value = session.scalar(
            select(func.min(ready_at)).where(Timer.instance_id.not_in(_blocked_instances()))
        )
    if value is None:
        return None
    if isinstance(value, str):  # SQLite returns the text of a CASE expression
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
