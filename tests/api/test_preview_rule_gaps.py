"""The score preview with figures its rule set cannot classify: an industry the (older, or
hand-copied) 划型 table has no row for is a 422 naming `industry`, not a 500; a preview without
an industry names it among the missing fields."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

from flask.testing import FlaskClient

from engine.context import EngineContext
from tests import factories as f


def test_an_industry_the_size_table_lacks_is_a_422_naming_the_field(
    ctx: EngineContext, client: FlaskClient, tmp_path: Path
) -> None:
    processes = tmp_path / "processes"
    shutil.copytree(f.ROOT_PROCESSES, processes)
    size = processes / "rules" / "size_class.dmn"
    text = size.read_text(encoding="utf-8")
    text, cut = re.subn(r'\s*<rule id="size_construction">.*?</rule>', "", text, flags=re.S)
    assert cut == 1
    size.write_text(text, encoding="utf-8")
    ctx.settings = replace(ctx.settings, processes_dir=processes)  # nothing deployed: its rules
    user = f.user(ctx, client, role="province", user_id="prov")
    data = {"industry": "construction", "employees": 100, "revenue_y1": 8000, "assets_y1": 9000}
    response = user.post("/api/v1/evaluations/preview", json={"data": data})
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    [message] = response.json["errors"]["industry"]
    assert "建筑业" in message
    assert "rules/size_class.dmn" in message
    data["industry"] = "industry"  # a row the table has: previewed
    assert user.post("/api/v1/evaluations/preview", json={"data": data}).status_code == 200


def test_a_preview_without_an_industry_names_it_missing(
    ctx: EngineContext, client: FlaskClient
) -> None:
    user = f.user(ctx, client, role="province", user_id="prov")
    response = user.post("/api/v1/evaluations/preview", json={"data": {"employees": 100}})
    assert response.status_code == 200, response.json
    size = response.json["size"]
    assert size["size_class"] == "undetermined"
    assert {"field": "industry", "title": "所属行业"} in size["missing_fields"]
