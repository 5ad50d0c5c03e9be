"""Case maintenance commands of `tidu`: incidents list / retry, cases compact, audit verify."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from engine import compaction, history, incidents
from engine.context import Actor, EngineContext
from engine.errors import EngineError


def _ctx() -> EngineContext:
    from api import cli  # opens the database the way every command does

    return cli._ctx()


def _fail(error: EngineError) -> NoReturn:
    from api import cli

    cli._fail(error)


@click.group(name="incidents")
def incidents_cmd() -> None:
    """Failed commands awaiting retry."""


@incidents_cmd.command("list")
def incidents_list() -> None:
    for row in incidents.list_incidents(_ctx()):
        click.echo(
            f"{row.id} {row.command} {row.element_id or '-'} attempts={row.attempts} {row.message}"
        )


@incidents_cmd.command("retry")
@click.argument("incident_id")
def incidents_retry(incident_id: str) -> None:
    """Re-run a failed command."""
    try:
        incidents.retry(_ctx(), incident_id=incident_id, actor=Actor(id="cli", role="system"))
    except EngineError as error:
        _fail(error)
    click.echo(f"异常 {incident_id} 已处理")


@click.group(name="cases")
def cases_cmd() -> None:
    """Maintenance of stored cases."""


@cases_cmd.command("compact")
@click.option("--older-than-days", type=int, required=True, help="finished more than N days ago")
@click.option("--limit", type=int, default=None, help="at most this many cases")
def cases_compact(older_than_days: int, limit: int | None) -> None:
    """Compact the stored state of finished cases to the elements they went through."""
    try:
        done = compaction.compact_finished(
            _ctx(),
            older_than_days=older_than_days,
            limit=limit,
            actor=Actor(id="cli", role="system"),
        )
    except EngineError as error:
        _fail(error)
    click.echo(
        f"已压缩 {done['cases']} 件已办结案件的流程状态："
        f"{done['bytes_before']:,} → {done['bytes_after']:,} 字节"
    )


@click.group()
def audit() -> None:
    """Audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Verify every hash chain of the history; exit 1 naming the first broken row."""
    problems = history.verify_all(_ctx())
    for p in problems:
        click.echo(
            f"断链 stream={p['stream']} event_id={p['event_id']} seq={p['seq']}：{p['reason']}"
        )
    if problems:
        sys.exit(1)
    click.echo("历史记录完整：所有哈希链校验通过")


def register(main: click.Group) -> None:
    """Add the case maintenance commands to the `tidu` group."""
    for command in (incidents_cmd, cases_cmd, audit):
        main.add_command(command)
