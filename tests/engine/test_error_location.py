"""Which diagram element an error raised while running a workflow is recorded against."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition

from engine.runtime import task_error_location


def test_an_error_without_a_task_is_placed_at_the_task_spiffworkflow_was_running() -> None:
    """SpiffWorkflow's `Exception('Invalid duration')` names no task: the incident would have
    no element id. The innermost `my_task` on its traceback is the timer being evaluated."""
    engine = SimpleNamespace(evaluate=lambda task, expression: "10 days")
    timer = SimpleNamespace(
        task_spec=SimpleNamespace(bpmn_id="correction_deadline"),
        workflow=SimpleNamespace(script_engine=engine),
        _get_internal_data=lambda name, default=None: default,
    )
    definition = DurationTimerEventDefinition(name="补正期限", expression='"10 days"')
    with pytest.raises(Exception, match="Invalid duration") as raised:  # a bare Exception
        definition.has_fired(timer)
    assert task_error_location(raised.value) == "correction_deadline"
