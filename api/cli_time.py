"""Time commands of `tidu`: scheduler, timers fire-due, rounds open-due, simulate."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date
from pathlib import Path

import click

from engine import rounds, timers
from engine.context import EngineContext
from engine.errors import EngineError


def _ctx() -> EngineContext:
    from api import cli  # opens the database the way every command does

    for chatty in ("spiff", "apscheduler"):  # one INFO line per task state change, per job run
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return cli._ctx()


@click.command()
def scheduler() -> None:
    """Run a timer scheduler process (no API); production runs N of them on PostgreSQL."""
    from engine.scheduler import SchedulerBusy, run_blocking

    try:
        run_blocking(_ctx())
    except SchedulerBusy as busy:
        click.echo(
            f"错误：已有一个定时调度进程在使用 SQLite 数据库 {busy.database}"
            f"（锁文件 {busy.lock_path}），一个 SQLite 数据库只允许一个定时调度进程",
            err=True,
        )
        sys.exit(1)


@click.group(name="timers")
def timers_cmd() -> None:
    """Timers."""


@timers_cmd.command("fire-due")
def fire_due() -> None:
    """Fire every timer that is due now (claimed like a scheduler does), then exit."""
    result = timers.run_due(_ctx(), owner=f"cli:{os.getpid()}")
    click.echo(json.dumps(result.summary()))


@click.group(name="rounds")
def rounds_cmd() -> None:
    """Calendar rounds (processes/rounds.json)."""


@rounds_cmd.command("open-due")
def rounds_open_due() -> None:
    """Open every scheduled round that is due now (the scheduler does this by itself)."""
    from api import cli

    try:
        opened = rounds.open_due(_ctx())
    except EngineError as error:
        cli._fail(error)
    for row in opened:
        click.echo(f"{row.process_key} {row.opens_on} {row.label}")


@click.command()
@click.option(
    "--from",
    "start",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="First simulated day (local date).",
)
@click.option(
    "--until", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Day after the last one."
)
@click.option("--enterprises", default=200, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--processes",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("processes"),
    show_default=True,
)
def simulate(start: object, until: object, enterprises: int, seed: int, processes: Path) -> None:
    """Run every calendar round between two dates on a simulated clock in a scratch database."""
    from api import simulation
    from api.cli_database import quiet_migrations

    first, last = start.date(), until.date()  # type: ignore[attr-defined]
    if last <= first:
        raise click.BadParameter(
            f"结束日期 {last} 须晚于开始日期 --from {first}", param_hint="--until"
        )
    config = simulation.Config(
        start=first, until=last, enterprises=enterprises, seed=seed, processes=processes
    )
    days = (last - first).days
    with click.progressbar(length=days, label="模拟中", show_pos=True) as bar:
        try:
            with quiet_migrations():  # of its scratch database
                summary = simulation.run(config, progress=bar.update)
        except simulation.MissingCalendar as missing:
            click.echo(f"\n错误：{missing}", err=True)
            sys.exit(1)
    click.echo(simulation.format_summary(summary))


def register(main: click.Group) -> None:
    """Add the time commands to the `tidu` group."""
    for command in (scheduler, timers_cmd, rounds_cmd, simulate):
        main.add_command(command)


__all__ = ["date", "register"]
