"""Warm cases (engine/case_cache.py): a process keeps the workflow its last committed command
saved and the next command on the case takes it while the row is at that version; any other
writer, a failed command or a full cache sends the command back to the stored JSON. Every warm
workflow taken here is checked against the one its stored JSON restores (cache_check), and a
case takes the same path warm as restored."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import select

from engine import case_cache, definitions, history, instances, writes
from engine.case_cache import CaseCache
from engine.clock import SimulatedClock
from engine.context import EngineContext
from engine.errors import ProcessingFailed, TaskAlreadyClaimed
from engine.runtime import SERIALIZER
from engine.settings import Settings
from engine.store import HistoryEvent, Instance
from tests.engine.test_migration import (
    FIXTURES,
    OWNER,
    PROVINCE,
    SYSTEM,
    complete,
    deploy,
    fire_due,
    open_tasks,
    start,
)
from tests.fixtures.codec_check import shape

pytestmark = pytest.mark.usefixtures("codec_check", "walk_check", "cache_check")


def cache_of(ctx: EngineContext) -> CaseCache:
    return instances.case_cache(ctx)


def status(ctx: EngineContext, instance_id: str) -> str:
    with ctx.reading() as session:
        return session.get(Instance, instance_id).status


def kinds(ctx: EngineContext, instance_id: str) -> list[str]:
    with ctx.reading() as session:
        return list(
            session.scalars(
                select(HistoryEvent.kind)
                .where(HistoryEvent.instance_id == instance_id)
                .order_by(HistoryEvent.seq)
            )
        )


def other_process(ctx: EngineContext) -> EngineContext:
    """A second process on the same database: its own caches, the same clock."""
    return EngineContext(ctx.settings, clock=ctx.clock, db=ctx.db, sessions=ctx.sessions)


def test_each_command_takes_the_case_its_last_command_left(
    ctx: EngineContext, clock: SimulatedClock, cache_check: list[int]
) -> None:
    deploy(ctx, 1)
    instance_id = start(ctx)
    cache = cache_of(ctx)
    assert (len(cache), cache.hits, cache.misses) == (1, 0, 0)
    complete(ctx, instance_id, "review")
    clock.advance(timedelta(days=5, seconds=1))
    fire_due(ctx)
    assert status(ctx, instance_id) == "completed"
    assert (cache.hits, cache.misses, cache.stale) == (2, 0, 0)
    assert cache_check == [2]  # both warm workflows were the stored ones
    assert history.verify_all(ctx) == []


def test_a_case_another_process_moved_on_is_read_from_the_database(
    ctx: EngineContext, clock: SimulatedClock
) -> None:
    deploy(ctx, 1)
    instance_id = start(ctx)  # this process keeps the case at its first version
    other = other_process(ctx)
    complete(other, instance_id, "review")  # the other process has no warm case: it reads
    assert (cache_of(other).hits, cache_of(other).misses) == (0, 1)
    clock.advance(timedelta(days=5, seconds=1))
    fire_due(ctx)  # the kept workflow still waits at the review: it must not be used
    cache = cache_of(ctx)
    assert (cache.hits, cache.misses, cache.stale) == (0, 0, 1)
    assert status(ctx, instance_id) == "completed"
    assert kinds(ctx, instance_id).count("task.completed") == 1


def test_a_failed_command_leaves_nothing_warm_behind(
    ctx: EngineContext, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(ctx, 1)
    instance_id = start(ctx)
    advance = instances.advance

    def fails_after_the_task_ran(*args: object) -> None:
        raise RuntimeError("a handler broke")

    monkeypatch.setattr(instances, "advance", fails_after_the_task_ran)
    with pytest.raises(ProcessingFailed):  # the warm workflow had completed the task in memory
        complete(ctx, instance_id, "review")
    assert (len(cache_of(ctx)), cache_of(ctx).hits) == (0, 1)
    monkeypatch.setattr(instances, "advance", advance)
    complete(ctx, instance_id, "review")  # from the stored state: the task is still open there
    clock.advance(timedelta(days=5, seconds=1))
    fire_due(ctx)
    assert status(ctx, instance_id) == "completed"
    assert kinds(ctx, instance_id).count("task.completed") == 1

    claimed = start(ctx)
    (review,) = open_tasks(ctx, claimed)
    instances.claim_task(ctx, task_id=review.id, actor=PROVINCE)  # changes the row, not the state
    with pytest.raises(TaskAlreadyClaimed):
        instances.complete_task(
            ctx, task_id=review.id, actor=replace(PROVINCE, id="someone-else"), data={}
        )
    complete(ctx, claimed, "review")
    assert kinds(ctx, claimed).count("task.completed") == 1


def test_the_cache_is_bounded_and_can_be_turned_off(
    ctx: EngineContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(ctx, 1)
    cache = cache_of(ctx)
    cache.size = 2
    first, second, third = start(ctx), start(ctx), start(ctx)
    assert len(cache) == 2  # the least recently saved case went first
    complete(ctx, first, "review")
    complete(ctx, third, "review")
    assert (cache.hits, cache.misses) == (1, 1)  # `first` was no longer kept

    off = other_process(ctx)
    object.__setattr__(off, "settings", replace(ctx.settings, case_cache_size=0))
    complete(off, second, "review")
    assert len(cache_of(off)) == 0
    monkeypatch.setenv("TIDU_CASE_CACHE_SIZE", "0")
    assert Settings.from_env().case_cache_size == 0


def test_a_state_written_after_the_save_is_not_shadowed_by_the_saved_workflow(
    ctx: EngineContext,
) -> None:
    deploy(ctx, 1)
    instance_id = start(ctx)
    with ctx.transaction() as session:
        loaded = instances.load_for_update(ctx, session, instance_id)
        stored = loaded.row.state_json
        instances.save(ctx, session, loaded, SYSTEM)
        writes.update_row(session, loaded.row, {"state_json": stored + " "})  # another writer
    assert len(cache_of(ctx)) == 0


# start -> prepare (script) -> review (province) -> change (script) -> same? -> as_stored | live
PATHS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="Defs_paths" targetNamespace="http://tidu.jiangxi.gov.cn/bpmn/tests">
  <bpmn:process id="paths" name="存取一致" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="province" name="省工信厅">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>change</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>same</bpmn:flowNodeRef><bpmn:flowNodeRef>as_stored</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>live</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prepare" name="准备"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>PREPARE</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="review" name="审核"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="change" name="修改"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing><bpmn:script>CHANGE</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="same" default="f_live"><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>f_stored</bpmn:outgoing><bpmn:outgoing>f_live</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="as_stored"><bpmn:incoming>f_stored</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="live"><bpmn:incoming>f_live</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare" />
    <bpmn:sequenceFlow id="f2" sourceRef="prepare" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="change" />
    <bpmn:sequenceFlow id="f4" sourceRef="change" targetRef="same" />
    <bpmn:sequenceFlow id="f_stored" sourceRef="same" targetRef="as_stored">
      <bpmn:conditionExpression>CONDITION</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_live" sourceRef="same" targetRef="live" />
  </bpmn:process>
</bpmn:definitions>
"""
ENDS = ("as_stored", "live")


def run_paths(ctx: EngineContext, prepare: str, change: str, condition: str) -> str:
    """Deploy PATHS with these scripts and run a case through it: the end event it reached."""
    text = PATHS.replace("PREPARE", prepare).replace("CHANGE", change)
    text = text.replace("CONDITION", condition)
    definitions.deploy(ctx, files={"paths.bpmn": text}, actor=OWNER)
    row = instances.start_instance(ctx, process_key="paths", actor=SYSTEM)
    (review,) = open_tasks(ctx, row.id)
    instances.complete_task(ctx, task_id=review.id, actor=PROVINCE, data={})
    with ctx.reading() as session:
        wf = SERIALIZER.deserialize_json(session.get(Instance, row.id).state_json)
    assert wf.is_completed()
    (end,) = [t.task_spec.name for t in wf.get_tasks() if t.task_spec.name in ENDS]
    return end


def test_a_value_json_gives_back_otherwise_keeps_the_case_cold(ctx: EngineContext) -> None:
    # a tuple is stored as a list: a warm case would still hold the tuple
    assert run_paths(ctx, "pair = (1, 2)", "pass", "pair == [1, 2]") == "as_stored"
    cache = cache_of(ctx)
    assert (cache.hits, cache.unfaithful) == (0, 2)  # neither the start nor the completion


def test_containers_a_warm_case_shares_are_separate_as_when_restored(
    ctx: EngineContext,
) -> None:
    # two names for one list: restored, each has its own copy, so appending to one leaves the
    # other as it was
    found = run_paths(ctx, "a = [1]\nb = a", "a.append(2)", "b == [1]")
    assert found == "as_stored"
    cache = cache_of(ctx)
    assert (cache.hits, cache.unfaithful) == (0, 2)  # neither the start nor the completion


def test_nested_containers_stay_warm_shared_as_loading_shares_them(ctx: EngineContext) -> None:
    # a task inherits its parent's nested lists themselves (copied one level deep), live and
    # loaded alike: changing one in place changes it for both, either way
    found = run_paths(ctx, "box = {'a': [1]}", "box['a'].append(2)", "box == {'a': [1, 2]}")
    assert found == "as_stored"
    cache = cache_of(ctx)
    assert (cache.hits, cache.unfaithful) == (1, 1)  # warm for the completion (cache_check)


def review_and_parent(ctx: EngineContext, prepare: str) -> tuple[Any, Any, Any]:
    """A started PATHS case as loaded: the workflow, its waiting review and that task's parent
    (the prepare script, which ran `prepare`)."""
    text = PATHS.replace("PREPARE", prepare).replace("CHANGE", "pass")
    definitions.deploy(ctx, files={"paths.bpmn": text.replace("CONDITION", "True")}, actor=OWNER)
    row = instances.start_instance(ctx, process_key="paths", actor=SYSTEM)
    wf = SERIALIZER.deserialize_json(row.state_json)
    (review,) = [t for t in wf.tasks.values() if t.task_spec.name == "review"]
    assert review.parent.task_spec.name == "prepare"
    return wf, review, review.parent


def nested(prepared: Any, review: Any) -> None:
    review.data["box"] = {"a": [1], "b": {"c": [2]}}  # a changed value: fresh


def equal_copy(prepared: Any, review: Any) -> None:
    review.data["box"] = {"a": [1]}  # equal to the parent's, but loading would share its list


def copied(prepared: Any, review: Any) -> None:
    review.data["box"] = dict(prepared.data["box"])  # as SpiffWorkflow inherits it


def same_dict(prepared: Any, review: Any) -> None:
    review.data["box"] = prepared.data["box"]  # loading gives the child its own copy


def other_kind(prepared: Any, review: Any) -> None:
    review.data["n"] = True  # == 1: loading would give back the parent's 1


def reordered(prepared: Any, review: Any) -> None:
    review.data = {key: review.data[key] for key in reversed(list(review.data))}


def parents_list_inside(prepared: Any, review: Any) -> None:
    review.data["more"] = {"a": prepared.data["box"]["a"]}  # one list in two places


def kept_in_workflow_data(prepared: Any, review: Any) -> None:
    review.workflow.data["box"] = review.data["box"]


def a_tuple(prepared: Any, review: Any) -> None:
    review.data["pair"] = (1, 2)


def number_key(prepared: Any, review: Any) -> None:
    review.data["by_year"] = {2026: "x"}


@pytest.mark.parametrize(
    ("change", "faithful"),
    [
        (None, True),
        (nested, True),
        (copied, True),
        (equal_copy, False),
        (same_dict, False),
        (other_kind, False),
        (reordered, False),
        (parents_list_inside, False),
        (kept_in_workflow_data, False),
        (a_tuple, False),
        (number_key, False),
    ],
)
def test_a_workflow_is_kept_only_as_loading_would_give_it_back(
    ctx: EngineContext, change: Any, faithful: bool
) -> None:
    wf, review, prepared = review_and_parent(ctx, "box = {'a': [1]}\nn = 1\nflag = 'x'")
    if change is not None:
        change(prepared, review)
    assert case_cache.restores_as_it_is(wf) is faithful
    restored = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(wf))
    assert (shape(wf) == shape(restored)) is faithful  # the rule says what loading does


def test_flat_data_stays_warm(ctx: EngineContext) -> None:
    found = run_paths(
        ctx,
        "scores = [1, 2]\nform = {'name': 'acme', 'ok': True}",
        "scores.append(3)",
        "len(scores) == 3",
    )
    assert found == "as_stored"
    cache = cache_of(ctx)
    # warm for the completion; the finished case's own data shares its last task's lists
    assert (cache.hits, cache.unfaithful) == (1, 1)


def test_a_workflow_that_cannot_be_kept_never_fails_the_committed_command(
    ctx: EngineContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(wf: object) -> bool:
        raise RuntimeError("a check broke")

    deploy(ctx, 1)
    monkeypatch.setattr(case_cache, "restores_as_it_is", broken)
    instance_id = start(ctx)
    assert len(cache_of(ctx)) == 0
    assert status(ctx, instance_id) == "running"


def test_a_kept_workflow_gets_the_event_manager_loading_builds(ctx: EngineContext) -> None:
    deploy(ctx, 1)
    instance_id = start(ctx)
    with ctx.reading() as session:
        stored = session.get(Instance, instance_id).state_json
    live, loaded = SERIALIZER.deserialize_json(stored), SERIALIZER.deserialize_json(stored)
    (review,) = [t for t in live.tasks.values() if t.task_spec.name == "review"]
    live.event_manager.add_task(review)  # an entry loading would not make
    case_cache.order_as_loaded(live)
    assert list(live.event_manager.tasks) == list(loaded.event_manager.tasks)
    assert [t.task_spec.name for t in live.event_manager.tasks.values()] == ["review_deadline"]


# two reviews in parallel, each a call of migration_called (tests/fixtures)
TWO_CALLS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="Defs_two_calls" targetNamespace="http://tidu.jiangxi.gov.cn/bpmn/tests">
  <bpmn:process id="two_calls" name="并行调用" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:callActivity id="first" calledElement="migration_called">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing></bpmn:callActivity>
    <bpmn:callActivity id="second" calledElement="migration_called">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing></bpmn:callActivity>
    <bpmn:parallelGateway id="join"><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="first" />
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="second" />
    <bpmn:sequenceFlow id="f4" sourceRef="first" targetRef="join" />
    <bpmn:sequenceFlow id="f5" sourceRef="second" targetRef="join" />
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_kept_workflow_holds_its_subprocesses_in_the_order_loading_gives(
    ctx: EngineContext,
) -> None:
    called = (FIXTURES / "migration_called.bpmn").read_text(encoding="utf-8")
    files = {"two_calls.bpmn": TWO_CALLS, "migration_called.bpmn": called}
    definitions.deploy(ctx, files=files, actor=OWNER)
    row = instances.start_instance(ctx, process_key="two_calls", actor=SYSTEM)
    live, loaded = (SERIALIZER.deserialize_json(row.state_json) for _ in range(2))
    assert len(loaded.subprocesses) == 2
    live.subprocesses = dict(reversed(live.subprocesses.items()))  # as if started the other way
    case_cache.order_as_loaded(live)
    assert list(live.subprocesses) == list(loaded.subprocesses)
    live.subprocesses.popitem()  # a subprocess loading would not find
    live.subprocesses[uuid4()] = next(iter(loaded.subprocesses.values()))
    with pytest.raises(ValueError, match="subprocess"):
        case_cache.order_as_loaded(live)
