"""Bearer-token authentication: every /api/v1 call names its actor."""

from __future__ import annotations

from flask import current_app, g, request

from engine import users
from engine.context import Actor, EngineContext
from engine.errors import Unauthorized


def engine_context() -> EngineContext:
    return current_app.extensions["tidu"]


def current_actor() -> Actor:
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("缺少 Authorization: Bearer 令牌")
        g.actor = users.actor_for_token(engine_context(), token.strip())
    return g.actor
