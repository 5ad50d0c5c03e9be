"""Who may see and do what: enterprises their own cases, cities their region, province all.

Anything an actor may not see is reported as not found (404), never as forbidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import object_session

from engine.context import Actor
from engine.errors import Forbidden
from engine.store import Complainant, EvidenceFile, HumanTask, Instance, Qualification

STAFF = {"city", "province", "miit"}
READS_CASES_FILES = STAFF | {"enterprise"}  # may read a file for a case that names it
READ_ALL = {"province", "auditor"}
STARTERS = {"enterprise", "province", "system"}
# cases about an enterprise that concern its 小巨人 qualification when it holds one in force
BY_HOLDING = ("major_change", "article12_incident")


# a 小巨人 still in force (also while MIIT decides on its revocation or renewal)
IN_FORCE = ("active", "renewal_ineligible")


def miit_cases() -> ColumnElement[bool]:
    """The cases MIIT reads: the province's 小巨人 cases (MIIT certifies 小巨人 and decides on
    their renewals and revocations) — P3 recommendations, the lifecycles of 小巨人
    qualifications, complaints about a 小巨人 (the tier a complaint concerns), major changes and
    第十二条 incidents of an enterprise holding a 小巨人 in force, the case a revocation request
    MIIT decides came from (`source_case`) — and any case in which MIIT has or had a task.
    A city's complaint about another tier of the same enterprise is not MIIT's."""
    little_giants = select(Qualification.number).where(Qualification.tier == "little_giant")
    holders = select(Qualification.uscc).where(
        Qualification.tier == "little_giant", Qualification.status.in_(IN_FORCE)
    )
    miit_tasks = select(HumanTask.instance_id).where(HumanTask.role == "miit")
    about_little_giant = select(HumanTask.instance_id).where(
        HumanTask.process_key == "complaint",
        HumanTask.data["tier"].as_string() == "little_giant",
    )
    sources = select(HumanTask.data[("revocation", "source_case")].as_string()).where(
        HumanTask.role == "miit"
    )
    return or_(
        Instance.process_key == "little_giant_recommendation",
        and_(
            Instance.process_key == "qualification_lifecycle",
            Instance.business_key.in_(little_giants),
        ),
        and_(Instance.process_key == "complaint", Instance.id.in_(about_little_giant)),
        and_(Instance.process_key.in_(BY_HOLDING), Instance.uscc.in_(holders)),
        Instance.id.in_(sources),
        Instance.id.in_(miit_tasks),
    )


def _miit_sees(row: Any, db: Any) -> bool:
    if row.process_key == "little_giant_recommendation":
        return True
    if db is None and isinstance(row, Instance):
        db = object_session(row)
    if db is None:  # a row read outside a session: only what the row itself shows
        return False
    found = select(Instance.id).where(Instance.id == row.id, miit_cases()).limit(1)
    return db.scalar(found) is not None


def can_see_instance(actor: Actor, row: Any, db: Any = None) -> bool:
    """Whether `actor` may read the case `row` (an Instance or a row with its columns); `db` (a
    session or connection) answers MIIT's question whether it is a 小巨人 case, else the row's
    own session."""
    if actor.role in READ_ALL or actor.role == "system":
        return True
    if actor.role == "miit":
        return _miit_sees(row, db)
    if actor.role == "enterprise":  # a complaint only once it is asked to respond (第十三条)
        return bool(actor.uscc) and row.uscc == actor.uscc and not row.hidden_from_enterprise
    if actor.role == "city":
        return bool(actor.region) and row.region == actor.region
    return False


def can_see_task(actor: Actor, task: HumanTask) -> bool:
    if actor.role in {"auditor", "system"}:
        return True
    if actor.role == "enterprise":
        return task.role == "enterprise" and bool(actor.uscc) and task.uscc == actor.uscc
    if actor.role == "city":
        return task.role == "city" and bool(actor.region) and task.region == actor.region
    if actor.role in {"province", "miit"}:
        return task.role == actor.role
    return False


def can_read_file(actor: Actor, row: EvidenceFile, cases: Iterable[Instance]) -> bool:
    """Who may download an evidence file: its uploader and the enterprise it was uploaded for,
    staff who may see a case that references it (`cases`), auditors."""
    if actor.role in {"auditor", "system"} or row.uploaded_by == actor.id:
        return True
    if actor.role == "enterprise":  # its own, and a complaint's evidence once asked to answer
        return bool(actor.uscc) and (
            row.uscc == actor.uscc or any(_complaint_evidence(actor, row, c) for c in cases)
        )
    if actor.role in STAFF:
        return any(can_see_instance(actor, case) for case in cases)
    return False


def _complaint_evidence(actor: Actor, row: EvidenceFile, case: Instance) -> bool:
    """A file its complainant filed with a complaint about the actor's enterprise that the
    enterprise was asked to answer and the accepting authority chose to show it (第十三条 核实:
    it answers what it is shown)."""
    if case.process_key != "complaint" or case.uscc != actor.uscc or case.hidden_from_enterprise:
        return False
    db = object_session(case) or object_session(row)
    filed_by = db.scalar(select(Complainant.filed_by).where(Complainant.instance_id == case.id))
    if filed_by is None or filed_by != row.uploaded_by:
        return False
    # only when the accepting authority chose to show it (complaint_accept's share_evidence):
    # evidence can itself reveal who complained
    shared = db.scalar(
        select(HumanTask.id)
        .where(
            HumanTask.instance_id == case.id,
            HumanTask.role == "enterprise",
            HumanTask.data["share_evidence"].as_boolean().is_(True),
        )
        .limit(1)
    )
    return shared is not None


def require_work_on(actor: Actor, task: HumanTask) -> None:
    if actor.role == "auditor":
        raise Forbidden("审计人员只能查看，不能办理任务")


# Who may start a case of these procedures through POST /instances; any other procedure (one a
# process owner adds): STARTERS. 第十二条 incidents are the province's; complaints are filed
# through POST /complaints, lifecycles start when a qualification is issued or imported.
START_ROLES = {
    "article12_incident": frozenset({"province"}),
    "complaint": frozenset(),
    "qualification_lifecycle": frozenset(),
}
ANY_STARTER = STARTERS.union(*START_ROLES.values()) - {"system"}
STARTED_ELSEWHERE = {
    "complaint": "投诉请通过投诉登记提交（POST /complaints）",
    "qualification_lifecycle": "资格生命周期在资格颁发或存量导入时自动开始",
}


def require_start(actor: Actor, process_key: str) -> None:
    if actor.role == "system":
        return
    allowed = START_ROLES.get(process_key, STARTERS)
    if actor.role not in allowed:
        raise Forbidden(STARTED_ELSEWHERE.get(process_key) or f"当前角色不能发起流程 {process_key}")


# Who may deliver a BPMN message to a case by hand (POST /instances/{id}/messages), by message
# name: a city registers objections in its region's 公示; revocations and withdrawals of renewal
# eligibility are the province's decisions (第十一、十二、十三条); MIIT's decision on a 小巨人
# is entered by MIIT or by the province. A message not listed: the province only.
MESSAGE_SENDERS = {
    "objection": frozenset({"city", "province"}),
    "revoke_qualification": frozenset({"province"}),
    "withdraw_renewal": frozenset({"province"}),
    "miit_decision": frozenset({"miit", "province"}),
}
ANY_MESSAGE_SENDER = frozenset({"province"}).union(*MESSAGE_SENDERS.values())
MESSAGE_LABELS = {
    "objection": "异议",
    "revoke_qualification": "撤销资格",
    "withdraw_renewal": "取消复核资格",
    "miit_decision": "工信部认定结果",
    "annual_update_done": "企业已更新年度信息",
}
ROLE_LABELS = {
    "city": "市级主管部门",
    "province": "省工信厅",
    "miit": "工业和信息化部",
    "enterprise": "企业",
    "auditor": "审计人员",
    "process_owner": "流程管理员",
}


def require_send_message(actor: Actor, row: Instance, name: str) -> None:
    """The sender of a message by hand must be one of MESSAGE_SENDERS[name] (system: any)."""
    if actor.role == "system":
        return
    allowed = MESSAGE_SENDERS.get(name, frozenset({"province"}))
    if actor.role not in allowed:
        label = MESSAGE_LABELS.get(name, name)
        who = "、".join(ROLE_LABELS.get(role, role) for role in sorted(allowed))
        raise Forbidden(f"消息 {name}（{label}）只能由{who}发送")


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles and actor.role != "system":
        who = "、".join(ROLE_LABELS.get(role, role) for role in roles)
        raise Forbidden(f"仅限{who}")
