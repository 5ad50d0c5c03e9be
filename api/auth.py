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


PUBLIC_API = "/api/v1/public/"  # the only API calls that need no token


def authenticate_first() -> None:
    """before_request: every API call but the public ones names its caller before anything
    else, so a request without a valid token is 401 however wrong its body or arguments."""
    path = request.path
    if request.url_rule is None:  # an unknown URL is 404 for anyone
        return
    if path.startswith("/api/v1/") and not path.startswith(PUBLIC_API):
        current_actor()
