"""Benchmark of the slot finder (issue 3, "Speed").

60 officials in 10 agencies, each with 2,000 busy blocks over a year in the database; find the
first 10 common 90-minute slots in the next 30 working days. Prints the median time of the
product's finder (coord.scheduling.slots.find_slots: SQL range queries + one merged sweep) and,
beside it, a straightforward version (load each person's blocks as ORM objects, compute each
person's free time, intersect the free lists pairwise), both including the database reads, and
their ratio. Both must return the same slots.

    .venv/bin/python -m benchmarks.scheduling                 # SQLite (a temporary file)
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/coord \\
        .venv/bin/python -m benchmarks.scheduling             # PostgreSQL: builds <db>_bench_sched

The benchmark builds its own database through the migrations (never the one in DATABASE_URL
itself: on PostgreSQL it creates and drops a sibling database).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from benchmarks._common import machine
from coord.scheduling.models import LONG_BLOCK

SH = ZoneInfo("Asia/Shanghai")
# A fixed "now" inside the years the calendar knows, so the result does not depend on today.
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=SH)
YEAR_START = date(2025, 10, 1)  # busy data covers the year around NOW
AGENCIES, PER_AGENCY, BLOCKS_EACH = 10, 6, 2000
DURATION, LIMIT, WORKING_DAYS = 90, 10, 30


# --- the database ------------------------------------------------------------------------------

def database_url() -> tuple[str, callable]:
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgresql"):
        url = make_url(base)
        name = f"{url.database}_bench_sched"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return url.set(database=name).render_as_string(hide_password=False), drop
    tmp = tempfile.mkdtemp(prefix="coord-bench-")
    path = Path(tmp) / "bench.db"
    return f"sqlite:///{path}", lambda: [p.unlink() for p in Path(tmp).glob("*")] and None


def local(day: date, minutes: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SH) + timedelta(minutes=minutes)


def blocks_for(rng: random.Random, user_id: int, agency_index: int) -> list[dict]:
    """2,000 blocks over a year, shaped like an official's diary: a weekly team meeting of the
    agency, a few daytime meetings, leave around the Spring Festival, and many engagements
    outside working hours (early duty, lunch, evenings, weekends)."""
    out: list[tuple[datetime, datetime, str]] = []
    weekday = agency_index % 5
    meeting = 9 * 60 if agency_index < 5 else 15 * 60
    day = YEAR_START
    while day < YEAR_START + timedelta(days=365):
        if day.weekday() == weekday:
            out.append((local(day, meeting), local(day, meeting + 60), "部门例会"))
        day += timedelta(days=1)
    leave = date(2026, 2, 9) + timedelta(days=rng.randrange(0, 10))
    out.append((local(leave, 0), local(leave + timedelta(days=3), 0), "年休假"))
    for _ in range(3):  # a few daytime engagements of one's own
        d = YEAR_START + timedelta(days=rng.randrange(365))
        start = rng.choice([9 * 60, 10 * 60, 14 * 60, 15 * 60 + 30]) + rng.choice([0, 15, 30])
        out.append((local(d, start), local(d, start + rng.choice([30, 60, 90])), "业务会议"))
    segments = [(6 * 60 + 30, 8 * 60 + 30), (12 * 60 + 15, 13 * 60 + 45), (17 * 60 + 45, 22 * 60)]
    while len(out) < BLOCKS_EACH:
        d = YEAR_START + timedelta(days=rng.randrange(365))
        lo, hi = (8 * 60, 20 * 60) if d.weekday() >= 5 else rng.choice(segments)
        start = rng.randrange(lo, hi - 15, 5)
        end = min(hi, start + rng.choice([15, 30, 45, 60]))
        out.append((local(d, start), local(d, end), "值班/外出"))
    return [{"user_id": user_id, "start_at": s, "end_at": e, "reason": r, "source": "manual", "active": True,
             "is_long": e - s > LONG_BLOCK, "created_at": datetime.now(UTC)} for s, e, r in out]


def build(app) -> list[int]:
    from flask_migrate import upgrade

    from coord.accounts.models import User
    from coord.agencies.models import Agency
    from coord.demo import seed_agencies
    from coord.extensions import db
    from coord.scheduling.models import BusyBlock
    from coord.workdays.services import seed_from_library

    with app.app_context():
        upgrade(revision="heads")
        seed_agencies()
        seed_from_library([2025, 2026])
        agencies = db.session.execute(sa.select(Agency.id).where(Agency.kind == "government_department")
                                      .order_by(Agency.sort_order).limit(AGENCIES)).scalars().all()
        users = [{"username": f"bench{a}_{k}", "name": f"测试人员{a}-{k}", "agency_id": agency, "role": "officer",
                  "password_hash": "x", "email": f"bench{a}_{k}@example.cn", "phone": "", "post": "",
                  "cert_number": "", "active": True, "session_version": 1, "created_at": datetime.now(UTC)}
                 for a, agency in enumerate(agencies) for k in range(PER_AGENCY)]
        db.session.execute(sa.insert(User), users)
        ids = db.session.execute(sa.select(User.id, User.agency_id).where(User.username.like("bench%"))
                                 .order_by(User.id)).all()
        rng = random.Random(2026)
        index = {agency: i for i, agency in enumerate(agencies)}
        for uid, agency in ids:
            db.session.execute(sa.insert(BusyBlock), blocks_for(rng, uid, index[agency]))
        db.session.commit()
        # After a bulk load, what autovacuum would do soon anyway: statistics, and on PostgreSQL the
        # visibility map, so the covering index is read without visiting the table (index-only scan).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE")
        return [uid for uid, _ in ids]


# --- the straightforward version ---------------------------------------------------------------

def naive_find_slots(user_ids: list[int], duration_minutes: int, window_start: datetime, window_end: datetime,
                     limit: int, now: datetime) -> list[tuple[datetime, datetime]]:
    """Each person's free intervals per working session, intersected pairwise, then a grid."""
    from coord.extensions import db
    from coord.scheduling.models import BusyBlock
    from coord.scheduling.rules import current_rules
    from coord.scheduling.slots import earliest_day
    from coord.workdays.services import workday_map

    rules = current_rules()
    pad, step = timedelta(minutes=rules.buffer_minutes), timedelta(minutes=rules.step_minutes)
    duration = timedelta(minutes=duration_minutes)
    first = earliest_day(rules, now)
    last = window_end.astimezone(SH).date()
    days = workday_map(first, last)
    sessions = [(datetime.combine(d, s, tzinfo=SH), datetime.combine(d, e, tzinfo=SH))
                for d in sorted(days) if days[d] for s, e in rules.working_hours]
    lower = max(window_start, now)

    def free_of(blocks: list[BusyBlock]) -> list[tuple[datetime, datetime]]:
        free = []
        for s_start, s_end in sessions:
            cursor = s_start
            for b in sorted(blocks, key=lambda b: b.start_at):
                b_start, b_end = b.start_at - pad, b.end_at + pad
                if b_end <= cursor or b_start >= s_end:
                    continue
                if b_start > cursor:
                    free.append((cursor, b_start))
                cursor = max(cursor, b_end)
            if cursor < s_end:
                free.append((cursor, s_end))
        return free

    common: list[tuple[datetime, datetime]] | None = None
    for uid in user_ids:
        blocks = db.session.execute(sa.select(BusyBlock).where(
            BusyBlock.user_id == uid, BusyBlock.active.is_(True),
            BusyBlock.start_at < window_end + pad, BusyBlock.end_at > window_start - pad)).scalars().all()
        mine = free_of(blocks)
        if common is None:
            common = mine
            continue
        common = [(max(a0, b0), min(a1, b1)) for a0, a1 in common for b0, b1 in mine if max(a0, b0) < min(a1, b1)]
    slots = []
    for start, end in common or []:
        midnight = datetime.combine(start.astimezone(SH).date(), datetime.min.time(), tzinfo=SH)
        t = midnight + -(-(max(start, lower) - midnight) // step) * step
        while t + duration <= min(end, window_end):
            slots.append((t, t + duration))
            t += step
    return sorted(slots)[:limit]


# --- timing ------------------------------------------------------------------------------------

def measure(fn, runs: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = perf_counter()
        result = fn()
        times.append((perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs of the finder (default 30)")
    parser.add_argument("--naive-runs", type=int, default=5, help="timed runs of the naive version (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database (to inspect plans)")
    args = parser.parse_args()

    from coord import create_app
    from coord.extensions import db
    from coord.scheduling.slots import find_slots, nth_working_day_after

    url, drop = database_url()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    try:
        t0 = time.time()
        user_ids = build(app)
        with app.app_context():
            dialect = db.engine.dialect.name
            rows = db.session.execute(sa.select(sa.func.count()).select_from(sa.text("busy_block"))).scalar_one()
            last = nth_working_day_after(NOW.date(), WORKING_DAYS)
            window = (NOW, datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=SH))
            resources = [f"user:{u}" for u in user_ids]

            def fast():
                db.session.remove()  # a new session and connection checkout each time: reads are real
                return find_slots(resources, DURATION, *window, LIMIT, now=NOW)

            def naive():
                db.session.remove()
                return naive_find_slots(user_ids, DURATION, *window, LIMIT, now=NOW)

            fast()  # warm-up (statement compilation cache, connection pool)
            fast_ms, fast_min, result = measure(fast, args.runs)
            naive_ms, naive_min, naive_result = measure(naive, args.naive_runs)
            got = [(s.start, s.end) for s in result.slots]
            assert got == naive_result, f"the two versions disagree:\n{got}\n{naive_result}"
        print(f"coord scheduling benchmark — {dialect}, built in {time.time() - t0:.1f} s")
        print(f"machine: {machine()}")
        print(f"data: {len(user_ids)} officials in {AGENCIES} agencies, {rows} busy blocks "
              f"({BLOCKS_EACH} each over {YEAR_START} .. {YEAR_START + timedelta(days=364)})")
        print(f"query: first {LIMIT} common {DURATION}-minute slots, now {NOW:%Y-%m-%d %H:%M}, next {WORKING_DAYS} "
              f"working days (to {last}); found {len(got)}, scanned {result.days_scanned} working days")
        print(f"  first: {got[0][0].astimezone(SH):%Y-%m-%d %H:%M}, last: {got[-1][0].astimezone(SH):%Y-%m-%d %H:%M}"
              if got else "  no slot found")
        print(f"finder (SQL range scans + merged sweep): median {fast_ms:8.2f} ms (min {fast_min:.2f}) "
              f"over {args.runs} runs")
        print(f"naive (ORM + pairwise intersection):     median {naive_ms:8.2f} ms (min {naive_min:.2f}) "
              f"over {args.naive_runs} runs")
        print(f"ratio naive / finder: {naive_ms / fast_ms:.1f}x   target: finder < 50 ms "
              f"{'(met)' if fast_ms < 50 else '(NOT met)'}")
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if args.keep:
            print(f"kept: {url}")
        else:
            drop()


if __name__ == "__main__":
    main()
