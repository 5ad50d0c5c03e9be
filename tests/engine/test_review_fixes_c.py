"""第二十条 legacy import against 第十二条 bans: 第十二条 revokes every qualification of the
enterprise, so a legacy row of an enterprise banned since its certification is refused, naming
the line, the USCC and the ban; nothing of the file is imported."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from engine import definitions, legacy
from engine.context import Actor, EngineContext
from engine.store import Ban, Qualification
from tests import factories as f

PROVINCE = Actor(id="prov", role="province")
HEADER = "number,tier,uscc,enterprise_name,certified_on,expires_on,region\n"
CLEAN = f.uscc("360100", 1)
BANNED = f.uscc("360100", 3)
FILE = (
    HEADER
    + f"赣专精〔2023〕0012,specialized,{CLEAN},洪城精密机械有限公司,2023-06-19,,\n"
    + f"赣专精〔2023〕0013,specialized,{BANNED},被禁企业有限公司,2023-06-19,,\n"
)


@pytest.fixture
def deployed(ctx: EngineContext, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(datetime(2026, 4, 18, 1, 0, tzinfo=UTC))
    definitions.deploy(
        ctx,
        files=f.process_files(bpmn="qualification_lifecycle.bpmn"),
        actor=Actor(id="owner", role="process_owner"),
    )


def numbers(ctx: EngineContext) -> list[str]:
    with ctx.reading() as session:
        return list(session.scalars(select(Qualification.number)))


def test_a_row_of_an_enterprise_under_an_article_12_ban_is_refused_and_nothing_imported(
    ctx, deployed
) -> None:  # type: ignore[no-untyped-def]
    f.record_ban(ctx, uscc_code=BANNED, starts_on=date(2026, 1, 10), reason="发生重大环境污染事故")
    with pytest.raises(legacy.LegacyFileInvalid) as refused:
        legacy.import_legacy(ctx, text=FILE, actor=PROVINCE)
    [error] = refused.value.errors
    assert (error["line"], error["column"]) == (3, "uscc")
    message = error["message"]
    assert BANNED in message
    assert "发生重大环境污染事故" in message
    assert "2026-01-10 起至 2029-01-10 前不得申报" in message
    assert "第十二条取消该企业全部资格" in message
    assert numbers(ctx) == []


def test_a_ban_ended_before_the_certification_does_not_refuse_the_row(ctx, deployed) -> None:  # type: ignore[no-untyped-def]
    f.record_ban(ctx, uscc_code=BANNED, starts_on=date(2020, 1, 10))  # ended 2023-01-10
    report = legacy.import_legacy(ctx, text=FILE, actor=PROVINCE)
    assert report["imported"] == ["赣专精〔2023〕0012", "赣专精〔2023〕0013"]


def test_the_api_names_the_banned_row_and_its_deciding_case(ctx, client, deployed) -> None:  # type: ignore[no-untyped-def]
    with ctx.transaction() as session:
        session.add(
            Ban(
                uscc=BANNED,
                starts_on=date(2026, 1, 10),
                ends_on=date(2029, 1, 10),
                reason="存在数据造假等弄虚作假行为：申报数据不实",
                basis="第十二条",
                instance_id="case-12",
                created_at=ctx.now(),
                created_by="prov",
            )
        )
    province = f.user(ctx, client, role="province", user_id="prov")
    response = province.client.post(
        "/api/v1/qualifications/import",
        headers={"Authorization": f"Bearer {province.token}"},
        data={"file": (io.BytesIO(FILE.encode()), "legacy.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.json
    assert response.json["type"].endswith("/legacy-file-invalid")
    [error] = response.json["errors"]
    assert error["line"] == 3
    assert "决定案件 case-12" in error["message"]
    assert numbers(ctx) == []


def test_a_valid_status_past_its_last_day_is_shown_as_lapsing() -> None:
    from engine import qualification_status as shown_status

    last = date(2028, 8, 31)
    assert shown_status.shown("active", last, date(2028, 8, 31)) == "active"
    assert shown_status.shown("active", last, date(2028, 9, 1)) == "in_grace"
    assert shown_status.shown("renewal_ineligible", last, date(2028, 9, 1)) == "expired"
    assert shown_status.shown("revoked", last, date(2028, 9, 1)) == "revoked"
