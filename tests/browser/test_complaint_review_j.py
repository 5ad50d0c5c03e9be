"""A complaint's task pages in the browser: the handling city reads the allegation and who filed
it; the enterprise reads the allegation, never the complainant (第十三条)."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.api.test_complaint_review_j import filed
from tests.processes.test_complaint import PERSON

pytestmark = pytest.mark.browser


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["public"] = f.user(ctx, client, role="public", user_id="zhangsan")
    return cast


def test_the_city_reads_the_allegation_and_the_complainant_the_enterprise_only_the_allegation(  # type: ignore[no-untyped-def]
    ctx, clock, people, open_browser
) -> None:
    case_id, _ = filed(ctx, people)
    city = people["city"]
    page = open_browser(city.token).page
    page.goto(f"/ui/tasks/{city.task('city_accept', case_id)['id']}")
    page.wait_for_selector("#case-figures tr[data-name=content]")
    shown = page.inner_text("#case-figures")
    assert "投诉内容" in shown
    assert "研发人员数量不实" in shown
    assert PERSON["contact"] in page.inner_text("#case-figures tr[data-name=complainant] >> nth=2")

    city.complete("city_accept", {"decision": "accept", "reason": "受理"}, case_id)
    ent = people["ent"]
    page = open_browser(ent.token).page
    page.goto(f"/ui/tasks/{ent.task('enterprise_answer', case_id)['id']}")
    page.wait_for_selector("#case-figures tr[data-name=content]")
    shown = page.inner_text("#case")
    assert "研发人员数量不实" in shown
    assert PERSON["name"] not in shown
    assert PERSON["contact"] not in shown
    assert page.locator("#case-figures tr[data-name=complainant]").count() == 0
