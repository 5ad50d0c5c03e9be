"""SpiffWorkflow glue: parser, guarded script engine with service dispatch, spec-ref serializer."""

from __future__ import annotations

import ast
import builtins
import contextvars
import functools
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.node_parser import NodeParser
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import registry
from engine.clock import Clock
from engine.state_codec import FastTaskConverter
from engine.walks import TiduWorkflow

SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "abs all any bool dict enumerate float int isinstance len list max min range round set "
        "sorted str sum tuple zip True False None ValueError KeyError"
    ).split()
}


class UnsafeScript(Exception):
    """A script or expression uses a construct the engine does not allow."""


@functools.lru_cache(maxsize=4096)
def check_code(code: str, mode: str) -> None:
    """Reject imports and dunder/underscore access (raises SyntaxError or UnsafeScript)."""
    for node in ast.walk(ast.parse(code, mode=mode)):
        if isinstance(node, ast.Import | ast.ImportFrom | ast.Global | ast.Nonlocal):
            raise UnsafeScript(f"不允许使用 {type(node).__name__}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise UnsafeScript(f"不允许访问属性 {node.attr!r}")
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise UnsafeScript(f"不允许使用名称 {node.id!r}")


class GuardedEnvironment(TaskDataEnvironment):
    def evaluate(self, expression, context, external_context=None):  # type: ignore[no-untyped-def]
        check_code(expression, "eval")
        return super().evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):  # type: ignore[no-untyped-def]
        check_code(script, "exec")
        return super().execute(script, context, external_context)


@dataclass
class Decision:
    """What a service-task handler was asked and answered (for the history)."""

    operator: str
    bpmn_id: str
    task_id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    rule_version: str
    record: str | None


@dataclass
class CommandScope:
    """Per-command context visible to the script engine (set through a ContextVar)."""

    rules: registry.RuleSet
    decisions: list[Decision] = field(default_factory=list)
    # the enterprise's standing today, for handlers that declare `facts` (set per command)
    facts: Callable[[str], dict[str, Any]] | None = None


CURRENT_SCOPE: contextvars.ContextVar[CommandScope | None] = contextvars.ContextVar(
    "tidu_scope", default=None
)


class HandlerFailed(Exception):
    """A service-task handler raised; carries the element id."""

    def __init__(self, operator: str, bpmn_id: str, error: BaseException) -> None:
        super().__init__(f"{operator} @ {bpmn_id}: {type(error).__name__}: {error}")
        self.operator, self.bpmn_id, self.error = operator, bpmn_id, error


class HostScriptEngine(PythonScriptEngine):
    """Guarded Python with engine functions; service tasks dispatch to the operator registry."""

    def __init__(self, clock: Clock, tz: str) -> None:
        zone = ZoneInfo(tz)
        functions: dict[str, Callable[..., Any]] = {
            "today": lambda: clock.now().astimezone(zone).date().isoformat(),
            "now": lambda: clock.now().astimezone(zone).isoformat(),
            "new_seed": lambda: secrets.token_hex(8),
        }
        self._now = functions["now"]  # for handlers that declare `now`: the engine clock
        functions = registry.script_functions() | functions  # engine functions cannot be shadowed
        super().__init__(
            environment=GuardedEnvironment({"__builtins__": SAFE_BUILTINS, **functions})
        )

    def evaluate(self, task, expression, external_context=None):  # type: ignore[no-untyped-def]
        """Evaluate; an error keeps its cause (e.g. the missing calendar year) for the incident."""
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as error:
            inner = error.__cause__ or error.__context__
            if inner is None or isinstance(inner, WorkflowTaskException):
                raise
            raise WorkflowTaskException(
                f"Error evaluating expression {expression!r}: {inner}", task=task, exception=inner
            ) from inner

    def set_function(self, name: str, fn: Callable[..., Any]) -> None:
        """Replace one script function (e.g. a seeded `new_seed` for a deterministic simulation)."""
        self.environment.globals[name] = fn

    def call_service(self, task, operation_name, operation_params, **kwargs):  # type: ignore[no-untyped-def]
        scope = CURRENT_SCOPE.get()
        op = registry.get(operation_name)
        inputs = {name: param["value"] for name, param in operation_params.items()}
        call_args = dict(inputs)
        if op.uses_rules:
            call_args["rules"] = scope.rules if scope else registry.RuleSet()
        try:
            if op.uses_facts:
                if scope is None or scope.facts is None:
                    raise RuntimeError("no enterprise facts outside a command")
                call_args["facts"] = inputs["facts"] = scope.facts(inputs["uscc"])
            if op.uses_now:  # recorded with the decision, as the facts are
                call_args["now"] = inputs["now"] = self._now()
            result = op.fn(**call_args)
            text = json.dumps(result, ensure_ascii=False)
        except Exception as error:
            raise HandlerFailed(operation_name, task.task_spec.bpmn_id, error) from error
        if scope is not None:
            version = "/".join(
                v
                for v in (op.rule_version, scope.rules.checksum[:12] if op.uses_rules else "")
                if v
            )
            scope.decisions.append(
                Decision(
                    operation_name,
                    task.task_spec.bpmn_id,
                    str(task.id),
                    inputs,
                    result,
                    version,
                    op.record if op.writes_record(result) else None,
                )
            )
        if task.task_spec.result_variable.startswith("spiff__"):
            task.data.update(result)  # no resultVariable: merge into task data
            return "null"
        return text


def _resolve_data_object_ref(self: NodeParser, ref: Any) -> Any:
    """A data object declared any number of sub-processes up (SpiffWorkflow 3.2 looks one level
    up only, and loops forever when the object is two or more levels up)."""
    if ref is None:
        return None
    current = self.process_parser
    while current is not None:
        found = current.spec.data_objects.get(ref.get("dataObjectRef"))
        if found is not None:
            return found
        current = current.parent
    return None


NodeParser._resolve_data_object_ref = _resolve_data_object_ref  # type: ignore[method-assign]

_run_boundary = BoundaryEvent._run_hook


def _run_and_rearm(self: BoundaryEvent, my_task: Task) -> Any:
    """A non-interrupting message boundary event catches every message while its activity runs,
    as BPMN has it (SpiffWorkflow 3.2 catches the first only): once it fires, a new one waits
    beside it, and ends with the activity like any waiting boundary event. Timer boundary
    events are left as they are: their date has passed once they fire."""
    done = _run_boundary(self, my_task)
    if not self.cancel_activity and isinstance(self.event_definition, MessageEventDefinition):
        self._update(my_task.parent._add_child(self, TaskState.MAYBE))
    return done


BoundaryEvent._run_hook = _run_and_rearm  # type: ignore[method-assign]


def make_parser() -> SpiffBpmnParser:
    return SpiffBpmnParser(validator=VALIDATOR)


# -- specs stored once per definition version; instances carry a reference ----------------------

_SPECS: dict[str, tuple[Any, dict[str, Any]]] = {}
_KEY_OF: dict[int, str] = {}
_SPECS_LOCK = threading.Lock()


class SpecRefConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow):  # type: ignore[no-untyped-def]
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec_ref"] = _KEY_OF[id(workflow.spec)]
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):  # type: ignore[no-untyped-def]
        spec, subprocess_specs = _SPECS[dct.pop("spec_ref")]
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(DEFAULT_CONFIG)
_config[BpmnWorkflow] = SpecRefConverter


def _registry(config: dict[Any, Any], restore_as: type) -> Any:
    """Both workflow classes are written as "BpmnWorkflow"; states restore as `restore_as`."""
    registry = BpmnWorkflowSerializer.configure(config)
    other = BpmnWorkflow if restore_as is TiduWorkflow else TiduWorkflow
    for cls in (other, restore_as):  # the class registered last restores the typename
        SpecRefConverter(cls, registry, typename="BpmnWorkflow")
    return registry


# the benchmarks' baseline: SpiffWorkflow's own task converter and workflow, the spec by reference
BASELINE_SERIALIZER = BpmnWorkflowSerializer(_registry(_config, BpmnWorkflow))
# cases are saved and loaded with the faster task converter and restored as TiduWorkflow
# (engine/walks.py); the JSON is the same
SERIALIZER = BpmnWorkflowSerializer(_registry(_config | {Task: FastTaskConverter}, TiduWorkflow))
SPEC_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))


def spec_to_json(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    """Serialize a parsed spec (and its called processes) once, for the definition row."""
    reg = SPEC_SERIALIZER.registry
    return json.dumps(
        {
            "spec": reg.convert(spec),
            "subprocess_specs": {k: reg.convert(v) for k, v in subprocess_specs.items()},
        }
    )


def cached_spec(key: str, spec_json: Callable[[], str]) -> tuple[Any, dict[str, Any]]:
    """Return the parsed spec of a definition version (key: id + checksum), restored once."""
    definition_id = key
    found = _SPECS.get(definition_id)
    if found is not None:
        return found
    with _SPECS_LOCK:
        if definition_id not in _SPECS:
            reg = SPEC_SERIALIZER.registry
            raw = json.loads(spec_json())
            spec = reg.restore(raw["spec"])
            subs = {k: reg.restore(v) for k, v in raw["subprocess_specs"].items()}
            _SPECS[definition_id] = (spec, subs)
            _KEY_OF[id(spec)] = definition_id
        return _SPECS[definition_id]


def task_error_location(error: BaseException) -> str | None:
    """Best BPMN element id for an error raised while running a workflow."""
    if isinstance(error, HandlerFailed):
        return error.bpmn_id
    if isinstance(error, WorkflowTaskException) and error.task is not None:
        return error.task.task_spec.bpmn_id
    spec = getattr(error, "task_spec", None)
    found = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    return found or _raising_task(error)


def _raising_task(error: BaseException) -> str | None:
    """The element of the innermost SpiffWorkflow task on the error's traceback: some of the
    library's errors carry no task (a timer's `Exception('Invalid duration')`)."""
    found, trace = None, error.__traceback__
    while trace is not None:
        task = trace.tb_frame.f_locals.get("my_task")
        spec = getattr(task, "task_spec", None)
        found = getattr(spec, "bpmn_id", None) or found
        trace = trace.tb_next
    return found
