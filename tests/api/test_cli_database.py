"""`tidu` and the database: a server it cannot reach or log in to is named in one Chinese line,
scratch databases migrate quietly, and a database without tables is logged in one line."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.exc import OperationalError

from api import cli, simulation
from engine import holidays, users
from engine.context import EngineContext

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT = "postgresql+psycopg://postgres:secret@127.0.0.1:1/x"  # nothing listens on port 1
SERVER = "请确认数据库服务器已启动、地址和端口无误，或用环境变量 TIDU_DATABASE_URL 指定数据库"
P1 = "innovative_evaluation"
LOGIN = "请检查环境变量 TIDU_DATABASE_URL 中的用户名和密码"


def tidu(*args: str, url: str | None = None) -> Result:
    """`tidu ARGS...` as an operator runs it (TIDU_DATABASE_URL, if given, set to `url`)."""
    env = {"TIDU_DATABASE_URL": url} if url else {}
    return CliRunner().invoke(cli.main, list(args), env=env)


def one_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    [line] = result.stderr.splitlines()
    assert "secret" not in result.output
    return line


@pytest.mark.parametrize(
    "args", [["users", "list"], ["audit", "verify"], ["db", "upgrade"], ["calendar", "check"]]
)
def test_a_refused_connection_is_named_with_the_password_hidden(args: list[str]) -> None:
    assert one_line(tidu(*args, url=CLOSED_PORT)) == (
        "错误：数据库 postgresql+psycopg://postgres:***@127.0.0.1:1/x 无法连接（连接被拒绝）。"
        + SERVER
    )


@pytest.mark.parametrize(
    ("libpq", "reason"),
    [
        (
            'FATAL:  password authentication failed for user "tidu"',
            "拒绝登录（用户 tidu 密码错误）",
        ),
        ("fe_sendauth: no password supplied", "拒绝登录（未提供密码）"),
        ('FATAL:  role "tidu" does not exist', "拒绝登录（用户 tidu 不存在）"),
    ],
)
def test_a_refused_login_is_named_with_the_password_hidden(  # type: ignore[no-untyped-def]
    ctx: EngineContext, monkeypatch: pytest.MonkeyPatch, libpq: str, reason: str
) -> None:
    def refused(*_: object) -> None:  # what psycopg raises for a server refusing the login
        failed = f'connection failed: connection to server at "10.0.0.5", port 5432 failed: {libpq}'
        raise OperationalError(None, None, psycopg.OperationalError(failed))

    monkeypatch.setattr(cli, "_ctx", lambda: ctx)
    monkeypatch.setattr(users, "list_users", refused)
    url = "postgresql+psycopg://tidu:secret@10.0.0.5:5432/tidu"
    assert one_line(tidu("users", "list", url=url)) == (
        f"错误：数据库 postgresql+psycopg://tidu:***@10.0.0.5:5432/tidu {reason}。{LOGIN}"
    )


@pytest.fixture
def alembic_at_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Record INFO logs, alembic's too, as in a fresh `tidu` process (root logger at INFO)."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="alembic")
    return caplog


def alembic_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("alembic")]


def test_the_demo_walkthrough_migrates_its_scratch_database_quietly(  # type: ignore[no-untyped-def]
    alembic_at_info, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # not the project: it runs the diagrams tidu ships
    walked = tidu("demo", "--walkthrough")
    assert walked.exit_code == 0, walked.output
    assert walked.stdout.startswith("数据库：sqlite:///")
    assert alembic_lines(alembic_at_info) == []
    assert logging.getLogger("alembic").level == logging.INFO  # as it was before the command


def test_simulate_migrates_its_scratch_database_quietly(  # type: ignore[no-untyped-def]
    alembic_at_info, tmp_path: Path
) -> None:
    processes = tmp_path / "processes"  # P1 alone: a faster deploy
    processes.mkdir()
    shutil.copy(ROOT / "processes" / "innovative_evaluation.bpmn", processes)
    schedule = json.loads((ROOT / "processes" / "rounds.json").read_text(encoding="utf-8"))
    schedule["rounds"] = [r for r in schedule["rounds"] if r["process_key"] == P1]
    (processes / "rounds.json").write_text(json.dumps(schedule), encoding="utf-8")
    for directory in ("rules", "forms"):
        shutil.copytree(ROOT / "processes" / directory, processes / directory)
    simulation._empty_database.cache_clear()  # migrate the template here, not in another test
    args = ["--from", "2026-06-30", "--until", "2026-07-01", "--enterprises", "1"]
    simulated = tidu("simulate", *args, "--processes", str(processes))
    assert simulated.exit_code == 0, simulated.output
    assert "模拟数据库：sqlite:///" in simulated.stdout
    assert alembic_lines(alembic_at_info) == []


def test_calendar_check_on_a_database_without_tables_logs_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    tidu("calendar", "check", url=f"sqlite:///{path}")
    [logged] = [r for r in caplog.records if r.name == "tidu.holidays"]
    assert logged.levelno == logging.WARNING
    assert logged.exc_info is None  # no traceback: the cause is known
    assert "no such table: calendar_year" in logged.getMessage()
    assert "tidu db upgrade" in logged.getMessage()


def test_other_failures_to_read_uploaded_calendars_keep_their_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Locked:
        def reading(self) -> None:
            raise OperationalError("SELECT", {}, Exception("database is locked"))

    assert holidays._Stored(Locked())._read() == {}
    [logged] = [r for r in caplog.records if r.name == "tidu.holidays"]
    assert logged.exc_info is not None


def test_the_walkthrough_runs_the_diagrams_tidu_processes_dir_names(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    processes = tmp_path / "processes"
    shutil.copytree(ROOT / "processes", processes)
    p1 = processes / "innovative_evaluation.bpmn"
    text = p1.read_text(encoding="utf-8")
    p1.write_text(text.replace("notice_working_days = 5 ", "notice_working_days = 10"), "utf-8")
    shipped = tidu("demo", "--walkthrough").stdout.splitlines()
    monkeypatch.setenv("TIDU_PROCESSES_DIR", str(processes))
    longer = tidu("demo", "--walkthrough").stdout.splitlines()

    def notice_days(lines: list[str]) -> int:  # the line after 市级公示：
        line = lines[lines.index("市级公示：") + 1]
        return int(line.split("时间前进 ")[1].split(" 天")[0])

    assert notice_days(shipped) < notice_days(longer)
    issued = longer[longer.index("已认定的创新型中小企业：") + 1 :]
    assert len(issued) == 2
    assert all(line.startswith("  JX-CX-") for line in issued)
