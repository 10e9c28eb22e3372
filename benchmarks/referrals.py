"""Benchmark: 100,000 leads among 45 agencies.

Measures the median time to render (full request through the app) an agency's inbox page (first
page, with overdue flags and counts) and the office's per-agency figures page. Target (issue 6):
median < 100 ms on SQLite and on PostgreSQL. `DATABASE_URL` chooses the database: SQLite uses a
temporary file; with PostgreSQL a database `<name>_bench` is (re)created next to the one named.

Run: `.venv/bin/python -m benchmarks.referrals` (or with DATABASE_URL=postgresql+psycopg://...).
Exits 1 on a miss.
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from benchmarks._common import database_url, machine

LEADS = int(os.environ.get("BENCH_LEADS", "100000"))
AGENCIES = 45
RUNS = 30
TARGET_MS = 100.0
PASSWORD = "Bench-pass-2026"


def load(db, today) -> tuple[list[int], int]:
    """100k leads with realistic states: mostly closed, a share open, some overdue. Returns agency ids."""
    from coord.agencies.models import Agency
    from coord.referrals.models import Lead, LeadKind

    agencies = list(db.session.execute(
        sa.select(Agency.id).where(Agency.is_enforcement.is_(True)).order_by(Agency.id).limit(AGENCIES)).scalars())
    kind_id = db.session.execute(sa.select(LeadKind.id).where(LeadKind.code == "general")).scalar_one()
    rng = random.Random(6)
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
        replied = state in ("replied", "closed")
        rows.append({
            "number": f"XB{i:07d}", "kind_id": kind_id, "from_agency_id": src, "to_agency_id": dst,
            "party_name": f"当事人{i}", "party_credit_code": "", "facts": "基准测试线索事实。", "place": "",
            "matter": "基准测试事项", "legal_basis": "", "urgency": "urgent" if i % 17 == 0 else "normal",
            "state": state, "referred_at": now - timedelta(days=age), "clock": ("ack" if state == "referred" else
                                                                                "reply") if running else None,
            "clock_start": start if running else None, "due_on": due,
            "warn_on": due - timedelta(days=1) if due else None, "ack_due": start + timedelta(days=1),
            "return_due": start + timedelta(days=2), "reply_due": start + timedelta(days=7),
            "extended_days": 0, "ack_on_time": None if state == "referred" else rng.random() < 0.9,
            "reply_on_time": rng.random() < 0.85 if replied else None, "late": rng.random() < 0.1,
            "return_reason": "", "outcome": "not_opened" if replied else None, "case_number": "", "measure": "",
            "reply_note": "", "send_back_count": 0, "send_back_note": "", "supervised": False, "reminders_sent": "",
        })
        if len(rows) == 5000:
            db.session.execute(sa.insert(Lead), rows)
            rows = []
    if rows:
        db.session.execute(sa.insert(Lead), rows)
    db.session.commit()
    return agencies, kind_id


def analyze(db) -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE lead"))
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def timed(client, path: str, must_contain: str) -> list[float]:
    times = []
    for _ in range(RUNS + 3):
        started = time.perf_counter()
        resp = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert resp.status_code == 200 and must_contain in resp.get_data(as_text=True), (path, resp.status_code)
        times.append(elapsed)
    return times[3:]  # the first requests warm caches and compile templates


def main() -> int:
    from flask_migrate import upgrade

    from coord import create_app
    from coord.accounts.models import User
    from coord.accounts.services import hash_password
    from coord.demo import seed_agencies
    from coord.extensions import db
    from coord.timeutil import local_today
    from coord.workdays.services import seed_from_library

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        url = database_url(tmp, "bench")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                          "RATELIMIT_ENABLED": False, "TESTING": True})
        with app.app_context():
            upgrade(revision="heads")
            seed_agencies()
            seed_from_library()
            today = local_today()
            started = time.perf_counter()
            agencies, _ = load(db, today)
            analyze(db)
            print(f"loaded {LEADS:,} leads among {len(agencies)} agencies in {time.perf_counter() - started:.1f} s "
                  f"({db.engine.dialect.name})")
            pw = hash_password(PASSWORD)
            busiest = agencies[len(agencies) // 2]
            db.session.add_all([
                User(username="bench_admin", name="基准管理员", agency_id=busiest, role="admin", password_hash=pw),
                User(username="bench_coord", name="基准联络员", agency_id=busiest, role="coordinator",
                     password_hash=pw),
            ])
            db.session.commit()
            results = {}
            for username, path, marker, label in [
                ("bench_coord", "/leads/?box=inbox", "已超期", "agency inbox page (first page, flags, counts)"),
                ("bench_admin", "/leads/figures", "按时回复率", "office per-agency figures page"),
            ]:
                client = app.test_client()
                resp = client.post("/login", data={"username": username, "password": PASSWORD})
                assert resp.status_code == 302, "login failed"
                times = timed(client, path, marker)
                results[label] = statistics.median(times)
                print(f"{label:<48} median {results[label]:7.1f} ms  (p90 {sorted(times)[int(RUNS * 0.9)]:.1f} ms,"
                      f" {RUNS} runs)")
            db.session.remove()
            db.engine.dispose()
    print("machine:", machine())
    missed = [k for k, v in results.items() if v >= TARGET_MS]
    if missed:
        print(f"MISSED the {TARGET_MS:.0f} ms target: {', '.join(missed)}")
        return 1
    print(f"all medians under {TARGET_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
