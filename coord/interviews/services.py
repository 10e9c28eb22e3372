"""Every state change of an interview: rule check, change, audit entry, in one transaction."""
from __future__ import annotations

from dataclasses import dataclass

from coord.dbtypes import utcnow
from coord.interviews.models import Interview


@dataclass(frozen=True)
class Invitee:
    """Someone to invite to an interview (officials of the agencies, the party's attendees)."""

    name: str
    email: str  # may be "" when unknown: the invites feature skips those and says so
    kind: str  # "official" | "party"
    user_id: int | None = None
    agency_id: int | None = None
    agency_name: str = ""
    is_lead: bool = False  # an official of the lead agency (organiser side)
    post: str = ""


def bump_sequence(interview: Interview) -> int:
    """Raise the iCalendar SEQUENCE: call on every change that is sent out to the invitees."""
    interview.sequence = (interview.sequence or 0) + 1
    interview.updated_at = utcnow()
    return interview.sequence


def participants_of(interview: Interview) -> list[Invitee]:
    """The people to invite: every attending official, then the party's attendees."""
    people = [
        Invitee(name=p.user.display_name, email=p.user.email or "", kind="official", user_id=p.user_id,
                agency_id=p.agency_id, agency_name=p.user.agency.name if p.user.agency else "",
                is_lead=p.agency_id == interview.lead_agency_id, post=p.user.post or "")
        for p in interview.participants
    ]
    people += [
        Invitee(name=a.name, email=a.email or "", kind="party", agency_name=interview.party.name, post=a.post)
        for a in interview.attendees
    ]
    return people
