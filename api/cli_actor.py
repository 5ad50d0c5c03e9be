"""Who runs a command: `tidu --actor USER_ID …` (or `TIDU_ACTOR`), checked to be a tidu user;
without either, `cli:<OS login name>`. The history records this actor for what the command does
(deployments, imports, retries, migrations, compactions); the command keeps the rights of the
command line whichever user it names."""

from __future__ import annotations

import getpass

import click

from engine.context import Actor, EngineContext
from engine.store import User

ENV = "TIDU_ACTOR"


def login_name() -> str:
    """The OS login running the command (`unknown` if the system has none for it)."""
    try:
        return getpass.getuser() or "unknown"
    except (OSError, KeyError):
        return "unknown"


def named() -> str | None:
    """The user id given with `--actor` / `TIDU_ACTOR`, if any."""
    current = click.get_current_context(silent=True)
    if current is None:
        return None
    obj = current.find_root().obj
    value = obj.get("actor") if isinstance(obj, dict) else None
    return value.strip() or None if isinstance(value, str) else None


def cli_actor(ctx: EngineContext, role: str) -> Actor:
    """The actor of this command with the rights of `role`: the named user, else the OS login."""
    user_id = named()
    if user_id is None:
        login = login_name()
        return Actor(id=f"cli:{login}", role=role, display_name=f"命令行（{login}）")
    with ctx.reading() as session:
        user = session.get(User, user_id)
        if user is None:
            raise click.UsageError(
                f"--actor / {ENV}：用户 {user_id} 不存在（`tidu users list` 列出全部用户）"
            )
        return Actor(id=user.id, role=role, display_name=user.display_name)
