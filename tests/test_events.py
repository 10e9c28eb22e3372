"""Domain events: sent after the commit, never for a rolled-back change; listeners may write."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from coord import events
from coord.audit import services as audit
from coord.audit.models import AuditEntry
from coord.errors import Conflict
from coord.extensions import db
from coord.referrals import services as referrals
from tests.referrals_fixtures import at, make_lead, user


def _entries(action: str) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == action)).scalar_one()


def test_event_is_sent_after_commit_not_before(app):
    seen_in_db = []

    def listener(lead_id, **data):
        # The change is already committed: a fresh connection sees it.
        with db.engine.connect() as conn:
            seen_in_db.append(conn.execute(sa.text("SELECT state FROM lead WHERE id = :i"), {"i": lead_id}).scalar())

    events.lead_acknowledged.connect(listener)
    try:
        lead = make_lead(now=at(2026, 10, 8))
        with events.recorded() as seen:
            referrals.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 10, 8, 9))
    finally:
        events.lead_acknowledged.disconnect(listener)
    assert [e.name for e in seen] == ["lead-acknowledged"]
    assert seen[0].record_id == lead.id and seen[0].data["actor_id"] == user("scjg_officer").id
    assert seen_in_db == ["acknowledged"]


def test_rolled_back_change_announces_nothing(app):
    lead = make_lead(now=at(2026, 10, 8))
    with events.recorded() as seen:
        events.announce(events.lead_accepted, lead.id)
        db.session.rollback()
        db.session.commit()  # a later commit must not send the dropped event
    assert seen == []


def test_refused_change_announces_nothing(app):
    lead = make_lead(now=at(2026, 10, 8))
    with events.recorded() as seen, pytest.raises(Conflict):
        referrals.reply(user("scjg_officer"), lead.id, {"outcome": "case_opened"})  # not acknowledged yet
    db.session.rollback()
    assert seen == []


def test_listener_writes_in_its_own_transaction_and_its_events_follow(app):
    def listener(lead_id, **data):
        audit.record(None, "test.listener", "lead", lead_id, summary="heard")
        events.announce(events.lead_supervised, lead_id)
        db.session.commit()

    events.lead_referred.connect(listener)
    try:
        with events.recorded() as seen:
            make_lead(now=at(2026, 10, 8))
    finally:
        events.lead_referred.disconnect(listener)
    assert [e.name for e in seen] == ["lead-referred", "lead-supervised"]
    assert _entries("test.listener") == 1


def test_failing_listener_is_logged_and_the_change_stays(app, caplog):
    app.config["EVENTS_PROPAGATE"] = False

    def broken(lead_id, **data):
        audit.record(None, "test.half", "lead", lead_id)
        raise RuntimeError("listener bug")

    events.lead_referred.connect(broken)
    try:
        lead = make_lead(now=at(2026, 10, 8))
    finally:
        events.lead_referred.disconnect(broken)
    assert "listener bug" in caplog.text
    assert db.session.get(type(lead), lead.id) is not None
    assert _entries("test.half") == 0  # the listener's own half-done work was rolled back


def test_a_lead_cycle_announces_each_step(app):
    with events.recorded() as seen:
        lead = make_lead(now=at(2026, 9, 30))
        referrals.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 10, 8, 9))
        referrals.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "不构成违法。"},
                        now=at(2026, 10, 9))
        referrals.send_back(user("cgj_coord"), lead.id, "请补充现场照片。", now=at(2026, 10, 9))
        referrals.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "已补充。"},
                        now=at(2026, 10, 12))
        referrals.accept(user("cgj_coord"), lead.id, now=at(2026, 10, 12))
    assert [e.name for e in seen] == ["lead-referred", "lead-acknowledged", "lead-replied", "lead-sent-back",
                                      "lead-replied", "lead-accepted"]
    assert {e.record_id for e in seen} == {lead.id}
    assert seen[2].data["outcome"] == "not_opened"


def test_an_interview_announces_creation_scheduling_and_cancellation(app):
    from coord.interviews import services as interviews
    from tests.interview_fixtures import NOW, interview_data
    from tests.interview_fixtures import at as local_at

    coord = user("scjg_coord")
    with events.recorded() as seen:
        interview = interviews.create(coord, interview_data(start=local_at("2026-09-28", "09:00")), now=NOW)
        interviews.cancel(coord, interview.id, "当事人已整改")
    assert [e.name for e in seen] == ["interview-created", "interview-scheduled", "interview-cancelled"]
