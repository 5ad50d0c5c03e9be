"""Case maintenance commands of `tidu`: incidents list / retry, cases compact, audit verify /
anchor."""

from __future__ import annotations

import sys
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click

from api.cli_actor import cli_actor
from engine import audit_checks, compaction, history, incidents
from engine.context import EngineContext
from engine.errors import EngineError, InvalidInput


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
        ctx = _ctx()
        incidents.retry(ctx, incident_id=incident_id, actor=cli_actor(ctx, "system"))
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
        ctx = _ctx()
        done = compaction.compact_finished(
            ctx,
            older_than_days=older_than_days,
            limit=limit,
            actor=cli_actor(ctx, "system"),
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


def _verify(anchor_file: str | None) -> tuple[EngineContext, list[dict[str, Any]]]:
    ctx = _ctx()
    anchored = None
    if anchor_file is not None:
        try:
            with open(anchor_file, "rb") as handle:
                anchored = audit_checks.load_anchor(handle.read())
            audit_checks.check_anchor_file(anchored)
        except OSError as error:
            _fail(InvalidInput(f"无法读取锚点文件 {anchor_file}：{error.strerror}"))
        except EngineError as error:
            _fail(error)
    problems = history.verify_all(ctx)
    if anchored is not None:
        with ctx.reading_rows() as conn:
            problems += audit_checks.check_anchor(conn, anchored, ZoneInfo(ctx.settings.timezone))
    return ctx, problems


def _report(problems: list[dict[str, Any]]) -> None:
    for p in problems:
        click.echo(
            f"校验失败 stream={p['stream']} event_id={p['event_id']} seq={p['seq']}：{p['reason']}"
        )


@audit.command("verify")
@click.option(
    "--anchor",
    "anchor_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="also check the heads kept by `tidu audit anchor` (FILE)",
)
def audit_verify(anchor_file: str | None) -> None:
    """Verify every hash chain of the history, that every case, definition, round,
    qualification, complaint and evidence file has its history, every stored file's sha256,
    and that qualifications, finished cases and complainants still say what their history
    says; with --anchor, that each anchored head is still in its chain. Exit 1 naming each
    problem; what cannot be compared (kept before the history recorded it) is listed."""
    ctx, problems = _verify(anchor_file)
    _report(problems)
    with ctx.streaming_rows(history.VERIFY_BATCH) as conn:
        for note in audit_checks.unverifiable(conn):
            click.echo(f"无法核对：{note}")
    if problems:
        sys.exit(1)
    click.echo("历史记录完整：所有哈希链校验通过")
    if anchor_file is not None:
        click.echo(f"锚点 {anchor_file} 记录的链头均仍在链中")


@audit.command("anchor")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="write the anchor to FILE (default: standard output)",
)
def audit_anchor(out_file: str | None) -> None:
    """Verify the history, then write every stream's head (stream, seq, hash) and their
    combined digest as JSON (HMAC-signed with TIDU_AUDIT_KEY if set), to be kept outside
    the database; exit 1 without an anchor if verification fails."""
    ctx, problems = _verify(None)
    if problems:
        _report(problems)
        click.echo("历史记录校验未通过，未生成锚点", err=True)
        sys.exit(1)
    with ctx.reading_rows() as conn:
        value = audit_checks.anchor(conn, ctx.now(), ZoneInfo(ctx.settings.timezone))
    text = audit_checks.dump_anchor(value)
    if out_file is None:
        click.echo(text, nl=False)
    else:
        with open(out_file, "w", encoding="utf-8") as handle:
            handle.write(text)
    signed = "，已签名（TIDU_AUDIT_KEY）" if "hmac" in value else ""
    click.echo(
        f"已锚定 {value['streams']} 条历史流的链头{signed}；合并摘要 {value['digest']}",
        err=True,
    )


@audit.command("register-files")
def audit_register_files() -> None:
    """Record an upload event for each stored evidence file that has none (files stored before
    uploads were recorded in the history), naming who registered them and when."""
    ctx = _ctx()
    actor = cli_actor(ctx, "system")
    ids = audit_checks.register_unrecorded_files(ctx, actor.id)
    for file_id in ids:
        click.echo(f"已补记上传记录：file:{file_id}")
    click.echo(f"共补记 {len(ids)} 个文件的上传记录（操作人 {actor.id}）")


def register(main: click.Group) -> None:
    """Add the case maintenance commands to the `tidu` group."""
    for command in (incidents_cmd, cases_cmd, audit):
        main.add_command(command)
