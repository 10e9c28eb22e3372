"""The demo district (`seed-demo`): records relative to today, valid on the working-day calendar, made
through the services; every demo account has something on its worklist; idempotent; `--reset` rebuilds."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.district.models import DemoRecord
from coord.district.seed import DistrictError
from coord.district.seed import seed as seed_district
from coord.extensions import db
from coord.interviews.models import FollowUp, Interview, InterviewAgency
from coord.lists.models import ListVersion
from coord.minutes.models import Minutes, MinutesRevision
from coord.notifications.models import Notification
from coord.referrals.models import ExtensionRequest, Lead, PoliceReferral
from coord.timeutil import local_today, to_local
from coord.workdays.models import WorkDay
from coord.workdays.services import is_workday
from tests.interview_fixtures import ensure_calendar
from tests.pdf_tools import text as pdf_text
from tests.worklist_fixtures import tasks_of

ACCOUNTS = ("admin", "scjg_coord", "scjg_officer", "cgj_coord", "cgj_officer", "gafj_officer", "sthj_coord", "viewer")


@pytest.fixture
def district_app(app, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")
    ensure_calendar(local_today() - timedelta(days=70), 100)
    return app


def seed(app, *args: str):
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["seed-demo", *args])
    db.session.rollback()
    return result


def demo_ids(entity: str) -> set[int]:
    return set(db.session.execute(sa.select(DemoRecord.entity_id).where(DemoRecord.entity == entity)).scalars())


def test_a_living_district_made_through_the_services_idempotent_and_rebuilt(district_app):
    app = district_app
    result = seed(app)
    assert result.exit_code == 0, result.output
    today = local_today()

    # Every demo account opens coord and finds something that needs them.
    for name in ACCOUNTS:
        assert tasks_of(name), f"{name}'s worklist is empty"
    kinds = set().union(*(tasks_of(name) for name in ACCOUNTS))
    assert {"lead_acknowledge", "lead_reply", "lead_accept", "lead_redirect", "extension_decide",
            "supervision_answer", "police_referral", "interview_confirm", "interview_attend", "minutes_finalise",
            "follow_up_visit", "list_review", "list_fix", "lead_overdue", "list_missing",
            # what the party and the invitees did (#15, #16)
            "party_reschedule", "party_proof_review", "undertaking_unsigned", "invitation_declined"} <= kinds
    assert tasks_of("cgj_coord")["party_reschedule"] == demo_ids("party_response")
    assert tasks_of("scjg_officer")["party_proof_review"] == demo_ids("party_proof")

    # Interviews: held with final minutes whose PDFs render, one today or tomorrow, upcoming ones unconfirmed.
    interviews = [db.session.get(Interview, i) for i in demo_ids("interview")]
    for interview in interviews:
        assert is_workday(to_local(interview.start_at).date())
    final = db.session.execute(sa.select(MinutesRevision).join(Minutes).where(
        Minutes.interview_id.in_([i.id for i in interviews]), MinutesRevision.kind == "final")).scalars().all()
    assert len(final) >= 2
    for revision in final:
        interview = db.session.get(Interview, revision.minutes.interview_id)
        assert interview.status == "held"
        assert interview.party.name in pdf_text(revision.pdf).replace("\n", "")
    days = {to_local(i.start_at).date() for i in interviews if i.status == "scheduled"}
    soon = today + timedelta(days=1)
    while not is_workday(soon):  # tomorrow, or the next working day when tomorrow is a rest day
        soon += timedelta(days=1)
    assert days & {today, soon}
    pending = db.session.execute(sa.select(InterviewAgency).join(Interview).where(
        Interview.id.in_([i.id for i in interviews]), Interview.status == "scheduled",
        InterviewAgency.confirmation == "pending")).scalars().all()
    assert len(pending) >= 2
    assert any(i.status == "held" and i.id not in {r.minutes.interview_id for r in final} for i in interviews)

    # Follow-up visits due and done; one not rectified and escalated into a lead.
    visits = db.session.execute(sa.select(FollowUp).where(
        FollowUp.interview_id.in_([i.id for i in interviews]))).scalars().all()
    assert any(v.status == "pending" and v.due < today for v in visits)
    assert any(v.status == "pending" and v.due == today for v in visits)
    assert any(v.result == "rectified" for v in visits)
    [escalated] = [v for v in visits if v.result == "not_rectified"]
    assert escalated.lead_id in demo_ids("lead") and escalated.lead.state == "acknowledged"

    # Leads in every state.
    leads = [db.session.get(Lead, i) for i in demo_ids("lead")]
    states = {lead.state for lead in leads}
    assert {"referred", "acknowledged", "replied", "closed", "returned"} <= states
    assert any(lead.send_back_count and lead.state == "acknowledged" for lead in leads)  # sent back
    assert any(lead.due_on and lead.due_on < today for lead in leads)  # overdue
    assert any(lead.supervised for lead in leads)
    assert db.session.execute(sa.select(ExtensionRequest).where(
        ExtensionRequest.lead_id.in_([lead.id for lead in leads]), ExtensionRequest.state == "pending")).first()
    [referral] = [db.session.get(PoliceReferral, i) for i in demo_ids("police_referral")]
    assert referral.state == "handed_over" and referral.due_at is not None  # in progress

    # The two lists: published for several agencies, one submitted for review, one returned.
    published = set(db.session.execute(sa.select(ListVersion.agency_id).where(
        ListVersion.state == "published")).scalars())
    assert len(published) >= 3
    assert db.session.execute(sa.select(ListVersion).where(ListVersion.state == "submitted")).first()
    assert db.session.execute(sa.select(ListVersion).where(ListVersion.state == "returned")).first()

    # Made through the services: the audit trail and the notifications are real.
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "minutes.finalize")).scalar_one() >= 2
    assert db.session.execute(sa.select(sa.func.count()).select_from(Notification)).scalar_one() > 10

    # Idempotent: nothing more the second time.
    counts = {e: len(demo_ids(e)) for e in ("interview", "lead", "police_referral", "list_version")}
    result = seed(app)
    assert result.exit_code == 0 and "已存在" in result.output
    assert {e: len(demo_ids(e)) for e in counts} == counts

    # --reset: the same district made anew for today; the earlier records are gone, their ids never reused.
    before = {e: demo_ids(e) for e in ("interview", "lead", "police_referral")}
    result = seed(app, "--reset")
    assert result.exit_code == 0, result.output
    for entity, old in before.items():
        new = demo_ids(entity)
        assert len(new) == len(old) and not new & old and min(new) > max(old)
    assert db.session.get(Interview, min(before["interview"])) is None
    assert db.session.execute(sa.select(Notification).where(
        Notification.record_type == "lead", Notification.record_id.in_([str(i) for i in before["lead"]]))).first() is None
    assert db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "demo.reset")).first()
    assert len(demo_ids("list_version")) == counts["list_version"]  # the lists are kept, not duplicated
    for name in ACCOUNTS:
        assert tasks_of(name), f"{name}'s worklist is empty after the reset"
    verify = app.test_cli_runner().invoke(args=["audit-verify"])
    assert verify.exit_code == 0, verify.output  # deleting demo records never touches the audit chain


def test_a_missing_calendar_day_stops_the_seed_with_a_clear_message(district_app):
    """As when the calendar table ends soon after today: no demo date is guessed."""
    gap = local_today() + timedelta(days=10)
    db.session.execute(sa.delete(WorkDay).where(WorkDay.day >= gap))
    db.session.commit()
    with pytest.raises(DistrictError) as err:
        seed_district()
    assert gap.isoformat() in str(err.value) and "工作日历" in str(err.value)
    assert not demo_ids("interview") and not demo_ids("lead")  # nothing half made


def test_reset_is_refused_in_production(district_app):
    district_app.config["COORD_ENV"] = "production"
    result = seed(district_app, "--reset")
    assert result.exit_code == 1 and "生产环境" in result.output
