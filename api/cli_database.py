"""How `tidu` names a database it cannot use (one Chinese line, exit 1), and quiet migrations."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

SETUP = (
    "请在项目目录下运行 tidu，或用环境变量 TIDU_DATABASE_URL 指定数据库；"
    "新数据库请先运行 tidu db upgrade 建表"
)
SERVER = "请确认数据库服务器已启动、地址和端口无误，或用环境变量 TIDU_DATABASE_URL 指定数据库"
LOGIN = "请检查环境变量 TIDU_DATABASE_URL 中的用户名和密码"

# libpq's words for a connection that failed (psycopg puts every attempt in the message)
CONNECTION_FAILURES = (
    (r"Connection refused", "无法连接（连接被拒绝）", SERVER),
    (r"failed to resolve host '([^']+)'", "无法连接（找不到主机 {0}）", SERVER),
    (r'could not translate host name "([^"]+)"', "无法连接（找不到主机 {0}）", SERVER),
    (r"timeout expired", "无法连接（连接超时）", SERVER),
    (r'password authentication failed for user "([^"]+)"', "拒绝登录（用户 {0} 密码错误）", LOGIN),
    (r"no password supplied", "拒绝登录（未提供密码）", LOGIN),
    (r'role "([^"]+)" does not exist', "拒绝登录（用户 {0} 不存在）", LOGIN),
    (r"authentication failed|no pg_hba\.conf entry", "拒绝登录（身份验证失败）", LOGIN),
)


def no_database(url: str, reason: str, advice: str = SETUP) -> NoReturn:
    """Name the database that cannot be used (password hidden), and what to do (exit 1)."""
    shown = make_url(url).render_as_string(hide_password=True)
    click.echo(f"错误：数据库 {shown} {reason}。{advice}", err=True)
    sys.exit(1)


def missing_sqlite_file(url: str) -> Path | None:
    """The absent file of a SQLite URL (which opening would create empty), else None."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):  # a SQLite URI: its own mode decides
        return None
    path = Path(name).absolute()
    return None if path.exists() else path


def _schema_problem(error: OperationalError | ProgrammingError, text: str) -> str | None:
    """Why the database cannot be used, if it has no file or no tables."""
    table = re.match(r"no such table: (\S+)", text)  # SQLite
    if table is None and getattr(error.orig, "sqlstate", None) == "42P01":  # PostgreSQL
        table = re.search(r'relation "([^"]+)"', text)
    if table is not None:
        return f"尚未建表（缺少数据表 {table.group(1)}）"
    if text == "unable to open database file":
        return "无法打开（文件所在目录不存在或无权访问）"
    missing = re.search(r'database "[^"]*" does not exist', text)  # PostgreSQL, at connect
    return f"不存在（{missing.group()}）" if missing else None


def _connection_problem(text: str) -> tuple[str, str] | None:
    """Why the server could not be reached or refused the login, with what to do."""
    for pattern, reason, advice in CONNECTION_FAILURES:
        found = re.search(pattern, text)
        if found is not None:
            return reason.format(*found.groups()), advice
    return None


def unusable_database(error: OperationalError | ProgrammingError) -> tuple[str, str] | None:
    """Why the database cannot be used and what to do, if `error` says so; else None."""
    text = str(error.orig) if error.orig is not None else ""
    reason = _schema_problem(error, text.splitlines()[0] if text else "")
    if reason is not None:
        return reason, SETUP
    return _connection_problem(text) if isinstance(error, OperationalError) else None


@contextmanager
def quiet_migrations() -> Iterator[None]:
    """Keep alembic's INFO lines out of a command that migrates a scratch database."""
    alembic = logging.getLogger("alembic")
    before = alembic.level
    alembic.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic.setLevel(before)
