"""From domain events to notifications: who is told what. Each listener runs after the change was
committed, reads the record, chooses the users from the record's own agencies (so nobody is told of
a record they may not see), calls `services.notify` and commits.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coord import events
from coord.extensions import db
from coord.interviews.models import FollowUp, Interview
from coord.lists.models import ListVersion
from coord.notifications import titles
from coord.notifications.services import Note, agency_users, notify, office_users, path
from coord.referrals.models import CLOCKS, POLICE_CLOCKS, ExtensionRequest, Lead, PoliceReferral
from coord.timeutil import fmt_local, local_today

RECEIVERS = ("admin", "coordinator", "officer")  # a lead's receiving agency: who acknowledges and replies
SENDERS = ("admin", "coordinator")  # a lead's sending agency: who accepts, sends back, decides extensions
COORDINATORS = ("admin", "coordinator")


def _on(*signals: Any) -> Callable[[Callable], Callable]:
    def connect(fn: Callable) -> Callable:
        for signal in signals:
            signal.connect(_run(signal.name.replace("-", "_"), fn), weak=False)
        return fn
    return connect


def _run(kind: str, fn: Callable) -> Callable:
    def receiver(record_id: Any, **data: Any) -> None:
        fn(kind, record_id, data)
        db.session.commit()
    return receiver


# --- leads ---------------------------------------------------------------------------------------------

def _lead(lead_id: Any) -> Lead | None:
    return db.session.get(Lead, lead_id)


def _lead_note(kind: str, lead: Lead, template: str | None = None, key: str | None = None, **values: Any) -> Note:
    return Note.of(kind, template or kind, {"number": lead.number, "party": lead.party_name, **values},
                   path("referrals.show", lead_id=lead.id), "lead", lead.id, key)


def _receivers(lead: Lead) -> list[int]:
    return agency_users([lead.to_agency_id], RECEIVERS)


def _senders(lead: Lead) -> list[int]:
    return agency_users([lead.from_agency_id], SENDERS)


# event: who is told, "to" receivers | "from" senders (the titles: coord.notifications.titles)
LEAD_SIDE: dict[str, str] = {
    "lead_referred": "to",
    "lead_redirected": "to",
    "lead_returned": "from",
    "lead_replied": "from",
    "lead_sent_back": "to",
    "lead_accepted": "to",
    "lead_supervised": "to",
    "lead_extension_requested": "from",
}


@_on(events.lead_referred, events.lead_redirected, events.lead_returned, events.lead_replied,
     events.lead_sent_back, events.lead_accepted, events.lead_supervised, events.lead_extension_requested)
def lead_changed(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is None:
        return
    side, note = LEAD_SIDE[kind], _lead_note(kind, lead)
    if kind == "lead_extension_requested" and data.get("extension_id"):
        ext = db.session.get(ExtensionRequest, data["extension_id"])
        note = _lead_note(kind, lead, "lead_extension_requested_days", days=ext.days) if ext else note
    users = _receivers(lead) if side == "to" else _senders(lead)
    notify(users, note, actor_id=data.get("actor_id"))


@_on(events.lead_extension_decided)
def extension_decided(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is None:
        return
    if not data.get("approved"):
        note = _lead_note(kind, lead, "lead_extension_refused")
    elif lead.due_on:
        note = _lead_note(kind, lead, "lead_extension_approved_due", due=lead.due_on.isoformat())
    else:
        note = _lead_note(kind, lead, "lead_extension_approved")
    notify(_receivers(lead), note, actor_id=data.get("actor_id"))


@_on(events.lead_supervision_answered)
def supervision_answered(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is not None:
        notify(office_users(), _lead_note(kind, lead, agency=lead.to_agency.name), actor_id=data.get("actor_id"))


@_on(events.lead_clock_warning, events.lead_clock_overdue)
def lead_clock(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is None:
        return
    due = data.get("due_on")
    clock = data.get("clock") or ""
    overdue = kind == "lead_clock_overdue"
    template = f"{kind}_{clock}" if clock in CLOCKS else kind  # 签收 / 回复, else 办理
    users = _receivers(lead) + (_senders(lead) if overdue else [])
    notify(users, _lead_note(kind, lead, template, key=f"{kind}:{lead.id}:{data.get('clock')}:{due}", due=str(due)))


@_on(events.lead_deadline_moved)
def lead_deadline_moved(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is not None:
        before, after = _moved(data.get("before"), data.get("after"))
        notify(_receivers(lead) + _senders(lead), _lead_note(kind, lead, before=before, after=after),
               actor_id=data.get("actor_id"))


def _moved(before: Any, after: Any) -> tuple[str, str]:
    """The moved deadline's two days: the calendar's listener sends each lead's deadlines (dicts of ISO days)."""
    if isinstance(before, dict) and isinstance(after, dict):
        key = "due_on" if before.get("due_on") != after.get("due_on") else "return_due"
        return str(before.get(key) or "—"), str(after.get(key) or "—")
    return str(before), str(after)


# --- police referrals --------------------------------------------------------------------------------

def _police_note(kind: str, item: PoliceReferral, key: str | None = None, **values: Any) -> Note:
    return Note.of(kind, kind, {"number": item.number, "party": item.party_name, "crime": item.suspected_crime,
                                **values}, path("referrals.police_show", referral_id=item.id), "police_referral",
                   item.id, key)


@_on(events.police_referral_changed)
def police_changed(kind: str, referral_id: Any, data: dict) -> None:
    """The side that must act next is told (the police on hand-over and reconsideration; the agency otherwise)."""
    item = db.session.get(PoliceReferral, referral_id)
    if item is None:
        return
    police_side = item.state in ("handed_over", "reconsideration")
    users = agency_users([item.police_agency_id if police_side else item.agency_id], RECEIVERS)
    notify(users, _police_note(kind, item, state=item.state), actor_id=data.get("actor_id"))


@_on(events.police_clock_warning, events.police_clock_overdue)
def police_clock(kind: str, referral_id: Any, data: dict) -> None:
    item = db.session.get(PoliceReferral, referral_id)
    if item is None:
        return
    what = data.get("clock") if data.get("clock") in POLICE_CLOCKS else "办理"  # a code, or the label itself
    due = fmt_local(data["due_at"]) if data.get("due_at") else ""
    acting = data.get("agency_id") if data.get("agency_id") in (item.agency_id, item.police_agency_id) \
        else item.agency_id
    notify(agency_users([acting], RECEIVERS),
           _police_note(kind, item, key=f"{kind}:{item.id}:{data.get('clock')}:{due}", what=what, due=due))


# --- interviews, minutes, follow-up visits -----------------------------------------------------------

def _interview_note(kind: str, interview: Interview, template: str | None = None, endpoint: str = "interviews.show",
                    key: str | None = None, anchor: str = "", **values: Any) -> Note:
    params = {"title": interview.title, "when": titles.instant(interview.start_at), **values}
    return Note.of(kind, template or kind, params, path(endpoint, interview_id=interview.id) + anchor,
                   "interview", interview.id, key)


def _participants(interview: Interview) -> list[int]:
    return [p.user_id for p in interview.participants]


def _co_coordinators(interview: Interview, *, pending_only: bool = False) -> list[int]:
    agencies = [a.agency_id for a in interview.agencies if a.role == "co"
                and (not pending_only or a.confirmation == "pending")]
    return agency_users(agencies, COORDINATORS)


def _organisers(interview: Interview) -> list[int]:
    return agency_users([interview.lead_agency_id], COORDINATORS)


@_on(events.interview_created, events.interview_scheduled, events.interview_rescheduled, events.interview_changed,
     events.interview_cancelled)
def interview_changed(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is None:
        return
    actor = data.get("actor_id")
    # Created and scheduled in one go announce twice: the key (per SEQUENCE) tells each person once.
    key = f"interview:{interview.id}:{interview.sequence}:{'cancel' if kind == 'interview_cancelled' else 'info'}"
    note = _interview_note(kind, interview, key=key)
    if kind == "interview_cancelled" and interview.cancel_reason:
        note = _interview_note(kind, interview, "interview_cancelled_reason", key=key,
                               reason=interview.cancel_reason[:80])
    people = _participants(interview)
    if kind == "interview_changed":
        removed = set(data.get("before_participants") or ()) - set(people)
        removed_users = [u for u in removed if u is not None]
        # Only people of agencies still in the interview may see it: the others are told without a link.
        notify(removed_users, Note.of(kind, "interview_removed", {"title": interview.title}, "", "interview",
                                      interview.id, key=f"{key}:removed"), actor_id=actor)
    notify(people, note, actor_id=actor)
    if kind in ("interview_scheduled", "interview_rescheduled") and interview.status == "scheduled":
        notify(_co_coordinators(interview, pending_only=True),
               _interview_note("interview_confirmation_requested", interview,
                               key=f"interview:{interview.id}:{interview.sequence}:confirm"), actor_id=actor)


@_on(events.interview_confirmation_answered)
def confirmation_answered(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is None:
        return
    row = next((a for a in interview.agencies if a.agency_id == data.get("agency_id")), None)
    if row is None:
        return
    if data.get("decision") == "confirmed":
        note = _interview_note(kind, interview, "interview_confirmation_confirmed", agency=row.agency.name)
    else:
        note = _interview_note(kind, interview, "interview_confirmation_declined", agency=row.agency.name,
                               reason=row.reason[:80])
    notify(_organisers(interview), note, actor_id=data.get("actor_id"))


@_on(events.interview_flagged)
def interview_flagged(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is not None:
        notify(_organisers(interview) + _participants(interview),
               _interview_note(kind, interview),
               actor_id=data.get("actor_id"))


@_on(events.minutes_finalised)
def minutes_finalised(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is not None:
        notify(_organisers(interview) + _participants(interview),
               _interview_note(kind, interview, endpoint="minutes.edit"),
               actor_id=data.get("actor_id"))


def _visit_note(kind: str, visit: FollowUp, key: str | None = None, **values: Any) -> Note:
    interview = visit.interview
    return Note.of(kind, kind, {"title": interview.title, "party": interview.party.name, **values},
                   path("interviews.follow_up_list") + f"#follow-up-{visit.id}", "follow_up", visit.id, key)


@_on(events.follow_up_due)
def follow_up_due(kind: str, visit_id: Any, data: dict) -> None:
    visit = db.session.get(FollowUp, visit_id)
    if visit is None or visit.status != "pending":
        return
    notify(agency_users([visit.agency_id], RECEIVERS),
           _visit_note(kind, visit, key=f"follow_up_due:{visit.id}:{visit.due.isoformat()}",
                       due=visit.due.isoformat()))


@_on(events.follow_up_due_moved)
def follow_up_due_moved(kind: str, visit_id: Any, data: dict) -> None:
    visit = db.session.get(FollowUp, visit_id)
    if visit is not None and visit.status == "pending":
        notify(agency_users([visit.agency_id], RECEIVERS),
               _visit_note(kind, visit, before=_day(data.get("before")), after=_day(data.get("after"))),
               actor_id=data.get("actor_id"))


def _day(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# --- the two lists -------------------------------------------------------------------------------------

def _list_note(kind: str, version: ListVersion, **values: Any) -> Note:
    params = {"agency": version.agency.name, "kind": version.kind, "number": version.number, **values}
    return Note.of(kind, kind, params, path("lists.version", version_id=version.id), "list_version", version.id)


@_on(events.list_submitted, events.list_returned, events.list_published)
def list_changed(kind: str, version_id: Any, data: dict) -> None:
    version = db.session.get(ListVersion, version_id)
    if version is None:
        return
    if kind == "list_submitted":
        users, note = office_users(), _list_note(kind, version)
    elif kind == "list_returned":
        users, note = agency_users([version.agency_id], COORDINATORS), _list_note(
            kind, version, comment=version.review_comment[:80])
    else:
        users, note = agency_users([version.agency_id], COORDINATORS), _list_note(kind, version)
    notify(users, note, actor_id=data.get("actor_id"))


# --- what the party does (coord.party) -----------------------------------------------------------------

@_on(events.party_confirmed, events.party_reschedule_requested, events.party_undertaking_signed)
def party_answered(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is not None:
        anchor = "#party-undertaking" if kind == "party_undertaking_signed" else "#party-answer"
        notify(_organisers(interview), _interview_note(kind, interview, anchor=anchor,
                                                       key=f"{kind}:{data.get('response_id') or interview.id}"))


@_on(events.party_proof_uploaded)
def party_proof_uploaded(kind: str, interview_id: Any, data: dict) -> None:
    visit = db.session.get(FollowUp, data.get("follow_up_id")) if data.get("follow_up_id") else None
    if visit is not None and visit.status == "pending":
        notify(agency_users([visit.agency_id], RECEIVERS),
               _visit_note(kind, visit, key=f"{kind}:{data.get('proof_id')}"))


@_on(events.party_integrity_reported)
def party_integrity_reported(kind: str, report_id: Any, data: dict) -> None:
    """Only the office learns of an integrity report (the agencies named in it do not)."""
    notify(office_users(), Note.of(kind, kind, {}, path("party.feedback_page"), "integrity_report", report_id,
                                   key=f"{kind}:{report_id}"))


# --- invitees' answers and inbound mail (coord.mailin) ---------------------------------------------------

@_on(events.invitation_replied)
def invitation_declined(kind: str, interview_id: Any, data: dict) -> None:
    """A decline that needs the organiser: by a required official or the room, for the current invitation."""
    if data.get("partstat") != "DECLINED" or not data.get("required") or data.get("stale"):
        return
    interview = db.session.get(Interview, interview_id)
    if interview is None or interview.status != "scheduled":
        return
    template = "invitation_declined_room" if data.get("kind") == "room" else "invitation_declined_person"
    notify(_organisers(interview), _interview_note("invitation_declined", interview, template, anchor="#responses",
                                                   key=f"invitation_declined:{data.get('reply_id')}",
                                                   email=data.get("email", "")))


@_on(events.invitation_countered)
def invitation_countered(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is None or interview.status != "scheduled":
        return
    notify(_organisers(interview), _interview_note(kind, interview, anchor="#counters",
                                                   key=f"{kind}:{data.get('counter_id')}", email=data.get("email", "")))


@_on(events.mail_quarantined)
def mail_quarantined(kind: str, inbound_id: Any, data: dict) -> None:
    """Once a day at most (a flood of forged mail must not flood the bell): the first one names its reason,
    the quarantine page lists them all."""
    notify(office_users(), Note.of(kind, kind, {"reason": str(data.get("reason") or "")[:100]},
                                   path("mailin.quarantine"), "inbound_message", inbound_id,
                                   key=f"{kind}:{local_today().isoformat()}"))
