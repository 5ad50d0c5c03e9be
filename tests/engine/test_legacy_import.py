"""第二十条 legacy import: validated, all or nothing, idempotent, each with its lifecycle."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from engine import definitions, instances, legacy
from engine.context import Actor, EngineContext
from engine.errors import InvalidInput
from engine.store import HistoryEvent, Instance, Qualification
from tests import factories as f

ZONE = ZoneInfo("Asia/Shanghai")
PROVINCE = Actor(id="prov", role="province")
HEADER = "number,tier,uscc,enterprise_name,certified_on,expires_on,region\n"
SPECIALIZED = (
    f"赣专精〔2022〕0012,specialized,{f.uscc('360100', 11)},洪都精工有限公司,2022-10-15,,\n"
)
LITTLE_GIANT = (
    f"工信小巨人-2023-0345,专精特新“小巨人”企业,{f.uscc('360700', 12)},赣南稀材有限公司,"
    "2023-03-01,2026-02-28,\n"
)
GOOD = HEADER + SPECIALIZED + LITTLE_GIANT


@pytest.fixture
def deployed(ctx: EngineContext) -> None:
    definitions.deploy(
        ctx,
        files=f.process_files(bpmn="qualification_lifecycle.bpmn"),
        actor=Actor(id="owner", role="process_owner"),
    )


def quals(ctx: EngineContext) -> dict[str, Qualification]:
    with ctx.reading() as session:
        return {q.number: q for q in session.scalars(select(Qualification))}


def at(ctx: EngineContext, clock, day: date, hour: int = 9) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime.combine(day, time(hour, 0, 1), ZONE))
    instances.fire_due(ctx)


def test_legacy_qualifications_keep_their_dates_then_lapse_or_are_renewed(
    ctx, clock, client, deployed
) -> None:  # type: ignore[no-untyped-def]
    report = legacy.import_legacy(ctx, text=GOOD, actor=PROVINCE, filename="legacy.csv")
    assert report["imported"] == ["赣专精〔2022〕0012", "工信小巨人-2023-0345"]
    assert report["skipped"] == []
    found = quals(ctx)
    spec, giant = found["赣专精〔2022〕0012"], found["工信小巨人-2023-0345"]
    assert (spec.issued_on, spec.expires_on, spec.source, spec.region) == (
        date(2022, 10, 15),
        date(2025, 10, 14),
        "legacy",
        "360100",
    )  # at most 3 years after certification
    assert (giant.tier, giant.expires_on, giant.region) == (
        "little_giant",
        date(2026, 2, 28),
        "360700",
    )
    with ctx.reading() as session:
        rows = {r.business_key: r for r in session.scalars(select(Instance))}
    assert rows[spec.number].id == spec.lifecycle_instance_id
    assert rows[giant.number].status == "running"

    province = f.user(
        ctx, client, role="province", user_id="prov"
    )  # renewal under the current rules
    province.complete(
        "province_renewal_review", {"decision": "approve", "flag_for_spot_check": True}
    )
    province.complete("province_renewal_spot_check", {"result": "pass", "findings": "现场核查属实"})
    assert quals(ctx)[spec.number].expires_on == date(2028, 10, 14)

    at(ctx, clock, date(2025, 12, 1), hour=0)  # 90 days before 28 February 24:00
    miit = f.user(ctx, client, role="miit", user_id="miit")
    assert miit.task("miit_renewal_review", giant.lifecycle_instance_id)
    at(ctx, clock, date(2026, 3, 1), hour=0)  # MIIT did not finish: it lapses at its own expiry
    lapsed = quals(ctx)[giant.number]
    assert lapsed.status == "expired"
    assert "未在复核期限内完成复核" in lapsed.status_reason
    assert miit.inbox() == []


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(ctx, deployed) -> None:  # type: ignore[no-untyped-def]
    bad_uscc = f.uscc("360100", 21)[:-1] + ("0" if f.uscc("360100", 21)[-1] != "0" else "1")
    text = (
        GOOD
        + f"A-3,specialized,{bad_uscc},甲公司,2022-12-01,,\n"
        + f"A-4,specialized,{f.uscc('360100', 22)},乙公司,2023-06-20,,\n"
        + f"A-5,innovative,{f.uscc('360100', 23)},丙公司,2022-12-01,,\n"
        + f"A-6,specialized,{f.uscc('360100', 24)},丁公司,2022-12-01,2026-01-01,\n"
        + f"A-7,specialized,{f.uscc('360100', 25)},戊公司,2022/12/01,,\n"
        + f"赣专精〔2022〕0012,specialized,{f.uscc('360100', 26)},己公司,2022-12-01,,\n"
        + f"A-9,specialized,{f.uscc('360100', 27)},庚公司,2022-01-10,,\n"
        + f"A-10,specialized,{f.uscc('360100', 28)},辛\x00公司,2022-12-01,,\n"
    )
    with pytest.raises(legacy.LegacyFileInvalid) as raised:
        legacy.import_legacy(ctx, text=text, actor=PROVINCE)
    by_line = {e["line"]: e for e in raised.value.errors}
    assert sorted(by_line) == [4, 5, 6, 7, 8, 9, 10, 11]
    assert by_line[4]["column"] == "uscc"
    assert "校验位" in by_line[4]["message"]
    assert by_line[5]["column"] == "certified_on"
    assert "2023-06-20" in by_line[5]["message"]
    assert by_line[6]["column"] == "tier"
    assert by_line[7]["column"] == "expires_on"
    assert "最长3年" in by_line[7]["message"]
    assert by_line[8]["column"] == "certified_on"
    assert "YYYY-MM-DD" in by_line[8]["message"]
    assert "与第 2 行证书编号重复" in by_line[9]["message"]
    assert "到期失效" in by_line[10]["message"]  # 2022-01-10 + 3 years has passed
    assert "空字符" in by_line[11]["message"]  # no database text holds a NUL
    assert quals(ctx) == {}
    with ctx.reading() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 0


def test_reimporting_the_same_file_changes_nothing(ctx, deployed) -> None:  # type: ignore[no-untyped-def]
    legacy.import_legacy(ctx, text=GOOD, actor=PROVINCE)
    again = legacy.import_legacy(ctx, text=GOOD, actor=PROVINCE)
    assert again["imported"] == []
    assert len(again["skipped"]) == 2
    with ctx.reading() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 2
        assert (
            session.scalar(
                select(func.count())
                .select_from(HistoryEvent)
                .where(HistoryEvent.kind == "legacy.imported")
            )
            == 1
        )


def test_a_row_clashing_with_the_registry_is_refused(ctx, deployed) -> None:  # type: ignore[no-untyped-def]
    legacy.import_legacy(ctx, text=HEADER + SPECIALIZED, actor=PROVINCE)
    changed = SPECIALIZED.replace("2022-10-15", "2022-10-16")
    other_number = SPECIALIZED.replace("0012", "0099")
    with pytest.raises(legacy.LegacyFileInvalid) as raised:
        legacy.import_legacy(ctx, text=HEADER + changed, actor=PROVINCE)
    assert "内容不同" in raised.value.errors[0]["message"]
    with pytest.raises(legacy.LegacyFileInvalid) as raised:
        legacy.import_legacy(ctx, text=HEADER + other_number, actor=PROVINCE)
    assert "已持有有效的同梯度资格" in raised.value.errors[0]["message"]


def test_chinese_headers_are_accepted_and_a_missing_column_is_named(ctx, deployed) -> None:  # type: ignore[no-untyped-def]
    chinese = (
        "证书编号,梯度,统一社会信用代码,企业名称,认定日期\n"
        + ",".join(SPECIALIZED.split(",")[:5])
        + "\n"
    )
    assert legacy.import_legacy(ctx, text="\ufeff" + chinese, actor=PROVINCE)["imported"]
    with pytest.raises(legacy.LegacyFileInvalid) as raised:
        legacy.import_legacy(ctx, text="number,tier\nA,specialized\n", actor=PROVINCE)
    assert {e["column"] for e in raised.value.errors} == {"uscc", "enterprise_name", "certified_on"}


def test_tidu_import_legacy_reports_bad_rows_and_exits_1(
    ctx, deployed, tidu, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text(
        HEADER
        + SPECIALIZED.replace("2022-10-15", "2024-01-01")
        + SPECIALIZED.replace("0012", "0013").replace(",specialized,", ",giant,"),
        encoding="utf-8",
    )
    result = tidu("import", "legacy", str(bad))
    assert result.exit_code == 1
    assert "第 2 行 [certified_on]" in result.output
    assert "第 3 行 [tier]" in result.output
    assert quals(ctx) == {}


def documented_sample() -> str:
    """The CSV sample of docs/lifecycle.md §5 (header and rows)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md").read_text()
    section = doc[doc.index("## 5. Legacy qualifications") :]
    block = section[section.index("```\n") + 4 :]
    return block[: block.index("```")]


def test_the_documented_sample_row_imports_until_it_lapses(ctx, clock, deployed) -> None:  # type: ignore[no-untyped-def]
    sample = documented_sample()
    assert sample.startswith(HEADER)
    at(ctx, clock, date(2026, 6, 18))  # its last valid day: the latest any 第二十条 row can have
    report = legacy.import_legacy(ctx, text=sample, actor=PROVINCE, filename="legacy.csv")
    assert len(report["imported"]) == 1
    [q] = quals(ctx).values()
    assert (q.issued_on, q.expires_on) == (date(2023, 6, 19), date(2026, 6, 18))

    at(ctx, clock, date(2026, 6, 19))  # the day after: lapsed, refused by name
    with pytest.raises(InvalidInput) as refused:
        legacy.import_legacy(
            ctx, text=sample.replace("〔2023〕", "〔2024〕"), actor=PROVINCE, filename="b.csv"
        )
    assert "资格已于 2026-06-18 到期失效" in str(refused.value.errors)
