"""`tidu users`: add staff and enterprise users, issue and revoke their bearer tokens."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from engine import users
from engine.context import EngineContext
from engine.settings import ROLES
from engine.store import User
from handlers.uscc import division_code, is_valid_uscc

_FACTORY: dict[str, Callable[[], EngineContext]] = {}


def _ctx() -> EngineContext:
    return _FACTORY["ctx"]()


def _problems(regions: dict[str, str], role: str, region: str | None, uscc: str | None,
              name: str | None) -> list[str]:  # fmt: skip
    problems = []
    if role not in ROLES:
        problems.append(f"--role：{role} 不是已知角色（{'、'.join(ROLES)}）")
    if region is not None and region not in regions:
        problems.append(f"--region：{region} 不是已知的地区代码")
    if role == "city" and region is None:
        problems.append("--region：市级主管部门须指定地区代码")
    if role == "enterprise":
        if not uscc:
            problems.append("--uscc：企业用户须指定统一社会信用代码")
        elif not is_valid_uscc(uscc):
            problems.append(f"--uscc：{uscc} 不是有效的统一社会信用代码（校验位不符）")
        if not name:
            problems.append("--name：企业用户须指定企业名称")
    elif uscc:
        problems.append("--uscc：只有企业用户有统一社会信用代码")
    return problems


def _region_of(uscc: str, regions: dict[str, str]) -> str | None:
    """The city of a Jiangxi USCC's registration division (9136 0102 ... -> 360100)."""
    division = division_code(uscc)
    city = f"{division[:4]}00" if division else None
    return city if city in regions else None


@click.group(name="users")
def group() -> None:
    """Users and their bearer tokens (only the tokens' hashes are stored)."""


@group.command("add")
@click.argument("user_id")
@click.option("--role", required=True, help="、".join(ROLES))
@click.option("--name", help="显示名称；企业用户为企业名称")
@click.option("--region", help="地区代码（市级主管部门必填；企业默认由信用代码推出）")
@click.option("--uscc", help="统一社会信用代码（企业用户必填）")
def add(user_id: str, role: str, **given: Any) -> None:
    """Add (or update) a user and print a new bearer token for it."""
    ctx = _ctx()
    regions = ctx.settings.region_names()
    name, region = given["name"], given["region"]
    uscc = given["uscc"].strip().upper() if given["uscc"] else None
    problems = _problems(regions, role, region, uscc, name)
    if not problems and role == "enterprise" and region is None:
        region = _region_of(uscc or "", regions)
        if region is None:
            problems.append("--region：无法由信用代码推出江西省的地区，请指定")
    if problems:
        for problem in problems:
            click.echo(f"错误：{problem}", err=True)
        sys.exit(2)
    if role == "enterprise":
        users.ensure_enterprise(ctx, uscc=uscc or "", name=name, region=region)
    users.ensure_user(
        ctx, user_id=user_id, display_name=name or user_id, role=role, region=region, uscc=uscc
    )
    click.echo(users.issue_token(ctx, user_id))


def _existing(user_id: str) -> EngineContext:
    """The context, once the user is known to exist (else exit 1 naming it)."""
    ctx = _ctx()
    with ctx.reading() as session:
        if session.get(User, user_id) is None:
            click.echo(f"错误：用户 {user_id} 不存在", err=True)
            sys.exit(1)
    return ctx


@group.command("token")
@click.argument("user_id")
def token(user_id: str) -> None:
    """Print a new bearer token for an existing user (its other tokens stay valid)."""
    ctx = _existing(user_id)
    click.echo(users.issue_token(ctx, user_id))


@group.command("revoke")
@click.argument("user_id")
def revoke(user_id: str) -> None:
    """Revoke every token of a user (other processes stop accepting them within
    TIDU_AUTH_CACHE_SECONDS)."""
    count = users.revoke_tokens(_existing(user_id), user_id)
    click.echo(f"{user_id}: {count} 个令牌已作废")


@group.command("list")
@click.option("--role", help="只列出该角色")
def list_cmd(role: str | None) -> None:
    """List users: id, role, region, USCC, number of tokens and name."""
    for user, count in users.list_users(_ctx(), role):
        click.echo(
            f"{user.id:28} {user.role:14} {user.region or '-':7} {user.uscc or '-':19}"
            f" {count:3}  {user.display_name}"
        )


def register(main: click.Group, ctx_factory: Callable[[], EngineContext]) -> None:
    _FACTORY["ctx"] = ctx_factory
    main.add_command(group)
