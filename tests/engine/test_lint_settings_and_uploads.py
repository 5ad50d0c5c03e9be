"""Deploy defects a process owner's review found in settings, forms and uploads: settings that
contradict each other or have no sane bound, a form saved with a byte order mark, and the deploy
API's file mapping (rounds.json stored as a form and never checked; other files ignored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api.admin import upload_path
from engine import definitions, rounds
from engine.context import Actor, EngineContext
from engine.errors import InvalidInput
from tests import factories as f
from tests.engine.test_deploy_checks import line_of, only, refused, settings_edit

P1 = f.P1_BPMN
LIFECYCLE = "qualification_lifecycle.bpmn"
REVIEW_FORM = "forms/review.schema.json"
SCHEDULE = (f.ROOT_PROCESSES / "rounds.json").read_text(encoding="utf-8")


# -- 10. settings that contradict each other, counts without a bound -----------------------------


def test_an_update_window_opening_after_its_deadline_is_refused_naming_both() -> None:
    files = settings_edit('"06-01"', 'update_opens = "01-01" ', LIFECYCLE)
    found = only(refused(files))
    assert (found["file"], found["element_id"]) == (LIFECYCLE, "settings")
    assert found["line"] == line_of(files[LIFECYCLE], 'update_opens = "06-01" ')
    assert "update_opens" in found["message"]
    assert "update_deadline" in found["message"]
    assert '"04-30"' in found["message"]


def test_an_update_window_of_one_day_is_accepted() -> None:
    _, problems = definitions.validate(
        settings_edit('"04-30"', 'update_opens = "01-01" ', LIFECYCLE)
    )
    assert problems == []


@pytest.mark.parametrize("days", ["10", "12"])
def test_a_reminder_not_before_the_end_of_the_correction_period_is_refused(days: str) -> None:
    files = settings_edit(days, "correction_reminder_days = 3 ")
    found = only(refused(files))
    assert found["line"] == line_of(files[P1], f"correction_reminder_days = {days} ")
    assert "correction_reminder_days" in found["message"]
    assert "correction_days" in found["message"]


@pytest.mark.parametrize(
    ("old", "value", "bound"),
    [
        ("notice_working_days = 5 ", "99999", "3650"),
        ("validity_years = 3 ", "25", "20"),
        ("correction_days = 10 ", "3651", "3650"),
    ],
)
def test_a_count_beyond_its_sane_maximum_is_refused(old: str, value: str, bound: str) -> None:
    found = only(refused(settings_edit(value, old)))
    assert old.split()[0] in found["message"]
    assert f"不大于 {bound} 的整数" in found["message"]


# -- 7. a form saved with a byte order mark --------------------------------------------------------


def test_a_form_with_a_byte_order_mark_is_accepted_and_stored_without_it(
    ctx: EngineContext,
) -> None:
    files = f.process_files()
    files[REVIEW_FORM] = "\ufeff" + files[REVIEW_FORM]
    processes, problems = definitions.validate(files)
    assert problems == []
    assert not processes[0].files[REVIEW_FORM].startswith("\ufeff")
    [row] = definitions.deploy(ctx, files=files, actor=Actor(id="owner", role="process_owner"))
    assert definitions.form_schema(row, REVIEW_FORM)["title"]


# -- 11. the deploy API's file mapping -----------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "path"),
    [
        ("rounds.json", "rounds.json"),
        ("review.schema.json", "forms/review.schema.json"),
        ("forms/review.schema.json", "forms/review.schema.json"),
        ("size_class.dmn", "rules/size_class.dmn"),
        ("shared\\spot_check.bpmn", "shared/spot_check.bpmn"),
        ("x.txt", None),
        ("README", None),
    ],
)
def test_uploaded_file_names_map_to_their_place(filename: str, path: str | None) -> None:
    assert upload_path(filename) == path


def schedule_with(edit: tuple[str, str]) -> str:
    assert SCHEDULE.count(edit[0]) == 1
    return SCHEDULE.replace(*edit)


def p1_schedule(**changes: int) -> str:
    """The shipped schedule of P1 alone (the upload holds P1's diagram only)."""
    schedule = json.loads(SCHEDULE)
    schedule["rounds"] = [r | changes for r in schedule["rounds"] if r["process_key"] == P1[:-5]]
    return json.dumps(schedule, ensure_ascii=False, indent=1)


def test_an_uploaded_round_schedule_is_checked_as_the_cli_checks_it(
    ctx: EngineContext, client: FlaskClient
) -> None:
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    files = f.process_files() | {"rounds.json": p1_schedule(window_days=400)}
    checked = f.post_files(owner, "/api/v1/definitions/validate", files)
    assert checked.status_code == 200
    found = only(checked.json["errors"])
    assert (found["file"], found["element_id"]) == ("rounds.json", "rounds[0].window_days")
    assert found["line"] == line_of(files["rounds.json"], '"window_days": 400')
    assert "1–366" in found["message"]
    deployed = f.post_files(owner, "/api/v1/definitions", files)
    assert deployed.status_code == 422
    assert deployed.json["errors"] == [found]
    files["rounds.json"] = p1_schedule()
    assert f.post_files(owner, "/api/v1/definitions/validate", files).json["errors"] == []


def test_an_upload_of_an_unsupported_file_is_refused_naming_it(
    ctx: EngineContext, client: FlaskClient
) -> None:
    owner = f.user(ctx, client, role="process_owner", user_id="owner")
    files = f.process_files() | {"notes.txt": "备忘"}
    for url in ("/api/v1/definitions/validate", "/api/v1/definitions"):
        response = f.post_files(owner, url, files)
        assert response.status_code == 422, response.json
        assert response.mimetype == "application/problem+json"
        assert list(response.json["errors"]) == ["notes.txt"]
        assert "不支持的文件类型" in response.json["errors"]["notes.txt"][0]
    assert owner.get("/api/v1/definitions").json == []


@pytest.mark.parametrize(
    "text",
    [
        SCHEDULE,
        schedule_with(('"every_months": 6', '"every_months": 0')),
        schedule_with(('"process_key": "little_giant_recommendation"', '"process_key": "lg"')),
        schedule_with(
            (
                '"process_key": "little_giant_recommendation"',
                '"process_key": "innovative_evaluation"',
            )
        ),
        schedule_with(('"label": "{year}年度专精特新中小企业认定"', '"label": "{yr}", "extra": 1')),
        '{"rounds": {}}',
    ],
    ids=["shipped", "range", "unknown-process", "duplicate", "label-and-field", "not-a-list"],
)
def test_the_schedule_check_refuses_what_the_scheduler_refuses(text: str, tmp_path: Path) -> None:
    for name in (
        "innovative_evaluation",
        "specialized_certification",
        "little_giant_recommendation",
    ):
        (tmp_path / f"{name}.bpmn").write_text(
            (f.ROOT_PROCESSES / f"{name}.bpmn").read_text(encoding="utf-8"), encoding="utf-8"
        )
    (tmp_path / "rounds.json").write_text(text, encoding="utf-8")
    try:
        rounds.load_schedules(tmp_path)
        scheduler: set[str] = set()
    except InvalidInput as error:
        scheduler = set(error.errors or {})
    files = definitions.read_directory(tmp_path) | {"rounds.json": text}
    assert {p["element_id"] for p in definitions.schedule_problems(files)} == scheduler
    json.loads(text)  # every case is valid JSON: the fields are compared
