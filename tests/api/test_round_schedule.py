"""GET /rounds/schedule: the openings processes/rounds.json announces, soonest first."""

from __future__ import annotations

from tests import factories as f


def test_schedule_lists_the_next_two_openings_of_each_procedure(people: f.People) -> None:
    found = people["ent"].get("/api/v1/rounds/schedule").json  # the clock reads 2025-09-01
    assert [(r["opens_on"], r["process_key"]) for r in found] == [
        ("2026-01-01", "innovative_evaluation"),
        ("2026-04-01", "little_giant_recommendation"),
        ("2026-07-01", "innovative_evaluation"),
        ("2026-07-01", "specialized_certification"),
        ("2027-04-01", "little_giant_recommendation"),
        ("2027-07-01", "specialized_certification"),
    ]
    first = found[0]
    assert first["label"] == "2026年第1批创新型中小企业评价"
    assert (first["last_day"], first["window_days"]) == ("2026-01-30", 30)
    assert found[2]["label"] == "2026年第2批创新型中小企业评价"
