"""Benchmark: the worklist (工作台, the home page) of an agency coordinator with 100,000 leads and
20,000 interviews in the database, as a full request through the app.

Target (issue 12): median < 30 ms on SQLite and on PostgreSQL, with the per-user cache off (every
request runs every section's query: the cost after any change). Also printed: the same page with the
cache on (steady state: no worklist query at all), the office's home page (overdue leads across all
agencies, agencies without lists) and `GET /api/v1/me/tasks`. `DATABASE_URL` chooses the database:
SQLite uses a temporary file; with PostgreSQL a database `<name>_bench_worklist` is (re)created.

Run: `.venv/bin/python -m benchmarks.worklist` (or with DATABASE_URL=postgresql+psycopg://...). Exits 1 on a miss.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from benchmarks._common import database_url, machine

LEADS = int(os.environ.get("BENCH_LEADS", "100000"))
INTERVIEWS = int(os.environ.get("BENCH_INTERVIEWS", "20000"))
AGENCIES = 45
USERS_PER_AGENCY = 10
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
TARGET_MS = 30.0
PASSWORD = "Bench-pass-2026"


def _insert(db, model, rows: list[dict], batch: int = 5000) -> None:
    for i in range(0, len(rows), batch):
        db.session.execute(sa.insert(model), rows[i:i + batch])


def load_people(db) -> tuple[list[int], dict[int, list[int]]]:
    """45 enforcement agencies with 10 officials each (a coordinator first). Returns agencies, users by agency."""
    from coord.accounts.models import User
    from coord.accounts.services import hash_password
    from coord.agencies.models import Agency

    agencies = list(db.session.execute(
        sa.select(Agency.id).where(Agency.is_enforcement.is_(True)).order_by(Agency.id).limit(AGENCIES)).scalars())
    pw = hash_password(PASSWORD)
    rows = []
    for agency_id in agencies:
        for n in range(USERS_PER_AGENCY):
            rows.append({"username": f"u{agency_id}_{n}", "name": f"人员{agency_id}-{n}", "email": "", "phone": "",
                         "post": "", "cert_number": f"5001{agency_id:04d}{n:04d}", "agency_id": agency_id,
                         "role": "coordinator" if n == 0 else "officer", "password_hash": pw, "active": True,
                         "session_version": 1, "created_at": datetime.now(UTC)})
    _insert(db, User, rows)
    db.session.commit()
    users: dict[int, list[int]] = {}
    for uid, agency_id in db.session.execute(sa.select(User.id, User.agency_id).where(User.username.like("u%_%"))):
        users.setdefault(agency_id, []).append(uid)
    return agencies, users


def load_leads(db, agencies: list[int], today) -> None:
    """100k leads with realistic states (mostly closed), some overdue, supervised, or with an extension asked."""
    from coord.referrals.models import ExtensionRequest, Lead, LeadKind

    kind_id = db.session.execute(sa.select(LeadKind.id).where(LeadKind.code == "general")).scalar_one()
    rng = random.Random(12)
    now = datetime.now(UTC)
    rows = []
    for i in range(LEADS):
        src, dst = rng.sample(agencies, 2)
        age = rng.randint(0, 400)
        state = rng.choices(["closed", "replied", "acknowledged", "referred", "returned", "merged"],
                            [70, 6, 12, 8, 3, 1])[0]
        start = today - timedelta(days=age)
        running = state in ("referred", "acknowledged")
        due = start + timedelta(days=rng.randint(1, 9)) if running else None
        rows.append({
            "number": f"XB{i:07d}", "kind_id": kind_id, "from_agency_id": src, "to_agency_id": dst,
            "party_name": f"当事人{i}", "party_credit_code": "", "facts": "基准测试线索事实。", "place": "",
            "matter": "基准测试事项", "legal_basis": "", "urgency": "normal", "state": state,
            "referred_at": now - timedelta(days=age),
            "clock": ("ack" if state == "referred" else "reply") if running else None,
            "clock_start": start if running else None, "due_on": due,
            "warn_on": due - timedelta(days=1) if due else None, "ack_due": start + timedelta(days=1),
            "return_due": start + timedelta(days=2), "reply_due": start + timedelta(days=7), "extended_days": 0,
            "ack_on_time": None if state == "referred" else rng.random() < 0.9,
            "reply_on_time": rng.random() < 0.85 if state in ("replied", "closed") else None,
            "late": rng.random() < 0.1, "return_reason": "", "outcome": None, "case_number": "", "measure": "",
            "reply_note": "", "send_back_count": 0, "send_back_note": "",
            "supervised": running and rng.random() < 0.02, "reminders_sent": "",
        })
    _insert(db, Lead, rows)
    db.session.commit()
    acknowledged = db.session.execute(sa.select(Lead.id).where(Lead.state == "acknowledged")).scalars().all()
    _insert(db, ExtensionRequest, [
        {"lead_id": lead_id, "days": 5, "reason": "基准测试", "state": "pending", "requested_at": now,
         "decision_note": ""} for lead_id in acknowledged[::20]])
    db.session.commit()


def load_interviews(db, agencies: list[int], users: dict[int, list[int]]) -> None:
    """20k interviews over two years: most held (with final minutes), some cancelled, the last weeks' scheduled;
    co-organisers' confirmations, three officials each, a third with a follow-up visit."""
    from coord.interviews.models import (
        FollowUp,
        Interview,
        InterviewAgency,
        InterviewParticipant,
        RectificationItem,
    )
    from coord.minutes.models import Minutes
    from coord.parties.models import Party

    rng = random.Random(7)
    now = datetime.now(UTC)
    _insert(db, Party, [{"kind": "organisation", "name": f"当事人单位{i}", "credit_code": "", "id_number": "",
                         "address": "", "contact_phone": "", "created_at": now} for i in range(2000)])
    db.session.commit()
    parties = db.session.execute(sa.select(Party.id)).scalars().all()
    start_id = (db.session.execute(sa.select(sa.func.max(Interview.id))).scalar() or 0) + 1
    interviews, agency_rows, people, minutes, items, visits = [], [], [], [], [], []
    for n in range(INTERVIEWS):
        iid = start_id + n
        lead = rng.choice(agencies)
        co = rng.sample([a for a in agencies if a != lead], rng.randint(1, 3))
        start = now + timedelta(days=rng.randint(-700, 20), hours=rng.randint(0, 8))
        if start > now:
            status = "scheduled"
        else:
            status = rng.choices(["held", "cancelled", "scheduled"], [90, 9, 1])[0]
        interviews.append({
            "id": iid, "uid": f"{uuid.uuid4()}@coord", "sequence": 1, "title": f"基准约谈{n}",
            "problem_kind": "sector", "sector": "基准", "party_id": rng.choice(parties), "lead_agency_id": lead,
            "duration_minutes": 90, "matter": "", "legal_basis": "", "measure": "interview", "status": status,
            "start_at": start, "end_at": start + timedelta(minutes=90), "cancel_reason": "", "created_at": now,
            "updated_at": now,
        })
        agency_rows.append({"interview_id": iid, "agency_id": lead, "role": "lead", "confirmation": "confirmed",
                            "reason": ""})
        for a in co:
            answer = "pending" if status == "scheduled" and rng.random() < 0.5 else "confirmed"
            agency_rows.append({"interview_id": iid, "agency_id": a, "role": "co", "confirmation": answer,
                                "reason": ""})
        for a in [lead, *co][:3]:
            people.append({"interview_id": iid, "user_id": rng.choice(users[a]), "agency_id": a})
        if status == "held" and rng.random() < 0.97:
            minutes.append({"interview_id": iid, "status": "final", "revision": 2, "created_at": now,
                            "updated_at": now, "finalized_at": start + timedelta(hours=2)})
        if status == "held" and rng.random() < 0.33:
            deadline = (start + timedelta(days=rng.randint(7, 30))).date()
            items.append({"id": len(items) + 1, "interview_id": iid, "requirement": "整改", "deadline": deadline,
                          "source": "minutes", "created_at": now})
            done = deadline < (now - timedelta(days=10)).date()
            visits.append({"item_id": len(items), "interview_id": iid, "agency_id": lead,
                           "due": deadline + timedelta(days=1), "status": "done" if done else "pending",
                           "result": "rectified" if done else None, "notes": "", "escalated": False})
    for model, rows in ((Interview, interviews), (InterviewAgency, agency_rows), (InterviewParticipant, people),
                        (Minutes, minutes), (RectificationItem, items), (FollowUp, visits)):
        _insert(db, model, rows)
    db.session.commit()


def load_notifications(db, users: dict[int, list[int]]) -> None:
    from coord.notifications.models import Notification

    rng = random.Random(3)
    now = datetime.now(UTC)
    rows = []
    for uids in users.values():
        for uid in uids:
            for k in range(100):
                rows.append({"user_id": uid, "kind": "lead_referred", "title": f"基准通知{k}", "url": "/leads/1",
                             "record_type": "lead", "record_id": "1", "created_at": now - timedelta(hours=k),
                             "read_at": None if rng.random() < 0.1 else now, "mail_state": "skipped"})
    _insert(db, Notification, rows)
    db.session.commit()


def analyze(db) -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def timed(client, path: str, must_contain: str) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each request (CPU: this process's, i.e. the app and SQLite, not a
    PostgreSQL server's): on a machine shared with other jobs the wall time is mostly waiting for a core."""
    times, cpu = [], []
    for _ in range(RUNS + 3):
        started, started_cpu = time.perf_counter(), time.process_time()
        resp = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert resp.status_code == 200 and must_contain in resp.get_data(as_text=True), (path, resp.status_code)
    return times[3:], cpu[3:]  # the first requests warm the templates (and the cache, when on)


def main() -> int:
    from flask_migrate import upgrade

    from coord import create_app
    from coord.accounts.models import User
    from coord.accounts.services import hash_password
    from coord.demo import seed_agencies
    from coord.extensions import db
    from coord.timeutil import local_today
    from coord.workdays.services import seed_from_library
    from coord.worklist import cache, queries

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        url = database_url(tmp, "bench_worklist")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "RATELIMIT_ENABLED": False, "TESTING": True, "HUEY_SQLITE_PATH": str(tmp / "huey.db")})
        with app.app_context():
            upgrade(revision="heads")
            seed_agencies()
            seed_from_library()
            today = local_today()
            started = time.perf_counter()
            agencies, users = load_people(db)
            load_leads(db, agencies, today)
            load_interviews(db, agencies, users)
            load_notifications(db, users)
            analyze(db)
            print(f"loaded {LEADS:,} leads, {INTERVIEWS:,} interviews, {len(agencies) * USERS_PER_AGENCY} officials "
                  f"in {len(agencies)} agencies in {time.perf_counter() - started:.1f} s ({db.engine.dialect.name})")
            busiest = agencies[len(agencies) // 2]
            coordinator = db.session.get(User, users[busiest][0])
            db.session.add(User(username="bench_admin", name="基准管理员", agency_id=busiest, role="admin",
                                password_hash=hash_password(PASSWORD)))
            db.session.commit()
            with app.test_request_context():
                worklist = queries.compute(coordinator)
            print(f"the coordinator's worklist: {worklist.total} tasks in "
                  f"{sum(1 for r in worklist.sections if r.count)} sections "
                  f"({', '.join(f'{k} {v}' for k, v in worklist.counts.items() if v)})")
            results: dict[str, float] = {}
            for username, path, marker, ttl, label, target in [
                (coordinator.username, "/", "待办事项", 0, "coordinator's home page, cache off (every section)", True),
                (coordinator.username, "/", "待办事项", 60, "coordinator's home page, cache on (steady state)", True),
                (coordinator.username, "/api/v1/me/tasks", "tasks", 0, "GET /api/v1/me/tasks (no cache)", False),
                ("bench_admin", "/", "各单位超期线索", 0, "office's home page, cache off", False),
            ]:
                app.config["WORKLIST_CACHE_SECONDS"] = ttl
                cache.clear()
                client = app.test_client()
                if path.startswith("/api/"):
                    from coord.accounts.services import create_token

                    _, token = create_token(None, db.session.get(User, coordinator.id), "bench")
                    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
                else:
                    resp = client.post("/login", data={"username": username, "password": PASSWORD})
                    assert resp.status_code == 302, "login failed"
                times, cpu = timed(client, path, marker)
                results[label] = statistics.median(times)
                flag = "" if not target else ("  ok" if results[label] < TARGET_MS else "  MISSED")
                print(f"{label:<52} median {results[label]:7.1f} ms wall, {statistics.median(cpu):6.1f} ms CPU "
                      f"(p90 {sorted(times)[int(RUNS * 0.9)]:.1f} ms, {RUNS} runs){flag}")
            db.session.remove()
            db.engine.dispose()
    print("machine:", machine())
    missed = [k for k in list(results)[:2] if results[k] >= TARGET_MS]
    if missed:
        print(f"MISSED the {TARGET_MS:.0f} ms target: {', '.join(missed)}")
        return 1
    print(f"the coordinator's home page: medians under {TARGET_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
