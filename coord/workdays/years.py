"""The calendar's years: official or provisional, built ahead, and the office's setting.

A year in `calendar_year` has all its days in `work_day`. It is official when the State Council's
arrangement is in (the `holidays` library carries it, or the notice was imported), provisional while
it is built from the statutory holidays and weekends. The current year and `years_ahead` more always
exist (`ensure_years`: migration, seed, worker, command, setting). Re-exported by `services`.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError

from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import DomainError, Forbidden
from coord.extensions import db
from coord.timeutil import local_today
from coord.workdays.models import CalendarSetting, CalendarYear, WorkDay

log = logging.getLogger(__name__)

PROVISIONAL_NOTE = "暂按法定节假日推算，国务院公布放假安排后自动校正"
MAX_YEARS_AHEAD = 5
YEARS_CACHE_SECONDS = 30.0


def _cache() -> dict:
    return current_app.extensions.setdefault("coord_calendar_years", {})


def year_statuses() -> dict[int, str]:
    """{year: status} of the calendar's years; cached a few seconds per process (every page's
    warning and provisional marks read it), dropped at once when this process changes a year."""
    store = _cache() if has_app_context() else {}
    hit = store.get("value")
    if hit and hit[0] > time.monotonic():
        return hit[1]
    value = dict(db.session.execute(sa.select(CalendarYear.year, CalendarYear.status)).all())
    store["value"] = (time.monotonic() + YEARS_CACHE_SECONDS, value)
    return value


def forget_years() -> None:
    if has_app_context():
        _cache().pop("value", None)


def provisional_years() -> frozenset[int]:
    return frozenset(y for y, s in year_statuses().items() if s == "provisional")


def is_provisional(day: date | None) -> bool:
    return day is not None and day.year in provisional_years()


def provisional_span(start: date | None, end: date | None) -> bool:
    """Was a date counted over a provisional day: any day of (start, end] in a provisional year."""
    if end is None:
        return False
    first = (start + timedelta(days=1)) if start is not None and start < end else end
    years = provisional_years()
    return any(y in years for y in range(first.year, end.year + 1))


def years() -> list[CalendarYear]:
    return list(db.session.execute(sa.select(CalendarYear).order_by(CalendarYear.year)).scalars())


def get_year(year: int) -> CalendarYear | None:
    return db.session.get(CalendarYear, year)


def years_ahead() -> int:
    """How many years after the current one are kept built (office setting, else environment)."""
    row = db.session.get(CalendarSetting, "years_ahead")
    raw = row.value if row else (current_app.config.get("CALENDAR_YEARS_AHEAD")
                                 or os.environ.get("COORD_CALENDAR_YEARS_AHEAD", "1"))
    try:
        return max(0, min(MAX_YEARS_AHEAD, int(raw)))
    except (TypeError, ValueError):
        return 1


def library_years() -> list[int]:
    """Years for which the `holidays` package carries China's official arrangement."""
    from holidays.countries.china import ChinaStaticHolidays

    return sorted(y for y in ChinaStaticHolidays.special_public_holidays if y >= 2020)


def statutory_rules_current(year: int = 2030) -> bool:
    """Does the installed `holidays` apply the 2024 revision of 《全国年节及纪念日放假办法》 to years
    without a published arrangement: 春节 4 days (除夕 to 初三) and 劳动节 2?"""
    from holidays.countries.china import China

    names = [name for day, name in China(years=year, language="zh_CN").items() if "补假" not in name]
    return names.count("农历除夕") == 1 and names.count("春节") == 3 and names.count("劳动节") == 2


@dataclass(frozen=True)
class BuiltYear:
    status: str
    source: str
    days: dict[date, tuple[bool, str, str]]  # day -> (is_workday, note, source)


def build_year(year: int) -> BuiltYear:
    """A whole year from the `holidays` library: its official arrangement when it has one, else the
    statutory holidays (with the substitute days the law gives when one falls on a weekend) and
    weekends, provisional."""
    from holidays import __version__
    from holidays.countries.china import China

    official = year in set(library_years()) | _older_library_years()
    if not official and not statutory_rules_current():
        raise DomainError(f"已安装的 holidays {__version__} 未按 2024 年修订的《全国年节及纪念日放假办法》计算"
                          "法定节假日（春节 4 天、劳动节 2 天），请升级后再生成暂定年度。")
    cal = China(years=year, language="zh_CN")
    makeup = {d for d in cal.weekend_workdays if d.year == year} if official else set()
    kind = "holidays" if official else "provisional"
    out: dict[date, tuple[bool, str, str]] = {}
    day = date(year, 1, 1)
    while day.year == year:
        if day in makeup:
            out[day] = (True, "调休上班", kind)
        elif day in cal:
            out[day] = (False, cal.get(day)[:80], kind)
        else:
            out[day] = (day.weekday() < 5, "", kind)
        day += timedelta(days=1)
    source = (f"holidays {__version__}（国务院办公厅通知）" if official
              else f"法定节假日推算（《全国年节及纪念日放假办法》2024年修订，holidays {__version__}）")
    return BuiltYear("official" if official else "provisional", source, out)


def _older_library_years() -> set[int]:
    from holidays.countries.china import ChinaStaticHolidays

    return {y for y in ChinaStaticHolidays.special_public_holidays if y < 2020}


def lock_calendar() -> None:
    """Serialise changes to the calendar: on PostgreSQL an advisory lock, on SQLite BEGIN IMMEDIATE."""
    write_lock(db.session)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(7702)"))


def add_year(year: int, actor: Any = None) -> CalendarYear:
    """Build a year that has no row yet, keeping any days already in the table (flushed, not committed)."""
    built = build_year(year)
    have = set(db.session.execute(sa.select(WorkDay.day).where(
        WorkDay.day.between(date(year, 1, 1), date(year, 12, 31)))).scalars())
    db.session.add_all(WorkDay(day=d, is_workday=w, note=n, source=s)
                       for d, (w, n, s) in built.days.items() if d not in have)
    row = CalendarYear(year=year, status=built.status, source=built.source, version=1, updated_at=utcnow(),
                       updated_by_id=getattr(actor, "id", None))
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "calendar.year_built", "calendar_year", year,
                 summary=f"生成 {year} 年工作日历（{row.status_label}：{built.source}）",
                 after={"status": built.status, "source": built.source, "days_added": len(built.days) - len(have)})
    return row


def ensure_years(today: date | None = None, *, through: int | None = None, actor: Any = None) -> list[int]:
    """Build the current year and the years ahead that are missing; returns the years built.

    Run at seed time, by the worker (hourly), when the office opens 工作日历 and by
    `flask --app wsgi calendar-ensure`. Idempotent; two processes at once build a year once."""
    today = today or local_today()
    last = through if through is not None else today.year + years_ahead()
    wanted = range(today.year, last + 1)
    have = set(db.session.execute(sa.select(CalendarYear.year)).scalars())
    if all(y in have for y in wanted):
        return []
    lock_calendar()
    have = set(db.session.execute(sa.select(CalendarYear.year)).scalars())
    built = []
    try:
        for year in wanted:
            if year not in have:
                add_year(year, actor)
                built.append(year)
        db.session.commit()
    except IntegrityError:  # another process built it between our check and our insert
        db.session.rollback()
        log.info("calendar years %s were built by another process", built)
        return []
    forget_years()
    return built


def seed_from_library(years: list[int] | None = None) -> int:
    """Copy holidays and make-up working days into the table (rows already there are kept), then
    make sure the current year and the years ahead exist."""
    from holidays.countries.china import China

    years = years or library_years()
    existing = {d for (d,) in db.session.execute(sa.select(WorkDay.day)).all()}
    have_years = set(db.session.execute(sa.select(CalendarYear.year)).scalars())
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
        if year not in have_years:
            db.session.add(CalendarYear(year=year, status="official", source=build_year(year).source, version=1,
                                        updated_at=utcnow()))
    db.session.commit()
    forget_years()
    ensure_years()
    return added


def set_years_ahead(actor: Any, value: Any) -> int:
    """The office sets how many years ahead are kept built (provisional until their notice)."""
    if not getattr(actor, "is_office", False):
        raise Forbidden("仅领导小组办公室可修改工作日历。")
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = -1
    if not 0 <= n <= MAX_YEARS_AHEAD:
        raise DomainError(f"提前生成的年数应在 0–{MAX_YEARS_AHEAD} 之间。", field="years_ahead")
    write_lock(db.session)
    row = db.session.get(CalendarSetting, "years_ahead")
    before = {"years_ahead": years_ahead()}
    if row is None:
        row = CalendarSetting(name="years_ahead", value=str(n))
        db.session.add(row)
    row.value = str(n)
    audit.record(actor, "calendar.settings", "calendar_year", "settings", summary=f"提前生成 {n} 年的工作日历",
                 before=before, after={"years_ahead": n})
    db.session.commit()
    ensure_years(actor=actor)
    return n
