"""Fixtures for handler tests: the repository's rule set and a registry call helper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import handlers  # noqa: F401 - fills the registry
from engine import holidays, registry
from engine.registry import RuleSet
from handlers.rules import load_ruleset


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_ruleset()


@pytest.fixture
def call(rules: RuleSet) -> Callable[..., dict[str, Any]]:
    """Call an operator by name the way the engine does (rules passed when declared)."""

    def run(name: str, **inputs: Any) -> dict[str, Any]:
        op = registry.get(name)
        if op.uses_rules and "rules" not in inputs:
            inputs["rules"] = rules
        return op.fn(**inputs)

    return run


@pytest.fixture
def edit() -> Callable[[RuleSet, str, str, str], RuleSet]:
    """Return a helper that copies a rule set with one text replacement in one file."""

    def replace(rules: RuleSet, file: str, old: str, new: str) -> RuleSet:
        assert old in rules.files[file]
        return RuleSet({**rules.files, file: rules.files[file].replace(old, new, 1)})

    return replace


@pytest.fixture(autouse=True)
def no_uploaded_calendars(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handlers read working days from the package and files only: no database's uploaded
    calendars, whichever test installed them last (engine.holidays keeps the latest context)."""
    monkeypatch.setattr(holidays, "_CURRENT", [])
