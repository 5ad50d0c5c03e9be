"""`tidu migrate KEY --from A --to B [--dry-run]`: move running instances to another version."""

from __future__ import annotations

import sys
from typing import Any
from zoneinfo import ZoneInfo

import click

from api.cli_actor import cli_actor
from engine import migration
from engine.errors import EngineError


def _changes(changes: dict[str, list[dict[str, Any]]]) -> str:
    added = "、".join(c["element_id"] for c in changes["added"]) or "无"
    removed = "、".join(c["element_id"] for c in changes["removed"]) or "无"
    changed = (
        "、".join(f"{c['element_id']}（{'、'.join(c['what'])}）" for c in changes["changed"])
        or "无"
    )
    return f"新增：{added}\n删除：{removed}\n修改：{changed}"


def _print_report(report: dict[str, Any], zone: ZoneInfo) -> None:
    """The dry run's report; timer due times in `zone` (TIDU_TIMEZONE), as the API shows them."""
    s = report["summary"]
    click.echo(
        f"{report['process_key']} 第 {report['from_version']} 版 → 第 {report['to_version']} 版："
        f"进行中 {s['running']} 件，可迁移 {s['can_migrate']} 件，不可迁移 {s['cannot_migrate']} 件"
        f"（已办结或取消 {s['not_running']} 件，不迁移）"
    )
    click.echo(_changes(report["changes"]))
    for check in report["instances"]:
        where = "、".join(p["element_id"] for p in check["positions"]) or "-"
        verdict = "可迁移" if check["can_migrate"] else "不可迁移"
        click.echo(f"{verdict} {check['instance_id']} 当前位置：{where}")
        for reason in check["reasons"]:
            click.echo(f"    [{reason['element_id'] or '-'}] {reason['message']}")
        for timer in check["timers"]:
            kept = "到期时间不变" if timer["kept"] else "到期时间重新计算"
            due = timer["due_at"].astimezone(zone).isoformat()
            click.echo(f"    定时器 {timer['element_id']} {due} {kept}")


@click.command("migrate")
@click.argument("process_key")
@click.option("--from", "from_version", type=int, required=True, help="源版本")
@click.option("--to", "to_version", type=int, required=True, help="目标版本")
@click.option("--instance", "instance_ids", multiple=True, help="只迁移这些案件（可重复）")
@click.option("--dry-run", is_flag=True, help="只报告哪些案件可以迁移、哪些不能及原因。")
def migrate_cmd(
    process_key: str,
    from_version: int,
    to_version: int,
    instance_ids: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Migrate the running instances of PROCESS_KEY from one version to another (each in its
    own transaction); exit 1 if any could not move."""
    from api.cli import _ctx, _fail

    ctx = _ctx()
    args = {
        "process_key": process_key,
        "from_version": from_version,
        "to_version": to_version,
        "actor": cli_actor(ctx, "process_owner"),
        "instance_ids": list(instance_ids) or None,
    }
    try:
        if dry_run:
            report = migration.report_json(migration.preview(ctx, **args))
            _print_report(report, ZoneInfo(ctx.settings.timezone))
            return
        result = migration.migrate(ctx, **args)
    except EngineError as error:
        _fail(error)
    for moved in result.migrated:
        click.echo(f"已迁移 {moved['instance_id']} → 第 {moved['version']} 版")
    for refused in result.refused:
        click.echo(f"未迁移 {refused['instance_id']}：{refused['detail']}", err=True)
    click.echo(f"已迁移 {len(result.migrated)} 件，未迁移 {len(result.refused)} 件")
    if result.refused:
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(migrate_cmd)
