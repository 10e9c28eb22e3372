"""The slot finder: earliest common free slots for people, a room and a party.

How it stays fast: per chunk of working days, two SQL range queries fetch only the busy
intervals that overlap the chunk (as epoch seconds, no ORM objects); every interval is widened
by the buffer, all are merged into one sorted "blocked" list (a slot must be free for every
resource, so the union is what matters), and one sweep over the working sessions of each day
walks the grid of candidate starts, jumping past each blocked interval. Cost is
O(n log n) in the intervals that touch the window, independent of how many people take part.

Rules: working days from the calendar table (a missing day is an error, never a guess), working
hours per day in local time, a slot lies inside one working session, the day is at least the
notice period (working days) after today, and a buffer separates a slot from other engagements.
"""
from __future__ import annotations

import bisect
import functools
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from coord.dbtypes import UTCDateTime, utcnow
from coord.errors import DomainError
from coord.extensions import db
from coord.scheduling.models import LONG_BLOCK, Booking, BusyBlock
from coord.scheduling.rules import Rules, current_rules
from coord.timeutil import local_datetime, to_local
from coord.workdays.services import CalendarMissing, calendar_error, known_days
from coord.workdays.services import add_working_days as nth_working_day_after

Interval = tuple[int, int]  # [start, end) in epoch seconds
CHUNK_DAYS = 10  # working days loaded per round trip; most searches end in the first chunk
MAX_WINDOW_DAYS = 366


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


@dataclass
class Candidate:
    """A near miss: a slot that only some resources block."""

    start: datetime
    end: datetime
    blockers: list[str]


@dataclass
class SearchResult:
    slots: list[Slot]
    earliest_day: date  # first day the notice period allows
    days_scanned: int = 0
    near_misses: list[Candidate] = field(default_factory=list)
    calendar_gap: date | None = None  # the search stopped at this day: no calendar data

    @property
    def calendar_message(self) -> str:
        return str(CalendarMissing(self.calendar_gap)) if self.calendar_gap else ""


# --- calendar helpers --------------------------------------------------------------------------

def earliest_day(rules: Rules, now: datetime) -> date:
    try:
        return nth_working_day_after(to_local(now).date(), rules.notice_working_days)
    except CalendarMissing as err:
        raise calendar_error(err, field="start") from err


# --- loading busy intervals --------------------------------------------------------------------

def _epoch(column):
    """Seconds since the epoch, computed by the database: rows arrive as plain ints (no datetimes)."""
    bind = db.session.get_bind()
    if bind.dialect.name == "sqlite":
        if bind.dialect.dbapi.sqlite_version_info >= (3, 38):
            return sa.func.unixepoch(column, type_=sa.Integer)
        return sa.cast(sa.func.strftime("%s", column), sa.Integer)
    return sa.cast(sa.extract("epoch", column), sa.BigInteger)


def busy_selects(user_ids: Sequence[int], ranges: Sequence[tuple[datetime, datetime]], *columns) -> list[sa.Select]:
    """Selects of the active busy blocks of these people that overlap any of the ranges.

    One bounded range scan per range instead of one open-ended scan: a block of at most
    LONG_BLOCK overlapping [lo, hi) starts in [lo - LONG_BLOCK, hi), which the covering index
    (user_id, start_at, end_at, active) reads directly, returning only the blocks that overlap
    (end_at is checked in the index too); the rare longer blocks come from their own index.
    A block may come back more than once (it overlaps two ranges): callers treat rows as a set.
    """
    cols = columns or (BusyBlock,)
    people = (BusyBlock.user_id.in_(list(user_ids)), BusyBlock.active == sa.true())
    selects = [
        sa.select(*cols).where(*people, BusyBlock.start_at >= lo - LONG_BLOCK, BusyBlock.start_at < hi,
                               BusyBlock.end_at > lo)
        for lo, hi in ranges
    ]
    hull_lo, hull_hi = min(lo for lo, _ in ranges), max(hi for _, hi in ranges)
    selects.append(sa.select(*cols).where(*people, BusyBlock.is_long == sa.true(), BusyBlock.end_at > hull_lo,
                                          BusyBlock.start_at < hull_hi))
    return selects


@functools.lru_cache(maxsize=32)
def _busy_union(n: int) -> sa.CompoundSelect:
    """SQLite: one arm per range (each a bounded scan of the covering index), built once per
    number of ranges and reused with new values (SQLAlchemy finds it compiled in its cache)."""
    who = BusyBlock.user_id.in_(sa.bindparam("busy_user_ids", expanding=True))
    cols = (BusyBlock.user_id, sa.func.unixepoch(BusyBlock.start_at, type_=sa.Integer),
            sa.func.unixepoch(BusyBlock.end_at, type_=sa.Integer))
    if sqlite3.sqlite_version_info < (3, 38):  # no unixepoch() yet
        cols = (BusyBlock.user_id, sa.cast(sa.func.strftime("%s", BusyBlock.start_at), sa.Integer),
                sa.cast(sa.func.strftime("%s", BusyBlock.end_at), sa.Integer))

    def at(name: str) -> sa.BindParameter:
        return sa.bindparam(name, type_=UTCDateTime)

    arms = [
        sa.select(*cols).where(who, BusyBlock.active == sa.true(), BusyBlock.start_at >= at(f"early{k}"),
                               BusyBlock.start_at < at(f"hi{k}"), BusyBlock.end_at > at(f"lo{k}"))
        for k in range(n)
    ]
    arms.append(sa.select(*cols).where(who, BusyBlock.active == sa.true(), BusyBlock.is_long == sa.true(),
                                       BusyBlock.end_at > at("hull_lo"), BusyBlock.start_at < at("hull_hi")))
    return sa.union_all(*arms)


# PostgreSQL: the same query with the ranges and people as arrays. A UNION of one arm per range
# with an IN list each costs PostgreSQL more to plan (per array element, per arm) than to run;
# this shape plans in a fraction of a millisecond: a nested loop of index-only scans.
_PG_BUSY = sa.text("""
    SELECT b.user_id, CAST(EXTRACT(epoch FROM b.start_at) AS BIGINT), CAST(EXTRACT(epoch FROM b.end_at) AS BIGINT)
    FROM unnest(CAST(:los AS timestamptz[]), CAST(:his AS timestamptz[])) AS s(lo, hi)
    JOIN busy_block b ON b.user_id = ANY(CAST(:ids AS integer[])) AND b.active
        AND b.start_at >= s.lo - CAST(:long AS interval) AND b.start_at < s.hi AND b.end_at > s.lo
    UNION ALL
    SELECT b.user_id, CAST(EXTRACT(epoch FROM b.start_at) AS BIGINT), CAST(EXTRACT(epoch FROM b.end_at) AS BIGINT)
    FROM busy_block b
    WHERE b.user_id = ANY(CAST(:ids AS integer[])) AND b.active AND b.is_long
        AND b.end_at > :hull_lo AND b.start_at < :hull_hi
""")


def load_busy(
    resources: Sequence[str], ranges: Sequence[tuple[datetime, datetime]], exclude_interview_id: int | None = None
) -> dict[str, list[Interval]]:
    """Busy intervals overlapping the ranges, per resource: people's busy blocks + active bookings."""
    out: dict[str, list[Interval]] = {r: [] for r in resources}
    conn = db.session.connection()  # Core rows, fetched in one go: this is the hot path
    people = {int(r[5:]): out[r] for r in resources if r.startswith("user:")}
    if people:
        hull = {"hull_lo": min(lo for lo, _ in ranges), "hull_hi": max(hi for _, hi in ranges)}
        if conn.dialect.name == "postgresql":
            params: dict[str, object] = {"ids": list(people), "los": [lo for lo, _ in ranges],
                                         "his": [hi for _, hi in ranges], "long": LONG_BLOCK, **hull}
            rows = conn.execute(_PG_BUSY, params).fetchall()
        else:
            params = {"busy_user_ids": list(people), **hull}
            for k, (lo, hi) in enumerate(ranges):
                params.update({f"lo{k}": lo, f"hi{k}": hi, f"early{k}": lo - LONG_BLOCK})
            rows = conn.execute(_busy_union(len(ranges)), params).fetchall()
        for uid, s, e in rows:
            people[uid].append((s, e))  # already ints (see _epoch)
    if resources:
        # Bookings last at most LONG_BLOCK (the longest interview), so one bounded scan finds them.
        start, end = min(lo for lo, _ in ranges), max(hi for _, hi in ranges)
        stmt = sa.select(Booking.resource, _epoch(Booking.start_at), _epoch(Booking.end_at)).where(
            Booking.resource.in_(list(resources)), Booking.active == sa.true(),
            Booking.start_at >= start - LONG_BLOCK, Booking.start_at < end, Booking.end_at > start,
        )
        if exclude_interview_id is not None:
            stmt = stmt.where(Booking.interview_id != exclude_interview_id)
        for res, s, e in conn.execute(stmt).fetchall():
            out[res].append((s, e))
    return out


def merge(intervals: Iterable[Interval], pad: int = 0) -> list[Interval]:
    """Sorted union of intervals, each widened by `pad` seconds on both sides."""
    ordered = sorted(intervals)
    merged: list[Interval] = []
    if not ordered:
        return merged
    cur_s, cur_e = ordered[0][0] - pad, ordered[0][1] + pad
    for s, e in ordered:
        s, e = s - pad, e + pad
        if s <= cur_e:
            if e > cur_e:
                cur_e = e
        else:
            merged.append((cur_s, cur_e))
            cur_s, cur_e = s, e
    merged.append((cur_s, cur_e))
    return merged


# --- the sweep ---------------------------------------------------------------------------------

def _ts(value: datetime) -> int:
    return int(value.timestamp())


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _sessions(day: date, rules: Rules) -> list[tuple[int, int, int]]:
    """(start, end, grid origin) in epoch seconds for each working session of a local day."""
    midnight = _ts(local_datetime(day, datetime.min.time()))
    return [(_ts(local_datetime(day, s)), _ts(local_datetime(day, e)), midnight) for s, e in rules.working_hours]


def _align(ts: int, origin: int, step: int) -> int:
    return origin + -(-(ts - origin) // step) * step


def sweep(
    blocked: list[Interval], sessions: Iterable[tuple[int, int, int]], duration: int, step: int,
    lower: int, upper: int, limit: int,
) -> list[int]:
    """Grid starts t in the sessions with [t, t+duration) inside [lower, upper) and clear of `blocked`."""
    starts: list[int] = []
    ends = [e for _, e in blocked]
    for s_start, s_end, origin in sessions:
        top = min(s_end, upper)
        t = _align(max(s_start, lower), origin, step)
        i = bisect.bisect_right(ends, t)  # first blocked interval ending after t
        while t + duration <= top:
            while i < len(blocked) and blocked[i][1] <= t:
                i += 1
            if i < len(blocked) and blocked[i][0] < t + duration:
                t = _align(blocked[i][1], origin, step)  # jump past the obstacle
                continue
            starts.append(t)
            if len(starts) >= limit:
                return starts
            t += step
    return starts


def _check_window(duration_minutes: int, window_start: datetime, window_end: datetime, rules: Rules) -> None:
    if duration_minutes <= 0:
        raise DomainError(_("约谈时长须为正数（分钟）。"), field="duration_minutes")
    if duration_minutes > rules.longest_session_minutes:
        raise DomainError(
            _("约谈时长 %(n)s 分钟超过了单个工作时段（%(hours)s）。", n=duration_minutes, hours=rules.describe_hours()),
            field="duration_minutes",
        )
    if window_end <= window_start:
        raise DomainError(_("查询窗口的结束时间须晚于开始时间。"), field="window_end")
    if window_end - window_start > timedelta(days=MAX_WINDOW_DAYS):
        raise DomainError(_("查询窗口不能超过一年。"), field="window_end")


def find_slots(
    resources: Sequence[str],
    duration_minutes: int,
    window_start: datetime,
    window_end: datetime,
    limit: int = 10,
    *,
    now: datetime | None = None,
    exclude_interview_id: int | None = None,
    rules: Rules | None = None,
    explain: bool = True,
) -> SearchResult:
    """The earliest `limit` slots in the window where every resource is free.

    When fewer are found and `explain` is set, `near_misses` names who blocks the best candidates.
    A window reaching days absent from the calendar stops there (`calendar_gap`); if nothing was
    found before the gap it is an error with the calendar's Chinese message.
    """
    rules = rules or current_rules()
    now = now or utcnow()
    _check_window(duration_minutes, window_start, window_end, rules)
    limit = max(1, min(int(limit), 100))
    first = earliest_day(rules, now)
    result = SearchResult(slots=[], earliest_day=first)
    lower = max(_ts(window_start), _ts(now))
    upper = _ts(window_end)
    day = max(to_local(window_start).date(), first)
    last = to_local(window_end).date()
    duration, step, pad = duration_minutes * 60, rules.step_minutes * 60, rules.buffer_minutes * 60
    loaded: dict[str, list[Interval]] = {r: [] for r in resources}
    scanned_sessions: list[tuple[int, int, int]] = []
    cal = known_days(day, last) if day <= last else {}
    while day <= last and len(result.slots) < limit:
        chunk: list[date] = []
        while day <= last and len(chunk) < CHUNK_DAYS:
            if day not in cal:
                result.calendar_gap = day
                break
            if cal[day]:
                chunk.append(day)
            day += timedelta(days=1)
        if chunk:
            sessions = [s for d in chunk for s in _sessions(d, rules)]
            ranges = [(_dt(s - pad), _dt(e + pad)) for s, e, _ in sessions]
            busy = load_busy(resources, ranges, exclude_interview_id)
            for r, ivs in busy.items():
                loaded[r].extend(ivs)
            blocked = merge([iv for ivs in busy.values() for iv in ivs], pad)
            found = sweep(blocked, sessions, duration, step, lower, upper, limit - len(result.slots))
            result.slots.extend(Slot(_dt(t), _dt(t + duration)) for t in found)
            result.days_scanned += len(chunk)
            scanned_sessions.extend(sessions)
        if result.calendar_gap:
            break
    if result.calendar_gap and not result.slots:
        raise calendar_error(CalendarMissing(result.calendar_gap), field="window_end")
    if explain and len(result.slots) < limit:
        result.near_misses = near_misses(loaded, scanned_sessions, duration, step, pad, lower, upper)
    return result


def near_misses(
    loaded: dict[str, list[Interval]], sessions: list[tuple[int, int, int]], duration: int, step: int,
    pad: int, lower: int, upper: int, keep: int = 3, max_candidates: int = 5000,
) -> list[Candidate]:
    """The candidates blocked by the fewest resources (earliest first), with those resources."""
    per_resource = {r: merge(ivs, pad) for r, ivs in loaded.items()}
    ends = {r: [e for _, e in ivs] for r, ivs in per_resource.items()}
    best: list[tuple[int, int, list[str]]] = []
    seen = 0
    for s_start, s_end, origin in sessions:
        t = _align(max(s_start, lower), origin, step)
        while t + duration <= min(s_end, upper) and seen < max_candidates:
            seen += 1
            who = []
            for r, ivs in per_resource.items():
                i = bisect.bisect_right(ends[r], t)
                if i < len(ivs) and ivs[i][0] < t + duration:
                    who.append(r)
            if who:
                best.append((len(who), t, who))
            t += step
    best.sort(key=lambda x: (x[0], x[1]))
    return [Candidate(_dt(t), _dt(t + duration), who) for _, t, who in best[:keep]]


# --- checking one chosen slot ------------------------------------------------------------------

def check_slot(start: datetime, end: datetime, *, now: datetime | None = None, rules: Rules | None = None) -> None:
    """A chosen slot must be on a working day, inside one working session, with enough notice."""
    rules = rules or current_rules()
    now = now or utcnow()
    if end <= start:
        raise DomainError(_("结束时间须晚于开始时间。"), field="start")
    if start < now:
        raise DomainError(_("不能安排在过去的时间。"), field="start")
    local_start, local_end = to_local(start), to_local(end)
    day = local_start.date()
    cal = known_days(day, day)
    if day not in cal:
        raise calendar_error(CalendarMissing(day), field="start")
    if not cal[day]:
        raise DomainError(_("%(day)s 不是工作日（节假日或周末），请另选时间。", day=day.isoformat()), field="start")
    inside = any(
        local_end.date() == day and s <= local_start.time() and local_end.time() <= e and local_end.time() > s
        for s, e in rules.working_hours
    )
    if not inside:
        raise DomainError(
            _("所选时间 %(a)s–%(b)s 不在同一工作时段内（工作时间：%(hours)s）。", a=f"{local_start:%H:%M}",
              b=f"{local_end:%H:%M}", hours=rules.describe_hours()),
            field="start",
        )
    first = earliest_day(rules, now)
    if day < first:
        raise DomainError(
            _("约谈须至少提前 %(n)s 个工作日通知，最早可安排在 %(day)s。", n=rules.notice_working_days,
              day=first.isoformat()),
            field="start",
        )
