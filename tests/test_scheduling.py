"""The slot finder: working days and hours, holidays and make-up days, buffers, notice, clashes."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from coord.errors import DomainError
from coord.scheduling.rules import Rules, parse_hours
from coord.scheduling.slots import check_slot, find_slots, merge, nth_working_day_after, sweep
from tests.conftest import user_by_name
from tests.interview_fixtures import NOW, at, busy, drop_calendar_from, room_id

HOURS = parse_hours("09:00-12:00,14:00-17:30")


def rules(buffer: int = 15, step: int = 30, notice: int = 3) -> Rules:
    return Rules(working_hours=HOURS, notice_working_days=notice, buffer_minutes=buffer, step_minutes=step)


def people(*names: str) -> list[str]:
    return [f"user:{user_by_name(n).id}" for n in names]


def starts(result) -> list[str]:
    return [s.start.astimezone(at("2026-01-01", "00:00").tzinfo).strftime("%Y-%m-%d %H:%M") for s in result.slots]


def search(resources, duration=90, start="2026-09-21", end="2026-09-30", limit=3, **kw):
    return find_slots(resources, duration, at(start, "00:00"), at(end, "23:59"), limit, now=kw.pop("now", NOW),
                      rules=kw.pop("rules", rules()), **kw)


def test_free_people_get_the_earliest_slots_after_the_notice_period(app):
    result = search(people("scjg_coord", "cgj_officer") + [f"room:{room_id()}"])
    # Monday 09-21 + 3 working days = Thursday 09-24; every slot inside a working session.
    assert starts(result) == ["2026-09-24 09:00", "2026-09-24 09:30", "2026-09-24 10:00"]
    assert all(s.end - s.start == timedelta(minutes=90) for s in result.slots)
    assert result.earliest_day == date(2026, 9, 24)


def test_notice_counts_working_days_across_a_holiday(app):
    # Wednesday 09-23: 09-24 (1), 09-25 Mid-Autumn off, weekend, 09-28 (2), 09-29 (3).
    assert nth_working_day_after(date(2026, 9, 23), 3) == date(2026, 9, 29)
    result = search(people("scjg_coord"), now=at("2026-09-23", "08:00"), limit=1)
    assert starts(result) == ["2026-09-29 09:00"]


def test_touching_intervals_are_free_without_buffer(app):
    busy("scjg_coord", at("2026-09-24", "09:00"), at("2026-09-24", "10:00"))
    result = search(people("scjg_coord"), duration=60, rules=rules(buffer=0), limit=2)
    assert starts(result) == ["2026-09-24 10:00", "2026-09-24 10:30"]  # 10:00 touches the block: allowed


def test_overlapping_intervals_of_two_people_merge(app):
    busy("scjg_coord", at("2026-09-24", "09:00"), at("2026-09-24", "10:00"))
    busy("cgj_officer", at("2026-09-24", "09:30"), at("2026-09-24", "11:00"))
    result = search(people("scjg_coord", "cgj_officer"), duration=60, rules=rules(buffer=0), limit=1)
    assert starts(result) == ["2026-09-24 11:00"]


def test_identical_intervals_count_once(app):
    for name in ("scjg_coord", "cgj_officer"):
        busy(name, at("2026-09-24", "09:00"), at("2026-09-24", "10:30"))
    result = search(people("scjg_coord", "cgj_officer"), duration=90, rules=rules(buffer=0), limit=1)
    assert starts(result) == ["2026-09-24 10:30"]


def test_buffer_keeps_a_gap_before_and_after_other_engagements(app):
    busy("scjg_coord", at("2026-09-24", "09:00"), at("2026-09-24", "10:00"))
    busy("scjg_coord", at("2026-09-24", "11:30"), at("2026-09-24", "12:00"))
    result = search(people("scjg_coord"), duration=60, rules=rules(buffer=15, step=15), limit=2)
    # After 10:00 + 15 min buffer: 10:15–11:15 ends exactly 15 min before 11:30. 10:30 would not.
    assert starts(result) == ["2026-09-24 10:15", "2026-09-24 14:00"]


def test_meetings_never_span_lunch_or_leave_working_hours(app):
    result = search(people("scjg_coord"), duration=210, limit=2)
    assert starts(result) == ["2026-09-24 14:00", "2026-09-28 14:00"]  # only the afternoon holds 3.5 h
    with pytest.raises(DomainError, match="超过了单个工作时段"):
        search(people("scjg_coord"), duration=240)


def test_national_day_holidays_are_skipped_and_the_makeup_saturday_is_used(app):
    result = search(people("scjg_coord"), duration=210, start="2026-10-01", end="2026-10-12", limit=10)
    days = [s[:10] for s in starts(result)]
    assert days == ["2026-10-08", "2026-10-09", "2026-10-10", "2026-10-12"]  # 10-10 is a make-up Saturday
    assert not any("2026-10-0" + str(d) in days for d in range(1, 8))


def test_a_window_in_a_year_without_calendar_data_is_an_error(app):
    # 2030 lies beyond every year the table has (the current one and the years ahead).
    with pytest.raises(DomainError, match="2030 年的工作日历尚未录入") as err:
        search(people("scjg_coord"), start="2030-03-01", end="2030-03-10", now=at("2026-12-21", "09:00"))
    assert err.value.details["calendar_url"] == "/calendar/?year=2030"


def test_a_window_running_into_a_missing_year_returns_what_it_found_and_says_where_it_stopped(app):
    drop_calendar_from(2027)  # as if the horizon ended with 2026
    result = search(people("scjg_coord"), duration=210, start="2026-12-28", end="2027-01-15", limit=10,
                    now=at("2026-12-21", "09:00"))
    assert [s[:10] for s in starts(result)] == ["2026-12-28", "2026-12-29", "2026-12-30", "2026-12-31"]
    assert result.calendar_gap == date(2027, 1, 1) and "2027" in result.calendar_message


def test_when_nothing_fits_it_names_who_blocks_the_best_candidates(app):
    busy("scjg_coord", at("2026-09-24", "08:00"), at("2026-09-24", "12:00"), "培训")
    busy("cgj_officer", at("2026-09-24", "13:00"), at("2026-09-24", "18:00"), "休假")
    result = search(people("scjg_coord", "cgj_officer"), start="2026-09-24", end="2026-09-24")
    assert result.slots == []
    assert result.near_misses, "the best candidates should be explained"
    # Every candidate is blocked by exactly one person; the earliest are the morning's.
    assert all(len(c.blockers) == 1 for c in result.near_misses)
    assert result.near_misses[0].blockers == people("scjg_coord")
    assert starts(type("R", (), {"slots": result.near_misses})())[0] == "2026-09-24 09:00"


def test_a_long_leave_starting_days_before_the_window_still_blocks_it(app):
    busy("scjg_coord", at("2026-09-20", "00:00"), at("2026-09-28", "12:00"), "年休假")
    busy("scjg_coord", at("2026-09-28", "13:00"), at("2026-09-28", "15:00"), "会议")  # a short one too
    result = search(people("scjg_coord"), duration=60, start="2026-09-24", limit=1)
    assert starts(result) == ["2026-09-28 15:30"]  # 15:00 + 15 min buffer, on the 30-minute grid


def test_inactive_busy_blocks_do_not_count(app):
    from coord.extensions import db

    block = busy("scjg_coord", at("2026-09-24", "09:00"), at("2026-09-24", "12:00"))
    block.active = False
    db.session.commit()
    assert starts(search(people("scjg_coord"), limit=1)) == ["2026-09-24 09:00"]


def test_check_slot_rules(app):
    ok = at("2026-10-10", "09:00")
    check_slot(ok, ok + timedelta(minutes=90), now=NOW)  # make-up Saturday: fine
    cases = [
        (at("2026-10-02", "09:00"), 90, "不是工作日"),
        (at("2026-10-11", "09:00"), 90, "不是工作日"),
        (at("2026-09-28", "11:00"), 90, "不在同一工作时段内"),
        (at("2026-09-28", "07:30"), 60, "不在同一工作时段内"),
        (at("2026-09-28", "17:00"), 60, "不在同一工作时段内"),
        (at("2026-09-22", "09:00"), 60, "至少提前 3 个工作日"),
        (at("2026-09-18", "09:00"), 60, "过去"),
        (at("2030-02-01", "09:00"), 60, "2030 年的工作日历尚未录入"),
    ]
    for start, minutes, message in cases:
        with pytest.raises(DomainError, match=message):
            check_slot(start, start + timedelta(minutes=minutes), now=NOW)


def test_sweep_matches_a_brute_force_check_on_random_data():
    rng = random.Random(7)
    for _ in range(200):
        blocks = []
        for _ in range(rng.randint(0, 12)):
            s = rng.randrange(0, 600) * 60
            blocks.append((s, s + rng.randint(1, 120) * 60))
        pad, duration, step = rng.choice([0, 900]), rng.choice([1800, 3600, 5400]), 900
        sessions = [(0, 180 * 60, 0), (300 * 60, 510 * 60, 0)]
        got = sweep(merge(blocks, pad), sessions, duration, step, 0, 10**9, 100)
        want = [
            t for s, e, _ in sessions for t in range(s, e - duration + 1, step)
            if all(t + duration + pad <= bs or be + pad <= t for bs, be in blocks)
        ]
        assert got == want


def test_finder_agrees_with_the_naive_pairwise_version_on_random_diaries(app):
    """The fast finder and the benchmark's straightforward version return the same slots."""
    from benchmarks.scheduling import naive_find_slots
    from coord.extensions import db
    from coord.scheduling.models import BusyBlock

    rng = random.Random(11)
    names = ["scjg_coord", "scjg_officer", "cgj_coord", "cgj_officer", "sthj_coord"]
    ids = [user_by_name(n).id for n in names]
    for uid in ids:
        for _ in range(60):
            day = date(2026, 9, 24) + timedelta(days=rng.randrange(25))
            start = at(day, "07:00") + timedelta(minutes=5 * rng.randrange(150))
            length = timedelta(minutes=rng.choice([15, 30, 45, 60, 90, 300]))  # some longer than 4 hours
            db.session.add(BusyBlock(user_id=uid, start_at=start, end_at=start + length, reason="随机"))
    db.session.commit()
    for duration in (30, 60, 90):
        fast = search([f"user:{u}" for u in ids], duration=duration, start="2026-09-21", end="2026-10-20", limit=40,
                      rules=None)
        naive = naive_find_slots(ids, duration, at("2026-09-21", "00:00"), at("2026-10-20", "23:59"), 40, NOW)
        assert [(s.start, s.end) for s in fast.slots] == naive
        assert fast.slots, "the random diaries should leave some room"
