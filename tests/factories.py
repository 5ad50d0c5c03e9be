"""Builders for tests: plain functions with keyword defaults."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

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

    def inbox(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get("/api/v1/tasks", query_string=params)
        assert response.status_code == 200, response.json
        return response.json["items"]

    def task(self, bpmn_id: str, instance_id: str | None = None) -> dict[str, Any]:
        found = [t for t in self.inbox(per_page=200) if t["bpmn_id"] == bpmn_id
                 and (instance_id is None or t["instance_id"] == instance_id)]
        assert found, f"{self.user_id} has no open task {bpmn_id}"
        return found[0]

    def complete(self, bpmn_id: str, data: dict[str, Any], instance_id: str | None = None,
                 status: int = 200) -> Any:
        task = self.task(bpmn_id, instance_id)
        response = self.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
        assert response.status_code == status, response.json
        return response.json

    def upload(self, content: bytes = b"%PDF-1.4 evidence", filename: str = "evidence.pdf") -> dict[str, Any]:
        response = self.client.post("/api/v1/files", headers=self._headers(),
                                    data={"file": (io.BytesIO(content), filename)},
                                    content_type="multipart/form-data")
        assert response.status_code == 201, response.json
        return response.json


def user(ctx: EngineContext, client: Any, *, role: str, user_id: str | None = None, region: str | None = None,
         uscc_code: str | None = None, name: str | None = None) -> Api:
    user_id = user_id or f"{role}-{region or uscc_code or 'x'}"
    if uscc_code:
        users.ensure_enterprise(ctx, uscc=uscc_code, name=name or f"测试企业{uscc_code[-4:]}", region=region)
    users.ensure_user(ctx, user_id=user_id, display_name=user_id, role=role, region=region, uscc=uscc_code)
    return Api(client, users.issue_token(ctx, user_id), user_id)


def deploy_processes(ctx: EngineContext) -> list[Any]:
    return definitions.deploy(ctx, files=definitions.read_directory(ROOT_PROCESSES),
                              actor=Actor(id="owner", role="process_owner"))


def open_round(province: Api, *, opens_on: date, label: str = "2025年下半年创新型中小企业评价",
               window_days: int = 30) -> dict[str, Any]:
    response = province.post("/api/v1/rounds", json={"process_key": "innovative_evaluation", "label": label,
                                                     "opens_on": opens_on.isoformat(), "window_days": window_days})
    assert response.status_code == 201, response.json
    return response.json


def self_evaluation(evidence: list[str], **overrides: Any) -> dict[str, Any]:
    """A self-evaluation that passes 第四条 and scores well above 60 (small industrial firm)."""
    data: dict[str, Any] = {
        "independent_legal_person": True, "on_abnormal_list": False, "on_serious_dishonesty_list": False,
        "prohibited_product": False, "major_accident_3y": False, "tax_violation_3y": False,
        "industry": "industry", "employees": 120, "revenue_y1": 8000, "assets_y1": 6000,
        "liabilities_y1": 2400, "rd_expense_y1": 480, "main_revenue_y1": 7600, "main_revenue_y2": 6000,
        "ip_class": "own_class1", "strategic_emerging": True, "sci_award_3y": False, "valid_honours": False,
        "provincial_rd_institution": False, "equity_financing_3y": 0, "evidence": evidence,
    }
    data.update(overrides)
    return data
