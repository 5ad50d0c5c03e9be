"""Deploying BPMN/DMN/form file sets: problems named, versions numbered, running cases stay put."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from engine import definitions
from engine.context import Actor, EngineContext
from engine.errors import InvalidDefinition
from tests import factories as f

P1 = f.P1_BPMN
OWNER = Actor(id="owner", role="process_owner")
CITY_REJECT = (
    'rejected_by_city">\n      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
)

# case: ({file: (old, new)}, dropped files, element id named, text on the line named)
BROKEN: dict[str, tuple[dict[str, tuple[str, str]], tuple[str, ...], str | None, str]] = {
    "xml-not-well-formed": (
        {P1: ('id="city_review" name="市级初审"', 'id="city_review" name="市级&初审"')},
        (),
        None,
        'name="市级&初审"',
    ),
    "unknown-operator": (
        {
            P1: (
                'id="sampling.draw" resultVariable="city_spot_check_draw"',
                'id="sampling.lottery" resultVariable="city_spot_check_draw"',
            )
        },
        (),
        "city_draw",
        '<bpmn:serviceTask id="city_draw"',
    ),
    "condition-syntax-error": (
        {P1: (f"{CITY_REJECT}decision ==", f"{CITY_REJECT}decision ===")},
        (),
        "flow_city_reject",  # the flow whose condition it is, at the condition's line
        "decision ===",
    ),
    "unknown-lane": (
        {P1: ('<bpmn:lane id="city" name', '<bpmn:lane id="reviewers" name')},
        (),
        "reviewers",
        '<bpmn:lane id="reviewers"',
    ),
    "unquoted-iso-boundary-timer": (
        {
            P1: (
                ">application_deadline_at</bpmn:timeDate>",
                ">2025-10-01T00:00:00+08:00</bpmn:timeDate>",
            )
        },
        (),
        "application_window_closed",
        ">2025-10-01T00:00:00+08:00<",
    ),
    "unquoted-iso-timer-after-event-gateway": (
        {P1: ('>city_notice["ends_at"]</bpmn:timeDate>', ">P5D</bpmn:timeDate>")},
        (),
        "city_notice_ended",
        ">P5D<",
    ),
    "flow-to-a-missing-element": (
        {
            P1: (
                'sourceRef="city_notice_ended" targetRef="city_report"/>',
                'sourceRef="city_notice_ended" targetRef="no_such_element"/>',
            )
        },
        (),
        "flow_city_notice_ended",
        'targetRef="no_such_element"',
    ),
    "missing-form-file": (
        {},
        ("forms/report.schema.json",),
        "city_report",
        '<bpmn:userTask id="city_report"',
    ),
}


def line_of(text: str, needle: str) -> int:
    """1-based line of the only occurrence of `needle`."""
    assert text.count(needle) == 1, needle
    return text[: text.index(needle)].count("\n") + 1


def broken_files(case: str) -> tuple[dict[str, str], str | None, int]:
    edits, drop, element_id, needle = BROKEN[case]
    files = f.process_files(edits, drop=drop)
    return files, element_id, line_of(files[P1], needle)


def names_it(errors: list[dict[str, Any]], element_id: str | None, line: int) -> bool:
    return any(
        e["file"] == P1 and e["element_id"] == element_id and e["line"] == line and e["message"]
        for e in errors
    )


@pytest.mark.parametrize("case", list(BROKEN))
def test_deploy_rejects_a_broken_definition_naming_element_file_and_line(
    ctx: EngineContext, case: str
) -> None:
    files, element_id, line = broken_files(case)
    with pytest.raises(InvalidDefinition) as raised:
        definitions.deploy(ctx, files=files, actor=OWNER)
    assert names_it(raised.value.errors, element_id, line), raised.value.errors
    with ctx.transaction() as session:
        assert definitions.list_definitions(session) == []


@pytest.mark.parametrize("case", list(BROKEN))
def test_deploy_api_answers_422_problem_with_the_errors(
    ctx: EngineContext, client: FlaskClient, case: str
) -> None:
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    files, element_id, line = broken_files(case)
    response = f.post_files(owner, "/api/v1/definitions", files)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("/invalid-definition")
    assert names_it(response.json["errors"], element_id, line), response.json
    assert owner.get("/api/v1/definitions").json == []


def test_validate_endpoint_returns_problems_without_deploying(
    ctx: EngineContext, client: FlaskClient
) -> None:
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    files, element_id, line = broken_files("unknown-operator")
    response = f.post_files(owner, "/api/v1/definitions/validate", files)
    assert response.status_code == 200
    assert response.json["valid"] is False
    assert names_it(response.json["errors"], element_id, line)
    valid = f.post_files(owner, "/api/v1/definitions/validate", f.process_files()).json
    assert valid == {
        "valid": True,
        "processes": ["innovative_evaluation"],
        "errors": [],
        "warnings": [],
    }
    assert owner.get("/api/v1/definitions").json == []


def test_deploy_api_requires_process_owner_or_province(
    ctx: EngineContext, client: FlaskClient
) -> None:
    city = f.user(ctx, client, role="city", user_id="city-nc", region="360100")
    response = f.post_files(city, "/api/v1/definitions", f.process_files())
    assert response.status_code == 403
    assert response.json["type"].endswith("/forbidden")


def test_redeploying_identical_content_keeps_version_and_id(
    ctx: EngineContext, client: FlaskClient
) -> None:
    [first] = definitions.deploy(ctx, files=f.process_files(), actor=OWNER)
    [again] = definitions.deploy(ctx, files=f.process_files(), actor=OWNER)
    assert (again.id, again.version, again.checksum) == (first.id, 1, first.checksum)
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    response = f.post_files(owner, "/api/v1/definitions", f.process_files())
    assert response.status_code == 201
    assert [(d["id"], d["version"]) for d in response.json] == [(first.id, 1)]


def test_changing_one_dmn_cell_deploys_version_2(ctx: EngineContext) -> None:
    definitions.deploy(ctx, files=f.process_files(), actor=OWNER)
    cell = '<outputEntry id="inn_ip_1_o0"><text>'
    edited = f.process_files({"rules/innovative_score.dmn": (f"{cell}20<", f"{cell}18<")})
    assert [d.version for d in definitions.deploy(ctx, files=edited, actor=OWNER)] == [2]
    with ctx.transaction() as session:
        rows = definitions.list_definitions(session)
    assert [r["version"] for r in rows] == [1, 2]
    assert rows[0]["checksum"] != rows[1]["checksum"]


def test_running_instance_keeps_its_version_after_a_new_deployment(
    p1: f.People, p1_round: int
) -> None:
    city, old = p1["city"], f.apply(p1["ent"], p1_round)
    name = 'name="创新型中小企业评价" isExecutable="true"'
    renamed = f.process_files({P1: (name, name.replace("评价", "评价（修订）"))})
    deployed = f.post_files(p1["owner"], "/api/v1/definitions", renamed)
    assert deployed.status_code == 201, deployed.json
    assert [(d["version"], d["name"]) for d in deployed.json] == [(2, "创新型中小企业评价（修订）")]

    assert city.get(f"/api/v1/instances/{old}").json["definition_version"] == 1
    task = city.task("city_review", old)
    assert city.get(f"/api/v1/tasks/{task['id']}").json["version"] == 1
    assert city.complete("city_review", {"decision": "approve"}, old)["definition_version"] == 1
    new = f.apply(p1["ent2"], p1_round)
    assert city.get(f"/api/v1/instances/{new}").json["definition_version"] == 2

    listed = [
        d
        for d in p1["owner"].get("/api/v1/definitions").json
        if d["process_key"] == "innovative_evaluation"
    ]
    assert [(d["version"], d["running_instances"]) for d in listed] == [(1, 1), (2, 1)]


def test_definition_xml_is_served_per_version(p1: f.People) -> None:
    response = p1["owner"].get("/api/v1/definitions/innovative_evaluation/1/xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.get_data(as_text=True) == f.process_files()[P1]
    missing = p1["owner"].get("/api/v1/definitions/innovative_evaluation/2/xml")
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
