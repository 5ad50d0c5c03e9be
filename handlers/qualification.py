"""Issuing qualifications (第九条: valid 3 years from the announcement/certification date)."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

from engine.registry import operator

TIERS = {  # tier -> (label, number prefix)
    "innovative": ("创新型中小企业", "JX-CX"),
    "specialized": ("专精特新中小企业", "JX-ZJTX"),
    "little_giant": ("专精特新“小巨人”企业", "JX-XJR"),
}


def anniversary(day: date, years: int) -> date:
    """Return the same calendar day `years` later (29 February -> 1 March)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def expires_on(issued: date, years: int) -> date:
    """Return the last valid day: the day before the `years`-th anniversary."""
    return anniversary(issued, years) - timedelta(days=1)


NUMBER_HEX = 12  # 48 bits: two of 500,000 numbers of one tier and year collide with p < 0.05 %


def number(tier: str, uscc: str, issued_on: str, case_ref: str) -> str:
    """Return the deterministic certificate number, e.g. JX-CX-2027-3F9A1C0B52D4.

    (Eight hex digits, as before 2026-11-28, collided about once in 100 rounds of 10,000
    certificates; the record writer refuses a number another case holds.)"""
    digest = hashlib.sha256(f"{tier}|{uscc}|{issued_on}|{case_ref}".encode()).hexdigest()
    return f"{TIERS[tier][1]}-{issued_on[:4]}-{digest[:NUMBER_HEX].upper()}"


@operator("qualification.issue", record="qualification")
def issue(
    *,
    tier: str,
    uscc: str,
    enterprise_name: str,
    issued_on: str,
    validity_years: int = 3,
    case_ref: str,
) -> dict[str, Any]:
    """Issue a qualification of `tier`, valid through the day before the anniversary."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier: {tier}")
    if validity_years <= 0:
        raise ValueError(f"validity_years must be positive: {validity_years}")
    issued = date.fromisoformat(issued_on)
    return {
        "qualification": {
            "tier": tier,
            "tier_label": TIERS[tier][0],
            "uscc": uscc,
            "enterprise_name": enterprise_name,
            "issued_on": issued.isoformat(),
            "expires_on": expires_on(issued, validity_years).isoformat(),
            "number": number(tier, uscc, issued.isoformat(), case_ref),
            "case_ref": case_ref,
            "status": "active",
        }
    }
