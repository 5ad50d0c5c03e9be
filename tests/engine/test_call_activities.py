"""Deploying diagrams that call shared sub-processes (processes/shared/*.bpmn)."""

from __future__ import annotations

from engine import definitions
from tests import factories as f


def shared_set(*bpmn: str) -> dict[str, str]:
    files = definitions.read_directory(f.ROOT_PROCESSES)
    return {n: t for n, t in files.items() if not n.endswith(".bpmn") or n in bpmn}


def test_called_processes_are_deployed_with_their_caller_not_alone(ctx) -> None:
    rows = f.deploy_processes(ctx)
    keys = {r.process_key for r in rows}
    assert {"specialized_certification", "little_giant_recommendation"} <= keys
    assert not any(k.startswith("shared_") for k in keys)
    p2 = next(r for r in rows if r.process_key == "specialized_certification")
    assert {"shared/spot_check.bpmn", "shared/public_notice.bpmn"} <= set(p2.files)
    assert p2.lanes["province_objection_review"] == "province"  # lane of the called diagram
    assert p2.lanes[definitions.REQUIRES_KEY] == "innovative"


def test_a_missing_called_process_is_reported() -> None:
    _, problems = definitions.validate(
        shared_set("specialized_certification.bpmn", "shared/spot_check.bpmn")
    )
    assert any("shared_public_notice" in p["message"] for p in problems), problems


def test_a_call_cycle_is_refused_naming_the_chain() -> None:
    files = shared_set(
        "shared/spot_check.bpmn", "specialized_certification.bpmn", "shared/public_notice.bpmn"
    )
    files["shared/spot_check.bpmn"] = files["shared/spot_check.bpmn"].replace(
        '<bpmn:scriptTask id="spot_skip" name="未抽中">',
        '<bpmn:callActivity id="spot_again" calledElement="shared_spot_check"/>'
        '<bpmn:scriptTask id="spot_skip" name="未抽中">',
    )
    _, problems = definitions.validate(files)
    cycle = [p for p in problems if "循环调用" in p["message"]]
    assert cycle
    assert cycle[0]["element_id"] == "spot_again"
    assert "shared/spot_check.bpmn → shared/spot_check.bpmn" in cycle[0]["message"]
