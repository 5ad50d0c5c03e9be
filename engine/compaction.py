"""Compacting the stored state of finished cases (`tidu cases compact`).

A case keeps its whole SpiffWorkflow state after it finishes: every task with its data, 34 KB
for a finished P1 case. Nothing reads most of it again: the history holds who did what, when
and with which data, and a finished case takes no command. What is still read is where the
case went: the case page colours the elements it completed (engine/positions.py). Compacting
a finished case replaces its state with exactly that, `{"compacted": <when>, "completed":
[...], "active": [...]}` (~1 KB), and records `instance.state_compacted` in the case's history
with the bytes before and after. A command that would load a compacted case is refused (409,
rule `state-compacted`).

Which cases and when is the operator's choice: `tidu cases compact --older-than-days N`
compacts the cases finished more than N days ago (docs/scaling.md, "History partitioning and
retention"), and with TIDU_COMPACT_FINISHED_AFTER_DAYS=N the scheduler does so once a day
(engine/scheduler.py). Cases go 500 to a transaction, each row checked against its optimistic
version so a concurrent writer is never overwritten; on PostgreSQL several schedulers skip
each other's locked rows.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from engine import history
from engine.context import Actor, EngineContext
from engine.errors import InvalidInput
from engine.positions import element_states
from engine.store import Instance

BATCH = 500
MARKER = '{"compacted":'


def is_compacted(state_json: str | None) -> bool:
    return bool(state_json) and state_json.startswith(MARKER)


def compacted_state(state_json: str, at: str) -> str:
    """The compact form of a finished case's state: when, and the elements it went through."""
    return json.dumps({"compacted": at, **element_states(state_json)}, ensure_ascii=False)


def compact_finished(
    ctx: EngineContext, *, older_than_days: int, actor: Actor, limit: int | None = None
) -> dict[str, int]:
    """Compact the finished cases completed more than `older_than_days` days ago (at most
    `limit`); returns how many cases and how many bytes of state before and after."""
    if older_than_days < 0:
        raise InvalidInput("天数不能为负", errors={"older_than_days": ["应为不小于 0 的整数"]})
    cutoff = ctx.now() - timedelta(days=older_than_days)
    done = {"cases": 0, "bytes_before": 0, "bytes_after": 0}
    while limit is None or done["cases"] < limit:
        size = BATCH if limit is None else min(BATCH, limit - done["cases"])
        batch = _compact_batch(ctx, cutoff, size, actor)
        for key, value in batch.items():
            done[key] += value
        if batch["cases"] < size:
            break
    return done


def _compact_batch(ctx: EngineContext, cutoff: Any, size: int, actor: Actor) -> dict[str, int]:
    with ctx.transaction() as session:
        rows = session.execute(
            select(Instance.id, Instance.version, Instance.state_json)
            .where(
                Instance.status == "completed",
                Instance.completed_at < cutoff,
                func.substr(Instance.state_json, 1, len(MARKER)) != MARKER,
            )
            .order_by(Instance.completed_at, Instance.id)
            .limit(size)
            # schedulers on one PostgreSQL database take different cases
            .with_for_update(skip_locked=True)
        ).all()
        now = ctx.now()
        before = after = 0
        for case_id, version, state_json in rows:
            small = compacted_state(state_json, now.isoformat())
            changed = session.execute(
                update(Instance)
                .where(Instance.id == case_id, Instance.version == version)
                .values(state_json=small, version=version + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not changed:  # a concurrent writer moved it on: left for the next run
                continue
            history.append(
                session,
                stream=f"instance:{case_id}",
                kind="instance.state_compacted",
                actor=actor.id,
                at=now,
                instance_id=case_id,
                data={"bytes_before": len(state_json.encode()), "bytes_after": len(small)},
            )
            before += len(state_json.encode())
            after += len(small.encode())
        return {"cases": len(rows), "bytes_before": before, "bytes_after": after}
