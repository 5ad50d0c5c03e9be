"""`tidu import legacy FILE.csv`: legacy qualifications certified before 2023-06-20 (第二十条)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api.cli_actor import cli_actor
from engine import legacy
from engine.context import EngineContext
from engine.errors import EngineError


def _ctx() -> EngineContext:
    from api import cli  # opens the database the way every command does

    return cli._ctx()


@click.command("legacy")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def legacy_cmd(file: Path) -> None:
    """Import legacy qualifications from FILE (UTF-8 CSV, columns in docs/lifecycle.md).

    All rows or none: any bad row is listed with its line and reason and nothing is imported
    (exit 1). Rows imported before with the same content are skipped.
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        click.echo(f"错误：{file} 不是 UTF-8 编码的 CSV 文件", err=True)
        sys.exit(1)
    ctx = _ctx()
    try:
        report = legacy.import_legacy(
            ctx, text=text, filename=file.name, actor=cli_actor(ctx, "province")
        )
    except EngineError as error:
        click.echo(f"错误：{error.title}（{error.detail}）", err=True)
        for item in error.errors if isinstance(error.errors, list) else []:
            column = f" [{item['column']}]" if item.get("column") else ""
            click.echo(f"  第 {item['line']} 行{column}：{item['message']}", err=True)
        sys.exit(1)
    finally:
        ctx.db.dispose()
    click.echo(
        f"导入 {len(report['imported'])} 条，已导入而跳过 {len(report['skipped'])} 条"
        f"（共 {report['rows']} 行）"
    )
    for number in report["imported"]:
        click.echo(f"  {number}")


def register(main: click.Group) -> None:
    """Add `import legacy` (to an existing `import` group, or a new one)."""
    group = main.commands.get("import")
    if not isinstance(group, click.Group):
        group = click.Group(
            "import", help="Import data files (MIIT lists, legacy qualifications, ...)."
        )
        main.add_command(group)
    group.add_command(legacy_cmd)
