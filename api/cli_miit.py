"""`tidu import miit-list FILE.csv --round ID`: import MIIT's published 小巨人 list (第八条)."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli_actor import cli_actor
from engine import miit_list
from engine.context import EngineContext
from engine.errors import EngineError


def _ctx() -> EngineContext:
    from api import cli  # opens the database the way every command does

    return cli._ctx()


@click.command("miit-list")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--round", "round_id", type=int, required=True, help="小巨人推荐批次编号（GET /api/v1/rounds）"
)
@click.option(
    "--keep-unlisted",
    is_flag=True,
    help="Leave recommended cases missing from the list waiting (default: not certified).",
)
@click.option(
    "--certified-on",
    default=None,
    help="认定日期（YYYY-MM-DD；名单无“认定日期”列时适用于整份名单，默认为导入当天）",
)
def miit_list_cmd(file: Path, round_id: int, keep_unlisted: bool, certified_on: str | None) -> None:
    """Deliver MIIT's decisions to the round's recommended cases, matched by USCC."""
    try:
        rows = miit_list.parse_csv(file.read_text(encoding="utf-8"))
        ctx = _ctx()
        report = miit_list.import_miit_list(
            ctx,
            round_id=round_id,
            rows=rows,
            source=file.name,
            actor=cli_actor(ctx, "province"),
            reject_unlisted=not keep_unlisted,
            certified_on=certified_on,
        )
    except EngineError as error:
        from api import cli

        cli._fail(error)
    click.echo(
        f"认定 {len(report['approved'])}，未予认定 {len(report['rejected'])}，"
        f"未匹配 {len(report['unmatched'])}"
    )
    for row in report["unmatched"]:
        click.echo(f"  未匹配 第{row['line']}行 {row['uscc']} {row['name']}：{row['reason']}")


def register(main: click.Group) -> None:
    """Add `import miit-list` (to an existing `import` group, or a new one)."""
    group = main.commands.get("import")
    if not isinstance(group, click.Group):
        group = click.Group("import", help="Import data files (MIIT lists, ...).")
        main.add_command(group)
    group.add_command(miit_list_cmd)
