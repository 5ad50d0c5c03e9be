"""The sign-in page: where each role lands, the pages it is shown, and the site icon."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests import factories as f

pytestmark = pytest.mark.browser

# the pages each role works with, in the menu's order (tests/browser/test_nav.py), the first
# where it lands on sign-in
PAGES = {
    "ent": ["待办", "申报自测", "申报批次"],
    "city": ["待办", "申报自测", "申报批次", "资质管理", "投诉"],
    "province": [
        "待办",
        "流程设计",
        "申报自测",
        "申报批次",
        "资质管理",
        "投诉",
        "异常处理",
        "审计",
    ],
    "miit": ["待办", "申报批次", "资质管理"],
    "owner": ["流程设计", "异常处理"],
    "auditor": ["审计", "流程设计", "申报批次", "资质管理", "异常处理"],
    "public": ["投诉"],
}
LANDING = {
    "ent": "/ui/inbox",
    "city": "/ui/inbox",
    "province": "/ui/inbox",
    "miit": "/ui/inbox",
    "owner": "/ui/design",
    "auditor": "/ui/audit",
    "public": "/ui/complaints",
}


@pytest.fixture
def everyone(ctx, client, people) -> dict[str, f.Api]:  # type: ignore[no-untyped-def]
    return people | {
        "miit": f.user(ctx, client, role="miit", user_id="miit"),
        "public": f.user(ctx, client, role="public", user_id="public"),
    }


def test_each_role_lands_on_its_first_page_after_signing_in(everyone, open_browser) -> None:  # type: ignore[no-untyped-def]
    for who, landing in LANDING.items():
        page = open_browser().page
        page.goto("/ui/")
        page.fill("#token", everyone[who].token)
        page.click("#token-form button[type=submit]")
        page.wait_for_url(lambda url: urlsplit(url).path != "/ui/")
        assert urlsplit(page.url).path == landing, who


def test_the_signed_in_card_shows_only_the_pages_of_the_role(everyone, open_browser) -> None:  # type: ignore[no-untyped-def]
    for who, pages in PAGES.items():
        tab = open_browser(everyone[who].token)
        tab.page.goto("/ui/")
        tab.page.wait_for_selector("#signed-in:not([hidden])")
        links = tab.page.locator("#signed-in a")
        assert links.all_inner_texts() == [*pages, "资质公开查询"], who
        assert links.first.get_attribute("href") == LANDING[who], who
    tab.shot("home-signed-in-public")


def test_pages_load_without_console_errors_and_have_a_site_icon(people, open_browser) -> None:  # type: ignore[no-untyped-def]
    tab = open_browser(people["province"].token)
    page = tab.page
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text().lstrip().startswith("<svg")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    for path in ("/ui/", "/ui/public"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert failed == []
    assert errors == []
