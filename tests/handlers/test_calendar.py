import json
from datetime import date

import pytest

from handlers import workdays


def test_national_day_2025_notice_of_five_working_days(call):
    # Published Mon 2025-09-29. Counting starts the next day: Tue 09-30 (1); Oct 1-8 are
    # the National Day / Mid-autumn holiday; Thu 10-09 (2), Fri 10-10 (3), Sat 10-11 is a
    # make-up working day (4); Sun 10-12 off; Mon 10-13 (5).
    result = call("calendar.add_working_days", start_on="2025-09-29", days=5)
    assert result["starts_on"] == "2025-09-30"
    assert result["ends_on"] == "2025-10-13"
    assert result["ends_at"] == "2025-10-14T00:00:00+08:00"
    assert result["working_days"] == 5
    assert [s["date"] for s in result["skipped"]] == [
        "2025-10-01",
        "2025-10-02",
        "2025-10-03",
        "2025-10-04",
        "2025-10-05",
        "2025-10-06",
        "2025-10-07",
        "2025-10-08",
        "2025-10-12",
    ]
    assert result["skipped"][0]["reason"] == "国庆节"
    assert result["skipped"][-1]["reason"] == "周末"
    assert result["makeup_workdays"] == [{"date": "2025-10-11", "reason": "国庆节调休上班"}]


def test_make_up_sunday_before_national_day_is_a_working_day():
    assert workdays.is_working_day(date(2025, 9, 28))  # Sunday, 调休上班
    assert not workdays.is_working_day(date(2025, 9, 27))  # Saturday


def test_ordinary_week_skips_the_weekend(call):
    result = call("calendar.add_working_days", start_on="2025-06-06", days=1)  # a Friday
    assert (result["starts_on"], result["ends_on"]) == ("2025-06-09", "2025-06-09")


def test_year_without_calendar_data_is_an_error_not_a_guess(call):
    with pytest.raises(ValueError, match="无 2099 年工作日历数据"):
        call("calendar.add_working_days", start_on="2099-03-02", days=5)


def test_a_calendar_file_supplies_a_year_the_package_does_not_cover(tmp_path):
    calendar = {
        "year": 2099,
        "holidays": {"2099-01-01": "元旦", "2099-01-02": "元旦"},
        "workdays": {"2099-01-04": "元旦调休上班"},
    }
    (tmp_path / "2099.json").write_text(json.dumps(calendar, ensure_ascii=False))
    # 2098-12-31 is a Wednesday; 2099-01-01 Thu and 01-02 Fri off; Sun 01-04 works.
    assert workdays.day_status(date(2099, 1, 1), tmp_path) == (False, "元旦")
    assert workdays.day_status(date(2099, 1, 4), tmp_path) == (True, "元旦调休上班")
    assert workdays.day_status(date(2099, 1, 3), tmp_path) == (False, "周末")
    assert workdays.add_working_days(date(2098, 12, 31), 1, tmp_path) == date(2099, 1, 4)


def test_add_days_counts_calendar_days(call):
    assert call("calendar.add_days", start_on="2025-09-29", days=10) == {
        "ends_on": "2025-10-09",
        "ends_at": "2025-10-10T00:00:00+08:00",
    }


def test_negative_periods_are_refused(call):
    with pytest.raises(ValueError, match="negative"):
        call("calendar.add_working_days", start_on="2025-09-29", days=-1)
    with pytest.raises(ValueError, match="negative"):
        call("calendar.add_days", start_on="2025-09-29", days=-1)
