"""Working-day arithmetic on the calendar table, and the office's edits of its days.

A day with no row is an error (CalendarMissing), never a guess. Years are whole: every year in
`calendar_year` has all its days; the current year and the years ahead are always built (official
or provisional, `coord.workdays.years`, re-exported here), and a provisional year is corrected when
the State Council's notice is imported (`coord.workdays.imports`).
"""
from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from coord import events
from coord.audit import services as audit
from coord.dbtypes import utcnow
from coord.errors import DomainError, Forbidden
from coord.extensions import db
from coord.lang import N_, _, tr
from coord.timeutil import local_today
from coord.workdays.models import CalendarYear, WorkDay
from coord.workdays.years import (  # noqa: F401 - the calendar's years, re-exported for callers
    MAX_YEARS_AHEAD,
    PROVISIONAL_NOTE,
    add_year,
    build_year,
    ensure_years,
    forget_years,
    get_year,
    is_provisional,
    library_years,
    lock_calendar,
    provisional_span,
    provisional_years,
    seed_from_library,
    set_years_ahead,
    statutory_rules_current,
    year_statuses,
    years,
    years_ahead,
)

MAX_RANGE_DAYS = 366


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


# Why days changed, as announced (Chinese, stored in the trail) and shown in a mail's language (`reason_shown`).
EDIT_REASON = N_("工作日历修改")
IMPORT_REASON = N_("导入《%(title)s》")  # a State Council notice, its title as entered
_IMPORTED = re.compile(r"导入《(.*)》")


def reason_shown(reason: str) -> str:
    """A calendar change's announced reason in the current language (the notice's title as entered)."""
    found = _IMPORTED.fullmatch(reason or "")
    return _(IMPORT_REASON, title=found.group(1)) if found else tr(reason)


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
            add_year(year, actor)
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
    announce_changes(actor, changes, reason=EDIT_REASON)
    db.session.commit()
    forget_years()
    return changes


def _can_see(_user: Any, _id: str) -> bool:
    return True


# The calendar is shared by all agencies: anyone signed in may read its history.
audit.register_entity("workday", "工作日历", _can_see)
audit.register_entity("calendar_year", "工作日历年度", _can_see)
