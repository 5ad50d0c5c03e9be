"""Every environment variable tidu reads is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _read_variables() -> set[str]:
    """The TIDU_* variables the settings and the timer policy read."""
    settings = (ROOT / "engine" / "settings.py").read_text()
    found = set(re.findall(r'env\.get\(\s*"(TIDU_[A-Z0-9_]+)"', settings))
    timers = (ROOT / "engine" / "timers.py").read_text()
    policy = timers[timers.index("def from_env") : timers.index("def backoff")]
    found |= {f"TIDU_TIMER_{name}" for name in re.findall(r'\("\w+", "([A-Z_]+)", ', policy)}
    return found


def test_every_variable_read_is_in_the_readme() -> None:
    variables = _read_variables()
    assert len(variables) >= 20  # the patterns above still find what the code reads
    assert "TIDU_DB_LOCK_TIMEOUT_SECONDS" in variables
    assert "TIDU_TIMER_LEASE_S" in variables
    readme = (ROOT / "README.md").read_text()
    assert sorted(v for v in variables if f"`{v}" not in readme) == []
