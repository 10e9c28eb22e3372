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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from coord.dbtypes import utcnow
from coord.errors import DomainError
from coord.extensions import db
from coord.scheduling.models import LONG_BLOCK, Booking, BusyBlock
from coord.scheduling.rules import Rules, current_rules
from coord.timeutil import local_datetime, to_local
from coord.workdays.models import WorkDay
from coord.workdays.services import CalendarMissing

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

def _calendar(start: date, end: date) -> dict[date, bool]:
    rows = db.session.execute(
        sa.select(WorkDay.day, WorkDay.is_workday).where(WorkDay.day.between(start, end))
    ).all()
    return dict(rows)


def nth_working_day_after(day: date, n: int) -> date:
    """The n-th working day after `day`; needs calendar rows only up to that day (not beyond)."""
    if n <= 0:
        return day
    found = 0
    cursor = day
    while True:
        horizon = cursor + timedelta(days=n * 2 + 14)
        cal = _calendar(cursor + timedelta(days=1), horizon)
        current = cursor + timedelta(days=1)
        while current <= horizon:
            if current not in cal:
                raise CalendarMissing(current)
            if cal[current]:
                found += 1
                if found == n:
                    return current
            current += timedelta(days=1)
        cursor = horizon


def earliest_day(rules: Rules, now: datetime) -> date:
    try:
        return nth_working_day_after(to_local(now).date(), rules.notice_working_days)
    except CalendarMissing as err:
        raise DomainError(str(err), field="start") from err


# --- loading busy intervals --------------------------------------------------------------------

def _epoch(column):
    if db.session.get_bind().dialect.name == "sqlite":
        return sa.cast(sa.func.strftime("%s", column), sa.Integer)
    return sa.cast(sa.extract("epoch", column), sa.BigInteger)


def busy_selects(user_ids: Sequence[int], lo: datetime, hi: datetime, *columns) -> list[sa.Select]:
    """Selects of the active busy blocks of these people that overlap [lo, hi).

    Two range scans instead of one open-ended one: a block of at most a day overlapping the
    window starts in [lo - 1 day, hi), which the covering index (user_id, start_at, end_at,
    active) reads directly; longer blocks (rare: leave, secondment) come from their own index.
    A long block starting near the window can appear in both: callers treat rows as a set.
    """
    cols = columns or (BusyBlock,)
    base = (BusyBlock.user_id.in_(list(user_ids)), BusyBlock.active == sa.true(), BusyBlock.end_at > lo,
            BusyBlock.start_at < hi)
    return [
        sa.select(*cols).where(*base, BusyBlock.start_at >= lo - LONG_BLOCK),
        sa.select(*cols).where(*base, BusyBlock.spans_days == sa.true()),
    ]


def load_busy(
    resources: Sequence[str], start: datetime, end: datetime, exclude_interview_id: int | None = None
) -> dict[str, list[Interval]]:
    """Busy intervals overlapping [start, end) per resource: busy blocks of people + active bookings."""
    out: dict[str, list[Interval]] = {r: [] for r in resources}
    user_ids = [int(r[5:]) for r in resources if r.startswith("user:")]
    if user_ids:
        short, long_ = busy_selects(user_ids, start, end, BusyBlock.user_id, _epoch(BusyBlock.start_at),
                                    _epoch(BusyBlock.end_at))
        for uid, s, e in db.session.execute(sa.union_all(short, long_)):
            out[f"user:{uid}"].append((int(s), int(e)))
    if resources:
        # Bookings last at most a few hours, so the same bounded scan finds every overlap.
        stmt = sa.select(Booking.resource, _epoch(Booking.start_at), _epoch(Booking.end_at)).where(
            Booking.resource.in_(list(resources)), Booking.active == sa.true(),
            Booking.start_at >= start - LONG_BLOCK, Booking.start_at < end, Booking.end_at > start,
        )
        if exclude_interview_id is not None:
            stmt = stmt.where(Booking.interview_id != exclude_interview_id)
        for res, s, e in db.session.execute(stmt):
            out[res].append((int(s), int(e)))
    return out


def merge(intervals: Iterable[Interval], pad: int = 0) -> list[Interval]:
    """Sorted union of intervals, each widened by `pad` seconds on both sides."""
    merged: list[list[int]] = []
    for s, e in sorted((s - pad, e + pad) for s, e in intervals):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


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
        raise DomainError("约谈时长须为正数（分钟）。", field="duration_minutes")
    if duration_minutes > rules.longest_session_minutes:
        raise DomainError(
            f"约谈时长 {duration_minutes} 分钟超过了单个工作时段（{rules.describe_hours()}）。",
            field="duration_minutes",
        )
    if window_end <= window_start:
        raise DomainError("查询窗口的结束时间须晚于开始时间。", field="window_end")
    if window_end - window_start > timedelta(days=MAX_WINDOW_DAYS):
        raise DomainError("查询窗口不能超过一年。", field="window_end")


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
    cal = _calendar(day, last) if day <= last else {}
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
            busy = load_busy(resources, _dt(sessions[0][0] - pad), _dt(sessions[-1][1] + pad), exclude_interview_id)
            for r, ivs in busy.items():
                loaded[r].extend(ivs)
            blocked = merge((iv for ivs in busy.values() for iv in ivs), pad)
            found = sweep(blocked, sessions, duration, step, lower, upper, limit - len(result.slots))
            result.slots.extend(Slot(_dt(t), _dt(t + duration)) for t in found)
            result.days_scanned += len(chunk)
            scanned_sessions.extend(sessions)
        if result.calendar_gap:
            break
    if result.calendar_gap and not result.slots:
        raise DomainError(result.calendar_message, field="window_end")
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
        raise DomainError("结束时间须晚于开始时间。", field="start")
    if start < now:
        raise DomainError("不能安排在过去的时间。", field="start")
    local_start, local_end = to_local(start), to_local(end)
    day = local_start.date()
    cal = _calendar(day, day)
    if day not in cal:
        raise DomainError(str(CalendarMissing(day)), field="start")
    if not cal[day]:
        raise DomainError(f"{day.isoformat()} 不是工作日（节假日或周末），请另选时间。", field="start")
    inside = any(
        local_end.date() == day and s <= local_start.time() and local_end.time() <= e and local_end.time() > s
        for s, e in rules.working_hours
    )
    if not inside:
        raise DomainError(
            f"所选时间 {local_start:%H:%M}–{local_end:%H:%M} 不在同一工作时段内"
            f"（工作时间：{rules.describe_hours()}）。",
            field="start",
        )
    first = earliest_day(rules, now)
    if day < first:
        raise DomainError(
            f"约谈须至少提前 {rules.notice_working_days} 个工作日通知，最早可安排在 {first.isoformat()}。",
            field="start",
        )
