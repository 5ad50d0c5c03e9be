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


def _write(directory, year, data):  # type: ignore[no-untyped-def]
    (directory / f"{year}.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_a_bad_calendar_file_is_refused_naming_each_entry(tmp_path):
    _write(
        tmp_path,
        2099,
        {
            "year": 2098,
            "holidays": {"2099-02-30": "春节", "2098-12-31": "元旦", "2099-01-05": 1},
            "workdays": {"2099-01-05": "调休", "2099-01-06": "调休"},  # 01-05 Mon, 01-06 Tue
        },
    )
    problems = workdays.year_file_problems(tmp_path / "2099.json")
    assert problems == [
        "2099.json: year 为 2098，与年份 2099 不符",
        "2099.json: holidays['2099-02-30'] 不是 YYYY-MM-DD 日期",
        "2099.json: holidays['2098-12-31'] 不在 2099 年",
        "2099.json: holidays['2099-01-05'] 的名称须为文字",
        "2099.json: workdays['2099-01-05'] 是周一至周五，本来就是工作日（调休上班日只列周末）",
        "2099.json: workdays['2099-01-05'] 同时列在 holidays 中",
        "2099.json: workdays['2099-01-06'] 是周一至周五，本来就是工作日（调休上班日只列周末）",
    ]
    with pytest.raises(ValueError, match=r"2099 年工作日历文件有误：.*不在 2099 年"):
        workdays.day_status(date(2099, 3, 2), tmp_path)  # a deadline never uses a bad file
    (tmp_path / "2098.json").write_text("{not json", encoding="utf-8")
    assert "不是有效的 <年份>.json 文件" in workdays.year_file_problems(tmp_path / "2098.json")[0]


def test_a_calendar_file_added_while_running_is_read_without_a_restart(tmp_path):
    with pytest.raises(ValueError, match="无 2099 年工作日历数据"):
        workdays.day_status(date(2099, 1, 1), tmp_path)
    _write(tmp_path, 2099, {"holidays": {"2099-01-01": "元旦"}})
    assert workdays.day_status(date(2099, 1, 1), tmp_path) == (False, "元旦")


def test_coverage_warns_before_a_year_without_data_begins(tmp_path):
    def missing(today: date, days: int = 60) -> list[int]:
        return workdays.coverage(today, days, tmp_path)["missing"]  # type: ignore[return-value]

    last = max(workdays.PACKAGE_YEARS)  # the package's last year (2026 in chinesecalendar 1.11)
    assert missing(date(last, 10, 31)) == []  # 2 months and a day before the next year
    assert missing(date(last, 11, 2)) == [last + 1]  # within 60 days
    assert missing(date(last, 11, 2), days=30) == []  # the horizon is a setting
    found = workdays.coverage(date(last, 12, 1), 60, tmp_path)
    assert found["needed"] == [last, last + 1]
    assert f"{last + 1} 年工作日历数据缺失" in str(found["warning"])

    _write(tmp_path, last + 1, {"holidays": {f"{last + 1}-13-01": "元旦"}})  # bad: still missing
    assert missing(date(last, 12, 1)) == [last + 1]
    assert workdays.coverage(date(last, 12, 1), 60, tmp_path)["years"][-1]["problems"]
    _write(tmp_path, last + 1, {"holidays": {f"{last + 1}-01-01": "元旦"}})
    found = workdays.coverage(date(last, 12, 1), 60, tmp_path)
    assert found["missing"] == []
    assert found["warning"] is None
    assert found["years"][-1] == {
        "year": last + 1,
        "source": f"processes/calendars/{last + 1}.json",
        "problems": [],
    }
