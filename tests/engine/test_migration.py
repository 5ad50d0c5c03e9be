"""Migrating running instances to a new version: dry run, migration, timers, refusals, history."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import definitions, history, instances, migration, timers
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.errors import Conflict, Forbidden
from engine.runtime import SERIALIZER
from engine.store import HistoryEvent, HumanTask, Instance, Qualification, Timer
from tests import factories as f
from tests.engine.conftest import Tidu

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
# migrations move tasks around: the fast converter and the flat task reads are checked too
pytestmark = pytest.mark.usefixtures("codec_check", "walk_check", "cache_check")
KEY = "migration_demo"
OWNER = Actor(id="owner", role="process_owner")
SYSTEM = Actor.system("test")
PROVINCE = Actor(id="prov", role="province")


def deploy(ctx: EngineContext, version: int) -> int:
    text = (FIXTURES / f"migration_v{version}.bpmn").read_text(encoding="utf-8")
    (row,) = definitions.deploy(ctx, files={f"{KEY}.bpmn": text}, actor=OWNER)
    return row.version


def start(ctx: EngineContext) -> str:
    return instances.start_instance(ctx, process_key=KEY, actor=SYSTEM).id


def open_tasks(ctx: EngineContext, instance_id: str) -> list[HumanTask]:
    with ctx.transaction() as session:
        return list(
            session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == instance_id, HumanTask.state == "open"
                )
            )
        )


def timer_rows(ctx: EngineContext, instance_id: str) -> dict[str, Timer]:
    with ctx.transaction() as session:
        rows = session.scalars(select(Timer).where(Timer.instance_id == instance_id))
        return {t.bpmn_id: t for t in rows}


def complete(ctx: EngineContext, instance_id: str, bpmn_id: str) -> Instance:
    (task,) = [t for t in open_tasks(ctx, instance_id) if t.bpmn_id == bpmn_id]
    return instances.complete_task(ctx, task_id=task.id, actor=PROVINCE, data={})


def fire_due(ctx: EngineContext) -> None:
    timers.run_due(ctx, owner="test", policy=timers.TimerPolicy(batch_size=50))


def events(ctx: EngineContext, instance_id: str, kind: str) -> list[HistoryEvent]:
    with ctx.transaction() as session:
        return list(
            session.scalars(
                select(HistoryEvent).where(
                    HistoryEvent.instance_id == instance_id, HistoryEvent.kind == kind
                )
            )
        )


def test_an_instance_at_a_user_task_moves_to_a_version_adding_a_later_task(
    ctx: EngineContext, clock: SimulatedClock, tidu: Tidu
) -> None:
    deploy(ctx, 1)
    instance_id = start(ctx)
    (review,) = open_tasks(ctx, instance_id)
    instances.claim_task(ctx, task_id=review.id, actor=PROVINCE)
    deadline = timer_rows(ctx, instance_id)["review_deadline"].due_at
    assert deadline == clock.now() + timedelta(days=10)
    clock.advance(timedelta(days=3))
    deploy(ctx, 2)
    clock.advance(timedelta(hours=5))

    report = migration.preview(ctx, process_key=KEY, from_version=1, to_version=2, actor=OWNER)
    assert report.summary == {"running": 1, "can_migrate": 1, "cannot_migrate": 0, "not_running": 0}
    dry = tidu("migrate", KEY, "--from", "1", "--to", "2", "--dry-run").output
    china = deadline.astimezone(timezone(timedelta(hours=8))).isoformat()  # as the API shows it
    assert f"    定时器 review_deadline {china} 到期时间不变" in dry.splitlines()
    (check,) = report.instances
    assert [p["element_id"] for p in check.positions] == ["review", "review_deadline"]
    assert check.timers == [
        {
            "element_id": "review_deadline",
            "name": "审核期限 10 天",
            "due_at": deadline,
            "kept": True,
        }
    ]
    assert [c["element_id"] for c in report.changes["added"]] == ["sign"]
    assert report.changes["removed"] == []
    changed = {c["element_id"]: c["what"] for c in report.changes["changed"]}
    assert changed["cooling_off"] == ["后续连线"]

    row = migration.migrate_instance(
        ctx, instance_id=instance_id, from_version=1, to_version=2, actor=OWNER
    )
    assert (row.definition_version, row.status) == (2, "running")
    (still,) = open_tasks(ctx, instance_id)
    assert (still.id, still.assignee) == (review.id, "prov")  # the task persisted: same id, holder
    assert timer_rows(ctx, instance_id)["review_deadline"].due_at == deadline
    (moved,) = events(ctx, instance_id, "instance.migrated")
    assert (moved.actor, moved.data["from_version"], moved.data["to_version"]) == ("owner", 1, 2)
    assert moved.data["changes"]["added"] == ["sign"]
    assert moved.data["timers"][0]["kept"] is True
    assert events(ctx, instance_id, "task.cancelled") == []

    complete(ctx, instance_id, "review")
    assert "review_deadline" not in timer_rows(ctx, instance_id)
    clock.advance(timedelta(days=5, seconds=1))
    fire_due(ctx)
    assert [t.bpmn_id for t in open_tasks(ctx, instance_id)] == ["sign"]  # exists only in v2
    complete(ctx, instance_id, "sign")
    with ctx.transaction() as session:
        assert session.get(Instance, instance_id).status == "completed"
        assert history.verify(session) == []
    assert tidu("audit", "verify").exit_code == 0


def test_a_waiting_intermediate_timer_keeps_its_due_time_and_fires_on_the_new_version(
    ctx: EngineContext, clock: SimulatedClock
) -> None:
    deploy(ctx, 1)
    instance_id = start(ctx)
    complete(ctx, instance_id, "review")
    due = timer_rows(ctx, instance_id)["cooling_off"].due_at
    clock.advance(timedelta(days=2))
    deploy(ctx, 2)
    clock.advance(timedelta(days=1))
    result = migration.migrate(ctx, process_key=KEY, from_version=1, to_version=2, actor=OWNER)
    assert (result.summary, result.refused) == ({"migrated": 1, "refused": 0}, [])
    assert timer_rows(ctx, instance_id)["cooling_off"].due_at == due  # not now + 5 days
    clock.set(due - timedelta(seconds=1))
    fire_due(ctx)
    assert open_tasks(ctx, instance_id) == []
    clock.set(due + timedelta(seconds=1))
    fire_due(ctx)
    assert [t.bpmn_id for t in open_tasks(ctx, instance_id)] == ["sign"]


def test_removing_the_element_an_instance_waits_at_refuses_it_naming_the_element(
    ctx: EngineContext, clock: SimulatedClock
) -> None:
    deploy(ctx, 1)
    waiting = start(ctx)
    done = start(ctx)
    complete(ctx, done, "review")
    clock.advance(timedelta(days=6))
    fire_due(ctx)  # `done` completes (cooling-off over); `waiting` still at review
    assert deploy(ctx, 3) == 2  # the fixture's third diagram, deployed as version 2

    report = migration.preview(ctx, process_key=KEY, from_version=1, to_version=2, actor=OWNER)
    assert report.summary == {"running": 1, "can_migrate": 0, "cannot_migrate": 1, "not_running": 1}
    (check,) = report.instances
    assert check.instance_id == waiting
    rules = {(r.element_id, r.rule) for r in check.reasons}
    assert ("review", "current-removed") in rules
    assert ("review_deadline", "current-removed") in rules
    assert any("review（审核材料）" in r.message for r in check.reasons)

    with pytest.raises(migration.MigrationRefused) as refused:
        migration.migrate_instance(ctx, instance_id=waiting, to_version=2, actor=OWNER)
    assert refused.value.extra["instance_id"] == waiting
    assert "review" in refused.value.extra["element_ids"]
    with ctx.transaction() as session:
        assert session.get(Instance, waiting).definition_version == 1  # nothing kept
    assert events(ctx, waiting, "instance.migrated") == []
    with pytest.raises(Conflict, match="只迁移进行中的案件"):
        migration.migrate_instance(ctx, instance_id=done, to_version=2, actor=OWNER)

    result = migration.migrate(ctx, process_key=KEY, from_version=1, to_version=2, actor=OWNER)
    assert result.migrated == []
    assert [r["instance_id"] for r in result.refused] == [waiting]
    assert result.refused[0]["code"] == "instance-cannot-migrate"


def test_a_change_before_the_current_position_keeps_the_instance_where_it_is(
    ctx: EngineContext,
) -> None:
    deploy(ctx, 1)
    instance_id = start(ctx)
    complete(ctx, instance_id, "review")  # now at the cooling-off timer
    text = (FIXTURES / "migration_v1.bpmn").read_text(encoding="utf-8")
    text = text.replace(
        '<bpmn:boundaryEvent id="review_deadline" name="审核期限 10 天"',
        '<bpmn:boundaryEvent id="review_deadline" name="审核期限"',
    )
    text = text.replace(
        'targetRef="cooling_off"/>',
        'targetRef="extra_check"/>'
        '<bpmn:sequenceFlow id="flow_checked" sourceRef="extra_check" '
        'targetRef="cooling_off"/>',
    )
    text = text.replace(
        "<bpmn:incoming>flow_reviewed</bpmn:incoming>",
        "<bpmn:incoming>flow_checked</bpmn:incoming>",
    )
    text = text.replace(
        '<bpmn:intermediateCatchEvent id="cooling_off"',
        '<bpmn:scriptTask id="extra_check" name="补充核对"><bpmn:incoming>'
        "flow_reviewed</bpmn:incoming><bpmn:outgoing>flow_checked</bpmn:outgoing>"
        "<bpmn:script>checked = True</bpmn:script></bpmn:scriptTask>"
        '<bpmn:intermediateCatchEvent id="cooling_off"',
    )
    definitions.deploy(ctx, files={f"{KEY}.bpmn": text}, actor=OWNER)
    (check,) = migration.preview(
        ctx, process_key=KEY, from_version=1, to_version=2, actor=OWNER
    ).instances
    assert [(r.element_id, r.rule) for r in check.reasons] == [("review", "path-changed")]


def test_only_process_owners_and_province_may_preview_or_migrate(ctx: EngineContext) -> None:
    deploy(ctx, 1)
    deploy(ctx, 2)
    city = Actor(id="c", role="city", region="360100")
    with pytest.raises(Forbidden):
        migration.preview(ctx, process_key=KEY, from_version=1, to_version=2, actor=city)
    with pytest.raises(Forbidden):
        migration.migrate(ctx, process_key=KEY, from_version=1, to_version=2, actor=city)


PERIOD_NOTE = """<bpmn:scriptTask id="period_note" name="记录本期结束">
      <bpmn:incoming>flow_period_done</bpmn:incoming>
      <bpmn:outgoing>flow_period_noted</bpmn:outgoing>
      <bpmn:script>period_noted = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="flow_period_noted" sourceRef="period_note"
      targetRef="period_result_gateway"/>"""
LIFECYCLE_EDITS = [  # v2: a step after the embedded period; a task inside it renamed
    (
        'sourceRef="period" targetRef="period_result_gateway"/>',
        f'sourceRef="period" targetRef="period_note"/>{PERIOD_NOTE}',
    ),
    (
        "<bpmn:incoming>flow_period_done</bpmn:incoming>\n      <bpmn:outgoing>flow_period_ren",
        "<bpmn:incoming>flow_period_noted</bpmn:incoming>\n      <bpmn:outgoing>flow_period_ren",
    ),
    ('name="更新企业信息"', 'name="更新企业信息（新版）"'),
]


def edit(text: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def register_qualification(ctx: EngineContext) -> Qualification:
    """A specialized qualification issued on 2025-09-01, with its lifecycle case started."""
    return f.issue_qualification(
        ctx,
        uscc_code=f.uscc("360100", 1),
        tier="specialized",
        number="JX-T-migration",
        issued_on=date(2025, 9, 1),
    )


def at(ctx: EngineContext, clock: SimulatedClock, day: date, hour: int = 9) -> None:
    """Move the clock to just after `hour` o'clock in Jiangxi on `day`; fire what is due."""
    clock.set(datetime.combine(day, time(hour, 0, 1), ZoneInfo("Asia/Shanghai")))
    instances.fire_due(ctx)


def test_a_lifecycle_inside_its_embedded_period_moves_and_later_leaves_it_on_the_new_flows(
    ctx: EngineContext, clock: SimulatedClock
) -> None:
    files = f.process_files(bpmn="qualification_lifecycle.bpmn")
    definitions.deploy(ctx, files=files, actor=OWNER)
    q = register_qualification(ctx)
    instance_id = q.lifecycle_instance_id
    before = {t.bpmn_id: t.due_at for t in timer_rows(ctx, instance_id).values()}
    clock.advance(timedelta(days=30))
    bpmn = "qualification_lifecycle.bpmn"
    edited = files | {bpmn: edit(files[bpmn], LIFECYCLE_EDITS)}
    (v2,) = definitions.deploy(ctx, files=edited, actor=OWNER)
    report = migration.preview(
        ctx, process_key=v2.process_key, from_version=1, to_version=2, actor=OWNER
    )
    (check,) = report.instances
    assert check.reasons == [], check.reasons
    assert {t["element_id"]: t["kept"] for t in check.timers} == dict.fromkeys(
        {t["element_id"] for t in check.timers}, True
    )
    migration.migrate_instance(ctx, instance_id=instance_id, to_version=2, actor=OWNER)
    after = {t.bpmn_id: t.due_at for t in timer_rows(ctx, instance_id).values()}
    assert after == before
    at(ctx, clock, date(2026, 1, 5))
    (update,) = open_tasks(ctx, instance_id)
    assert update.name == "更新企业信息（新版）"
    at(ctx, clock, date(2026, 5, 1), hour=0)  # missed: eligibility lost, expiry still ahead
    at(ctx, clock, date(2028, 9, 1), hour=0)  # the period ends; v2's new step runs after it
    with ctx.transaction() as session:
        row = session.get(Instance, instance_id)
        assert (row.status, row.outcome) == ("completed", "expired")
        assert history.verify(session) == []
    assert SERIALIZER.deserialize_json(row.state_json).data["period_noted"] is True


CALLED_TASK = """<bpmn:userTask id="inner_review" name="子流程内审核">
      <bpmn:incoming>flow_inner_start</bpmn:incoming>
      <bpmn:outgoing>flow_inner_reviewed</bpmn:outgoing>
    </bpmn:userTask>"""


def call_files(called: str | None = None) -> dict[str, str]:
    return {
        "migration_call.bpmn": (FIXTURES / "migration_call.bpmn").read_text(encoding="utf-8"),
        "shared/migration_called.bpmn": called
        or (FIXTURES / "migration_called.bpmn").read_text(encoding="utf-8"),
    }


def test_an_instance_inside_a_called_process_moves_with_it_unless_its_task_was_removed(
    ctx: EngineContext,
) -> None:
    definitions.deploy(ctx, files=call_files(), actor=OWNER)
    instance_id = instances.start_instance(ctx, process_key="migration_call", actor=SYSTEM).id
    (inner,) = open_tasks(ctx, instance_id)
    called = call_files()["shared/migration_called.bpmn"]
    added = (
        called.replace(
            CALLED_TASK,
            CALLED_TASK.replace(
                "flow_inner_reviewed</bpmn:outgoing>", "flow_inner_to_sign</bpmn:outgoing>"
            )
            + """
    <bpmn:userTask id="inner_sign" name="子流程内签发">
      <bpmn:incoming>flow_inner_to_sign</bpmn:incoming>
      <bpmn:outgoing>flow_inner_reviewed</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_inner_to_sign" sourceRef="inner_review" targetRef="inner_sign"/>""",
        )
        .replace(
            'sourceRef="inner_review" targetRef="inner_end"',
            'sourceRef="inner_sign" targetRef="inner_end"',
        )
        .replace(
            "<bpmn:flowNodeRef>inner_end",
            "<bpmn:flowNodeRef>inner_sign</bpmn:flowNodeRef><bpmn:flowNodeRef>inner_end",
        )
    )
    removed = (
        called.replace(CALLED_TASK, "")
        .replace(
            'sourceRef="inner_review" targetRef="inner_end"',
            'sourceRef="inner_start" targetRef="inner_end"',
        )
        .replace("<bpmn:flowNodeRef>inner_review</bpmn:flowNodeRef>", "")
        .replace(
            '<bpmn:sequenceFlow id="flow_inner_start" sourceRef="inner_start" '
            'targetRef="inner_review"/>',
            "",
        )
        .replace(
            "<bpmn:outgoing>flow_inner_start</bpmn:outgoing>",
            "<bpmn:outgoing>flow_inner_reviewed</bpmn:outgoing>",
        )
    )
    definitions.deploy(ctx, files=call_files(added), actor=OWNER)  # v2
    definitions.deploy(ctx, files=call_files(removed), actor=OWNER)  # v3

    refused = migration.preview(
        ctx, process_key="migration_call", from_version=1, to_version=3, actor=OWNER
    )
    (check,) = refused.instances
    assert [(r.element_id, r.rule) for r in check.reasons] == [
        ("call_review/inner_review", "current-removed"),  # where it stands comes first
        ("call_review/inner_start", "path-changed"),
    ]
    assert {c["element_id"] for c in refused.changes["removed"]} == {
        "migration_called/inner_review"
    }
    with pytest.raises(migration.MigrationRefused) as error:
        migration.migrate_instance(ctx, instance_id=instance_id, to_version=3, actor=OWNER)
    assert error.value.extra["element_ids"][0] == "call_review/inner_review"

    migration.migrate_instance(ctx, instance_id=instance_id, to_version=2, actor=OWNER)
    assert [t.id for t in open_tasks(ctx, instance_id)] == [inner.id]
    complete(ctx, instance_id, "inner_review")
    assert [t.bpmn_id for t in open_tasks(ctx, instance_id)] == ["inner_sign"]
    row = complete(ctx, instance_id, "inner_sign")
    assert row.status == "completed"


def test_tidu_migrate_reports_a_dry_run_and_exits_1_when_an_instance_cannot_move(
    ctx: EngineContext, tidu: Tidu
) -> None:
    deploy(ctx, 1)
    waiting = start(ctx)
    moving = start(ctx)
    complete(ctx, moving, "review")  # at the cooling-off timer, past the removed review
    assert deploy(ctx, 3) == 2
    dry = tidu("migrate", KEY, "--from", "1", "--to", "2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "进行中 2 件，可迁移 0 件，不可迁移 2 件" in dry.output
    assert f"不可迁移 {waiting} 当前位置：review、review_deadline" in dry.output
    assert "[review] 案件正停留在 review（审核材料），新版本删除了该元素" in dry.output
    (removed,) = [line for line in dry.output.splitlines() if line.startswith("删除：")]
    assert sorted(removed.removeprefix("删除：").split("、")) == [
        "lapsed",
        "review",
        "review_deadline",
    ]
    assert f"不可迁移 {moving} 当前位置：cooling_off" in dry.output
    assert "[review] 案件已经过的元素 review（审核材料） 在新版本中已删除" in dry.output
    with ctx.transaction() as session:
        assert session.get(Instance, waiting).definition_version == 1

    run = tidu("migrate", KEY, "--from", "1", "--to", "2", "--instance", waiting)
    assert run.exit_code == 1
    assert f"未迁移 {waiting}" in run.output
    assert "已迁移 0 件，未迁移 1 件" in run.output
