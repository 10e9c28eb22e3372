"""Working-day arithmetic on the calendar table, its years, and the office's edits.

A day with no row is an error (CalendarMissing), never a guess. Years are whole: every year in
`calendar_year` has all its days. The current year and the years ahead (office setting, default 1)
are always built, from the `holidays` library when it carries the State Council's arrangement
(official), else from the statutory holidays and weekends (provisional, corrected when the notice
is imported, see `coord.workdays.imports`).
"""
from __future__ import annotations

import bisect
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError

from coord import events
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import DomainError, Forbidden
from coord.extensions import db
from coord.timeutil import local_today
from coord.workdays.models import CalendarSetting, CalendarYear, WorkDay

log = logging.getLogger(__name__)

PROVISIONAL_NOTE = "暂按法定节假日推算，国务院公布放假安排后自动校正"
MAX_YEARS_AHEAD = 5
MAX_RANGE_DAYS = 366
YEARS_CACHE_SECONDS = 30.0


class CalendarMissing(ValueError):
    """Raised when a computation needs a day the calendar table does not hold."""

    def __init__(self, day: date):
        self.day = day
        super().__init__(
            f"{day.year} 年的工作日历尚未录入（缺少 {day.isoformat()}），请领导小组办公室先补充该年度日历。"
        )


def calendar_url(year: int | None = None) -> str:
    return "/calendar/" + (f"?year={year}" if year else "")


def calendar_error(err: CalendarMissing, *, field: str | None = None, prefix: str = "") -> DomainError:
    """The error a user sees for a missing calendar day: the message, and where to fix it."""
    return DomainError(f"{prefix}{err}", field=field, details={"calendar_url": calendar_url(err.day.year)})


# --- reading days -------------------------------------------------------------------------------

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
    return sorted(year_statuses())


class DayTable:
    """is_workday over a span read once, with other values laid over some days.

    Recomputing thousands of clocks after a calendar change needs two calendars: the table as it is
    and as it was (or will be). `overlay` gives the days that differ; everything else is read from
    the table, once per span (extended when a clock runs past it). Counting is a look-up: for each
    day of the span, how many working days lie in [lo, day].
    """

    def __init__(self, overlay: Mapping[date, bool] | None = None):
        self.overlay = dict(overlay or {})
        self._lo: date | None = None
        self._hi: date | None = None
        self._work: list[date] = []
        self._upto: dict[date, int] = {}  # day -> working days in [lo, day]
        self._missing: list[date] = []

    def load(self, lo: date, hi: date) -> DayTable:
        if self._lo is not None and self._lo <= lo and hi <= self._hi:
            return self
        if self._lo is not None:
            lo, hi = min(lo, self._lo), max(hi, self._hi)
        rows = known_days(lo, hi)
        rows.update({d: w for d, w in self.overlay.items() if lo <= d <= hi})
        self._lo, self._hi = lo, hi
        self._work, self._upto, self._missing = [], {lo - timedelta(days=1): 0}, []
        day = lo
        while day <= hi:
            if day not in rows:
                self._missing.append(day)
            elif rows[day]:
                self._work.append(day)
            self._upto[day] = len(self._work)
            day += timedelta(days=1)
        return self

    def _gap(self, after: date, upto: date) -> date | None:
        if not self._missing:
            return None
        i = bisect.bisect_right(self._missing, after)
        return self._missing[i] if i < len(self._missing) and self._missing[i] <= upto else None

    def count(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        if end <= start:
            return 0
        if start not in self._upto or end not in self._upto:
            self.load(start + timedelta(days=1), end)
        gap = self._gap(start, end)
        if gap:
            raise CalendarMissing(gap)
        return self._upto[end] - self._upto[start]

    def nth_after(self, start: date, n: int) -> date:
        """The n-th working day after start (start not counted); n <= 0 gives start."""
        if n <= 0:
            return start
        if start not in self._upto:
            self.load(start + timedelta(days=1), start + timedelta(days=max(2 * n + 14, 31)))
        while True:
            i = self._upto[start] + n - 1
            found = self._work[i] if i < len(self._work) else None
            gap = self._gap(start, found or self._hi)
            if gap:
                raise CalendarMissing(gap)
            if found:
                return found
            self.load(self._lo, self._hi + timedelta(days=max(2 * n, 31)))


# --- years --------------------------------------------------------------------------------------

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


def _add_year(year: int, actor: Any = None) -> CalendarYear:
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
                _add_year(year, actor)
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


# --- the office's edits --------------------------------------------------------------------------

def _require_office(actor: Any) -> None:
    if not getattr(actor, "is_office", False):
        raise Forbidden("仅领导小组办公室可修改工作日历。")


def editable_year(year: int, today: date | None = None) -> None:
    """The office edits years from 2000 up to as far ahead as years may be kept built."""
    today = today or local_today()
    if not 2000 <= year <= today.year + MAX_YEARS_AHEAD:
        raise DomainError(f"只能修改 2000 年至 {today.year + MAX_YEARS_AHEAD} 年的工作日历。", field="day")


@dataclass
class DayChange:
    """A day whose working status changes (was_workday None: the day had no row)."""

    day: date
    was_workday: bool | None
    is_workday: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.day, "was_workday": self.was_workday, "is_workday": self.is_workday,
                "note": self.note}


def write_days(wanted: Mapping[date, tuple[bool, str, str]]) -> tuple[list[DayChange], int]:
    """Set days to (is_workday, note, source) inside the caller's transaction (rows created when
    missing). Returns the days whose working status changed and how many rows were written."""
    if not wanted:
        return [], 0
    lo, hi = min(wanted), max(wanted)
    rows = {r.day: r for r in db.session.execute(sa.select(WorkDay).where(WorkDay.day.between(lo, hi))).scalars()}
    changes: list[DayChange] = []
    written = 0
    for day in sorted(wanted):
        is_work, note, source = wanted[day]
        note = note.strip()[:80]
        row = rows.get(day)
        if row is None:
            db.session.add(WorkDay(day=day, is_workday=is_work, note=note, source=source))
            written += 1
            continue
        if (row.is_workday, row.note, row.source) == (is_work, note, source):
            continue
        if row.is_workday != is_work:
            changes.append(DayChange(day, row.is_workday, is_work, note))
        row.is_workday, row.note, row.source = is_work, note, source
        written += 1
    db.session.flush()
    return changes, written


def bump_years(years_touched: Iterable[int], actor: Any) -> None:
    for year in set(years_touched):
        row = db.session.get(CalendarYear, year)
        if row is not None:
            row.version += 1
            row.updated_at = utcnow()
            row.updated_by_id = getattr(actor, "id", None)


def announce_changes(actor: Any, changes: list[DayChange], reason: str) -> None:
    """Tell the features whose clocks run over these days (after the commit)."""
    if changes:
        events.announce(events.calendar_days_changed, None, actor=actor, days=[c.day for c in changes],
                        changes=[c.as_dict() for c in changes], reason=reason)


def set_day(actor: Any, day: date, is_workday: bool, note: str) -> WorkDay:
    """The office marks a day a workday or not (audited; clocks over the day are recomputed)."""
    set_range(actor, day, day, is_workday, note)
    return db.session.get(WorkDay, day)


def set_range(actor: Any, start: date, end: date, is_workday: bool, note: str) -> list[DayChange]:
    """The office sets every day of [start, end] to a working day or a day off, with one note."""
    _require_office(actor)
    if end < start:
        raise DomainError("结束日期不能早于开始日期。", field="end")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise DomainError(f"一次最多设置 {MAX_RANGE_DAYS} 天。", field="end")
    for year in range(start.year, end.year + 1):
        editable_year(year)
    lock_calendar()
    have = set(db.session.execute(sa.select(CalendarYear.year)).scalars())
    for year in range(start.year, end.year + 1):
        if year not in have:  # a year is never partly in the table: build it first, then edit
            _add_year(year, actor)
    note = (note or "").strip()[:80]
    span = [start + timedelta(days=k) for k in range((end - start).days + 1)]
    before = {r.day: r for r in days(start, end)}
    snapshot = {d.isoformat(): {"is_workday": before[d].is_workday, "note": before[d].note} for d in span}
    changes, written = write_days({d: (is_workday, note, "admin") for d in span})
    kind = "工作日" if is_workday else "休息日"
    if written:
        bump_years(range(start.year, end.year + 1), actor)
        if start == end:
            audit.record(actor, "workday.set", "workday", start.isoformat(),
                         summary=f"{start.isoformat()} 设为{kind}", before=snapshot[start.isoformat()],
                         after={"is_workday": is_workday, "note": note})
        else:
            audit.record(actor, "workday.set_range", "workday", f"{start.isoformat()}..{end.isoformat()}",
                         summary=f"{start.isoformat()} 至 {end.isoformat()} 共 {len(span)} 天设为{kind}",
                         before=snapshot, after={"is_workday": is_workday, "note": note,
                                                 "changed": [c.day.isoformat() for c in changes]})
    announce_changes(actor, changes, reason="工作日历修改")
    db.session.commit()
    forget_years()
    return changes


def set_years_ahead(actor: Any, value: Any) -> int:
    """The office sets how many years ahead are kept built (provisional until their notice)."""
    _require_office(actor)
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


def _can_see(_user: Any, _id: str) -> bool:
    return True


# The calendar is shared by all agencies: anyone signed in may read its history.
audit.register_entity("workday", "工作日历", _can_see)
audit.register_entity("calendar_year", "工作日历年度", _can_see)
