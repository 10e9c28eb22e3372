"""No double booking, ever: many coordinators booking the same slot at once; exactly one wins.

Runs on SQLite (writes serialised by BEGIN IMMEDIATE, plus a trigger) and on PostgreSQL
(an exclusion constraint on time ranges), with real threads and real connections.
"""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from coord.errors import Conflict
from coord.extensions import db
from coord.interviews import services
from coord.interviews.models import Interview
from coord.scheduling.models import Booking
from coord.timeutil import local_today
from tests.conftest import user_by_name
from tests.interview_fixtures import NOW, at, ensure_calendar, interview_data

THREADS = 24


def _drafts(n: int) -> list[int]:
    """n draft interviews that all need 张堃 (scjg_coord) and the same room, each with its own party."""
    coord = user_by_name("scjg_coord")
    ids = []
    for k in range(n):
        data = interview_data(participant_ids=[coord.id], agency_ids=[],
                              party={"name": f"当事人{k}", "kind": "person"}, attendees=[])
        ids.append(services.create(coord, data, now=NOW).id)
    return ids


def _outcome_counts(ids: list[int], slot) -> tuple[int, int]:
    db.session.rollback()
    scheduled = db.session.execute(sa.select(sa.func.count()).select_from(Interview).where(
        Interview.id.in_(ids), Interview.status == "scheduled")).scalar_one()
    held = db.session.execute(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.resource == f"user:{user_by_name('scjg_coord').id}", Booking.active.is_(True),
        Booking.start_at < slot + timedelta(minutes=90), Booking.end_at > slot)).scalar_one()
    return scheduled, held


def test_concurrent_bookings_of_one_slot_through_the_services(app):
    ids = _drafts(THREADS)
    slot = at("2026-09-24", "09:00")
    barrier = threading.Barrier(THREADS)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(interview_id: int) -> None:
        with app.app_context():
            actor = user_by_name("scjg_coord")
            db.session.rollback()  # start the race from a clean transaction
            barrier.wait()
            try:
                services.schedule(actor, interview_id, slot, now=NOW)
                outcome = "ok"
            except Conflict as err:
                outcome = "conflict" if "张堃" in err.message or "刚被他人预约" in err.message else err.message
            except Exception as err:  # noqa: BLE001 - any other failure is what this test looks for
                outcome = f"error: {err!r}"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == ["conflict"] * (THREADS - 1) + ["ok"], results
    assert _outcome_counts(ids, slot) == (1, 1)


def test_concurrent_bookings_over_http(app, live_server):
    """The same race through the JSON API: every request is its own worker thread and transaction."""
    from coord.accounts.services import create_token

    ensure_calendar(local_today(), 150)
    coord = user_by_name("scjg_coord")
    _, token = create_token(None, coord, "race")
    ids = []
    for k in range(THREADS):
        data = interview_data(participant_ids=[coord.id], agency_ids=[], party={"name": f"当事人{k}", "kind": "person"},
                              attendees=[])
        ids.append(services.create(coord, data).id)
    found = services.suggest(coord, [coord.id], None, 90, at(local_today(), "00:00"),
                             at(local_today() + timedelta(days=60), "00:00"), 1)[0].slots
    slot = found[0].start
    db.session.commit()
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    lock = threading.Lock()

    def post(interview_id: int) -> None:
        body = json.dumps({"start": slot.isoformat()}).encode()
        req = urllib.request.Request(f"{live_server}/api/v1/interviews/{interview_id}/schedule", data=body,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        barrier.wait()
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status = resp.status
        except urllib.error.HTTPError as err:
            payload = json.loads(err.read())
            status = err.code if err.code != 409 or payload.get("conflicts") is not None else -1
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=post, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(statuses) == [200] + [409] * (THREADS - 1), statuses
    assert _outcome_counts(ids, slot) == (1, 1)


def test_the_database_itself_refuses_overlapping_bookings(app):
    """Even code that skips the service's check cannot double-book: the database says no."""
    iid = _drafts(1)[0]
    start = at("2026-09-24", "09:00")
    db.session.add(Booking(interview_id=iid, resource="room:1", start_at=start,
                           end_at=start + timedelta(minutes=90), guard_end=start + timedelta(minutes=105)))
    db.session.commit()
    # Touching the buffer end is fine; one minute inside it is not.
    ok = start + timedelta(minutes=105)
    db.session.add(Booking(interview_id=iid, resource="room:1", start_at=ok, end_at=ok + timedelta(minutes=30),
                           guard_end=ok + timedelta(minutes=45)))
    db.session.commit()
    bad = start + timedelta(minutes=104)
    db.session.add(Booking(interview_id=iid, resource="room:1", start_at=bad, end_at=bad + timedelta(minutes=1),
                           guard_end=bad + timedelta(minutes=1)))
    with pytest.raises(IntegrityError, match="booking_no_overlap"):
        db.session.commit()
    db.session.rollback()
    # An inactive (released) booking does not hold the time.
    db.session.execute(sa.update(Booking).where(Booking.start_at == start).values(active=False))
    db.session.add(Booking(interview_id=iid, resource="room:1", start_at=start, end_at=start + timedelta(minutes=60),
                           guard_end=start + timedelta(minutes=75)))
    db.session.commit()
