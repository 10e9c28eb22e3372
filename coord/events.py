"""Domain events: what the services announce after their change is committed (blinker signals).

A service that changes state calls `announce(signal, record_id, actor=...)` inside its
transaction. The event is held on the session and sent only once that transaction has committed
(dropped on rollback), so a listener never sees a change that did not happen. Listeners live in the
feature that reacts (notify, the worklist, calendar corrections, ...) and connect with
`@events.lead_referred.connect`. Each receives the record's id as the sender and keyword data:
`actor_id` (int or None) and whatever the announcing service added.

A listener runs after the commit, with `db.session` usable in a new transaction: it commits its own
work. A failing listener is logged and rolled back; the change that was announced stays committed
(in tests, with `EVENTS_PROPAGATE`, the error is raised instead so it cannot go unnoticed).

Work that must be in the same transaction as the change (its audit entry, its outbox row) is a
direct call in the service, not a listener.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from blinker import NamedSignal, Namespace
from flask import current_app, has_app_context
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
_signals = Namespace()
_PENDING = "coord_events_pending"  # announced in the open transaction
_READY = "coord_events_ready"  # committed, waiting to be sent
_SENDING = "coord_events_sending"


def _signal(name: str, doc: str) -> NamedSignal:
    return _signals.signal(name, doc)


# --- leads (coord.referrals) -------------------------------------------------------------------
lead_referred = _signal("lead-referred", "A lead was referred to an enforcement agency (also by escalation).")
lead_acknowledged = _signal("lead-acknowledged", "The receiver acknowledged (签收) a lead.")
lead_returned = _signal("lead-returned", "The receiver returned (退回) a lead to its sender.")
lead_redirected = _signal("lead-redirected", "The sender sent a returned lead to another agency.")
lead_replied = _signal("lead-replied", "The receiver replied; data: outcome, measure.")
lead_sent_back = _signal("lead-sent-back", "The sender sent the reply back for more work.")
lead_accepted = _signal("lead-accepted", "The sender accepted the reply; the lead is closed.")
lead_merged = _signal("lead-merged", "A lead was merged into another; data: into_id.")
lead_extension_requested = _signal("lead-extension-requested", "The receiver asked for an extension.")
lead_extension_decided = _signal("lead-extension-decided", "An extension was decided; data: approved.")
lead_supervised = _signal("lead-supervised", "The office supervises (督办) a lead.")
lead_supervision_answered = _signal("lead-supervision-answered", "The receiver answered a supervision.")
lead_clock_warning = _signal("lead-clock-warning", "A lead's clock turned yellow; data: clock, due_on.")
lead_clock_overdue = _signal("lead-clock-overdue", "A lead's clock turned red; data: clock, due_on.")
lead_deadline_moved = _signal("lead-deadline-moved", "A calendar change moved a lead's deadline; data: before, after.")

# --- police referrals (coord.referrals.police) --------------------------------------------------
police_referral_changed = _signal("police-referral-changed", "A police referral changed state; data: state.")

# --- interviews, minutes, follow-up visits --------------------------------------------------------
interview_created = _signal("interview-created", "An interview was created (draft or scheduled).")
interview_scheduled = _signal("interview-scheduled", "An interview got its time.")
interview_rescheduled = _signal("interview-rescheduled", "An interview was moved to another time.")
interview_changed = _signal("interview-changed", "Details, people or room of an interview changed.")
interview_cancelled = _signal("interview-cancelled", "An interview was cancelled.")
interview_held = _signal("interview-held", "An interview took place (marked held or minutes finalised).")
interview_confirmation_answered = _signal(
    "interview-confirmation-answered", "A co-organiser confirmed or declined; data: agency_id, decision.")
interview_flagged = _signal(
    "interview-flagged", "A scheduled interview now falls on a non-working day (calendar change).")
minutes_finalised = _signal("minutes-finalised", "An interview's minutes were finalised (locked).")
minutes_corrected = _signal("minutes-corrected", "Final minutes were corrected (a new revision).")
rectification_added = _signal("rectification-added", "A rectification item (with its follow-up visit) was added.")
follow_up_visited = _signal("follow-up-visited", "A follow-up visit was recorded; data: result.")
follow_up_escalated = _signal("follow-up-escalated", "A not-rectified visit became a lead; data: lead_id.")
follow_up_due_moved = _signal("follow-up-due-moved", "A calendar change moved a visit's due date; data: before, after.")

# --- the two lists (coord.lists) -------------------------------------------------------------------
list_submitted = _signal("list-submitted", "A list version was submitted for review; data: agency_id, kind.")
list_returned = _signal("list-returned", "The office returned a list version; data: agency_id, kind.")
list_published = _signal("list-published", "The office published a list version; data: agency_id, kind.")

# --- the working-day calendar (coord.workdays) --------------------------------------------------
calendar_days_changed = _signal(
    "calendar-days-changed", "Days of the calendar changed; sender None, data: days (list of date).")

# --- the party takes part (coord.party) ---------------------------------------------------------
# Sender: the interview's id unless said otherwise; `actor_id` is None for what the party does itself.
party_links_issued = _signal(
    "party-links-issued", "An organiser issued or sent links (not when scheduling issues them); data: link_ids, sent.")
party_link_revoked = _signal("party-link-revoked", "A link was revoked and a new one issued; sender link id; "
                                                   "data: interview_id, new_link_id.")
party_confirmed = _signal("party-confirmed", "The party confirmed it will attend; data: response_id, link_id.")
party_reschedule_requested = _signal(
    "party-reschedule-requested", "The party asked for another time; data: response_id, link_id, starts.")
party_reschedule_answered = _signal(
    "party-reschedule-answered", "The organiser accepted a time or declined; data: response_id, decision.")
party_proof_uploaded = _signal(
    "party-proof-uploaded", "The party sent rectification proof; data: proof_id, item_id, follow_up_id.")
party_proof_reviewed = _signal(
    "party-proof-reviewed", "The visit's officer accepted proof or asked for more; data: proof_id, decision.")
party_undertaking_signed = _signal("party-undertaking-signed", "The party signed the undertaking online.")
party_undertaking_refused = _signal("party-undertaking-refused", "The organiser recorded a refusal to sign.")
party_feedback_given = _signal(
    "party-feedback-given", "The party rated a stage; data: stage (no link or attendee: ratings are anonymous).")
party_integrity_reported = _signal(
    "party-integrity-reported", "An integrity report (廉洁) for the office only; sender: report id.")


# --- invitees' answers and counter-proposals (coord.mailin) ---------------------------------------
invitation_replied = _signal(
    "invitation-replied", "An invitee answered an interview's invitation (iMIP REPLY or answer link); sender the "
    "interview id; data: reply_id, email, kind (official|party|room), user_id, partstat (ACCEPTED|DECLINED|TENTATIVE), "
    "stale, required (an official or the room: a decline needs the organiser), source (imip|link).")
invitation_countered = _signal(
    "invitation-countered", "An invitee proposed another time (iMIP COUNTER); data: counter_id, email, kind, "
    "user_id, proposed_start (ISO 8601).")
invitation_counter_decided = _signal(
    "invitation-counter-decided", "The organiser decided a counter-proposal; data: counter_id, decision "
    "(accepted: rescheduled, new invitations | declined: DECLINECOUNTER sent).")
mail_quarantined = _signal(
    "mail-quarantined", "An inbound message was quarantined for the office; sender the inbound_message id; "
    "data: reason.")

# --- the register of flexible measures and oversight (coord.measures, coord.oversight) ----------------
measure_recorded = _signal(
    "measure-recorded", "A flexible measure was entered in the register; data: kind, agency_id, source.")
measure_files_added = _signal("measure-files-added", "Attachments were added to a register entry; data: count.")
assessment_rules_changed = _signal(
    "assessment-rules-changed", "The office saved a new version of the assessment rules.")


# --- the worklist and notifications (coord.worklist, coord.notifications) -------------------------
follow_up_due = _signal(
    "follow-up-due", "A follow-up visit is due (announced by the interviews' periodic check); data: due.")
police_clock_warning = _signal(
    "police-clock-warning", "A police referral's clock turned yellow; data: clock, due_at, agency_id (who must act).")
police_clock_overdue = _signal(
    "police-clock-overdue", "A police referral's clock turned red; data: clock, due_at, agency_id (who must act).")

# --- announcing and sending -------------------------------------------------------------------------

@dataclass
class Event:
    signal: NamedSignal
    record_id: Any
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.signal.name


def announce(signal: NamedSignal, record_id: Any, *, actor: Any = None, session: Session | None = None,
             **data: Any) -> None:
    """Send `signal` once the current transaction commits (nothing is sent if it rolls back)."""
    from coord.extensions import db

    session = session or db.session()
    data.setdefault("actor_id", getattr(actor, "id", None))
    session.info.setdefault(_PENDING, []).append(Event(signal, record_id, data))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_READY, []).extend(pending)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def dispatch(session: Session) -> None:
    """Send the committed events, in order; events announced by listeners follow in the same loop."""
    if session.info.get(_SENDING):
        return
    session.info[_SENDING] = True
    try:
        while session.info.get(_READY):
            item: Event = session.info[_READY].pop(0)
            _send(session, item)
    finally:
        session.info.pop(_SENDING, None)


def _send(session: Session, item: Event) -> None:
    for receiver in item.signal.receivers_for(item.record_id):
        try:
            receiver(item.record_id, **item.data)
        except Exception:
            session.rollback()
            if _propagate():
                raise
            log.exception("listener %r of %s failed for %r", receiver, item.name, item.record_id)


def _propagate() -> bool:
    return has_app_context() and bool(current_app.config.get("EVENTS_PROPAGATE", current_app.testing))


class CoordSession(FlaskSession):
    """The app's session: after a commit returns, the events it made are sent."""

    def commit(self) -> None:
        super().commit()
        if self.info.get(_READY):
            dispatch(self)


@contextmanager
def recorded() -> Iterator[list[Event]]:
    """Tests and tools: collect every event sent inside the block (in order)."""
    seen: list[Event] = []

    def keep(signal: NamedSignal):
        def receiver(record_id: Any, **data: Any) -> None:
            seen.append(Event(signal, record_id, data))
        return receiver

    receivers = [(sig, keep(sig)) for sig in _signals.values()]
    for sig, fn in receivers:
        sig.connect(fn, weak=False)
    try:
        yield seen
    finally:
        for sig, fn in receivers:
            sig.disconnect(fn)
