"""Builders for tests: plain functions with keyword defaults."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from api.demo import sample_figures
from engine import definitions, users
from engine.context import Actor, EngineContext
from handlers.uscc import make_uscc

ROOT_PROCESSES = __import__("pathlib").Path(__file__).resolve().parent.parent / "processes"


def uscc(region: str = "360100", serial: int = 1) -> str:
    """A valid USCC registered in `region` (division code = region + "02")."""
    return make_uscc(f"9136{region[2:4]}02MA{serial:07d}"[:17].ljust(17, "0"))


class Api:
    """A test client bound to one user's bearer token."""

    def __init__(self, client: Any, token: str, user_id: str) -> None:
        self.client, self.token, self.user_id = client, token, user_id

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(), **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=json, headers=self._headers(), **kw)

    def put(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(url, json=json, headers=self._headers(), **kw)

    def inbox(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get("/api/v1/tasks", query_string=params)
        assert response.status_code == 200, response.json
        return response.json["items"]

    def task(self, bpmn_id: str, instance_id: str | None = None) -> dict[str, Any]:
        found = [
            t
            for t in self.inbox(per_page=200)
            if t["bpmn_id"] == bpmn_id and (instance_id is None or t["instance_id"] == instance_id)
        ]
        assert found, f"{self.user_id} has no open task {bpmn_id}"
        return found[0]

    def complete(
        self, bpmn_id: str, data: dict[str, Any], instance_id: str | None = None, status: int = 200
    ) -> Any:
        task = self.task(bpmn_id, instance_id)
        response = self.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
        assert response.status_code == status, response.json
        return response.json

    def upload(
        self, content: bytes = b"%PDF-1.4 evidence", filename: str = "evidence.pdf"
    ) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/files",
            headers=self._headers(),
            data={"file": (io.BytesIO(content), filename)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 201, response.json
        return response.json


def user(
    ctx: EngineContext,
    client: Any,
    *,
    role: str,
    user_id: str | None = None,
    region: str | None = None,
    uscc_code: str | None = None,
    name: str | None = None,
) -> Api:
    user_id = user_id or f"{role}-{region or uscc_code or 'x'}"
    if uscc_code:
        users.ensure_enterprise(
            ctx, uscc=uscc_code, name=name or f"测试企业{uscc_code[-4:]}", region=region
        )
    users.ensure_user(
        ctx, user_id=user_id, display_name=user_id, role=role, region=region, uscc=uscc_code
    )
    return Api(client, users.issue_token(ctx, user_id), user_id)


def enterprise(
    ctx: EngineContext, client: Any, n: int, *, region: str, name: str | None = None
) -> Api:
    """The enterprise user `ent-<n>` of `region`, whose USCC is `uscc(region, n)`."""
    return user(
        ctx,
        client,
        role="enterprise",
        user_id=f"ent-{n}",
        uscc_code=uscc(region, n),
        region=region,
        name=name,
    )


def deploy_processes(ctx: EngineContext) -> list[Any]:
    return definitions.deploy(
        ctx,
        files=definitions.read_directory(ROOT_PROCESSES),
        actor=Actor(id="owner", role="process_owner"),
    )


def open_round(
    province: Api,
    *,
    opens_on: date,
    label: str = "2025年下半年创新型中小企业评价",
    window_days: int = 30,
) -> dict[str, Any]:
    response = province.post(
        "/api/v1/rounds",
        json={
            "process_key": "innovative_evaluation",
            "label": label,
            "opens_on": opens_on.isoformat(),
            "window_days": window_days,
        },
    )
    assert response.status_code == 201, response.json
    return response.json


def self_evaluation(evidence: list[str], **overrides: Any) -> dict[str, Any]:
    """A self-evaluation that passes 第四条 and scores well above 60 (small industrial firm)."""
    data: dict[str, Any] = sample_figures(evidence)
    data.update(overrides)
    return data


# -- builders for engine/API tests (P1 cast, applications, deployments) ---------------------------

P1_REGION = "360100"
P1_BPMN = "innovative_evaluation.bpmn"
People = dict[str, Api]


def p1_cast(
    ctx: EngineContext, client: Any, *, deploy: bool = True, files: dict[str, str] | None = None
) -> People:
    """Deploy `files` (default: all of processes/); create two Nanchang enterprises, two city
    staff, province, auditor and process owner."""
    if deploy and files is not None:
        definitions.deploy(ctx, files=files, actor=Actor(id="owner", role="process_owner"))
    elif deploy:
        deploy_processes(ctx)
    return {
        "ent": enterprise(ctx, client, 1, region=P1_REGION, name="洪城精密机械有限公司"),
        "ent2": enterprise(ctx, client, 2, region=P1_REGION, name="赣江光电科技有限公司"),
        "city": user(ctx, client, role="city", user_id="city-nc", region=P1_REGION),
        "city_b": user(ctx, client, role="city", user_id="city-nc-2", region=P1_REGION),
        "province": user(ctx, client, role="province", user_id="prov"),
        "auditor": user(ctx, client, role="auditor", user_id="audit"),
        "owner": user(ctx, client, role="process_owner", user_id="owner"),
    }


def start(
    enterprise: Api, round_id: int, process_key: str = "innovative_evaluation"
) -> dict[str, Any]:
    """Start an enterprise's application in a round (its self-evaluation task opens)."""
    body = {"process_key": process_key, "round_id": round_id}
    response = enterprise.post("/api/v1/instances", json=body)
    assert response.status_code == 201, response.json
    return response.json


def apply(
    enterprise: Api, round_id: int, *, evidence: list[str] | None = None, **overrides: Any
) -> str:
    """Start an application and submit a passing self-evaluation; return the instance id."""
    instance_id = start(enterprise, round_id)["id"]
    evidence = evidence if evidence is not None else [enterprise.upload()["id"]]
    enterprise.complete("self_evaluation", self_evaluation(evidence, **overrides), instance_id)
    return instance_id


def post_files(api: Api, url: str, files: dict[str, str]) -> Any:
    """POST a BPMN/DMN/form file set as multipart `files` parts (the filename is the path)."""
    parts = [(io.BytesIO(text.encode()), name) for name, text in files.items()]
    return api.client.post(
        url, headers=api._headers(), data={"files": parts}, content_type="multipart/form-data"
    )


def process_files(
    edits: dict[str, tuple[str, str]] | None = None,
    *,
    drop: tuple[str, ...] = (),
    bpmn: str = P1_BPMN,
) -> dict[str, str]:
    """One diagram of processes/ with the shared diagrams, all rules and forms, edited
    {file: (old, new)} (old must occur once)."""
    files = {
        name: text
        for name, text in definitions.read_directory(ROOT_PROCESSES).items()
        if name == bpmn or name.startswith("shared/") or not name.endswith(".bpmn")
    }
    for name, (old, new) in (edits or {}).items():
        found = files[name].count(old)
        assert found == 1, f"{old!r} occurs {found} times in {name}"
        files[name] = files[name].replace(old, new)
    for name in drop:
        del files[name]
    return files


# -- builders for P2 / P3 (专精特新认定, 小巨人推荐) --------------------------------------------


def record_ban(
    ctx: EngineContext, *, uscc_code: str, starts_on: date, years: int = 3, reason: str = "数据造假"
) -> None:
    """Insert a 第十二条 ban directly (as an incident or a complaint would record it)."""
    from engine.store import Ban

    with ctx.transaction() as session:
        session.add(
            Ban(
                uscc=uscc_code,
                starts_on=starts_on,
                ends_on=starts_on.replace(year=starts_on.year + years),
                reason=reason,
                basis="第十二条",
                created_at=ctx.now(),
                created_by="prov",
            )
        )


def grant_qualification(
    ctx: EngineContext,
    *,
    uscc_code: str,
    tier: str = "innovative",
    issued_on: date = date(2024, 1, 10),
    expires_on: date | None = None,
    region: str | None = None,
    status: str = "active",
) -> str:
    """Insert a qualification row directly (as P1 or a legacy import would); return its number."""
    from engine.store import Qualification

    expires_on = expires_on or issued_on.replace(year=issued_on.year + 3)
    number = f"TEST-{tier}-{uscc_code[-6:]}-{issued_on.isoformat()}"
    with ctx.transaction() as session:
        session.add(
            Qualification(
                number=number,
                tier=tier,
                uscc=uscc_code,
                enterprise_name=f"企业{uscc_code[-4:]}",
                region=region,
                issued_on=issued_on,
                expires_on=expires_on,
                status=status,
                created_at=ctx.now(),
            )
        )
    return number


def issue_qualification(
    ctx: EngineContext,
    *,
    uscc_code: str,
    tier: str,
    number: str | None = None,
    region: str = "360100",
    issued_on: date = date(2025, 8, 1),
    enterprise_name: str = "洪城精密机械有限公司",
) -> Any:
    """A qualification as its certification case issues it (valid three years, 第九条), with
    its lifecycle case started; returns the Qualification row."""
    from engine import lifecycle
    from handlers.qualification import expires_on

    fields = {
        "number": number or f"JX-{tier}-{uscc_code[-4:]}",
        "tier": tier,
        "uscc": uscc_code,
        "enterprise_name": enterprise_name,
        "region": region,
        "issued_on": issued_on.isoformat(),
        "expires_on": expires_on(issued_on, 3).isoformat(),
    }
    with ctx.transaction() as session:
        return lifecycle.register(
            ctx,
            session,
            fields=fields,
            source="evaluation",
            actor=Actor.system(),
            reason="评价通过，颁发资格",
        )


def open_round_of(
    province: Api,
    process_key: str,
    *,
    opens_on: date,
    label: str | None = None,
    window_days: int = 30,
) -> dict[str, Any]:
    """Open a round of any procedure (province)."""
    response = province.post(
        "/api/v1/rounds",
        json={
            "process_key": process_key,
            "label": label or process_key,
            "opens_on": opens_on.isoformat(),
            "window_days": window_days,
        },
    )
    assert response.status_code == 201, response.json
    return response.json


def specialized_self_evaluation(evidence: list[str], **overrides: Any) -> dict[str, Any]:
    """A 专精特新 self-evaluation passing 第四条 and the score (incl. 特色化)."""
    data: dict[str, Any] = {
        "independent_legal_person": True,
        "on_abnormal_list": False,
        "on_serious_dishonesty_list": False,
        "prohibited_product": False,
        "major_accident_3y": False,
        "tax_violation_3y": False,
        "industry": "industry",
        "employees": 120,
        "revenue_y1": 8000,
        "assets_y1": 6000,
        "liabilities_y1": 2400,
        "net_profit_y1": 600,
        "main_revenue_y1": 7600,
        "main_revenue_y2": 6500,
        "main_revenue_y3": 5500,
        "rd_expense_y1": 480,
        "rd_expense_y2": 400,
        "rd_staff": 25,
        "niche_years": 8,
        "product_field": "chain_key_link",
        "digital_level": 3,
        "quality_award": True,
        "quality_certified": True,
        "own_brand": True,
        "standard_setting": True,
        "jx_industry": "provincial_key",
        "jx_operations": ["green_factory"],
        "jx_product": ["special_process"],
        "ip_class": "own_class1",
        "rd_institution_level": "provincial",
        "equity_financing_2y": 0,
        "maker_china_top500_3y": False,
        "evidence": evidence,
    }
    data.update(overrides)
    return data


def little_giant_self_evaluation(evidence: list[str], **overrides: Any) -> dict[str, Any]:
    """A 小巨人 self-evaluation that meets every condition (专、精、特、新、链、品)."""
    data: dict[str, Any] = {
        "independent_legal_person": True,
        "on_abnormal_list": False,
        "on_serious_dishonesty_list": False,
        "prohibited_product": False,
        "major_accident_3y": False,
        "tax_violation_3y": False,
        "industry": "industry",
        "employees": 200,
        "revenue_y1": 20000,
        "assets_y1": 15000,
        "revenue_y2": 17000,
        "liabilities_y1": 6000,
        "main_revenue_y1": 19000,
        "main_revenue_y2": 16000,
        "main_revenue_y3": 13000,
        "rd_expense_y1": 1000,
        "rd_expense_y2": 800,
        "rd_staff": 40,
        "niche_years": 6,
        "info_system": True,
        "management_system_certified": True,
        "intl_product_certified": True,
        "national_market_share": 12,
        "own_brand": True,
        "rd_institution_level": "provincial",
        "class1_ip_applied": 3,
        "equity_financing_2y": 0,
        "maker_china_top50_3y": False,
        "chain_key_role": True,
        "key_field": "manufacturing_key",
        "evidence": evidence,
    }
    data.update(overrides)
    return data


def pass_spot_check_if_drawn(staff: Api, bpmn_id: str, instance_id: str) -> None:
    """Complete a spot-check task with "pass" if the draw selected the case."""
    if any(
        t["bpmn_id"] == bpmn_id and t["instance_id"] == instance_id
        for t in staff.inbox(per_page=200)
    ):
        staff.complete(bpmn_id, {"result": "pass", "findings": "现场核查属实"}, instance_id)
