"""第十二条 bans and 第十一条 / 第十三条 consequences: the ``ban.*``, ``enterprise.*``,
``major_change.*`` and ``complaint.*`` operators (pure: dates are inputs)."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from engine.registry import case_check, operator, script_function
from handlers.qualification import anniversary

RULE_VERSION = "2023-jx"
CHINA = timezone(timedelta(hours=8))
MIN_BAN_YEARS = 3  # 第十二条: 三年内不得申请
INCIDENTS = {
    "safety_accident": "发生重大安全（含网络安全、数据安全）事故",
    "quality_accident": "发生重大质量事故",
    "environmental_accident": "发生重大环境污染事故",
    "serious_dishonesty": "存在严重失信行为",
    "tax_evasion": "存在偷税漏税等违法违规行为",
    "data_fraud": "存在数据造假等弄虚作假行为",
}
CHANGES = {
    "rename": "更名",
    "merger": "合并",
    "restructuring": "重组",
    "relocation": "跨地区迁移",
    "overseas_branch": "设立境外分支机构",
}
OUTCOMES = ("dismissed", "rectification", "revocation")
SEVERITIES = ("minor", "serious")


@operator("ban.record", rule_version=RULE_VERSION, record="ban")
def record_ban(
    *,
    uscc: str,
    incident_type: str,
    description: str,
    starts_on: str,
    years: int,
    basis: str = "第十二条",
) -> dict[str, Any]:
    """Describe the re-application ban after an Article 12 incident (at least 3 years)."""
    if incident_type not in INCIDENTS:
        raise ValueError(
            f"unknown incident type {incident_type!r}: use one of {', '.join(INCIDENTS)}"
        )
    if int(years) < MIN_BAN_YEARS:
        raise ValueError(f"第十二条：禁止申请期不得少于{MIN_BAN_YEARS}年（设置为 {years} 年）")
    start = date.fromisoformat(starts_on)
    ends = anniversary(start, int(years))  # first day on which an application is allowed again
    reason = f"{INCIDENTS[incident_type]}：{description.strip()}"
    ban = {
        "uscc": uscc,
        "starts_on": start.isoformat(),
        "ends_on": ends.isoformat(),
        "reason": reason,
        "basis": basis,
    }
    return {
        "ban": ban,
        "ban_reason": reason,
        "ban_ends_on": ends.isoformat(),
        "revocation_reason": f"{reason}，撤销全部资格，{ends.isoformat()} 前不得申请（{basis}）",
    }


@operator("enterprise.reassign_region", rule_version=RULE_VERSION, record="region_reassignment")
def reassign_region(*, uscc: str, to_region: str, reason: str) -> dict[str, Any]:
    """Move responsibility for an enterprise to another Jiangxi region (第十一条 跨地区迁移)."""
    if not (len(to_region) == 6 and to_region.isdigit() and to_region.startswith("36")):
        raise ValueError(f"迁入地区代码 {to_region!r} 不是江西省内的地区代码")
    return {"region_reassignment": {"uscc": uscc, "to_region": to_region, "reason": reason}}


@operator("enterprise.move_out", rule_version=RULE_VERSION, record="region_move_out")
def move_out(*, uscc: str, reason: str) -> dict[str, Any]:
    """Register an enterprise as moved out of Jiangxi (第十一条): 第四条 (在江西省内注册) refuses
    it from now on. Its running cases, tasks and qualifications stay with the city that had them."""
    return {"region_move_out": {"uscc": uscc, "reason": reason}}


@operator("qualification.withdraw_renewal", rule_version=RULE_VERSION, record="renewal_withdrawal")
def withdraw_renewal(*, uscc: str, reason: str, basis: str = "第十一条") -> dict[str, Any]:
    """Withdraw the renewal eligibility of every valid qualification of an enterprise.

    Kept for major_change cases running on versions deployed before per-tier decisions; current
    diagrams send `withdraw_renewal` to each concerned lifecycle instead.
    """
    return {"renewal_withdrawal": {"uscc": uscc, "reason": reason, "basis": basis}}


@operator("complaint.resolve_outcome", rule_version=RULE_VERSION)
def resolve_outcome(
    *, answered: bool, fraud_confirmed: bool, decision: str, severity: str
) -> dict[str, Any]:
    """第十三条: the outcome of a complaint; no answer in time or fraud → by severity."""
    if decision not in OUTCOMES:
        raise ValueError(f"unknown decision {decision!r}: use one of {', '.join(OUTCOMES)}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}: use one of {', '.join(SEVERITIES)}")
    if answered and not fraud_confirmed:
        return {"outcome": decision, "why": "按主管部门决定"}
    why = "企业未在期限内答复" if not answered else "经核实存在弄虚作假"
    outcome = "revocation" if severity == "serious" else "rectification"
    return {
        "outcome": outcome,
        "why": f"{why}，按情节{'严重' if severity == 'serious' else '较轻'}处理",
    }


FORCED = {"minor": "rectification", "serious": "revocation"}
FORCED_LABELS = {"rectification": "限期整改", "revocation": "撤销资格"}


@case_check
def complaint_decision_allowed(data: Mapping[str, Any], case: Mapping[str, Any]) -> dict[str, Any]:
    """第十三条: when the enterprise did not answer in time, or fraud is confirmed, the authority
    may only require rectification (情节较轻) or revoke (情节严重): a decision that
    complaint.resolve_outcome would override is refused, so the decider knows before submitting."""
    if "complainant_ref" not in case or "answered" not in case or "decision" not in data:
        return {}  # not a complaint's decision
    answered, fraud = bool(case.get("answered")), bool(data.get("fraud_confirmed"))
    severity = data.get("severity")
    if (answered and not fraud) or severity not in FORCED or data["decision"] == FORCED[severity]:
        return {}
    why = "企业未在期限内答复" if not answered else "已查实弄虚作假"
    due = FORCED_LABELS[FORCED[severity]]
    if data["decision"] == "dismissed":
        message = f"{why}：按第十三条应视情节要求整改或撤销，不能作出投诉不成立的决定"
    else:
        message = f"{why}：按第十三条情节{'严重' if severity == 'serious' else '较轻'}的应选择{due}"
    return {"decision": [f"{message}（情节较轻的限期整改，严重的撤销资格）"]}


@operator("complaint.notify_complainant", rule_version=RULE_VERSION, record="complaint_outcome")
def notify_complainant(*, outcome: str, title: str, body: str) -> dict[str, Any]:
    """Describe the outcome notice to the complainant (the engine knows who filed it)."""
    return {"complaint_outcome": {"outcome": outcome, "title": title, "body": body}}


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@script_function("months_after_end")
def months_after_end(start_on: str, months: int) -> str:
    """Return the instant (24:00 China time) the day `months` months after `start_on` ends."""
    due = _add_months(date.fromisoformat(start_on[:10]), int(months))
    return datetime.combine(due + timedelta(days=1), time(0), tzinfo=CHINA).isoformat()


@script_function("is_after")
def is_after(moment: str, deadline: str) -> bool:
    """Whether ISO instant `moment` is later than `deadline`."""
    return datetime.fromisoformat(moment) > datetime.fromisoformat(deadline)
