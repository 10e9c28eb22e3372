"""The State Council notice parser (coord.workdays.notice) on the published notices of several years.

Each published notice must parse to exactly what the `holidays` package holds for that year (the
package copies the same notices): every day of the year has the same working status. The texts are
in tests/fixtures/notices (see its README for where each came from)."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from holidays.countries.china import China

from coord.workdays.notice import FESTIVALS, NoticeError, parse

NOTICES = Path(__file__).parent / "fixtures" / "notices"
PUBLISHED = {"2017.txt": 2017, "2023.txt": 2023, "2024.txt": 2024, "2025-halfwidth.txt": 2025, "2026.txt": 2026,
             "2026-pdf.txt": 2026}


def text(name: str) -> str:
    return (NOTICES / name).read_text(encoding="utf-8")


def library_workday(year: int):
    cal = China(years=year)
    makeup = {d for d in cal.weekend_workdays if d.year == year}
    return lambda d: d in makeup or (d not in cal and d.weekday() < 5)


def year_days(year: int):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_each_published_notice_equals_the_holidays_package(name):
    notice = parse(text(name))
    assert notice.year == PUBLISHED[name]
    lib = library_workday(notice.year)
    differing = [d for d in year_days(notice.year) if notice.is_workday(d) != lib(d)]
    assert differing == []
    assert set(notice.festivals) == set(FESTIVALS)


def test_2025_half_width_reprint_with_lunar_notes_and_ranges_across_months():
    notice = parse(text("2025-halfwidth.txt"))
    spring = [d for d, n in notice.holidays.items() if n == "春节"]
    assert spring == [date(2025, 1, 28) + timedelta(days=k) for k in range(8)]  # 1月28日（除夕）至2月4日
    assert notice.holidays[date(2025, 1, 1)] == "元旦"  # 放假1天，不调休
    assert notice.workdays == {date(2025, 1, 26): "春节", date(2025, 2, 8): "春节", date(2025, 4, 27): "劳动节",
                               date(2025, 9, 28): "国庆节、中秋节", date(2025, 10, 11): "国庆节、中秋节"}
    # The preamble's dates (自2025年1月1日起, 2024年11月修订) are not arrangements.
    assert date(2025, 5, 31) in notice.holidays and date(2025, 6, 2) in notice.holidays  # 5月31日至6月2日


def test_weekends_inside_ranges_are_holidays_and_advice_is_not():
    notice = parse(text("2024.txt"))
    assert date(2024, 2, 17) in notice.holidays  # a Saturday inside 2月10日至17日
    assert date(2024, 2, 9) not in notice.holidays  # "鼓励……安排职工在除夕（2月9日）休息" is advice
    assert sorted(notice.workdays) == [date(2024, 2, 4), date(2024, 2, 18), date(2024, 4, 7), date(2024, 4, 28),
                                       date(2024, 5, 11), date(2024, 9, 14), date(2024, 9, 29), date(2024, 10, 12)]


def test_a_range_across_new_year_belongs_partly_to_the_year_before():
    notice = parse(text("2023.txt"))
    assert [d for d, n in notice.holidays.items() if n == "元旦"] == [date(2022, 12, 31), date(2023, 1, 1),
                                                                    date(2023, 1, 2)]
    same = parse(text("2023.txt").replace("2022年12月31日至2023年1月2日", "12月31日至1月2日"))
    assert same.holidays == notice.holidays


def test_the_pdf_copy_with_line_breaks_inside_dates_and_page_numbers_reads_the_same():
    pdf = text("2026-pdf.txt")
    assert "2月1\n5日" in pdf and "10\n月1日" in pdf and "－ 1 －" in pdf
    assert parse(pdf) == parse(text("2026.txt"))


def test_full_width_and_half_width_read_the_same():
    full = text("2026.txt")
    half = full.translate(str.maketrans("：（），；", ":(),;"))
    assert parse(half) == parse(full)


def test_several_workdays_in_one_sentence_and_buxiu():
    notice = parse(text("2017.txt"))
    assert notice.holidays[date(2017, 1, 2)] == "元旦"  # "1月2日（星期一）补休"
    assert {date(2017, 1, 22), date(2017, 2, 4)} <= set(notice.workdays)


def _err(src: str) -> NoticeError:
    with pytest.raises(NoticeError) as info:
        parse(src)
    return info.value


def test_another_kind_of_document_is_refused():
    err = _err("国务院办公厅关于印发“十四五”现代物流发展规划的通知\n各省、自治区、直辖市人民政府：\n现将规划印发给你们。")
    assert err.line == 1 and "不是国务院办公厅关于部分节假日安排的通知" in err.message
    assert _err("").line == 1


def test_a_truncated_paste_names_what_is_missing():
    cut = text("2026.txt").split("五、端午节")[0]
    err = _err(cut)
    assert "端午节" in err.message and "中秋节" in err.message and "国庆节" in err.message


def test_a_weekday_note_that_does_not_match_the_year_stops_at_its_line():
    src = text("2026.txt").replace("2026年", "2028年")  # the 2026 dates with 2028's weekdays
    err = _err(src)
    assert err.line == 7 and "周" in err.message  # the 元旦 line: 2028-01-01 is a Saturday, not 周四


def test_a_count_that_does_not_match_the_range_is_refused():
    err = _err(text("2024.txt").replace("2月10日至17日放假调休，共8天", "2月10日至16日放假调休，共8天"))
    assert "共8天" in err.message and err.line == 13


def test_a_date_named_twice_with_different_meanings_is_refused():
    err = _err(text("2024.txt").replace("4月7日（星期日）上班", "4月6日（星期六）上班"))
    assert "既是放假日又是上班日" in err.message and err.line == 15


def test_an_unclassifiable_sentence_with_a_date_is_refused_at_its_line():
    src = text("2024.txt").replace("五、端午节：6月10日放假，与周末连休。", "五、端午节：6月10日另行通知。")
    err = _err(src)
    assert err.line == 19 and "放假还是上班" in err.message


def test_an_invalid_date_is_refused():
    err = _err(text("2024.txt").replace("6月10日放假", "6月31日放假"))
    assert "不是有效的日期" in err.message and err.line == 19


def test_years_that_disagree_are_refused():
    src = text("2024.txt").replace("现将2024年元旦", "现将2025年元旦")
    assert "年份不一致" in _err(src).message
