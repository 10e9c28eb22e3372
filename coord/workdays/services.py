"""Working-day arithmetic on the calendar table. A day with no row is an error, never a guess."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from coord import events
from coord.audit import services as audit
from coord.extensions import db
from coord.workdays.models import WorkDay


class CalendarMissing(ValueError):
    """Raised when a computation needs a day the calendar table does not hold."""

    def __init__(self, day: date):
        self.day = day
        super().__init__(
            f"{day.year} 年的工作日历尚未录入（缺少 {day.isoformat()}），请领导小组办公室先补充该年度日历。"
        )


def known_days(start: date, end: date) -> dict[date, bool]:
    """is_workday for the days in [start, end] that the calendar holds (gaps simply absent)."""
    rows = db.session.execute(
        sa.select(WorkDay.day, WorkDay.is_workday).where(WorkDay.day.between(start, end))
    ).all()
    return dict(rows)


def workday_map(start: date, end: date) -> dict[date, bool]:
    """is_workday for every day in [start, end]; raises CalendarMissing on the first gap."""
    found = known_days(start, end)
    day = start
    while day <= end:
        if day not in found:
            raise CalendarMissing(day)
        day += timedelta(days=1)
    return found


def is_workday(day: date) -> bool:
    return workday_map(day, day)[day]


def add_working_days(start: date, n: int) -> date:
    """The n-th working day after `start` (start itself not counted); n=0 gives start.

    Reads the calendar in windows and fails only on a day it actually needs that is missing.
    """
    if n <= 0:
        return start
    count = 0
    window_start = start + timedelta(days=1)
    while True:
        window_end = window_start + timedelta(days=max(2 * (n - count), 7))
        rows = dict(db.session.execute(
            sa.select(WorkDay.day, WorkDay.is_workday).where(WorkDay.day.between(window_start, window_end))
        ).all())
        day = window_start
        while day <= window_end:
            if day not in rows:
                raise CalendarMissing(day)
            if rows[day]:
                count += 1
                if count == n:
                    return day
            day += timedelta(days=1)
        window_start = window_end + timedelta(days=1)


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when end is before start."""
    if end == start:
        return 0
    if end < start:
        return -working_days_between(end, start)
    return sum(1 for w in workday_map(start + timedelta(days=1), end).values() if w)


def days(start: date, end: date) -> list[WorkDay]:
    stmt = sa.select(WorkDay).where(WorkDay.day.between(start, end)).order_by(WorkDay.day)
    return list(db.session.execute(stmt).scalars())


def known_years() -> list[int]:
    rows = db.session.execute(sa.select(WorkDay.day).order_by(WorkDay.day)).scalars()
    return sorted({d.year for d in rows})


def set_day(actor: Any, day: date, is_workday: bool, note: str) -> WorkDay:
    """The admin marks a day a workday or not (new years, late announcements)."""
    row = db.session.get(WorkDay, day)
    before = None if row is None else {"is_workday": row.is_workday, "note": row.note}
    if row is None:
        row = WorkDay(day=day)
        db.session.add(row)
    row.is_workday = is_workday
    row.note = note.strip()[:80]
    row.source = "admin"
    audit.record(
        actor, "workday.set", "workday", day.isoformat(),
        summary=f"{day.isoformat()} 设为{'工作日' if is_workday else '休息日'}",
        before=before, after={"is_workday": is_workday, "note": row.note},
    )
    if before is None or before["is_workday"] != is_workday:
        events.announce(events.calendar_days_changed, None, actor=actor, days=[day])
    db.session.commit()
    return row


def library_years() -> list[int]:
    """Years for which the `holidays` package carries China's official arrangement."""
    from holidays.countries.china import ChinaStaticHolidays

    return sorted(y for y in ChinaStaticHolidays.special_public_holidays if y >= 2020)


def seed_from_library(years: list[int] | None = None) -> int:
    """Copy holidays and make-up working days into the table; rows already there are kept."""
    from holidays.countries.china import China

    years = years or library_years()
    existing = {d for (d,) in db.session.execute(sa.select(WorkDay.day)).all()}
    added = 0
    for year in years:
        cal = China(years=year, language="zh_CN")
        makeup = {d for d in cal.weekend_workdays if d.year == year}
        day = date(year, 1, 1)
        while day.year == year:
            if day not in existing:
                if day in makeup:
                    db.session.add(WorkDay(day=day, is_workday=True, note="调休上班", source="holidays"))
                elif day in cal:
                    db.session.add(WorkDay(day=day, is_workday=False, note=cal.get(day)[:80], source="holidays"))
                else:
                    db.session.add(WorkDay(day=day, is_workday=day.weekday() < 5, note="", source="holidays"))
                added += 1
            day += timedelta(days=1)
    db.session.commit()
    return added


# The calendar is shared by all agencies: anyone signed in may read its history.
audit.register_entity("workday", "工作日历", lambda user, _id: True)
