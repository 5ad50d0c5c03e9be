"""The process tests run every diagram along its paths: each state they save or load is also
checked against SpiffWorkflow's own converter, and each flat read of a case's tasks against
SpiffWorkflow's tree walk, and each workflow kept warm between commands against the one its
stored JSON restores (tests/fixtures/codec_check.py)."""

from __future__ import annotations

import pytest

from tests.fixtures.codec_check import cache_check, codec_check, walk_check  # noqa: F401


@pytest.fixture(autouse=True)
def _stock_codec(
    codec_check: list[int],  # noqa: F811
    walk_check: list[int],  # noqa: F811
    cache_check: list[int],  # noqa: F811
) -> None:
    return None
