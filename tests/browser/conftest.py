"""Browser tests: a real server (werkzeug, in a thread, over the test app and database) driven by
Debian's Chromium through Playwright. Screenshots of each page go to artifacts/screenshots/."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests import factories as f

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="pip install -e '.[dev]' (playwright)"
)

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("TIDU_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
REGION = "360100"
VIEWPORT = {"width": 1400, "height": 1000}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} missing: run `make browser-deps` (apt-get install chromium)")
    with playwright_sync.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def server(app, tmp_path: Path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve the test app (same database and simulated clock as the test) on a free port."""
    app.config["TIDU_DEMO_TOKENS"] = str(tmp_path / "demo-tokens.json")
    app.config["TIDU_DEMO_SIGN_IN"] = True  # as `make run` has it
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


class Browser:
    """One signed-in browser tab; `shot` saves a screenshot artifact."""

    def __init__(self, browser: Any, base: str, token: str | None, downloads: Path) -> None:
        self.context = browser.new_context(
            base_url=base,
            viewport=VIEWPORT,
            accept_downloads=True,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        self.context.set_default_timeout(20_000)
        if token:
            script = f"sessionStorage.setItem('tidu.token', {json.dumps(token)})"
            self.context.add_init_script(script)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.downloads = downloads

    def shot(self, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        # a full-page shot resizes the viewport for a moment: restore it before the next click
        self.page.set_viewport_size(VIEWPORT)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_browser(browser, server: str, tmp_path: Path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    opened: list[Browser] = []

    def make(token: str | None = None) -> Browser:
        tab = Browser(browser, server, token, tmp_path)
        opened.append(tab)
        return tab

    yield make
    for tab in opened:
        tab.close()
    for tab in opened:
        assert tab.errors == [], f"JavaScript errors: {tab.errors}"


@pytest.fixture
def people(ctx, client) -> dict[str, f.Api]:  # type: ignore[no-untyped-def]
    f.deploy_processes(ctx)
    return {
        "ent": f.enterprise(ctx, client, 1, region=REGION, name="洪城精密机械有限公司"),
        "city": f.user(ctx, client, role="city", user_id="city-360100", region=REGION),
        "province": f.user(ctx, client, role="province", user_id="province"),
        "owner": f.user(ctx, client, role="process_owner", user_id="owner"),
        "auditor": f.user(ctx, client, role="auditor", user_id="auditor"),
    }


def fill_self_evaluation(page, data) -> None:  # type: ignore[no-untyped-def]
    """Type a self-evaluation's figures into the generated form (evidence is uploaded apart)."""
    for name, value in data.items():
        if isinstance(value, bool):
            page.set_checked(f"#f-{name}", value)
        elif name in ("industry", "ip_class"):
            page.select_option(f"#f-{name}", f'"{value}"')
        elif name != "evidence":
            page.fill(f"#f-{name}", str(value))
