"""The fast task converter writes what SpiffWorkflow's converter writes and reads it back the
same way (engine/state_codec.py); the process tests cross-check it on every saved case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.runtime import (
    BASELINE_SERIALIZER,
    SERIALIZER,
    cached_spec,
    make_parser,
    spec_to_json,
)
from engine.state_codec import inherited, restore_in_place, uuid_of
from tests.fixtures.codec_check import codec_check, same_workflow  # noqa: F401

BENCH = Path(__file__).resolve().parents[2] / "bench" / "sme_eval.bpmn"


def sme_eval() -> BpmnWorkflow:
    parser = make_parser()
    parser.add_bpmn_file(str(BENCH))
    spec = parser.get_spec("sme_eval")
    subs = parser.get_subprocess_specs("sme_eval")
    spec, subs = cached_spec("test-codec:sme_eval", lambda: spec_to_json(spec, subs))
    wf = BpmnWorkflow(spec, subs)
    wf.do_engine_steps()
    return wf


def submit(wf: BpmnWorkflow, data: dict) -> None:  # type: ignore[type-arg]
    task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    task.data.update(data)
    task.run()
    wf.do_engine_steps()


def test_uuid_of_is_uuid() -> None:
    for _ in range(50):
        value = uuid4()
        found = uuid_of(str(value))
        assert found == value
        assert hash(found) == hash(value)
        assert str(found) == str(value)
        assert {value: 1}[found] == 1
    assert uuid_of(str(value).upper()) == value
    assert uuid_of("{" + value.hex + "}") == value  # not canonical: left to UUID()
    with pytest.raises(ValueError, match="invalid literal"):
        uuid_of("z" * 8 + str(value)[8:])


def test_inherited_copies_one_level_like_deep_merge() -> None:
    nested = {"inner": [1]}
    data = {"a": 1, "b": nested, "c": [nested], "d": {1, 2}, "e": "x"}
    copied = inherited(data)
    assert copied == data
    assert copied["b"] is not nested
    assert copied["b"]["inner"] is nested["inner"]
    assert copied["c"] is not data["c"]
    assert copied["c"][0] is nested
    assert copied["d"] is not data["d"]


def test_restore_in_place_restores_registered_values_only() -> None:
    registry = SERIALIZER.registry
    when = datetime(2025, 9, 1, 8, tzinfo=UTC)
    raw = {"at": registry.convert(when), "list": [1, {"d": registry.convert(timedelta(days=2))}]}
    kept = raw["list"]
    restored = restore_in_place(registry, raw)
    assert restored == {"at": when, "list": [1, {"d": timedelta(days=2)}]}
    assert restored["list"] is kept


def test_a_case_round_trips_as_with_spiffworkflows_converter() -> None:
    wf = sme_eval()
    wf.task_tree.data["started"] = datetime(2025, 9, 1, tzinfo=UTC)
    submit(wf, {"name": "acme", "figures": {"revenue": [1, 2]}, "seen": {1, 2} - {1}})
    text = SERIALIZER.serialize_json(wf)
    assert text == BASELINE_SERIALIZER.serialize_json(wf)
    ours, stock = SERIALIZER.deserialize_json(text), BASELINE_SERIALIZER.deserialize_json(text)
    same_workflow(ours, stock)
    city = next(t for t in ours.get_tasks(state=TaskState.READY, manual=True))
    assert city.data["figures"] == {"revenue": [1, 2]}
    assert city.data["figures"] is not city.parent.data["figures"]  # the child's own copy
    # each reads what the other wrote, all the way to the end
    submit(ours, {"city_ok": True})
    again = BASELINE_SERIALIZER.deserialize_json(SERIALIZER.serialize_json(ours))
    submit(again, {"prov_ok": True})
    done = SERIALIZER.deserialize_json(BASELINE_SERIALIZER.serialize_json(again))
    assert done.is_completed()
    assert done.data["name"] == "acme"
    assert isinstance(next(iter(done.tasks)), UUID)


def test_the_cross_check_counts_and_catches(codec_check: list[int]) -> None:  # noqa: F811
    wf = sme_eval()
    text = SERIALIZER.serialize_json(wf)
    SERIALIZER.deserialize_json(text)
    assert codec_check == [1, 1]
    other = BASELINE_SERIALIZER.deserialize_json(text)
    next(iter(other.tasks.values())).data["changed"] = True
    with pytest.raises(AssertionError):
        same_workflow(SERIALIZER.deserialize_json(text), other)
