"""Application eligibility under 第四条 (and the 第十二条 re-application ban)."""

from __future__ import annotations

from datetime import date
from typing import Any

from engine.registry import RuleSet, operator, rule_validator
from handlers import rules as rule_tables
from handlers.uscc import division_code, is_valid_uscc

FILE = "rules/eligibility.dmn"
DECISION = rule_tables.require(
    FILE, "eligibility_conditions", inputs=("code",), outputs=("name", "article", "enabled")
)
SME_CLASSES = {"medium", "small", "micro"}
# conditions a rule table may not switch off: 第十二条's ban is the regulation's own sanction,
# not a criterion of the standard (its length has a floor in `ban.record` as well)
ALWAYS_CHECKED = {"elig_ban": "第十二条"}


def _in_jiangxi(code: str | None) -> bool:
    return code is not None and code.startswith("36")


def _conditions(
    *,
    uscc: str,
    size_class: str,
    independent_legal_person: bool | None,
    flags: dict[str, bool | None],
    ban_until: str | None,
    evaluated_on: str,
    registered_region: str | None = None,
) -> list[tuple[str, bool, Any]]:
    """Return (code, failed, value) for every condition, in reporting order.

    在江西省内注册: the USCC's division code, and the region the enterprise is registered in
    today when the engine knows it (an enterprise that moved out of Jiangxi, 第十一条, keeps
    its USCC)."""
    region = division_code(uscc)
    moved_out = registered_region is not None and not _in_jiangxi(registered_region)
    banned = ban_until is not None and date.fromisoformat(ban_until) > date.fromisoformat(
        evaluated_on
    )
    return [
        ("elig_uscc_invalid", not is_valid_uscc(uscc), uscc),
        (
            "elig_jiangxi",
            not _in_jiangxi(region) or moved_out,
            registered_region if moved_out else region,
        ),
        ("elig_legal_person", independent_legal_person is not True, independent_legal_person),
        ("elig_sme", size_class not in SME_CLASSES, size_class),
        *((code, value is True, value) for code, value in flags.items()),
        ("elig_ban", banned, ban_until),
    ]


@operator("eligibility.check")
def check(
    *,
    uscc: str,
    size_class: str,
    independent_legal_person: bool | None = None,
    on_abnormal_list: bool | None = None,
    on_serious_dishonesty_list: bool | None = None,
    prohibited_product: bool | None = None,
    major_accident_3y: bool | None = None,
    tax_violation_3y: bool | None = None,
    ban_until: str | None = None,
    evaluated_on: str,
    reference_on: str | None = None,
    rules: RuleSet,
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Check the Article 4 conditions and the Article 12 ban; name every one that fails.

    An unanswered "on a list" declaration counts as "no"; an unanswered legal-person
    declaration fails, because being a legal person must be affirmed. `facts` is what the
    database says of the enterprise today (the engine passes it; the preview does not): its
    registered `region` fails 在江西省内注册 once it moved out of Jiangxi (第十一条), and a
    第十二条 ban it records (`ban_until`) counts as well as the one the case started with.
    """
    # a ban recorded since the case began counts (第十二条): the later of the two is in force
    ban_until = max(
        (b for b in (ban_until, (facts or {}).get("ban_until")) if b is not None), default=None
    )
    flags = {
        "elig_abnormal_list": on_abnormal_list,
        "elig_serious_dishonesty": on_serious_dishonesty_list,
        "elig_prohibited_product": prohibited_product,
        "elig_major_accident": major_accident_3y,
        "elig_tax_violation": tax_violation_3y,
    }
    conditions = _conditions(
        uscc=uscc,
        size_class=size_class,
        independent_legal_person=independent_legal_person,
        flags=flags,
        ban_until=ban_until,
        evaluated_on=evaluated_on,
        registered_region=(facts or {}).get("region"),
    )
    version = rule_tables.in_force(rules, FILE, reference_on)
    table = version.table(DECISION)
    failed, checked = [], []
    for code, is_failed, value in conditions:
        match = table.first(code=code)
        if match is not None and match.outputs.get("enabled") is False:
            continue
        checked.append(code)
        if is_failed:
            name = match.outputs.get("name") if match else code
            article = match.outputs.get("article") if match else None
            failed.append({"code": code, "name": name, "article": article, "value": value})
    return {
        "eligible": not failed,
        "failed": failed,
        "checked": checked,
        "ruleset": version.info(),
        "rule_version": rule_tables.rule_version(rules),
    }


@rule_validator
def statutory_conditions_stay_on(rules: RuleSet) -> list[dict[str, Any]]:
    """A deployment may not disable a condition in ALWAYS_CHECKED (its row's `enabled`)."""
    by_standard, _ = rule_tables.versions_by_standard(rules)
    problems = []
    for version in by_standard.get(rule_tables.standard_of(FILE), []):
        table = version.tables.get(DECISION)
        for code, article in ALWAYS_CHECKED.items():
            match = table.first(code=code) if table is not None else None
            if match is not None and match.outputs.get("enabled") is False:
                message = f"{article}规定的条件 {code}（{match.outputs.get('name')}）不能停用"
                problems.append(rule_tables.missing(version.file, match.rule_id, message))
    return problems


@operator("eligibility.standing")
def standing(
    *,
    uscc: str,
    evaluated_on: str,
    prerequisite: dict[str, Any] | None = None,
    facts: dict[str, Any],
) -> dict[str, Any]:
    """Right before a certification (第七、八、十二条): may the enterprise still be certified?

    `facts` is what the database says today (the engine passes it): a 第十二条 ban recorded
    since the application bars it, and so does the loss of the prerequisite it applied with (a
    revocation, not only the expiry the case already knows)."""
    ban_until = facts.get("ban_until")
    banned = ban_until is not None and date.fromisoformat(ban_until) > date.fromisoformat(
        evaluated_on
    )
    held = facts.get("held_qualifications") or {}
    prerequisite_held = prerequisite is None or prerequisite["tier"] in held
    why = []
    if banned:
        why.append(
            f"处于禁止申报期（{ban_until} 前不得申报，第十二条）：{facts.get('ban_reason') or ''}"
        )
    if not prerequisite_held:
        why.append(f"已不再持有有效的前置资格（证书 {prerequisite['number']}，第七、八条）")
    return {
        "ok": not why,
        "banned": banned,
        "ban_until": ban_until if banned else None,
        "prerequisite_held": prerequisite_held,
        "outcome": "banned" if banned else (None if prerequisite_held else "prerequisite_expired"),
        "why": "；".join(why),
    }
