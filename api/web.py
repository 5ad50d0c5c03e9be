"""Web pages for the three kinds of user, over the REST API (plain HTML + ES modules, no bundler).

Browser libraries (bpmn-js, dmn-js) are served from node_modules under /vendor/<pkg>/; nothing
third-party is copied into the repository. Pages hold no data themselves: every read and write
goes through /api/v1 with the bearer token the user signed in with (kept in sessionStorage).
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
)

from api.auth import current_actor, engine_context
from engine import users
from engine.errors import Unauthorized

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
# /vendor/<name>/ -> the package directory whose files may be served (dist builds only)
VENDOR = {"bpmn-js": "bpmn-js/dist", "dmn-js": "dmn-js/dist"}
FAVICON = Path(__file__).resolve().parent / "web" / "static" / "favicon.svg"
DEMO_TOKENS_KEY = "TIDU_DEMO_TOKENS"  # app.config: path of the demo token file (`tidu demo --out`)
# app.config (else the environment): the sign-in page offers the demo users' tokens, to browsers
# on this machine only; `make run` turns it on, `tidu serve` and gunicorn leave it off
DEMO_SIGN_IN_KEY = "TIDU_DEMO_SIGN_IN"

bp = Blueprint(
    "web",
    __name__,
    url_prefix="/ui",
    template_folder="web/templates",
    static_folder="web/static",
    static_url_path="/static",
)
vendor_bp = Blueprint("vendor", __name__)

PAGES = {
    "": ("index.html", "登录"),
    "design": ("design.html", "流程设计"),
    "inbox": ("inbox.html", "待办"),
    "rounds": ("rounds.html", "申报批次"),
    "audit": ("audit.html", "审计"),
    "public": ("public.html", "资质公开查询"),
    "incidents": ("incidents.html", "异常处理"),
    "qualifications": ("qualifications.html", "资质管理"),
    "complaints": ("complaints.html", "投诉"),
    "self-check": ("self_check.html", "申报自测"),
}


@vendor_bp.get("/vendor/<string:package>/<path:name>")
def vendor(package: str, name: str) -> Any:
    """A file of an npm package's dist directory (installed by `npm ci`)."""
    if package not in VENDOR:
        abort(404)
    return send_from_directory(NODE_MODULES / VENDOR[package], name)


@vendor_bp.get("/favicon.ico")
def favicon() -> Any:
    """The site icon browsers fetch from /favicon.ico on every page (an SVG of our own)."""
    return send_from_directory(
        FAVICON.parent, FAVICON.name, mimetype="image/svg+xml", max_age=86400
    )


@bp.get("/", defaults={"page": ""})
@bp.get("/<string:page>")
def page(page: str) -> Any:
    if page not in PAGES:
        abort(404)
    template, title = PAGES[page]
    return render_template(template, title=title, page=page or "index")


@bp.get("/design/<string:process_key>/<int:version>")
def modeler(process_key: str, version: int) -> Any:
    return render_template(
        "modeler.html", title="流程建模", page="design", process_key=process_key, version=version
    )


@bp.get("/design/<string:process_key>/compare")
def compare(process_key: str) -> Any:
    return render_template("compare.html", title="版本比较", page="design", process_key=process_key)


@bp.get("/tasks/<uuid:task_id>")
def task(task_id: Any) -> Any:
    return render_template("task.html", title="办理任务", page="inbox", task_id=str(task_id))


@bp.get("/audit/cases/<uuid:instance_id>")
def case(instance_id: Any) -> Any:
    return render_template(
        "case.html", title="案件详情", page="audit", instance_id=str(instance_id)
    )


@bp.get("/session")
def session() -> dict[str, Any]:
    """Who the bearer token belongs to (the pages show it and pick the start page by role)."""
    actor = current_actor()
    return {
        "id": actor.id,
        "role": actor.role,
        "region": actor.region,
        "uscc": actor.uscc,
        "display_name": actor.display_name or actor.id,
    }


@bp.get("/regions")
def regions() -> dict[str, str]:
    """Region codes and names (the 11 cities and 赣江新区), for the pages' filters; no login."""
    return engine_context().settings.region_names()


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@bp.get("/demo-users")
def demo_users() -> dict[str, Any]:
    """Demo users and their tokens, only in demo mode: TIDU_DEMO_SIGN_IN=1, a request from this
    machine (loopback), and the token file `tidu demo` wrote."""
    path = Path(current_app.config.get(DEMO_TOKENS_KEY) or "var/demo-tokens.json")
    enabled = current_app.config.get(DEMO_SIGN_IN_KEY, os.environ.get(DEMO_SIGN_IN_KEY) == "1")
    if not enabled or not _loopback(request.remote_addr) or not path.is_file():
        return {"demo": False, "users": []}
    try:
        tokens = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"demo": False, "users": []}
    found = []
    for token in tokens.values() if isinstance(tokens, dict) else ():
        try:
            actor = users.actor_for_token(engine_context(), str(token))
        except Unauthorized:  # a token file from another database
            continue
        found.append(
            {
                "id": actor.id,
                "role": actor.role,
                "display_name": actor.display_name or actor.id,
                "token": token,
            }
        )
    return {"demo": bool(found), "users": found}


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(vendor_bp)
