"""`tidu score FILE.json`: preview an evaluation from form figures, without starting a case."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from engine import definitions, queries, registry
from engine.clock import SystemClock
from engine.context import EngineContext
from engine.settings import Settings
from engine.store import TIER_LABELS, TIER_PROCESSES
from handlers.preview import preview_by_tier


def _directory_rules(directory: Path) -> tuple[registry.RuleSet, str]:
    files = definitions.read_directory(directory)
    return registry.RuleSet(
        {k: v for k, v in files.items() if k.endswith(".dmn")}
    ), f"目录 {directory}"


def _rules(settings: Settings, directory: Path | None, tier: str) -> tuple[registry.RuleSet, str]:
    """The rule set of the newest deployment of the procedure deciding `tier` (of any process
    if that one is not deployed); the processes/ directory when there is no database."""
    if directory is not None:
        return _directory_rules(directory)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return _directory_rules(settings.processes_dir)
    ctx = EngineContext(settings)
    try:
        latest = queries.latest_rules(ctx, TIER_PROCESSES[tier])
    except SQLAlchemyError:
        latest = None
    finally:
        ctx.db.dispose()
    if latest is None:
        return _directory_rules(settings.processes_dir)
    at = datetime.fromisoformat(latest["deployed_at"])  # aware UTC
    deployed = at.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
    source = f"最新部署 {latest['process_key']} v{latest['version']}（{deployed}）"
    return registry.RuleSet(latest["files"]), source


def _yes(flag: bool) -> str:
    return "符合" if flag else "不符合"


def _tier_lines(tier: str, result: dict[str, Any]) -> list[str]:
    if result.get("score") is not None:
        head = (
            f"{TIER_LABELS[tier]}：{_yes(result['passed'])}（评分 {result['score']}，"
            f"总分线 {result['pass_line']}；依据：{result['basis'] or '—'}）"
        )
    else:
        head = f"{TIER_LABELS[tier]}：{_yes(result['passed'])}（逐项条件）"
    lines = [head]
    for item in result.get("indicators", []):
        band = "缺少数据" if item["missing"] else item["band"]
        lines.append(
            f"  {item['id']:6} {item['label']}：{item['points']}/{item['max']} "
            f"[{band}] {item['value'] or ''}"
        )
    for item in result.get("conditions", []):
        mark = "✓" if item["passed"] else ("? 缺少数据" if item["missing"] else "✗")
        lines.append(f"  {mark} {item['code']}：{item['name']}")
    for item in result.get("direct_conditions_met", []):
        lines.append(f"  直通条件：{item['name']}")
    for item in result["failed"]:
        lines.append(f"  未满足 {item['code']}：{item['name']}（{item['value']}）")
    rs = result["ruleset"]
    lines.append(
        f"  规则集：{rs['name']}，{rs['effective_from']}～{rs['effective_to'] or '至今'}，"
        f"{rs['file']} sha256 {rs['checksum'][:12]}"
    )
    return lines


def _report(result: dict[str, Any], source: str) -> list[str]:
    size, elig = result["size"], result["eligibility"]
    failed = "、".join(f["name"] for f in elig["failed"])
    lines = [
        f"规则来源：{source}；基准日：{result['reference_on']}",
        f"规模划型：{size['size_class_label']}（{size['industry_label'] or '未知行业'}）",
        f"申报条件：{_yes(elig['eligible'])}" + (f"（{failed}）" if failed else ""),
    ]
    for tier, tier_result in result["tiers"].items():
        lines += _tier_lines(tier, tier_result)
        if tier_result["rules_source"] != source:
            lines.append(f"  规则来源：{tier_result['rules_source']}")
    return lines


@click.command("score")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--tier",
    type=click.Choice(["innovative", "specialized", "little_giant", "all"]),
    default="all",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option("--reference-on", help="Date whose rule set applies (YYYY-MM-DD; default today).")
@click.option("--uscc", help="USCC for the eligibility check (default: the file's `uscc`).")
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Read the rules from this processes/ directory instead of the database.",
)
def score(
    file: Path,
    tier: str,
    as_json: bool,
    reference_on: str | None,
    uscc: str | None,
    rules_dir: Path | None,
) -> None:
    """Preview size class, eligibility and tier results for form figures in FILE (JSON)."""
    import handlers  # noqa: F401 - fills the operator registry

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise click.ClickException(f"{file} 不是有效的 JSON：{error}") from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{file} 应为一个 JSON 对象（自评表字段）")
    settings = Settings.from_env()
    today = SystemClock().now().astimezone(ZoneInfo(settings.timezone)).date().isoformat()
    result = preview_by_tier(
        figures=data,
        tiers=tier,
        uscc=uscc,
        reference_on=reference_on or today,
        evaluated_on=today,
        rules_of=lambda chosen: _rules(settings, rules_dir, chosen),
    )
    if "invalid" in result:
        for field, messages in result["invalid"].items():
            click.echo(f"{field}: {'；'.join(messages)}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        click.echo("\n".join(_report(result, result["rules_source"])))
