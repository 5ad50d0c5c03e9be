"""What `tidu` prints: one Chinese line for a database it cannot use, field messages of a refused
command, local dates, and Chinese wording throughout (machine-readable output unchanged)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.exc import OperationalError

from api import cli, simulation
from engine import holidays, users
from engine.clock import SimulatedClock
from engine.context import Actor, EngineContext
from engine.scheduler import Scheduler
from handlers import workdays
from tests import factories as f

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
LAST = max(workdays.PACKAGE_YEARS)  # chinesecalendar's last year
# 04:12 on 30 November in Jiangxi, still the 29th in UTC
LATE_EVENING_UTC = datetime(LAST, 11, 29, 20, 12, tzinfo=UTC)


@pytest.fixture
def run(ctx: EngineContext, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`tidu ARGS...` on this test's database and clock."""
    monkeypatch.setattr(cli, "_ctx", lambda: ctx)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli.main, list(args))

    return invoke


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory other than the repository, with the default TIDU_DATABASE_URL."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TIDU_DATABASE_URL", raising=False)
    return tmp_path


def tidu(*args: str, url: str | None = None) -> Result:
    """`tidu ARGS...` as an operator runs it (TIDU_DATABASE_URL, if given, set to `url`)."""
    env = {"TIDU_DATABASE_URL": url} if url else {}
    return CliRunner().invoke(cli.main, list(args), env=env)


def one_line_naming_the_database(result: Result, url: str) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    [line] = result.stderr.splitlines()
    assert line.startswith(f"错误：数据库 {url} ")
    assert "TIDU_DATABASE_URL" in line
    assert "tidu db upgrade" in line
    assert "项目目录" in line
    return line


@pytest.mark.parametrize("args", [["users", "list"], ["audit", "verify"], ["incidents", "list"]])
def test_a_missing_database_file_is_named_and_not_created(elsewhere: Path, args: list[str]) -> None:
    (elsewhere / "var").mkdir()
    line = one_line_naming_the_database(tidu(*args), "sqlite:///var/tidu.db")
    assert f"找不到文件 {elsewhere / 'var' / 'tidu.db'}" in line
    assert list((elsewhere / "var").iterdir()) == []  # no empty database left behind


def test_a_missing_database_directory_is_named(elsewhere: Path) -> None:
    line = one_line_naming_the_database(tidu("users", "list"), "sqlite:///var/tidu.db")
    assert "不存在" in line
    assert not (elsewhere / "var").exists()


def test_a_database_without_tables_is_named_with_the_missing_table(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    url = f"sqlite:///{path}"
    line = one_line_naming_the_database(tidu("users", "list", url=url), url)
    assert "尚未建表（缺少数据表 app_user）" in line


def test_db_upgrade_still_creates_the_database_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    upgraded = tidu("db", "upgrade", url=url)
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.stdout.strip() == f"数据库已升级到最新版本：{url}"
    listed = tidu("users", "list", url=url)
    assert (listed.exit_code, listed.output) == (0, "")


def test_other_database_errors_are_not_hidden(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    def locked(*_: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(users, "list_users", locked)
    result = run("users", "list")
    assert isinstance(result.exception, OperationalError)


def test_spiffworkflow_task_state_changes_are_not_logged_at_info(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logging.getLogger(), "level", logging.INFO)  # as `tidu` sets it up
    monkeypatch.setattr(logging.getLogger("spiff"), "level", logging.NOTSET)  # as Spiff does
    assert tidu("operators").exit_code == 0
    assert logging.getLogger("spiff.task").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("spiff.workflow").getEffectiveLevel() == logging.WARNING


def test_a_refused_command_prints_each_field_with_its_message(run) -> None:  # type: ignore[no-untyped-def]
    refused = run("cases", "compact", "--older-than-days", "-1")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines() == [
        "错误：提交的数据不合法 天数不能为负",
        "  older_than_days: 应为不小于 0 的整数",
    ]


def test_revoking_the_tokens_of_an_unknown_user_fails_naming_it(run) -> None:  # type: ignore[no-untyped-def]
    missing = run("users", "revoke", "nobody")
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "错误：用户 nobody 不存在"
    assert missing.stdout == ""


def test_an_uploaded_calendar_shows_its_local_upload_day(  # type: ignore[no-untyped-def]
    ctx: EngineContext, clock: SimulatedClock, client, run, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(workdays, "CALENDAR_DIR", tmp_path)
    clock.set(LATE_EVENING_UTC)
    year = LAST + 1
    holidays.put_year(
        ctx,
        year=year,
        data={"holidays": {f"{year}-01-01": "元旦"}},
        actor=Actor(id="owner", role="process_owner"),
    )
    checked = run("calendar", "check")
    assert checked.exit_code == 0, checked.output
    assert f"{year}  上传（owner，{LAST}-11-30）" in checked.stdout
    assert checked.stdout.splitlines()[-1] == f"所需年份的工作日历数据齐全：{LAST}、{year}"
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    found = owner.get("/api/v1/calendars").json
    assert found["years"][-1]["source"] == f"上传（owner，{LAST}-11-30）"


def test_score_shows_the_local_day_of_the_latest_deployment(  # type: ignore[no-untyped-def]
    ctx: EngineContext, clock: SimulatedClock, db_url: str
) -> None:
    clock.set(LATE_EVENING_UTC)
    [*_, last] = f.deploy_processes(ctx)
    scored = tidu("score", str(EXAMPLES / "score-specialized.json"), url=db_url)
    assert scored.exit_code == 0, scored.output
    assert f"最新部署 {last.process_key} v{last.version}（{LAST}-11-30）" in scored.stdout
    as_json = tidu("score", str(EXAMPLES / "score-specialized.json"), "--json", url=db_url)
    assert json.loads(as_json.stdout)["rules_source"].endswith(f"（{LAST}-11-30）")


def test_audit_verify_reports_an_intact_history_in_chinese(run) -> None:  # type: ignore[no-untyped-def]
    intact = run("audit", "verify")
    assert (intact.exit_code, intact.stdout) == (0, "历史记录完整：所有哈希链校验通过\n")


def test_a_second_scheduler_on_a_sqlite_database_is_refused_in_chinese(  # type: ignore[no-untyped-def]
    ctx: EngineContext, run
) -> None:
    if ctx.is_postgres:
        pytest.skip("the guard is for SQLite")
    first = Scheduler(ctx).start()
    try:
        refused = run("scheduler")
    finally:
        first.shutdown()
    assert refused.exit_code == 1
    database = ctx.db.url.database
    assert refused.stderr.strip() == (
        f"错误：已有一个定时调度进程在使用 SQLite 数据库 {database}"
        f"（锁文件 {database}.scheduler.lock），一个 SQLite 数据库只允许一个定时调度进程"
    )


def test_the_simulation_summary_names_procedures_and_outcomes_in_chinese() -> None:
    summary = {
        "database": "sqlite:///tmp/sim.db",
        "rounds": ["2026年第2批创新型中小企业评价（2026-07-01）"],
        "enterprises": 5,
        "applications": 4,
        "running": 0,
        "qualifications": 2,
        "outcomes": {
            "innovative_evaluation:ineligible": 1,
            "innovative_evaluation:qualified": 2,
            "specialized_certification:None": 1,
        },
        "process_names": {
            "innovative_evaluation": "创新型中小企业评价",
            "specialized_certification": "专精特新中小企业认定",
        },
        "timers_fired": 3,
        "timer_lateness_p50_s": 0.0,
        "timer_lateness_p95_s": 0.0,
        "tasks_completed_late": 0,
        "incidents": 0,
    }
    lines = simulation.format_summary(summary).splitlines()
    assert lines[3] == (
        "结果分布：创新型中小企业评价（不符合条件 1 件，评价通过 2 件）；"
        "专精特新中小企业认定（已办结 1 件）"
    )


def test_simulate_refuses_an_end_date_not_after_the_start_in_chinese() -> None:
    refused = tidu("simulate", "--from", f"{LAST}-07-01", "--until", f"{LAST}-06-30")
    assert refused.exit_code == 2
    assert refused.stderr.splitlines()[-1] == (
        "Error: Invalid value for --until: "  # click's own frame
        f"结束日期 {LAST}-06-30 须晚于开始日期 --from {LAST}-07-01"
    )


def test_demo_says_in_chinese_where_it_wrote_the_tokens(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "tokens.json"
    seeded = run("demo", "--out", str(out))
    assert seeded.exit_code == 0, seeded.output
    assert seeded.stdout.splitlines()[-1] == f"（令牌已同时写入 {out}）"
    assert set(json.loads(out.read_text(encoding="utf-8"))) >= {"province", "owner", "ent-1"}


def test_serve_says_in_chinese_where_the_api_listens(run, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import api

    served: list[dict[str, object]] = []

    class App:
        def run(self, **options: object) -> None:
            served.append(options)

    monkeypatch.setattr(api, "create_app", lambda **_: App())
    monkeypatch.setattr(api, "settle_heap", lambda: None)
    started = run("serve", "--no-scheduler", "--port", "8123")
    assert started.exit_code == 0, started.output
    assert started.stdout == "tidu 已启动，接口文档：http://127.0.0.1:8123/api/docs\n"
    assert served == [{"host": "127.0.0.1", "port": 8123, "threaded": True, "use_reloader": False}]
