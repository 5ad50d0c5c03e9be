"""Operator registry: BPMN service-task operator names -> Python handler functions.

`handlers` fills it (``@operator``); the engine looks operators up by name and never imports
`handlers` itself. A handler is a pure function: keyword inputs in, a JSON-native dict out.
Handlers that need rule tables declare a ``rules`` keyword parameter and receive the
:class:`RuleSet` of the deployment the calling instance runs on; handlers that need what the
database says of an enterprise today declare ``facts`` (with a ``uscc`` parameter) and receive
it from the engine, recorded with their decision; handlers that need the time declare ``now``
and receive the engine clock's current moment (ISO 8601, local time zone), never the wall clock.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[..., dict[str, Any]]
RuleValidator = Callable[["RuleSet"], list[dict[str, Any]]]
FileValidator = Callable[[Mapping[str, str]], list[dict[str, Any]]]
DataCheck = Callable[[Mapping[str, Any]], dict[str, list[str]]]
CaseCheck = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, list[str]]]


@dataclass(frozen=True)
class RuleSet:
    """The DMN rule files of one deployment (file name -> XML text), with their checksum."""

    files: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def checksum(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode())
            digest.update(b"\0")
            digest.update(self.files[name].encode())
            digest.update(b"\0")
        return digest.hexdigest()


INJECTED = frozenset(
    ("rules", "facts", "now")
)  # handler keywords the engine fills in, not the diagram


@dataclass(frozen=True)
class Operator:
    """One registered operator."""

    name: str
    fn: Handler
    rule_version: str = ""
    record: str | None = None  # projection the engine writes from the result (e.g. "qualification")
    # the result key the record is written from: a result without it writes none (a skipped send)
    record_key: str | None = None

    @functools.cached_property  # read on every service-task call: inspect once
    def uses_rules(self) -> bool:
        return "rules" in inspect.signature(self.fn).parameters

    @functools.cached_property
    def uses_facts(self) -> bool:
        """The handler reads the enterprise's standing today (`facts`, passed by the engine for
        its `uscc` argument: the ban in force and the qualifications held)."""
        return "facts" in inspect.signature(self.fn).parameters

    @functools.cached_property
    def uses_now(self) -> bool:
        """The handler reads the engine clock's current moment (`now`, passed by the engine)."""
        return "now" in inspect.signature(self.fn).parameters

    def writes_record(self, result: Mapping[str, Any]) -> bool:
        """Whether the engine writes this result's record (see `record_key`)."""
        return self.record is not None and (
            self.record_key is None or result.get(self.record_key) is not None
        )

    def parameters(self) -> list[str]:
        return [p for p in inspect.signature(self.fn).parameters if p not in INJECTED]


class UnknownOperator(KeyError):
    """No handler is registered under this operator name."""


_OPERATORS: dict[str, Operator] = {}
_RULE_VALIDATORS: list[RuleValidator] = []
_FILE_VALIDATORS: list[FileValidator] = []
_SCRIPT_FUNCTIONS: dict[str, Callable[..., Any]] = {}
_DATA_CHECKS: list[DataCheck] = []
_CASE_CHECKS: list[CaseCheck] = []


def operator(
    name: str, *, rule_version: str = "", record: str | None = None, record_key: str | None = None
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of operator `name`."""

    def register(fn: Handler) -> Handler:
        _OPERATORS[name] = Operator(name, fn, rule_version, record, record_key)
        return fn

    return register


def script_function(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Expose the decorated pure function to BPMN scripts, conditions and timer expressions."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _SCRIPT_FUNCTIONS[name] = fn
        return fn

    return register


def script_functions() -> dict[str, Callable[..., Any]]:
    """Return every registered script function by name."""
    return dict(_SCRIPT_FUNCTIONS)


def rule_validator(fn: RuleValidator) -> RuleValidator:
    """Register a deploy-time validator of rule files (returns problems as dicts)."""
    _RULE_VALIDATORS.append(fn)
    return fn


def file_validator(fn: FileValidator) -> FileValidator:
    """Register a deploy-time validator of the whole file set (BPMN, DMN, forms)."""
    _FILE_VALIDATORS.append(fn)
    return fn


def data_check(fn: DataCheck) -> DataCheck:
    """Register a check of submitted task data that a JSON schema cannot express (values that
    cannot hold together); it returns {field: [message]} for the fields it finds wrong."""
    _DATA_CHECKS.append(fn)
    return fn


def check_data(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Run every registered data check over one task's submitted data."""
    errors: dict[str, list[str]] = {}
    for check in _DATA_CHECKS:
        for name, messages in check(data).items():
            errors.setdefault(name, []).extend(messages)
    return errors


def case_check(fn: CaseCheck) -> CaseCheck:
    """Register a check of submitted task data against the case data it is submitted into
    (`fn(submitted, case)`), for a choice the case's facts rule out (第十三条: no dismissal when
    the enterprise did not answer); it returns {field: [message]}."""
    _CASE_CHECKS.append(fn)
    return fn


def check_against_case(data: Mapping[str, Any], case: Mapping[str, Any]) -> dict[str, list[str]]:
    """Run every registered case check over one task's submitted data and its case data."""
    errors: dict[str, list[str]] = {}
    for check in _CASE_CHECKS:
        for name, messages in check(data, case).items():
            errors.setdefault(name, []).extend(messages)
    return errors


def validate_files(files: Mapping[str, str]) -> list[dict[str, Any]]:
    """Run every registered file-set validator over a deployment's files."""
    return [problem for validator in _FILE_VALIDATORS for problem in validator(files)]


def get(name: str) -> Operator:
    """Return the operator registered under `name`."""
    try:
        return _OPERATORS[name]
    except KeyError:
        raise UnknownOperator(name) from None


def names() -> set[str]:
    """Return every registered operator name."""
    return set(_OPERATORS)


def validate_rules(rules: RuleSet) -> list[dict[str, Any]]:
    """Run every registered rule validator over a rule set."""
    problems: list[dict[str, Any]] = []
    for validator in _RULE_VALIDATORS:
        problems.extend(validator(rules))
    return problems


@contextmanager
def override(name: str, fn: Handler) -> Iterator[None]:
    """Swap the handler of `name` for the duration of a block (tests)."""
    previous = _OPERATORS.get(name)
    base = previous or Operator(name, fn)
    _OPERATORS[name] = dataclasses.replace(base, fn=fn)
    try:
        yield
    finally:
        if previous is None:
            _OPERATORS.pop(name, None)
        else:
            _OPERATORS[name] = previous
