"""How the pages word an API error (common.js `errorText`): a problem's title and detail in one
line, never saying the same thing twice, and never dropping what only one of them says."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.browser.conftest import REGION

pytestmark = pytest.mark.browser

HEADER = "number,tier,uscc,enterprise_name,certified_on,expires_on,region\n"


def test_a_refused_legacy_file_is_reported_without_repeating_itself(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser, tmp_path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER + f"赣专精〔2022〕0013,specialized,{f.uscc(REGION, 12)},某公司,2024-01-05,,\n"
        f"赣专精〔2022〕0014,specialized,{f.uscc(REGION, 13)},某公司,2024-01-06,,\n",
        encoding="utf-8",
    )  # both certified after 2023-06-20: not legacy
    page = open_browser(people["province"].token).page
    page.goto("/ui/qualifications")
    page.wait_for_selector("body[data-loaded]")
    page.set_input_files("#import-form input[type=file]", str(bad))
    page.click("#import-form button[type=submit]")
    line = page.locator("#import-result p.status.error")
    line.wait_for()
    assert line.inner_text() == "存量资格文件校验未通过：2 行有误，未导入任何记录"


CASES = [
    # (title, detail, shown)
    (
        "存量资格文件校验未通过，未导入任何记录",
        "2 行有误，未导入任何记录",
        "存量资格文件校验未通过：2 行有误，未导入任何记录",
    ),
    ("任务已被他人认领", "任务已由 city-nc 认领", "任务已被他人认领：任务已由 city-nc 认领"),
    ("表单数据校验失败", "表单数据校验失败", "表单数据校验失败"),
    ("资源不存在", "任务不存在", "资源不存在：任务不存在"),
    ("文件过大", "文件过大，上限 20 MB", "文件过大，上限 20 MB"),
    ("投诉不予登记；请补充材料", "请补充材料", "投诉不予登记；请补充材料"),
    ("导入失败；文件为空。", "文件为空；请重新选择", "导入失败：文件为空；请重新选择"),
    ("未登录", None, "未登录"),
    (None, "令牌无效", "令牌无效"),
]


def test_error_text_joins_title_and_detail_once(open_browser) -> None:  # type: ignore[no-untyped-def]
    page = open_browser().page
    page.goto("/ui/")
    shown = page.evaluate(
        """async (cases) => {
          const { ApiError, errorText } = await import('/ui/static/js/common.js');
          return cases.map(([title, detail]) => errorText(new ApiError(400, { title, detail })));
        }""",
        [[title, detail] for title, detail, _ in CASES],
    )
    assert shown == [expected for _, _, expected in CASES]
