"""Who ran a command: `tidu --actor USER_ID` / `TIDU_ACTOR` (an existing user), else
`cli:<OS login>`; the history records it (never the bare `cli`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from api import cli, cli_actor
from engine import users
from engine.context import EngineContext
from engine.store import HistoryEvent

TINY = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_KEY"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="KEY" name="命令行测试" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture
def run(ctx: EngineContext, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli, "_ctx", lambda: ctx)
    monkeypatch.setattr(cli_actor.getpass, "getuser", lambda: "zhangsan")

    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        return CliRunner().invoke(cli.main, list(args), env=env or {"TIDU_ACTOR": None})

    return invoke


def one_diagram(tmp_path: Path, key: str, comment: str = "") -> Path:
    folder = tmp_path / key
    folder.mkdir(exist_ok=True)
    (folder / f"{key}.bpmn").write_text(TINY.replace("KEY", key) + comment)
    return folder


def deployers(ctx: EngineContext) -> list[str]:
    with ctx.reading() as session:
        return list(
            session.scalars(
                select(HistoryEvent.actor)
                .where(HistoryEvent.kind == "definition.deployed")
                .order_by(HistoryEvent.id)
            )
        )


def test_commands_record_who_ran_them(run, ctx: EngineContext, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    users.ensure_user(ctx, user_id="owner", display_name="流程管理员王五", role="process_owner")

    unknown = run("--actor", "nobody", "deploy", str(one_diagram(tmp_path, "probe_a")))
    assert unknown.exit_code == 2
    assert "nobody 不存在" in unknown.output
    assert deployers(ctx) == []

    named = run("--actor", "owner", "deploy", str(tmp_path / "probe_a"))
    assert named.exit_code == 0, named.output
    by_env = run("deploy", str(one_diagram(tmp_path, "probe_b")), env={"TIDU_ACTOR": "owner"})
    assert by_env.exit_code == 0, by_env.output
    default = run("deploy", str(one_diagram(tmp_path, "probe_a", "<!-- v2 -->")))  # version 2
    assert default.exit_code == 0, default.output
    assert deployers(ctx) == ["owner", "owner", "cli:zhangsan"]
