"""The process tests run every diagram along its paths: each state they save or load is also
checked against SpiffWorkflow's own converter, and each flat read of a case's tasks against
SpiffWorkflow's tree walk (tests/fixtures/codec_check.py)."""

from __future__ import annotations

import pytest

from tests.fixtures.codec_check import codec_check, walk_check  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _stock_codec(codec_check: list[int], walk_check: list[int]) -> None:  # noqa: F811
    return None
