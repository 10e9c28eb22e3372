"""Which domain events change whose worklist: each raises the stamps of the agencies involved."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from coord import events
from coord.extensions import db
from coord.interviews.models import FollowUp, InterviewAgency
from coord.lists.models import ListVersion
from coord.referrals.models import Lead, PoliceReferral
from coord.worklist.cache import watch


def lead_agencies(lead_id: Any, data: dict[str, Any]) -> list[int]:
    row = db.session.execute(sa.select(Lead.from_agency_id, Lead.to_agency_id).where(Lead.id == lead_id)).first()
    extra = [data["into_id"]] if data.get("into_id") else []
    merged = [a for other in extra for a in lead_agencies(other, {})]
    return [*(row or ()), *merged]


def interview_agencies(interview_id: Any, data: dict[str, Any]) -> list[int]:
    """The interview's agencies now, and before a change that removed some (data `before_agencies`)."""
    now = db.session.execute(sa.select(InterviewAgency.agency_id).where(
        InterviewAgency.interview_id == interview_id)).scalars().all()
    return [*now, *(data.get("before_agencies") or ())]


def follow_up_agencies(follow_up_id: Any, data: dict[str, Any]) -> list[int]:
    interview_id = db.session.execute(sa.select(FollowUp.interview_id).where(FollowUp.id == follow_up_id)).scalar()
    escalated = lead_agencies(data["lead_id"], {}) if data.get("lead_id") else []
    return interview_agencies(interview_id, {}) + escalated


def police_agencies(referral_id: Any, data: dict[str, Any]) -> list[int]:
    row = db.session.execute(sa.select(PoliceReferral.agency_id, PoliceReferral.police_agency_id).where(
        PoliceReferral.id == referral_id)).first()
    return list(row or ())


def list_agencies(version_id: Any, data: dict[str, Any]) -> list[int]:
    if data.get("agency_id"):
        return [data["agency_id"]]
    return list(db.session.execute(sa.select(ListVersion.agency_id).where(ListVersion.id == version_id)).scalars())


def everyone(_record_id: Any, _data: dict[str, Any]) -> None:
    return None


for _signal in (events.lead_referred, events.lead_acknowledged, events.lead_returned, events.lead_redirected,
                events.lead_replied, events.lead_sent_back, events.lead_accepted, events.lead_merged,
                events.lead_extension_requested, events.lead_extension_decided, events.lead_supervised,
                events.lead_supervision_answered, events.lead_deadline_moved):
    watch(_signal, lead_agencies)
for _signal in (events.interview_created, events.interview_scheduled, events.interview_rescheduled,
                events.interview_changed, events.interview_cancelled, events.interview_held,
                events.interview_confirmation_answered, events.interview_flagged, events.minutes_finalised,
                events.minutes_corrected, events.rectification_added):
    watch(_signal, interview_agencies)
for _signal in (events.follow_up_visited, events.follow_up_escalated, events.follow_up_due_moved):
    watch(_signal, follow_up_agencies)
watch(events.police_referral_changed, police_agencies)
for _signal in (events.list_submitted, events.list_returned, events.list_published):
    watch(_signal, list_agencies)
watch(events.calendar_days_changed, everyone)  # working days left change for everybody
# Not watched, on purpose: lead_clock_warning/overdue, police_clock_*, follow_up_due. A clock turning
# yellow or red changes an item's colour, which is computed when the page is drawn, not its membership.
