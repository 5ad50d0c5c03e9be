"""The `tidu` command: db upgrade, deploy, serve, operators, bench, demo, calendar check.

The other commands live in api/cli_*.py and are added to the group here.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from api import cli_actor, cli_cases, cli_import, cli_migrate, cli_miit, cli_time, cli_users
from api.cli_database import missing_sqlite_file, no_database, quiet_migrations, unusable_database
from api.cli_rules import score
from engine import definitions, migrate
from engine.context import EngineContext
from engine.errors import EngineError
from engine.settings import Settings

# SpiffWorkflow logs every task state change at INFO ("spiff.task", "spiff.workflow", ...)
QUIET_LOGGERS = ("spiff",)


class _Main(click.Group):
    """The `tidu` group: a database without its file or tables, or a server that cannot be
    reached or refuses the login, is named in one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as error:
            unusable = unusable_database(error)
            if unusable is None:
                raise
            no_database(Settings.from_env().database_url, *unusable)


def _ctx() -> EngineContext:
    import handlers  # noqa: F401 - fills the operator registry

    settings = Settings.from_env()
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:  # not created empty here: `tidu db upgrade` creates it
        no_database(settings.database_url, f"不存在（找不到文件 {missing}）")
    ctx = EngineContext(settings)
    current = click.get_current_context(silent=True)
    if current is not None:  # release pooled connections when the command ends
        current.call_on_close(ctx.db.dispose)
    return ctx


def _error_line(item: Any) -> str:
    if isinstance(item, dict) and "message" in item:  # a refusal naming a diagram element
        return f"[{item.get('element_id') or '-'}] {item['message']}"
    return str(item)


def _fail(error: EngineError) -> NoReturn:
    """Print an engine error with each of its field messages, and exit 1."""
    click.echo(f"错误：{error.title} {error.detail}", err=True)
    errors = error.errors or []
    if isinstance(errors, dict):
        for field, messages in errors.items():
            listed = messages if isinstance(messages, list | tuple) else [messages]
            click.echo(f"  {field}: {'；'.join(str(m) for m in listed)}", err=True)
    else:
        for item in errors:
            click.echo(f"  {_error_line(item)}", err=True)
    sys.exit(1)


@click.group(cls=_Main)
@click.option(
    "--actor",
    envvar=cli_actor.ENV,
    default=None,
    metavar="USER_ID",
    help="Who runs the command (a tidu user id, checked to exist); recorded in the history. "
    "Default: cli:<OS login name>. Env: TIDU_ACTOR.",
)
@click.pass_context
def main(click_ctx: click.Context, actor: str | None) -> None:
    """tidu (梯度): BPMN workflow service for Jiangxi's tiered SME cultivation."""
    click_ctx.obj = {**(click_ctx.obj or {}), "actor": actor}
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations up to head."""
    settings = Settings.from_env()
    migrate.upgrade(settings.database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    click.echo(f"数据库已升级到最新版本：{shown}")


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--validate-only", is_flag=True, help="Check the files without deploying.")
@click.option(
    "--force", is_flag=True, help="Replace a newer version deployed from elsewhere (the web page)."
)
def deploy(directory: Path, validate_only: bool, force: bool) -> None:
    """Validate and deploy every process in DIRECTORY (BPMN, rules/*.dmn, forms/*.json)."""
    ctx = _ctx()
    files = definitions.read_directory(directory)
    schedule_problems = _schedule_problems(directory)
    if validate_only:
        _, problems = definitions.validate(files, ctx.settings.lane_aliases)
        for p in problems:
            click.echo(f"{p['file']}:{p['line'] or '?'} [{p['element_id'] or '-'}] {p['message']}")
        for line in schedule_problems:
            click.echo(line)
        sys.exit(1 if problems or schedule_problems else 0)
    if schedule_problems:  # the schedule the scheduler will read: refused before anything deploys
        for line in schedule_problems:
            click.echo(line, err=True)
        sys.exit(1)
    try:
        done = definitions.deploy_set(
            ctx, files=files, actor=cli_actor.cli_actor(ctx, "process_owner"), force=force
        )
    except EngineError as error:
        for p in error.errors or []:
            click.echo(
                f"{p['file']}:{p['line'] or '?'} [{p['element_id'] or '-'}] {p['message']}",
                err=True,
            )
        sys.exit(1)
    for row in done.rows:
        click.echo(f"{row.process_key} v{row.version} {row.checksum[:12]}")
    _report(done, directory)


def _report(done: definitions.Deployment, directory: Path) -> None:
    """Warn of each procedure kept at a newer version deployed elsewhere, and of rule dates."""
    for kept in done.skipped:
        click.echo(
            f"警告：未部署 {kept['name']}（{kept['process_key']}）：最新的第 {kept['version']} 版"
            f"由 {kept['deployed_by']} 从网页或接口部署，与 {directory} 中的文件不同，"
            f"部署目录中的文件会撤销那些修改。请先导出该版本的全部文件"
            f"（tidu export {kept['process_key']} {kept['version']} {directory}），"
            "或确认以目录中的文件为准后加 --force 重新部署。",
            err=True,
        )
    for warning in done.warnings:
        click.echo(f"提醒：{warning['message']}", err=True)


@main.command("export")
@click.argument("process_key")
@click.argument("version", type=int)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export(process_key: str, version: int, directory: Path) -> None:
    """Write every file of one deployed version into DIRECTORY (e.g. processes/)."""
    ctx = _ctx()
    try:
        with ctx.reading() as session:
            files = dict(definitions.get(session, process_key, version, ctx).files)
    except EngineError as error:
        click.echo(error.detail or error.title, err=True)
        sys.exit(1)
    for name, text in sorted(files.items()):
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        click.echo(f"{target}")


def _schedule_problems(directory: Path) -> list[str]:
    """`rounds.json:line [field] message` for each problem of the directory's round schedule
    (the check the deploy API makes of an uploaded one, `definitions.schedule_problems`)."""
    from engine import rounds

    path = directory / rounds.SCHEDULE_FILE
    if not path.is_file():
        return []
    files = definitions.read_directory(directory)
    files[rounds.SCHEDULE_FILE] = path.read_text(encoding="utf-8")
    return [
        f"{p['file']}:{p['line'] or '?'} [{p['element_id'] or '-'}] {p['message']}"
        for p in definitions.schedule_problems(files)
    ]


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--no-scheduler", is_flag=True, help="Do not run the embedded timer scheduler.")
def serve(host: str, port: int, no_scheduler: bool) -> None:
    """Run the API (and, by default, the embedded timer scheduler)."""
    from api import create_app, settle_heap
    from engine.scheduler import start_background

    ctx = _ctx()
    app = create_app(ctx=ctx)
    if not no_scheduler and ctx.settings.embedded_scheduler:
        start_background(ctx)
    settle_heap()
    click.echo(f"tidu 已启动，接口文档：http://{host}:{port}/api/docs")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


cli_time.register(main)  # scheduler, timers fire-due, rounds open-due, simulate
cli_miit.register(main)  # import miit-list
cli_import.register(main)  # import legacy (第二十条)
cli_migrate.register(main)  # migrate running instances to another version
cli_users.register(main, lambda: _ctx())  # users add / token / revoke / list
cli_cases.register(main)  # incidents list / retry, cases compact, audit verify


@main.command()
@click.option("--json", "as_json", is_flag=True)
def operators(as_json: bool) -> None:
    """List the service-task operators a diagram may call, with their parameters."""
    import inspect

    import handlers  # noqa: F401 - fills the operator registry
    from engine import registry

    rows = []
    for name in sorted(registry.names()):
        op = registry.get(name)
        doc = (inspect.getdoc(op.fn) or "").splitlines()
        rows.append(
            {
                "operator": name,
                "parameters": op.parameters(),
                "record": op.record,
                "rules": op.uses_rules,
                "doc": doc[0] if doc else "",
            }
        )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    for row in rows:
        click.echo(f"{row['operator']}({', '.join(row['parameters'])})  {row['doc']}")


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench(args: tuple[str, ...]) -> None:
    """Run the benchmarks (`bench/`; e.g. `tidu bench --tiny`) from the repository root."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    sys.exit(subprocess.call([sys.executable, "-m", "bench.run", *args], cwd=root))


@main.command()
@click.option(
    "--walkthrough", is_flag=True, help="Run one P1 round on a simulated clock, printing each step."
)
@click.option("--out", type=click.Path(path_type=Path), default=Path("var/demo-tokens.json"))
def demo(walkthrough: bool, out: Path) -> None:
    """Seed one user per role/region and print their tokens (tokens are stored hashed)."""
    from api import demo as demo_mod

    if walkthrough:
        with quiet_migrations():  # of its scratch database
            demo_mod.walkthrough(click.echo)
        return
    tokens = demo_mod.seed(_ctx())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(tokens, ensure_ascii=False, indent=1))
    for user_id, token in tokens.items():
        click.echo(f"{user_id:28} {token}")
    click.echo(f"（令牌已同时写入 {out}）")


@main.group()
def calendar() -> None:
    """Working-day calendars (processes/calendars/<year>.json)."""


@calendar.command("check")
def calendar_check() -> None:
    """List the years with holiday data; exit 1 if a year needed soon lacks it or is bad."""
    from sqlalchemy import text

    from engine import holidays

    ctx = _ctx()
    with ctx.reading() as session:  # an unreachable database is named in one line (_Main);
        session.execute(text("SELECT 1"))  # one without tables still has files and the package
    found = holidays.coverage(ctx)
    years = found["years"]
    assert isinstance(years, list)
    package = [row["year"] for row in years if row["source"] == "chinesecalendar"]
    if package:
        click.echo(f"{package[0]}–{package[-1]}  chinesecalendar")
    for row in years:
        if row["source"] == "chinesecalendar":
            continue
        flag = "有误 " if row["problems"] else ""
        click.echo(f"{flag}{row['year']}  {row['source']}")
        for problem in row["problems"]:
            click.echo(f"      {problem}")
    if found["warning"]:
        click.echo(str(found["warning"]), err=True)
        sys.exit(1)
    needed = "、".join(str(y) for y in found["needed"])  # type: ignore[union-attr]
    click.echo(f"所需年份的工作日历数据齐全：{needed}")


main.add_command(score)  # tidu score (api/cli_rules.py)
