"""The menu shows each role the pages it works with (others stay reachable by address)."""

from __future__ import annotations

import pytest

from tests import factories as f

pytestmark = pytest.mark.browser

MENU = {
    "ent": ["待办", "申报自测", "申报批次", "资质查询", "接口文档"],
    "city": ["待办", "申报自测", "申报批次", "资质", "投诉", "资质查询", "接口文档"],
    "province": [
        "流程设计",
        "待办",
        "申报自测",
        "申报批次",
        "资质",
        "投诉",
        "异常",
        "审计",
        "资质查询",
        "接口文档",
    ],
    "owner": ["流程设计", "异常", "资质查询", "接口文档"],
    "auditor": ["流程设计", "申报批次", "资质", "异常", "审计", "资质查询", "接口文档"],
}


def _menu(page) -> list[str]:  # type: ignore[no-untyped-def]
    return [a.inner_text() for a in page.locator("#nav a:visible").all()]


def test_each_role_sees_its_pages_in_the_menu(  # type: ignore[no-untyped-def]
    ctx, client, people, open_browser
) -> None:
    for who, expected in MENU.items():
        page = open_browser(people[who].token).page
        page.goto("/ui/public")
        page.wait_for_selector("#who button")
        assert _menu(page) == expected, who
    page = open_browser(people["owner"].token).page  # another role's page, opened by address
    page.goto("/ui/rounds")
    page.wait_for_selector("#who button")
    assert _menu(page) == ["流程设计", "申报批次", "异常", "资质查询", "接口文档"]  # and where I am
    public = f.user(ctx, client, role="public", user_id="zhangsan")
    page = open_browser(public.token).page
    page.goto("/ui/public")
    page.wait_for_selector("#who button")
    assert _menu(page) == ["投诉", "资质查询", "接口文档"]
    anonymous = open_browser().page
    anonymous.goto("/ui/public")
    anonymous.wait_for_selector("body[data-loaded]")
    assert _menu(anonymous) == ["资质查询", "接口文档"]
