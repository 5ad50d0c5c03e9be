"""Evaluations API and `tidu score`: preview without a case, recorded decisions, rule versions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from api.cli import main
from engine import definitions
from engine.context import Actor
from tests import factories as f

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
SP = "rules/specialized_score.dmn"
INN = "rules/innovative_score.dmn"
SP_PASS_LINE = '<outputEntry id="sp_thresholds_total_o1"><text>60</text>'
INN_PASS_LINE = '<outputEntry id="inn_thr_total_o1"><text>60</text>'
INN_FROM = '<outputEntry id="ruleset_row_o1"><text>"2022-08-01"</text>'


def example(tier: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"score-{tier}.json").read_text(encoding="utf-8"))


def preview(user: f.Api, data: dict[str, Any], status: int = 200, **body: Any) -> Any:
    response = user.post("/api/v1/evaluations/preview", json={"data": data, **body})
    assert response.status_code == status, response.json
    return response.json


def deploy_edited(ctx, **edits: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    """Deploy processes/ with text replacements in rule files ({file: (old, new)})."""
    files = definitions.read_directory(f.ROOT_PROCESSES)
    for file, (old, new) in edits.items():
        assert old in files[file]
        files[file] = files[file].replace(old, new, 1)
    definitions.deploy(ctx, files=files, actor=Actor(id="owner", role="process_owner"))


def test_preview_returns_size_eligibility_and_every_tier(people) -> None:  # type: ignore[no-untyped-def]
    data = example("specialized") | {"uscc": None}
    result = preview(people["ent"], data)
    assert result["size"]["size_class"] == "small"
    assert result["eligibility"]["eligible"] is True  # the enterprise's own USCC
    assert set(result["tiers"]) == {"innovative", "specialized", "little_giant"}
    specialized = result["tiers"]["specialized"]
    assert (specialized["score"], specialized["passed"], specialized["qualifies"]) == (
        85,
        True,
        True,
    )
    assert specialized["ruleset"]["effective_from"] == "2023-06-20"
    assert result["rules_source"]["source"] == "deployment"
    assert result["reference_on"] == "2025-09-01"  # today on the simulated clock


def test_any_authenticated_user_may_preview_but_not_anonymously(people, client) -> None:  # type: ignore[no-untyped-def]
    for who in ("city", "auditor", "owner", "province"):
        preview(people[who], example("innovative"), tier="innovative")
    response = client.post("/api/v1/evaluations/preview", json={"data": {}})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_negative_or_impossible_values_are_422_naming_the_field(people) -> None:  # type: ignore[no-untyped-def]
    body = preview(people["ent"], example("innovative") | {"revenue_y1": -5}, status=422)
    assert body["type"].endswith("/invalid-input")
    assert body["errors"] == {"revenue_y1": ["不能小于 0"]}
    body = preview(people["ent"], example("little_giant") | {"rd_staff": 999}, status=422)
    assert body["errors"] == {"rd_staff": ["研发人员不能多于从业人员"]}
    body = preview(people["ent"], {}, status=422, tier="gold")
    assert "tier" in body["errors"]


def test_missing_indicators_are_reported_as_missing(people) -> None:  # type: ignore[no-untyped-def]
    result = preview(people["ent"], {"industry": "industry", "employees": 80}, tier="innovative")
    innovative = result["tiers"]["innovative"]
    assert innovative["missing"] == ["INN-1", "INN-2", "INN-3", "INN-4", "INN-6"]
    assert all(i["points"] == 0 for i in innovative["indicators"] if i["missing"])
    assert result["size"]["size_class"] == "undetermined"
    assert result["size"]["missing"] == ["revenue"]


def test_missing_data_is_named_by_the_blank_form_fields_titles(people) -> None:  # type: ignore[no-untyped-def]
    def without(tier: str, field: str) -> dict[str, Any]:
        return {k: v for k, v in example(tier).items() if k != field}

    result = preview(people["ent"], without("specialized", "niche_years"), tier="specialized")
    specialized = result["tiers"]["specialized"]
    assert specialized["missing"] == ["SP-3", "sp_niche_years"]  # indicator and condition codes
    niche = {"field": "niche_years", "title": "从事特定细分市场年限"}
    assert specialized["missing_fields"] == [niche]
    assert (result["size"]["missing_fields"], result["eligibility"]["missing_fields"]) == ([], [])

    data = without("little_giant", "national_market_share")
    little_giant = preview(people["ent"], data, tier="little_giant")["tiers"]["little_giant"]
    assert little_giant["missing"] == ["lg_market_share"]
    share = {"field": "national_market_share", "title": "主导产品全国细分市场占有率"}
    assert little_giant["missing_fields"] == [share]

    result = preview(people["ent"], {"industry": "industry", "employees": 80}, tier="innovative")
    titles = [f["title"] for f in result["tiers"]["innovative"]["missing_fields"]]
    assert titles[:2] == ["与主导产品相关的有效知识产权", "上年度研发费用总额"]  # INN-1, INN-2
    assert result["size"]["missing_fields"] == [{"field": "revenue_y1", "title": "上年度营业收入"}]


def test_staff_name_the_enterprise_by_its_uscc_or_it_is_missing(people) -> None:  # type: ignore[no-untyped-def]
    data = {k: v for k, v in example("innovative").items() if k != "uscc"}
    result = preview(people["city"], data, tier="innovative")  # staff have no USCC of their own
    assert result["eligibility"]["eligible"] is False
    uscc = {"field": "uscc", "title": "统一社会信用代码"}
    assert result["eligibility"]["missing_fields"] == [uscc]
    result = preview(people["city"], data, tier="innovative", uscc=f.uscc("360100", 9))
    assert result["eligibility"]["eligible"] is True
    assert result["eligibility"]["missing_fields"] == []
    assert result["tiers"]["innovative"]["qualifies"] is True


def test_editing_a_threshold_and_redeploying_changes_the_preview(ctx, people) -> None:  # type: ignore[no-untyped-def]
    before = preview(people["ent"], example("specialized"), tier="specialized")
    deploy_edited(ctx, **{SP: (SP_PASS_LINE, SP_PASS_LINE.replace("60", "90"))})
    after = preview(people["ent"], example("specialized"), tier="specialized")
    old, new = before["tiers"]["specialized"], after["tiers"]["specialized"]
    assert (old["pass_line"], old["passed"]) == (60, True)
    assert (new["pass_line"], new["passed"]) == (90, False)
    assert [x["code"] for x in new["failed"]] == ["sp_score_or_direct"]
    assert new["ruleset"]["checksum"] != old["ruleset"]["checksum"]
    assert after["rules_source"]["version"] == before["rules_source"]["version"] + 1


def apply(people, round_id: int, who: str = "ent") -> str:  # type: ignore[no-untyped-def]
    instance_id = f.start(people[who], round_id)["id"]
    evidence = people[who].upload()["id"]
    people[who].complete("self_evaluation", f.self_evaluation([evidence]), instance_id)
    return instance_id


def scoring(user: f.Api, instance_id: str) -> dict[str, Any]:
    response = user.get(f"/api/v1/evaluations/{instance_id}")
    assert response.status_code == 200, response.json
    return next(
        d for d in response.json["decisions"] if d["operator"] == "scoring.score_innovative"
    )


def test_rounds_on_either_side_of_a_new_rule_set_use_their_own_tables(ctx, clock, people) -> None:  # type: ignore[no-untyped-def]
    files = definitions.read_directory(f.ROOT_PROCESSES)
    files["rules/innovative_score_2026.dmn"] = (
        files[INN]
        .replace(INN_FROM, INN_FROM.replace("2022-08-01", "2026-04-01"))
        .replace(INN_PASS_LINE, INN_PASS_LINE.replace("60", "99"))
    )
    definitions.deploy(ctx, files=files, actor=Actor(id="owner", role="process_owner"))
    clock.set(datetime(2026, 3, 25, 2, 0, tzinfo=UTC))
    # windows of one procedure never overlap, and one enterprise applies once per half-year
    spring = f.open_round(
        people["province"], opens_on=date(2026, 3, 20), label="2026年第一批", window_days=10
    )
    before = apply(people, spring["id"])
    clock.set(datetime(2026, 4, 5, 2, 0, tzinfo=UTC))
    april = f.open_round(people["province"], opens_on=date(2026, 4, 1), label="2026年第二批")
    after = apply(people, april["id"], who="ent2")

    old, new = scoring(people["ent"], before), scoring(people["ent2"], after)
    assert old["inputs"]["reference_on"] == "2026-03-20"
    assert (old["ruleset"]["file"], old["ruleset"]["effective_to"]) == (INN, "2026-03-31")
    assert (old["outputs"]["pass_line"], old["outputs"]["passed"]) == (60, True)
    assert new["inputs"]["reference_on"] == "2026-04-01"
    assert new["ruleset"]["file"] == "rules/innovative_score_2026.dmn"
    assert (new["outputs"]["pass_line"], new["outputs"]["passed"]) == (99, False)
    assert people["ent2"].get(f"/api/v1/instances/{after}").json["outcome"] == "ineligible"
    earlier = preview(
        people["ent"], example("innovative"), tier="innovative", reference_on="2026-03-31"
    )
    assert earlier["tiers"]["innovative"]["pass_line"] == 60


def test_recorded_decisions_follow_instance_visibility(
    ctx, clock, people, round_id, client
) -> None:  # type: ignore[no-untyped-def]
    instance_id = apply(people, round_id)
    body = people["auditor"].get(f"/api/v1/evaluations/{instance_id}").json
    operators = [d["operator"] for d in body["decisions"]]
    assert operators[:3] == ["size_class.classify", "eligibility.check", "scoring.score_innovative"]
    assert body["definition_version"] == 1
    decision = body["decisions"][2]
    assert decision["ruleset"]["name"].startswith("创新型中小企业评价标准")
    assert decision["outputs"]["indicators"][0]["band"]
    assert decision["rule_version"]
    assert people["city"].get(f"/api/v1/evaluations/{instance_id}").status_code == 200
    other_city = f.user(ctx, client, role="city", user_id="city-gz", region="360700")
    assert other_city.get(f"/api/v1/evaluations/{instance_id}").status_code == 404
    assert people["ent2"].get(f"/api/v1/evaluations/{instance_id}").status_code == 404


def test_cli_scores_an_example_file_from_the_processes_directory(tmp_path) -> None:
    runner = CliRunner()
    path = str(EXAMPLES / "score-little_giant.json")
    result = runner.invoke(
        main, ["score", path, "--tier", "little_giant", "--json", "--rules", str(f.ROOT_PROCESSES)]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["tiers"]["little_giant"]["passed"] is True
    text = runner.invoke(main, ["score", path, "--rules", str(f.ROOT_PROCESSES)])
    assert "规模划型：小型" in text.output
    assert "专精特新“小巨人”企业：符合" in text.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"revenue_y1": -1}), encoding="utf-8")
    result = runner.invoke(main, ["score", str(bad), "--rules", str(f.ROOT_PROCESSES)])
    assert result.exit_code == 2
    assert "revenue_y1" in result.output


def test_cli_uses_the_latest_deployed_rules(ctx, people, db_url, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    deploy_edited(ctx, **{SP: (SP_PASS_LINE, SP_PASS_LINE.replace("60", "90"))})
    monkeypatch.setenv("TIDU_DATABASE_URL", db_url)
    path = str(EXAMPLES / "score-specialized.json")
    result = CliRunner().invoke(main, ["score", path, "--tier", "specialized", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["tiers"]["specialized"]["pass_line"] == 90
    assert body["rules_source"].startswith("最新部署 ")


def only(process_bpmn: str, files: dict[str, str]) -> dict[str, str]:
    """The file set with one procedure's diagram (its rules, forms and shared files kept)."""
    own = {k: v for k, v in files.items() if "/" in k or not k.endswith(".bpmn")}
    return own | {process_bpmn: files[process_bpmn]}


def test_each_tier_is_previewed_with_the_rules_of_its_own_procedure(
    ctx, people, db_url, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    owner = Actor(id="owner", role="process_owner")
    files = definitions.read_directory(f.ROOT_PROCESSES)
    stricter = files | {INN: files[INN].replace(INN_PASS_LINE, INN_PASS_LINE.replace("60", "100"))}
    definitions.deploy(ctx, files=only("innovative_evaluation.bpmn", stricter), actor=owner)
    # a later deployment of another procedure, with the shipped tables, does not score P1
    definitions.deploy(ctx, files=only("specialized_certification.bpmn", files), actor=owner)

    result = preview(people["ent"], example("innovative"))
    innovative = result["tiers"]["innovative"]
    assert (innovative["pass_line"], innovative["passed"]) == (100, False)
    assert innovative["rules_source"]["process_key"] == "innovative_evaluation"
    specialized = result["tiers"]["specialized"]
    assert specialized["rules_source"]["process_key"] == "specialized_certification"
    assert specialized["pass_line"] == 60
    assert result["rules_source"] == innovative["rules_source"]  # the first chosen tier's

    monkeypatch.setenv("TIDU_DATABASE_URL", db_url)
    path = str(EXAMPLES / "score-innovative.json")
    body = json.loads(CliRunner().invoke(main, ["score", path, "--json"]).output)
    assert body["tiers"]["innovative"]["pass_line"] == 100
    assert body["tiers"]["innovative"]["rules_source"].startswith("最新部署 innovative_evaluation")
    assert body["tiers"]["specialized"]["rules_source"].startswith(
        "最新部署 specialized_certification"
    )
