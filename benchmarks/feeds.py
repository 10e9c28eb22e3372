"""Benchmark: an agency's calendar feed with 5,000 interviews.

Measures, through the whole app (a GET of the secret feed URL, as a calendar client sends it):
- generate: the feed after one of its interviews changed (the usual case: the ETag moved, the
  feed is rebuilt; unchanged events come from the per-process cache of serialised events);
- generate, cold: the same with that cache emptied first (every event read and serialised);
- 304: a conditional request with the current ETag.
Targets (issue 4): generation < 500 ms (both), 304 < 10 ms. Wall-clock medians; the CPU time
of the process is printed too, since a busy shared machine stretches wall time. `DATABASE_URL` chooses the
database: SQLite uses a temporary file; with PostgreSQL a database `<name>_bench_feeds` is
(re)created next to the one named.

Run: `.venv/bin/python -m benchmarks.feeds` (or with DATABASE_URL=postgresql+psycopg://...).
Exits 1 on a miss.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from benchmarks._common import database_url, machine

INTERVIEWS = int(os.environ.get("BENCH_INTERVIEWS", "5000"))
RUNS = int(os.environ.get("BENCH_RUNS", "15"))
TARGET_MS, TARGET_304_MS = 500.0, 10.0


def load(db) -> int:
    """5,000 interviews led by 区市场监管局 with two co-agencies, three officials, a party attendee
    and a room each, as the interview services would leave them. Returns the lead agency's id."""
    from coord.accounts.models import User
    from coord.agencies.models import Agency
    from coord.interviews.models import Interview, InterviewAgency, InterviewParticipant, PartyAttendee
    from coord.parties.models import Party
    from coord.scheduling.models import Room

    agencies = {a.code: a for a in db.session.execute(sa.select(Agency)).scalars()}
    users = {u.username: u for u in db.session.execute(sa.select(User)).scalars()}
    room = db.session.execute(sa.select(Room).order_by(Room.id)).scalars().first()
    lead, co1, co2 = agencies["scjgj"], agencies["cgj"], agencies["sthjj"]
    people = [users["scjg_coord"], users["cgj_officer"], users["sthj_coord"]]
    now = datetime.now(UTC).replace(microsecond=0)
    parties = [{"kind": "organisation", "name": f"重庆某某餐饮管理有限公司第{i}分店", "credit_code": "",
                "id_number": "", "address": "", "contact_phone": "", "created_at": now} for i in range(500)]
    db.session.execute(sa.insert(Party), parties)
    party_ids = list(db.session.execute(sa.select(Party.id).order_by(Party.id)).scalars())
    first_id = (db.session.execute(sa.select(sa.func.max(Interview.id))).scalar() or 0) + 1
    rows, agencies_rows, participant_rows, attendee_rows = [], [], [], []
    for n in range(INTERVIEWS):
        iid = first_id + n
        start = now + timedelta(days=n % 365, hours=n % 7)
        rows.append({
            "id": iid, "uid": f"{uuid.uuid4()}@coord", "sequence": 1 + n % 3,
            "title": f"关于第{n}号油烟扰民及占道经营问题的联合约谈", "problem_kind": "regional",
            "region_agency_id": agencies["cqk"].id, "sector": "", "party_id": party_ids[n % len(party_ids)],
            "lead_agency_id": lead.id, "room_id": room.id, "duration_minutes": 90,
            "matter": "油烟扰民、占道经营，责令限期整改。", "legal_basis": "《重庆市市容环境卫生管理条例》第二十条",
            "measure": "interview", "status": "cancelled" if n % 20 == 0 else "scheduled",
            "start_at": start, "end_at": start + timedelta(minutes=90),
            "cancel_reason": "当事人已整改" if n % 20 == 0 else "", "created_at": now, "updated_at": now,
        })
        agencies_rows += [{"interview_id": iid, "agency_id": a.id, "role": role, "confirmation": "confirmed",
                           "reason": ""} for a, role in ((lead, "lead"), (co1, "co"), (co2, "co"))]
        participant_rows += [{"interview_id": iid, "user_id": u.id, "agency_id": u.agency_id} for u in people]
        attendee_rows.append({"interview_id": iid, "name": "王某", "post": "法定代表人",
                              "email": f"owner{n % 500}@example.com", "phone": ""})
    for model, data in ((Interview, rows), (InterviewAgency, agencies_rows),
                        (InterviewParticipant, participant_rows), (PartyAttendee, attendee_rows)):
        for i in range(0, len(data), 1000):
            db.session.execute(sa.insert(model), data[i:i + 1000])
    db.session.commit()
    return lead.id


def timed(client, path: str, headers: dict | None = None, expect: int = 200) -> tuple[float, float, object]:
    wall, cpu = time.perf_counter(), time.process_time()
    resp = client.get(path, headers=headers or {})
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    assert resp.status_code == expect, (resp.status_code, resp.data[:300])
    return wall, cpu, resp


def touch_one(db, n: int) -> None:
    """What an interview service does to one interview of the feed (raise SEQUENCE, updated_at)."""
    from coord.interviews.models import Interview

    iid = db.session.execute(sa.select(Interview.id).order_by(Interview.id).offset(n % INTERVIEWS).limit(1)).scalar()
    db.session.execute(sa.update(Interview).where(Interview.id == iid).values(
        sequence=Interview.sequence + 1, updated_at=datetime.now(UTC)))
    db.session.commit()


def report(label: str, runs: list[tuple[float, float, object]], target: float) -> bool:
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    print(f"{label}: median {wall:.2f} ms wall, {cpu:.2f} ms CPU over {len(runs)} runs "
          f"(min {min(r[0] for r in runs):.2f}, max {max(r[0] for r in runs):.2f}) — target < {target:.0f} ms")
    return wall < target


def main() -> int:
    from flask_migrate import upgrade

    from coord import create_app
    from coord.calendar import feeds
    from coord.calendar import services as calendar
    from coord.demo import seed_all
    from coord.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        url = database_url(Path(tmp), "bench_feeds")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                          "HUEY_SQLITE_PATH": str(Path(tmp) / "huey.db"), "DEMO_PASSWORD": "Bench-pass-2026"})
        with app.app_context():
            upgrade(revision="heads")
            seed_all("Bench-pass-2026")
            agency_id = load(db)
            with app.test_request_context():
                path = "/" + calendar.feed_url("agency", agency_id).split("://", 1)[1].split("/", 1)[1]
            db.session.remove()
            client = app.test_client()
            *_, resp = timed(client, path)  # warm-up (imports, VTIMEZONE)
            size, events = len(resp.data), resp.data.count(b"BEGIN:VEVENT")
            cold, changed = [], []
            for n in range(RUNS):
                feeds.clear_cache()
                touch_one(db, n)
                cold.append(timed(client, path))
            for n in range(RUNS):
                touch_one(db, RUNS + n)
                changed.append(timed(client, path))
            tag = changed[-1][2].headers["ETag"]
            cached = [timed(client, path, {"If-None-Match": tag}, 304) for _ in range(RUNS * 4)]
            db.session.remove()
            db.engine.dispose()

    print(f"machine: {machine()}")
    print(f"database: {sa.engine.make_url(url).get_backend_name()}; agency feed: {events} events, {size / 1e6:.1f} MB")
    ok = report("generate after one interview changed (200)", changed, TARGET_MS)
    ok &= report("generate, cold cache (200)", cold, TARGET_MS)
    ok &= report("conditional request (304)", cached, TARGET_304_MS)
    print("OK" if ok else "MISSED TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
