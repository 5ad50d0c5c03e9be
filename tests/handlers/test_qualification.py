import re

import pytest

from engine import registry
from handlers.uscc import make_uscc

USCC = make_uscc("91360100MA35A1B2C")


def issue(call, **changes):
    inputs = {
        "tier": "innovative",
        "uscc": USCC,
        "enterprise_name": "江西示例科技有限公司",
        "issued_on": "2027-03-15",
        "validity_years": 3,
        "case_ref": "case-1",
    }
    return call("qualification.issue", **(inputs | changes))["qualification"]


def test_issue_is_recorded_as_a_qualification():
    assert registry.get("qualification.issue").record == "qualification"


def test_qualification_is_valid_through_the_day_before_the_anniversary(call):
    result = issue(call)
    assert result["tier_label"] == "创新型中小企业"
    assert (result["issued_on"], result["expires_on"]) == ("2027-03-15", "2030-03-14")
    assert result["status"] == "active"
    assert re.fullmatch(r"JX-CX-2027-[0-9A-F]{12}", result["number"])  # 48 bits of a hash


def test_leap_day_issue_expires_at_the_end_of_february(call):
    assert issue(call, issued_on="2024-02-29")["expires_on"] == "2027-02-28"


def test_number_is_deterministic_and_case_specific(call):
    assert issue(call)["number"] == issue(call)["number"]
    assert issue(call)["number"] != issue(call, case_ref="case-2")["number"]


@pytest.mark.parametrize(
    ("tier", "label", "prefix"),
    [
        ("specialized", "专精特新中小企业", "JX-ZJTX-"),
        ("little_giant", "专精特新“小巨人”企业", "JX-XJR-"),
    ],
)
def test_other_tiers(call, tier, label, prefix):
    result = issue(call, tier=tier)
    assert result["tier_label"] == label
    assert result["number"].startswith(prefix)


def test_unknown_tier_is_refused(call):
    with pytest.raises(ValueError, match="unknown tier"):
        issue(call, tier="gold")
