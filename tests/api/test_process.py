"""A serving process: health check, and its startup heap frozen for the garbage collector."""

from __future__ import annotations

import gc

import pytest
from flask.testing import FlaskClient

from api import settle_heap


def test_health_answers_without_a_token(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"ok": True}


def test_a_started_process_freezes_its_heap_unless_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gc.unfreeze()
    try:
        monkeypatch.setenv("TIDU_GC_FREEZE", "0")
        settle_heap()
        assert gc.get_freeze_count() == 0
        monkeypatch.setenv("TIDU_GC_FREEZE", "1")
        settle_heap()
        assert gc.get_freeze_count() > 10_000  # the libraries loaded for the app
    finally:
        gc.unfreeze()
