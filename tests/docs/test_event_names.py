"""Every kind of history event the engine and the handlers write has a Chinese name on the
pages (api/web/static/js/common.js EVENT_NAMES), which also fills the 操作记录 event filter."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def written_kinds() -> set[str]:
    """The string values of `kind=` in every `history.append(...)` of engine/ and handlers/, and
    the kinds of the task events written in bulk (`_task_event("task.created", ...)`)."""
    kinds: set[str] = set()
    for folder in ("engine", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "_task_event"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    kinds.add(node.args[0].value)
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "append"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "history"
                ):
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "kind":
                        kinds |= {
                            c.value
                            for c in ast.walk(keyword.value)
                            if isinstance(c, ast.Constant) and isinstance(c.value, str)
                        }
    return kinds


def named_kinds() -> dict[str, str]:
    common = (ROOT / "api" / "web" / "static" / "js" / "common.js").read_text(encoding="utf-8")
    block = common[common.index("export const EVENT_NAMES = {") :]
    block = block[: block.index("};")]
    return dict(re.findall(r"'([a-z_]+\.[a-z_]+)': '([^']+)'", block))


def test_every_event_kind_written_has_a_chinese_name() -> None:
    kinds = written_kinds()
    assert {"ban.recorded", "message.sent", "task.created", "handler.decision"} <= kinds
    names = named_kinds()
    assert sorted(kinds - set(names)) == []
    assert all(re.search(r"[\u4e00-\u9fff]", name) for name in names.values())
