"""Evidence uploads: only the types evidence may have (TIDU_EVIDENCE_TYPES), never a program
whatever its name, stored under the type its extension names; each refusal names `file`."""

from __future__ import annotations

import io

import pytest

from api import admin
from engine import evidence_types
from tests import factories as f

PROBLEM = "application/problem+json"


def post(user: f.Api, content: bytes, filename: str, mimetype: str | None = None) -> object:
    upload = (
        (io.BytesIO(content), filename, mimetype) if mimetype else (io.BytesIO(content), filename)
    )
    return user.client.post(
        "/api/v1/files",
        headers=user._headers(),
        data={"file": upload},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("content", "filename", "said"),
    [
        (b"MZ\x90\x00\x03 program", "tool.exe", "Windows 可执行程序"),
        (b"MZ\x90\x00\x03 program", "审计报告.pdf", "Windows 可执行程序"),  # renamed
        (b"\x7fELF\x02\x01", "report.pdf", "Linux 可执行程序"),
        (b"#!/bin/sh\nrm -rf /", "run.pdf", "脚本程序"),
    ],
)
def test_a_program_is_refused_whatever_it_is_called(
    p1: f.People, content: bytes, filename: str, said: str
) -> None:
    response = post(p1["ent"], content, filename, "application/pdf")
    assert (response.status_code, response.mimetype) == (422, PROBLEM), response.json
    assert said in response.json["errors"]["file"][0]


def test_a_type_evidence_may_not_have_is_refused_naming_the_allowed_ones(p1: f.People) -> None:
    response = post(p1["ent"], b"just text", "notes.txt")
    assert response.status_code == 422
    [message] = response.json["errors"]["file"]
    assert message.startswith("不支持的文件类型（.txt）")
    assert "PDF（.pdf）" in message
    assert "JPG 图片（.jpg、.jpeg）" in message


def test_empty_and_too_large_files_say_which(p1: f.People, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = post(p1["ent"], b"", "empty.pdf")
    assert empty.json["errors"]["file"] == ["文件为空：请选择有内容的文件"]
    monkeypatch.setattr(evidence_types, "MAX_BYTES", 1000)  # 20 MB, scaled down
    monkeypatch.setattr(admin, "MAX_UPLOAD", 1000)
    big = post(p1["ent"], b"%PDF-1.4" + b"x" * 1000, "big.pdf")
    assert big.status_code == 422
    assert big.json["errors"]["file"] == ["文件过大：单个文件不超过 20 MB"]


def test_the_stored_type_is_the_extensions_not_the_claimed_one(p1: f.People) -> None:
    uploaded = post(p1["ent"], b"%PDF-1.4 report", "report.pdf", "application/x-msdownload")
    assert uploaded.status_code == 201, uploaded.json
    got = p1["ent"].get(f"/api/v1/files/{uploaded.json['id']}")
    assert got.mimetype == "application/pdf"


def test_a_province_may_narrow_the_types(p1: f.People, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDU_EVIDENCE_TYPES", "pdf, png")
    assert post(p1["ent"], b"\x89PNG\r\n\x1a\n", "photo.png").status_code == 201
    refused = post(p1["ent"], b"PK\x03\x04", "bundle.zip")
    assert refused.status_code == 422
    assert "ZIP" not in refused.json["errors"]["file"][0]
