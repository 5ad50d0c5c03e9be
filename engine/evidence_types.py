"""Which files may be uploaded as evidence: by extension (a setting, TIDU_EVIDENCE_TYPES), never
an executable whatever its name, stored with the type its extension names rather than the one
the uploader's browser claimed. Evidence is opened by staff: a program must not pass as a PDF."""

from __future__ import annotations

import os

from engine.errors import InvalidInput

MAX_BYTES = 20 * 1024 * 1024
LIMIT_TEXT = "20 MB"

# extension -> (media type, Chinese name)
KNOWN = {
    "pdf": ("application/pdf", "PDF"),
    "ofd": ("application/ofd", "OFD 版式文件"),
    "jpg": ("image/jpeg", "JPG 图片"),
    "jpeg": ("image/jpeg", "JPG 图片"),
    "png": ("image/png", "PNG 图片"),
    "tif": ("image/tiff", "TIFF 图片"),
    "tiff": ("image/tiff", "TIFF 图片"),
    "doc": ("application/msword", "Word 文档"),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word 文档",
    ),
    "xls": ("application/vnd.ms-excel", "Excel 表格"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格"),
    "wps": ("application/vnd.ms-works", "WPS 文字"),
    "et": ("application/vnd.ms-excel", "WPS 表格"),
    "zip": ("application/zip", "ZIP 压缩包"),
}
DEFAULT_TYPES = tuple(KNOWN)

# signatures of programs and scripts, refused whatever the file is called
EXECUTABLE_SIGNATURES = (
    (b"MZ", "Windows 可执行程序"),
    (b"\x7fELF", "Linux 可执行程序"),
    (b"\xcf\xfa\xed\xfe", "macOS 可执行程序"),
    (b"\xce\xfa\xed\xfe", "macOS 可执行程序"),
    (b"\xca\xfe\xba\xbe", "macOS 或 Java 程序"),
    (b"#!", "脚本程序"),
)


def allowed_types() -> tuple[str, ...]:
    """The extensions evidence may have: TIDU_EVIDENCE_TYPES (comma-separated, e.g.
    "pdf,jpg,png"), each one of KNOWN; default every KNOWN type."""
    text = os.environ.get("TIDU_EVIDENCE_TYPES", "")
    chosen = tuple(t.strip().lower().lstrip(".") for t in text.split(",") if t.strip())
    unknown = [t for t in chosen if t not in KNOWN]
    if unknown:
        raise ValueError(
            f"TIDU_EVIDENCE_TYPES: unknown type(s) {', '.join(unknown)} (known: {', '.join(KNOWN)})"
        )
    return chosen or DEFAULT_TYPES


def describe(types: tuple[str, ...]) -> str:
    """The allowed types for people: 'PDF（.pdf）、JPG 图片（.jpg、.jpeg）…'."""
    names: dict[str, list[str]] = {}
    for ext in types:
        names.setdefault(KNOWN[ext][1], []).append(f".{ext}")
    return "、".join(f"{name}（{'、'.join(exts)}）" for name, exts in names.items())


def check(filename: str, content: bytes) -> str:
    """The media type to store an upload under; InvalidInput naming `file` if it is empty, too
    large, of a type evidence may not have, or a program."""
    if not content:
        raise InvalidInput("文件为空", errors={"file": ["文件为空：请选择有内容的文件"]})
    if len(content) > MAX_BYTES:
        raise InvalidInput(
            f"文件超过 {LIMIT_TEXT}",
            errors={"file": [f"文件过大：单个文件不超过 {LIMIT_TEXT}"]},
        )
    for signature, kind in EXECUTABLE_SIGNATURES:
        if content.startswith(signature):
            raise InvalidInput(
                f"不能上传{kind}作为佐证材料",
                errors={"file": [f"文件内容是{kind}，不能作为佐证材料上传"]},
            )
    types = allowed_types()
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in types:
        shown = f".{ext}" if ext else "无扩展名"
        raise InvalidInput(
            f"不支持的文件类型：{shown}",
            errors={"file": [f"不支持的文件类型（{shown}）：佐证材料可为 {describe(types)}"]},
        )
    return KNOWN[ext][0]
