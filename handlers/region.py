"""The region (设区市 or 赣江新区) responsible for an enterprise, from its USCC."""

from __future__ import annotations

from typing import Any

from engine.registry import RuleSet, operator
from handlers import rules as rule_tables
from handlers.uscc import division_code

FILE = "rules/regions.dmn"
CATALOG = rule_tables.require(FILE, "region_catalog", inputs=("region",), outputs=("label",))
OVERRIDES = rule_tables.require(FILE, "region_overrides", inputs=("district",), outputs=("region",))


def _label(version: rule_tables.RuleSetVersion, region: str | None) -> str | None:
    match = version.table(CATALOG).first(region=region) if region else None
    return match["label"] if match else None


@operator("region.of_uscc")
def of_uscc(
    *,
    uscc: str,
    overrides: dict[str, str] | None = None,
    reference_on: str | None = None,
    rules: RuleSet | None = None,
) -> dict[str, Any]:
    """Map a USCC's division code (characters 3-8) to its region; None outside Jiangxi.

    Order: the `overrides` argument (district -> region), then the region_overrides table,
    then the city (first four digits + "00") if it is in the region catalog.
    """
    rules = rules if rules is not None else rule_tables.load_ruleset()
    version = rule_tables.in_force(rules, FILE, reference_on)
    district = division_code(uscc)
    region: str | None = None
    basis = "统一社会信用代码第3-8位无效"
    if district is not None:
        override = (overrides or {}).get(district)
        table_match = version.table(OVERRIDES).first(district=district)
        if override:
            region, basis = override, f"区县代码 {district} 按参数改划"
        elif table_match is not None:
            region, basis = (
                table_match["region"],
                f"区县代码 {district} 按改划表（{table_match.rule_id}）",
            )
        else:
            region, basis = district[:4] + "00", f"区县代码 {district} 归属设区市"
    label = _label(version, region)
    if label is None:
        region, basis = None, f"{basis}；不在江西省受理地区目录内"
    return {
        "region": region,
        "region_label": label,
        "division_code": district,
        "basis": basis,
        "ruleset": version.info(),
        "rule_version": rule_tables.rule_version(rules),
    }
