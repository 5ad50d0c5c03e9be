"""`tidu users`: a deployment adds its staff and enterprises and hands out bearer tokens."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from api import cli
from engine.context import EngineContext
from handlers.uscc import make_uscc


@pytest.fixture
def run(ctx: EngineContext, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli, "_ctx", lambda: ctx)  # the commands on this test's database

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(cli.main, ["users", *args])

    return invoke


def me(client: FlaskClient, token: str):  # type: ignore[no-untyped-def]
    return client.get("/ui/session", headers={"Authorization": f"Bearer {token}"})


def test_add_users_and_sign_in_with_their_tokens(run, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    added = run(
        "add",
        "city-360700",
        "--role",
        "city",
        "--region",
        "360700",
        "--name",
        "赣州市工业和信息化局",
    )
    assert added.exit_code == 0, added.stderr
    city = me(client, added.stdout.strip()).json
    assert (city["role"], city["region"], city["display_name"]) == (
        "city",
        "360700",
        "赣州市工业和信息化局",
    )

    uscc = make_uscc("91360702MA0000007")  # registered in 章贡区, 赣州市
    added = run(
        "add",
        "ent-ganzhou",
        "--role",
        "enterprise",
        "--uscc",
        uscc.lower(),
        "--name",
        "赣州某精密制造有限公司",
    )
    assert added.exit_code == 0, added.stderr
    ent = me(client, added.stdout.strip()).json
    assert (ent["uscc"], ent["region"]) == (uscc, "360700")  # region from the USCC

    listed = run("list", "--role", "enterprise")
    assert "ent-ganzhou" in listed.stdout
    assert "city-360700" not in listed.stdout


def test_bad_options_are_named_and_nothing_is_added(run) -> None:  # type: ignore[no-untyped-def]
    bad = run("add", "x", "--role", "enterprise", "--uscc", "91360102MA00000000")
    assert bad.exit_code == 2
    assert "--uscc：91360102MA00000000 不是有效的统一社会信用代码" in bad.stderr
    assert "--name：企业用户须指定企业名称" in bad.stderr
    bad = run("add", "y", "--role", "city")
    assert "--region：市级主管部门须指定地区代码" in bad.stderr
    bad = run("add", "z", "--role", "mayor", "--region", "999999")
    assert "--role：mayor 不是已知角色" in bad.stderr
    assert "--region：999999 不是已知的地区代码" in bad.stderr
    assert run("list").stdout == ""


def test_a_revoked_token_no_longer_signs_in(run, client: FlaskClient) -> None:  # type: ignore[no-untyped-def]
    first = run("add", "auditor-2", "--role", "auditor", "--name", "审计二").stdout.strip()
    second = run("token", "auditor-2").stdout.strip()
    assert me(client, first).status_code == me(client, second).status_code == 200
    assert run("revoke", "auditor-2").stdout.strip() == "auditor-2: 2 个令牌已作废"
    assert me(client, first).status_code == 401  # at once in this process
    assert me(client, second).status_code == 401
    missing = run("token", "nobody")
    assert missing.exit_code == 1
    assert "用户 nobody 不存在" in missing.stderr
