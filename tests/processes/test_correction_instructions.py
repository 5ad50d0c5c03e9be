"""What an enterprise reads when its application comes back for correction (P1): the reason by
its label, not the form's field id; and no shipped diagram shows a field id that way."""

from __future__ import annotations

import re
from datetime import date

from lxml import etree

from tests import factories as f

SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
# a form field id in full-width brackets, as "根据退回理由（reason）" showed it
FIELD_ID = re.compile(r"（[a-z][a-z0-9_]*）")


def test_the_p1_correction_task_names_the_return_reason_by_its_label(ctx, client) -> None:  # type: ignore[no-untyped-def]
    people = f.p1_cast(ctx, client)
    round_ = f.open_round(people["province"], opens_on=date(2025, 9, 1))
    instance_id = f.apply(people["ent"], round_["id"])
    people["city"].complete(
        "city_review",
        {"decision": "return", "reason": "研发费用佐证不全", "correction_days": 7},
        instance_id,
    )
    task = people["ent"].task("correct_application", instance_id)
    instructions = people["ent"].get(f"/api/v1/tasks/{task['id']}").json["instructions"]
    assert "请根据退回理由修改自评表" in instructions
    assert not FIELD_ID.search(instructions), instructions


def test_no_instruction_shows_a_field_id_in_brackets() -> None:
    shown = []
    for path in sorted(f.ROOT_PROCESSES.rglob("*.bpmn")):
        for note in etree.parse(str(path)).iter(f"{SPIFF}instructionsForEndUser"):
            shown += [(path.name, m.group()) for m in FIELD_ID.finditer(note.text or "")]
    assert shown == []
