"""Flask app factory: /api/v1 blueprints, OpenAPI at /api/openapi.json, Swagger UI at /api/docs."""

from __future__ import annotations

import gc
import http
from collections.abc import Callable
from inspect import iscoroutinefunction
from pathlib import Path
from types import FunctionType
from typing import Any

from apispec import BasePlugin
from flask import Flask, redirect, send_from_directory
from flask_smorest import Api

from api import (
    admin,
    auth,
    calendars,
    complaints,
    enterprises,
    errors,
    evaluations,
    input_guard,
    instances,
    messages,
    notifications,
    qualifications,
    rounds_views,
    tasks,
    web,
)
from api.errors import HTTP_TITLES, PROBLEM_JSON
from api.schemas import ProblemSchema
from engine.context import EngineContext
from engine.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SWAGGER_DIST = ROOT / "node_modules" / "swagger-ui-dist"


class TiduFlask(Flask):
    """Flask, remembering which view and hook functions are coroutines: Flask asks
    `inspect.iscoroutinefunction` for each of them on every request (and flask-smorest once
    more per decorator), ~40 times per sme_eval instance."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._coroutines: dict[Any, bool] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # bound methods of per-request view objects are keyed by their function; anything else
        # (a partial, a callable object) is asked each time, as Flask does
        target = getattr(func, "__func__", func)
        if type(target) is not FunctionType:
            return super().ensure_sync(func)
        is_coroutine = self._coroutines.get(target)
        if is_coroutine is None:
            is_coroutine = self._coroutines[target] = iscoroutinefunction(target)
        return self.async_to_sync(func) if is_coroutine else func


class ProblemApi(Api):
    """flask-smorest documenting errors as they are answered (api/errors.py): every error
    response component (`UNPROCESSABLE_ENTITY` of each `@arguments`, `DEFAULT_ERROR`, those
    `alt_response` names) is problem+json of the `Problem` schema, titled in Chinese."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": HTTP_TITLES.get(status, status.phrase)}
            if not (100 <= status < 200) and status not in (204, 304):
                response["content"] = {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            self.DEFAULT_ERROR_RESPONSE_NAME,
            {
                "description": "出错时的响应（problem+json）",
                "content": {PROBLEM_JSON: {"schema": self.ERROR_SCHEMA}},
            },
            lazy=True,
        )


class SignedInCalls(BasePlugin):
    """Documents the 401 of every operation that needs a bearer token (all but those declaring
    `security: []`): auth.authenticate_first answers it before anything else is looked at."""

    def operation_helper(self, path: str | None = None, operations: Any = None, **_: Any) -> None:
        for operation in (operations or {}).values():
            if not isinstance(operation, dict) or operation.get("security") == []:
                continue
            responses = operation.setdefault("responses", {})
            if 401 not in responses and "401" not in responses:
                responses["401"] = http.HTTPStatus.UNAUTHORIZED.name


def settle_heap() -> None:
    """Call once a serving process has started (app, mappers, parsed specs built): what startup
    allocated moves out of the cyclic garbage collector's reach, so each full collection walks
    only what requests allocate, not the ~150,000 objects of the loaded libraries (as large
    Python services freeze their workers' startup heap). Frozen objects are never collected;
    TIDU_GC_FREEZE=0 leaves the collector as it is."""
    if Settings.from_env().gc_freeze:
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None, ctx: EngineContext | None = None) -> Flask:
    """Build the app around one engine context (tests pass their own)."""
    import handlers  # noqa: F401 - fills the operator registry

    settings = settings or (ctx.settings if ctx else Settings.from_env())
    app = TiduFlask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined] - form schemas keep their field order
    app.config.update(
        API_TITLE="tidu 梯度培育流程服务",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/vendor/swagger-ui/",
        MAX_CONTENT_LENGTH=25 * 1024 * 1024,
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    app.extensions["tidu"] = ctx or EngineContext(settings)
    api = ProblemApi(app, spec_kwargs={"extra_plugins": [SignedInCalls()]})
    for bp in (
        tasks.bp,
        instances.bp,
        messages.bp,
        notifications.bp,
        *admin.BLUEPRINTS,
        *qualifications.BLUEPRINTS,
    ):
        api.register_blueprint(bp)
    api.register_blueprint(evaluations.bp)
    api.register_blueprint(rounds_views.bp)  # round cases by stage, exports, MIIT list
    api.register_blueprint(complaints.bp)  # 第十三条 complaints
    api.register_blueprint(calendars.bp)  # working-day calendars and their coverage
    for bp in enterprises.BLUEPRINTS:  # region moves (province), 第十二条 bans
        api.register_blueprint(bp)
    app.before_request(auth.authenticate_first)  # 401 before any 422 on the body or arguments
    input_guard.register(app)  # NUL, lone surrogates, deep JSON, huge integers: 422
    errors.register(app)
    web.register(app)  # pages under /ui, npm dist files under /vendor/<pkg>/

    @app.get("/vendor/swagger-ui/<path:name>")
    def swagger_assets(name: str):  # type: ignore[no-untyped-def]
        return send_from_directory(SWAGGER_DIST, name)

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return redirect("/ui/")

    @app.get("/healthz")
    def health():  # type: ignore[no-untyped-def]
        return {"ok": True}

    return app
