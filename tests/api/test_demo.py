"""`tidu demo`: every demo user signs in with its token and reaches what its role is for."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from api import demo
from engine.context import EngineContext


def _get(client: FlaskClient, token: str, path: str):  # type: ignore[no-untyped-def]
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_demo_seed_gives_every_user_a_working_token(
    ctx: EngineContext, client: FlaskClient
) -> None:
    tokens = demo.seed(ctx)
    assert {"province", "miit", "owner", "auditor", "public", "ent-1", "ent-2", "ent-3"} <= set(
        tokens
    )
    assert {f"city-{code}" for code in ctx.settings.region_names()} <= set(tokens)
    for user_id, token in tokens.items():
        me = _get(client, token, "/ui/session")
        assert me.status_code == 200, user_id
        assert me.json["id"] == user_id
    assert _get(client, tokens["public"], "/ui/session").json["role"] == "public"
    # the member of the public lists its complaints (none yet) and has no tasks
    assert _get(client, tokens["public"], "/api/v1/complaints").json["items"] == []
    assert _get(client, tokens["public"], "/api/v1/tasks").json["items"] == []
    # one open demo round of innovative evaluation, and running the seed again adds none
    rounds = _get(client, tokens["province"], "/api/v1/rounds").json
    demo.seed(ctx)
    assert _get(client, tokens["province"], "/api/v1/rounds").json == rounds
    assert [r["window"] for r in rounds] == ["open"]


def test_demo_tokens_are_offered_only_in_demo_mode_to_this_machine(  # type: ignore[no-untyped-def]
    ctx: EngineContext, client: FlaskClient, app, tmp_path, monkeypatch
) -> None:
    tokens = demo.seed(ctx)
    path = tmp_path / "demo-tokens.json"
    path.write_text(json.dumps(tokens), encoding="utf-8")
    app.config["TIDU_DEMO_TOKENS"] = str(path)
    monkeypatch.delenv("TIDU_DEMO_SIGN_IN", raising=False)

    def offered(remote: str = "127.0.0.1") -> list[str]:
        answer = client.get("/ui/demo-users", environ_base={"REMOTE_ADDR": remote}).json
        return [user["id"] for user in answer["users"]]

    assert offered() == []  # `tidu serve` and gunicorn: off
    monkeypatch.setenv("TIDU_DEMO_SIGN_IN", "1")  # as `make run` starts the server
    assert "province" in offered()
    assert offered("::1") == offered()
    assert offered("10.0.0.7") == []  # never to another machine
