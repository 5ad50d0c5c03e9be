"""Qualification lifecycle rules (第九条、第十条、第十二条、第二十条).

Each ``lifecycle.*`` operator describes one change of a qualification (record kind
``qualification_change``); the engine applies it to the registry and records who, why and when.
``legacy.check_row`` validates one row of a legacy import file (第二十条).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from engine.registry import RuleSet, operator
from handlers import region as regions
from handlers.qualification import TIERS, expires_on
from handlers.uscc import division_code, is_valid_uscc

RULE_VERSION = "2023-jx"
EXPIRY_REASONS = {
    "renewal_ineligible": "有效期届满，已取消复核资格（第十条），资格到期失效",
    "not_renewed": "有效期届满，未在复核期限内完成复核，资格到期失效（第九条）",
    "renewal_rejected": "复核未通过，资格于有效期届满时失效（第九条）",
    "renewal_withdrawn": "有效期届满，复核资格已被取消（第十一条），资格到期失效",
}
# 第二十条: qualifications certified before these rules took effect (第二十一条: 2023-06-20)
LEGACY_BEFORE = date(2023, 6, 20)
LEGACY_TIERS = ("specialized", "little_giant")  # 第二十条 names 专精特新 and 小巨人 only
LEGACY_YEARS = 3  # 有效期最长不超过3年
TIER_NAMES = {label: tier for tier, (label, _) in TIERS.items()} | {
    "专精特新中小企业": "specialized",
    "专精特新“小巨人”企业": "little_giant",
    "小巨人": "little_giant",
}


def _change(number: str, reason: str, basis: str, **fields: Any) -> dict[str, Any]:
    return {"qualification_change": {"number": number, "reason": reason, "basis": basis, **fields}}


@operator("lifecycle.record_update", rule_version=RULE_VERSION, record="qualification_change")
def record_update(*, number: str, updated_on: str, due_on: str, via: str = "") -> dict[str, Any]:
    """Record the enterprise's annual information update (第十条) for this qualification.

    第十条 binds the enterprise: one update a year counts for every qualification it holds, so
    an update made in the case of another of its qualifications (`via`, e.g. "创新型中小企业
    （证书编号 …）") is recorded here too.
    """
    on = date.fromisoformat(updated_on)
    if on > date.fromisoformat(due_on):
        raise ValueError(f"更新日期 {updated_on} 晚于截止日 {due_on}")
    where = f"，在{via.strip()}的年度更新中办理，适用于企业全部有效资格" if via.strip() else ""
    return _change(
        number,
        f"已于 {updated_on} 更新企业信息（截止 {due_on}{where}）",
        "第十条",
        info_updated_on=on.isoformat(),
    )


@operator(
    "lifecycle.lose_renewal_eligibility", rule_version=RULE_VERSION, record="qualification_change"
)
def lose_renewal_eligibility(*, number: str, due_on: str) -> dict[str, Any]:
    """Withdraw renewal eligibility: the annual update was not made by its deadline (第十条)."""
    date.fromisoformat(due_on)
    return _change(
        number,
        f"未在 {due_on} 前更新企业信息，取消复核资格（第十条）",
        "第十条",
        status="renewal_ineligible",
        renewal_eligible=False,
    )


@operator("lifecycle.withdraw_renewal", rule_version=RULE_VERSION, record="qualification_change")
def withdraw_renewal(
    *, number: str, expires_on: str, reason: str = "", by: str = "", basis: str = ""
) -> dict[str, Any]:
    """Withdraw renewal eligibility by decision (第十一条): no renewal, valid until its expiry.

    A renewal already opened is ended as refused; the lifecycle cancels its open tasks.
    """
    date.fromisoformat(expires_on)
    why = reason.strip() or "（取消复核资格消息未注明理由）"
    return _change(
        number,
        f"{why}；不予复核（复核已开启的予以终止），资格有效期至 {expires_on} 届满后失效",
        basis.strip() or "第十一条",
        status="renewal_ineligible",
        renewal_eligible=False,
        by=by.strip() or None,
    )


@operator("lifecycle.extend", rule_version=RULE_VERSION, record="qualification_change")
def extend(*, number: str, expires_on: str, validity_years: int = 3) -> dict[str, Any]:
    """Extend a qualification that passed renewal by `validity_years` from its expiry (第九条)."""
    if validity_years <= 0:
        raise ValueError(f"validity_years must be positive: {validity_years}")
    old = date.fromisoformat(expires_on)
    new = expires_on_after(old, validity_years)
    return _change(
        number,
        f"复核通过，有效期由 {old} 延长至 {new}（第九条）",
        "第九条",
        status="active",
        renewal_eligible=True,
        expires_on=new.isoformat(),
    ) | {"expires_on": new.isoformat()}


@operator("lifecycle.reject_renewal", rule_version=RULE_VERSION, record="qualification_change")
def reject_renewal(*, number: str, expires_on: str, note: str) -> dict[str, Any]:
    """Record at once that a renewal did not pass (第九条): no extension, valid until its expiry.

    `note` says why (the reviewer's reason, the spot check's findings or the conditions the
    automatic check found unmet); the registry shows it from now on, not only at the expiry.
    """
    date.fromisoformat(expires_on)
    why = note.strip() or "复核未通过"
    return _change(
        number,
        f"{why}；不予延长有效期，资格有效期至 {expires_on} 届满后失效（第九条）",
        "第九条",
        renewal_eligible=False,
    )


def expires_on_after(old_expiry: date, years: int) -> date:
    """The new last valid day of a period that starts the day after `old_expiry`."""
    return expires_on(old_expiry + timedelta(days=1), years)


@operator("lifecycle.expire", rule_version=RULE_VERSION, record="qualification_change")
def expire(*, number: str, expires_on: str, why: str, detail: str = "") -> dict[str, Any]:
    """Let a qualification lapse at the end of its validity, naming why it was not extended
    (`detail`: e.g. the condition a renewal failed, 第四条、第十二条)."""
    if why not in EXPIRY_REASONS:
        raise ValueError(f"unknown expiry reason {why!r}: use one of {', '.join(EXPIRY_REASONS)}")
    date.fromisoformat(expires_on)
    reason = f"{EXPIRY_REASONS[why]}（有效期至 {expires_on}）"
    if detail.strip():
        reason += f"：{detail.strip()}"
    return _change(number, reason, "第九条", status="expired")


@operator("lifecycle.renewal_standing", rule_version=RULE_VERSION)
def renewal_standing(*, uscc: str, evaluated_on: str, facts: dict[str, Any]) -> dict[str, Any]:
    """May the qualification be renewed today (第九条)? Not while a 第十二条 ban is in force,
    nor once the enterprise is no longer registered in Jiangxi (第四条, a move out, 第十一条).

    `facts` is what the database says of the enterprise today (the engine passes it), so a ban
    recorded at any time before the renewal opens, or before the extension, counts."""
    ban_until = facts.get("ban_until")
    banned = ban_until is not None and date.fromisoformat(ban_until) > date.fromisoformat(
        evaluated_on
    )
    region = facts.get("region")
    moved_out = region is not None and not str(region).startswith("36")
    failed = []
    if banned:
        failed.append(
            {
                "code": "elig_ban",
                "article": "第十二条",
                "why": f"处于禁止申报期（{ban_until} 前不得申报，第十二条）"
                + (f"：{facts['ban_reason']}" if facts.get("ban_reason") else ""),
            }
        )
    if moved_out:
        failed.append(
            {
                "code": "elig_jiangxi",
                "article": "第四条",
                "why": "已不在江西省内注册（第四条；迁出江西省，第十一条）",
            }
        )
    return {
        "ok": not failed,
        "banned": banned,
        "ban_until": ban_until if banned else None,
        "failed": failed,
        "why": "；".join(f["why"] for f in failed),
    }


@operator("lifecycle.revoke", rule_version=RULE_VERSION, record="qualification_change")
def revoke(*, number: str, reason: str = "", by: str = "", basis: str = "") -> dict[str, Any]:
    """Revoke a qualification (第十一条、第十二条、第十三条) with the sender's reason."""
    return _change(
        number,
        reason.strip() or "（撤销消息未注明理由）",
        basis.strip() or "第十二条",
        status="revoked",
        renewal_eligible=False,
        by=by.strip() or None,
    )


# -- 第二十条 legacy import: one row ---------------------------------------------------------


def _date(value: str, errors: list[dict[str, str]], column: str) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors.append({"column": column, "message": f"日期格式应为 YYYY-MM-DD：{value!r}"})
        return None


def _region(
    uscc: str, given: str, errors: list[dict[str, str]], rules: RuleSet | None
) -> str | None:
    district = division_code(uscc) or ""
    found = regions.of_uscc(uscc=uscc, overrides={district: given} if given else None, rules=rules)
    if found["region"] is None:
        errors.append(
            {"column": "region", "message": f"地区无法确定或不在江西省受理地区内：{found['basis']}"}
        )
    return found["region"]


def _check_dates(
    certified: date, expiry_text: str, today: date, errors: list[dict[str, str]]
) -> date | None:
    longest = expires_on(certified, LEGACY_YEARS)
    if certified >= LEGACY_BEFORE:
        errors.append(
            {
                "column": "certified_on",
                "message": f"认定日期 {certified} 不早于 {LEGACY_BEFORE}，不属于第二十条存量资格",
            }
        )
    expiry = _date(expiry_text, errors, "expires_on") if expiry_text.strip() else longest
    if expiry is None:
        return None
    if expiry < certified or expiry > longest:
        errors.append(
            {
                "column": "expires_on",
                "message": f"有效期至 {expiry} 应在认定日期之后且不超过 {longest}（最长3年）",
            }
        )
    elif expiry < today:
        errors.append(
            {"column": "expires_on", "message": f"资格已于 {expiry} 到期失效（第二十条），无需导入"}
        )
    return expiry


@operator("legacy.check_row", rule_version=RULE_VERSION)
def check_row(*, row: dict[str, str], today: str, rules: RuleSet | None = None) -> dict[str, Any]:
    """Validate one legacy qualification (第二十条): normalized, or every problem found."""
    errors: list[dict[str, str]] = []
    value = {
        k: (row.get(k) or "").strip()
        for k in (
            "number",
            "tier",
            "uscc",
            "enterprise_name",
            "certified_on",
            "expires_on",
            "region",
        )
    }
    for column in ("number", "tier", "uscc", "enterprise_name", "certified_on"):
        if not value[column]:
            errors.append({"column": column, "message": "必填"})
    tier = TIER_NAMES.get(value["tier"], value["tier"])
    if value["tier"] and tier not in LEGACY_TIERS:
        errors.append(
            {
                "column": "tier",
                "message": f"梯度 {value['tier']!r} 不适用第二十条（仅专精特新中小企业、"
                "专精特新“小巨人”企业）",
            }
        )
    uscc = value["uscc"].upper()
    if value["uscc"] and not is_valid_uscc(uscc):
        errors.append(
            {"column": "uscc", "message": f"统一社会信用代码 {value['uscc']!r} 格式或校验位错误"}
        )
    region = _region(uscc, value["region"], errors, rules) if is_valid_uscc(uscc) else None
    certified = (
        _date(value["certified_on"], errors, "certified_on") if value["certified_on"] else None
    )
    expiry = (
        _check_dates(certified, value["expires_on"], date.fromisoformat(today), errors)
        if certified
        else None
    )
    if len(value["number"]) > 100 or len(value["enterprise_name"]) > 200:
        errors.append({"column": "number", "message": "证书编号或企业名称过长"})
    if errors:
        return {"valid": False, "errors": errors}
    return {
        "valid": True,
        "errors": [],
        "qualification": {
            "number": value["number"],
            "tier": tier,
            "uscc": uscc,
            "enterprise_name": value["enterprise_name"],
            "region": region,
            "issued_on": certified.isoformat(),
            "expires_on": expiry.isoformat(),
        },
    }
