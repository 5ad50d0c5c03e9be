"""Migrate running instances to another version of their process (SpiffWorkflow's diff/migrate).

`preview` is the dry run: it migrates each running instance in memory (nothing is written) and
reports whether it can move and, if not, which element stops it. `migrate_instance` does the
same for one instance in one transaction and keeps the result; `migrate` runs it per instance
and reports the ones that cannot move.

Judging and moving one workflow state (timers keep their due times) is `migration_plan`; here
are the commands around it: row lock, projections (open tasks keep id and assignee), history.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import access, definitions, history, incidents, instances
from engine.commands import command
from engine.context import Actor, EngineContext
from engine.errors import Conflict, EngineError
from engine.migration_plan import Plan, Reason, SpecPair, apply, positions
from engine.migration_review import settings_kept
from engine.projections import (
    engine_task_ready,
    open_task_rows,
    ready_user_tasks,
    scoped_bpmn_id,
    waiting_timers,
)
from engine.runtime import SERIALIZER
from engine.store import Definition, Instance, Timer

OWNERS = ("process_owner", "province")


class MigrationRefused(Conflict):
    code = "instance-cannot-migrate"
    title = "案件无法迁移到新版本"


@dataclass
class InstanceCheck:
    """The dry-run verdict for one instance (and, when it can move, its timers afterwards)."""

    instance_id: str
    business_key: str
    uscc: str | None
    status: str
    version: int
    positions: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    timers: list[dict[str, Any]] = field(default_factory=list)
    settings_kept: list[dict[str, Any]] = field(default_factory=list)

    @property
    def can_migrate(self) -> bool:
        return not self.reasons


@dataclass
class Report:
    process_key: str
    from_version: int
    to_version: int
    from_checksum: str
    to_checksum: str
    changes: dict[str, list[dict[str, Any]]]
    instances: list[InstanceCheck]
    not_running: int

    @property
    def summary(self) -> dict[str, int]:
        movable = sum(1 for i in self.instances if i.can_migrate)
        return {
            "running": len(self.instances),
            "can_migrate": movable,
            "cannot_migrate": len(self.instances) - movable,
            "not_running": self.not_running,
        }


_PLANS: dict[tuple[int, str, int, str], Plan] = {}


def plan(ctx: EngineContext, old: Definition, new: Definition) -> Plan:
    """Diff two deployed versions (cached: versions are immutable)."""
    key = (old.id, old.checksum, new.id, new.checksum)
    found = _PLANS.get(key)
    if found is not None:
        return found
    old_spec, old_subs, _ = instances.workflow_for(ctx, old)
    new_spec, new_subs, _ = instances.workflow_for(ctx, new)
    deps = {
        name: SpecPair.of(spec, new_subs[name]) if name in new_subs else None
        for name, spec in old_subs.items()
    }
    found = Plan(
        old,
        new,
        new_spec,
        new_subs,
        SpecPair.of(old_spec, new_spec),
        deps,
        [name for name in new_subs if name not in old_subs],
    )
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[key] = found
    return found


def _restore(ctx: EngineContext, definition: Definition, state_json: str) -> Any:
    instances.workflow_for(ctx, definition)  # the spec must be cached before deserializing
    wf = SERIALIZER.deserialize_json(state_json)
    wf.script_engine = ctx.script_engine
    return wf


def _definitions(
    ctx: EngineContext, session: Session, process_key: str, old: int, new: int
) -> tuple[Definition, Definition]:
    if old == new:
        raise Conflict(f"源版本与目标版本相同（第 {old} 版）", rule="same-version")
    return (
        definitions.get(session, process_key, old, ctx),
        definitions.get(session, process_key, new, ctx),
    )


def preview(
    ctx: EngineContext,
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    actor: Actor,
    instance_ids: list[str] | None = None,
) -> Report:
    """Dry run: can each running instance of `from_version` move to `to_version`; if not, why."""
    access.require_role(actor, *OWNERS)
    with ctx.reading() as session:
        old, new = _definitions(ctx, session, process_key, from_version, to_version)
        plan_ = plan(ctx, old, new)
    of_version = Instance.definition_id == old.id
    if instance_ids is not None:
        of_version &= Instance.id.in_([str(i) for i in instance_ids])
    # the running cases' states are read PREVIEW_BATCH at a time and each is let go once
    # checked: a version's cases in a national programme hold gigabytes of state
    with ctx.streaming_rows(PREVIEW_BATCH) as conn:
        running = conn.execute(
            select(*_CHECKED)
            .where(of_version, Instance.status == "running")
            .order_by(Instance.started_at, Instance.id)
        )
        checks = [_check(ctx, plan_, row) for row in running]
        finished = conn.scalar(select(func.count()).where(of_version, Instance.status != "running"))
    return Report(
        process_key,
        from_version,
        to_version,
        old.checksum,
        new.checksum,
        plan_.changes(),
        checks,
        finished or 0,
    )


def changes(
    ctx: EngineContext, *, process_key: str, from_version: int, to_version: int
) -> dict[str, list[dict[str, Any]]]:
    """What changed between two versions (the compare page; anyone who may read definitions)."""
    with ctx.reading() as session:
        old, new = _definitions(ctx, session, process_key, from_version, to_version)
        return plan(ctx, old, new).changes()


PREVIEW_BATCH = 100  # running cases whose state a migration preview reads at a time
_CHECKED = (
    Instance.id,
    Instance.business_key,
    Instance.uscc,
    Instance.status,
    Instance.definition_version,
    Instance.state_json,
)


def _check(ctx: EngineContext, plan_: Plan, row: Any) -> InstanceCheck:
    """Whether one running case (a row of `_CHECKED`) can move under the plan; if not, why."""
    wf = _restore(ctx, plan_.old, row.state_json)
    check = InstanceCheck(
        row.id, row.business_key, row.uscc, row.status, row.definition_version, positions(wf)
    )
    check.settings_kept = settings_kept(wf, plan_.settings)
    try:
        check.reasons, check.timers = apply(plan_, wf)
    except Exception as error:  # one odd state must not hide the report on the others
        message = f"无法将案件状态与新版本对齐：{type(error).__name__}: {error}"[:500]
        check.reasons = [Reason("", "diff-failed", message)]
    return check


@command("migrate_instance")
def migrate_instance(
    ctx: EngineContext,
    *,
    instance_id: str,
    to_version: int,
    actor: Actor,
    from_version: int | None = None,
    incident_id: str | None = None,
    retried_by: Actor | None = None,
) -> Instance:
    """Move one running instance onto another version of its process (409 if it cannot move)."""
    access.require_role(actor, *OWNERS)
    with ctx.transaction() as session:
        loaded = instances.load_for_update(ctx, session, instance_id)
        row = loaded.row
        _require_movable_row(row, from_version, to_version)
        new = definitions.get(session, row.process_key, to_version, ctx)
        plan_ = plan(ctx, loaded.definition, new)
        where = positions(loaded.wf)
        kept_settings = settings_kept(loaded.wf, plan_.settings)
        reasons, timers = apply(plan_, loaded.wf)
        if reasons:
            raise MigrationRefused(
                f"案件 {row.id}：" + "；".join(r.message for r in reasons),
                errors=[r.__dict__ for r in reasons],
                instance_id=row.id,
                element_ids=[r.element_id for r in reasons],
            )
        _, _, scope = instances.workflow_for(ctx, new)
        # before=None: the projections no longer match what was loaded, so save re-reads them
        moved = replace(loaded, definition=new, scope=scope, before=None)
        now = ctx.now()
        history.append(
            session,
            stream=f"instance:{row.id}",
            kind="instance.migrated",
            actor=actor.id,
            at=now,
            instance_id=row.id,
            definition_id=new.id,
            data=_event_data(
                plan_, actor, where, timers, _resync_tasks(session, moved), ctx.settings.timezone
            )
            | {"settings_kept": kept_settings},
        )
        row.definition_id, row.definition_version = new.id, new.version
        if engine_task_ready(moved.wf):
            instances.advance(ctx, moved)  # an engine task made ready by the new version
        instances._resolve_incident(session, incident_id, retried_by or actor, now)
        _settle_incidents(session, moved, actor, now, (plan_.old.version, new.version))
        return instances.save(ctx, session, moved, actor)


def _settle_incidents(
    session: Session, moved: Any, actor: Actor, now: Any, versions: tuple[int, int]
) -> None:
    """Close the case's incidents the migration left nothing to retry for (history says so)."""
    active = set()
    for place in positions(moved.wf):
        active |= {place["element_id"], place["element_id"].rsplit("/", 1)[-1]}
    incidents.settle_after_migration(
        session,
        moved.row.id,
        open_task_ids={str(t.id) for t in ready_user_tasks(moved.wf)},
        active=active,
        actor=actor,
        now=now,
        versions=versions,
    )


def _require_movable_row(row: Instance, from_version: int | None, to_version: int) -> None:
    if row.status != "running":
        raise Conflict(
            f"案件 {row.id} 状态为 {row.status}，只迁移进行中的案件",
            rule="instance-not-running",
            instance_id=row.id,
        )
    if from_version is not None and row.definition_version != from_version:
        raise Conflict(
            f"案件 {row.id} 当前在第 {row.definition_version} 版，不在第 {from_version} 版",
            rule="version-mismatch",
            instance_id=row.id,
        )
    if row.definition_version == to_version:
        raise Conflict(
            f"案件 {row.id} 已在第 {to_version} 版", rule="same-version", instance_id=row.id
        )


def _resync_tasks(session: Session, loaded: Any) -> list[dict[str, Any]]:
    """Open human tasks that persisted keep id and assignee; name, form and role follow the new
    version (a task whose role changed is released: its holder may not work on it any more)."""
    timers = {str(t.id): t for t, _ in waiting_timers(loaded.wf)}
    for timer in session.scalars(select(Timer).where(Timer.instance_id == loaded.row.id)):
        task = timers.get(timer.task_id)
        if task is not None:
            timer.bpmn_id = scoped_bpmn_id(task)  # an element matched by position may be renamed
    ready = {str(t.id): t for t in ready_user_tasks(loaded.wf)}
    kept = []
    for task_id, task_row in open_task_rows(session, loaded.row.id).items():
        task = ready.get(task_id)
        if task is None:
            continue  # saving cancels it
        spec = task.task_spec
        role = loaded.definition.lanes.get(spec.bpmn_id, "province")
        task_row.bpmn_id, task_row.name = spec.bpmn_id, spec.bpmn_name or spec.bpmn_id
        task_row.form = (spec.extensions or {}).get("properties", {}).get("formJsonSchemaFilename")
        if role != task_row.role:
            task_row.role, task_row.assignee = role, None
        kept.append({"task_id": task_id, "bpmn_id": spec.bpmn_id, "assignee": task_row.assignee})
    return kept


def _event_data(
    plan_: Plan,
    actor: Actor,
    where: list[dict[str, Any]],
    timers: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    timezone: str,
) -> dict[str, Any]:
    changes = plan_.changes()
    zone = ZoneInfo(timezone)  # times in event data are local, like the events' own
    return {
        "process_key": plan_.new.process_key,
        "from_version": plan_.old.version,
        "to_version": plan_.new.version,
        "from_checksum": plan_.old.checksum,
        "to_checksum": plan_.new.checksum,
        "from_definition_id": plan_.old.id,
        "role": actor.role,
        "positions": where,
        "open_tasks_kept": tasks,
        "timers": [t | {"due_at": t["due_at"].astimezone(zone).isoformat()} for t in timers],
        "changes": {
            "added": [c["element_id"] for c in changes["added"]],
            "removed": [c["element_id"] for c in changes["removed"]],
            "changed": {c["element_id"]: c["keys"] for c in changes["changed"]},
            "settings": changes["settings"],
            "rules": changes["rules"],
        },
    }


@dataclass
class BatchResult:
    migrated: list[dict[str, Any]]
    refused: list[dict[str, Any]]

    @property
    def summary(self) -> dict[str, int]:
        return {"migrated": len(self.migrated), "refused": len(self.refused)}


def migrate(
    ctx: EngineContext,
    *,
    process_key: str,
    from_version: int,
    to_version: int,
    actor: Actor,
    instance_ids: list[str] | None = None,
) -> BatchResult:
    """Migrate the running instances of a version (or the given ones), each in its own
    transaction; report the ones that cannot move (or changed meanwhile) with the reason."""
    access.require_role(actor, *OWNERS)
    with ctx.reading() as session:
        old, _ = _definitions(ctx, session, process_key, from_version, to_version)
        query = select(Instance.id).where(
            Instance.definition_id == old.id, Instance.status == "running"
        )
        ids = list(session.scalars(query.order_by(Instance.started_at, Instance.id)))
    result = BatchResult([], [])
    if instance_ids is not None:
        wanted, running = [str(i) for i in instance_ids], set(ids)
        result.refused += [
            _not_here(ctx, i, process_key, from_version) for i in wanted if i not in running
        ]
        chosen = set(wanted)
        ids = [i for i in ids if i in chosen]
    for instance_id in ids:
        try:
            row = migrate_instance(
                ctx,
                instance_id=instance_id,
                from_version=from_version,
                to_version=to_version,
                actor=actor,
            )
        except EngineError as error:  # refused, changed meanwhile, or failed (an incident)
            result.refused.append(
                {
                    "instance_id": instance_id,
                    "code": error.code,
                    "detail": error.detail,
                    "reasons": error.errors or [],
                }
            )
            continue
        result.migrated.append(
            {"instance_id": row.id, "version": row.definition_version, "status": row.status}
        )
    return result


def _not_here(
    ctx: EngineContext, instance_id: str, process_key: str, from_version: int
) -> dict[str, Any]:
    with ctx.reading() as session:
        row = session.get(Instance, instance_id)
    if row is None or row.process_key != process_key:
        detail = f"案件 {instance_id} 不是流程 {process_key} 的案件"
    elif row.status != "running":
        detail = f"案件 {instance_id} 状态为 {row.status}，只迁移进行中的案件"
    else:
        detail = (
            f"案件 {instance_id} 当前在第 {row.definition_version} 版，不在第 {from_version} 版"
        )
    return {"instance_id": instance_id, "code": "not-migrated", "detail": detail, "reasons": []}


def report_json(report: Report) -> dict[str, Any]:
    """The dry-run report as plain data (API and CLI)."""
    return {
        "process_key": report.process_key,
        "from_version": report.from_version,
        "to_version": report.to_version,
        "from_checksum": report.from_checksum,
        "to_checksum": report.to_checksum,
        "changes": report.changes,
        "summary": report.summary,
        "instances": [
            {
                "instance_id": c.instance_id,
                "business_key": c.business_key,
                "uscc": c.uscc,
                "status": c.status,
                "version": c.version,
                "can_migrate": c.can_migrate,
                "positions": c.positions,
                "reasons": [r.__dict__ for r in c.reasons],
                "timers": c.timers,
                "settings_kept": c.settings_kept,
            }
            for c in report.instances
        ],
    }
