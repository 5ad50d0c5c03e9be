"""A complaint's task pages show the filing, the identity to those allowed, and its evidence."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.processes.test_complaint import PERSON, REGION, file, register


@pytest.fixture
def people(ctx, client) -> f.People:  # type: ignore[no-untyped-def]
    cast = f.p1_cast(ctx, client)
    cast["public"] = f.user(ctx, client, role="public", user_id="zhangsan")
    return cast


def filed(ctx, people) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    uscc = f.uscc(REGION, 1)
    register(ctx, uscc, "innovative")
    evidence = people["public"].upload(b"%PDF proof", "张三的证据.pdf")["id"]
    response = file(people["public"], uscc, evidence=[evidence], content="张三发现研发人员数量不实")
    assert response.status_code == 201, response.json
    return response.json["id"], evidence


def page(api: f.Api, bpmn_id: str, case_id: str) -> dict:  # type: ignore[type-arg]
    return api.get(f"/api/v1/tasks/{api.task(bpmn_id, case_id)['id']}").json


def test_the_accepting_city_reads_the_filing_and_the_complainant(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    case_id, evidence = filed(ctx, people)
    shown = page(people["city"], "city_accept", case_id)
    props = shown["data_schema"]["properties"]
    assert props["subject"]["title"] == "投诉主题"
    assert props["content"]["title"] == "投诉内容"
    assert props["tier_label"]["title"] == "所涉资格"
    assert props["evidence"]["title"] == "证据材料"
    assert shown["complainant"] == PERSON
    assert evidence in shown["evidence_files"]


def test_the_enterprise_reads_what_was_alleged_and_downloads_the_evidence(
    ctx, clock, people
) -> None:  # type: ignore[no-untyped-def]
    case_id, evidence = filed(ctx, people)
    ent = people["ent"]
    assert ent.get(f"/api/v1/files/{evidence}").status_code == 404  # not yet accepted
    accepted = {"decision": "accept", "reason": "受理", "share_evidence": True}  # the city chose to
    people["city"].complete("city_accept", accepted, case_id)
    shown = page(ent, "enterprise_answer", case_id)
    assert shown["complainant"] is None
    assert shown["data_schema"]["properties"]["content"]["title"] == "投诉内容"
    assert "张三" not in shown["data"]["content"]
    assert evidence in shown["evidence_files"]
    assert "张三" not in shown["evidence_files"][evidence]["filename"]
    download = ent.get(f"/api/v1/files/{evidence}")
    assert download.status_code == 200
    assert "%E5%BC%A0%E4%B8%89" not in download.headers["Content-Disposition"]  # 张三
    assert people["ent2"].get(f"/api/v1/files/{evidence}").status_code == 404
