"""Reads shared by pages and the API: who answered what, counter-proposals and how they fit the slot
finder. What needs the organiser's attention is on the worklist (`coord.mailin.worklist`)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from coord.calendar.services import address_of
from coord.dbtypes import utcnow
from coord.errors import DomainError
from coord.extensions import db
from coord.interviews.models import Interview
from coord.interviews.services import participants_of, resources_of
from coord.mailin.models import INVITEE_KINDS, PARTSTATS, CounterProposal, InvitationReply
from coord.scheduling import services as sched
from coord.scheduling.slots import check_slot, find_slots
from coord.timeutil import isoformat_local


@dataclass(frozen=True)
class Invitee:
    """Someone an interview's invitations go to, as an answer is matched to them (by address)."""

    email: str  # lower case
    name: str
    kind: str  # official | party | room
    user_id: int | None = None
    agency_name: str = ""

    @property
    def required(self) -> bool:
        """Officials and the room must be there; a decline needs the organiser's attention."""
        return self.kind in ("official", "room")

    @property
    def kind_label(self) -> str:
        return INVITEE_KINDS.get(self.kind, self.kind)


def invitees_of(interview: Interview) -> dict[str, Invitee]:
    """The current invitees with a valid address, by lower-case address, in invitation order."""
    out: dict[str, Invitee] = {}
    for p in participants_of(interview):
        addr = address_of(p.email).lower()
        if addr and addr not in out:
            kind = "official" if p.kind == "official" else "party"
            out[addr] = Invitee(addr, p.name, kind, p.user_id, p.agency_name)
    room = interview.room
    if room is not None and (addr := address_of(room.email or "").lower()) and addr not in out:
        out[addr] = Invitee(addr, room.name, "room")
    return out


def current(replies: list[InvitationReply]) -> InvitationReply | None:
    """A person's answer that counts: the one for the highest SEQUENCE, then the latest."""
    return max(replies, key=lambda r: (r.sequence, r.answered_at, r.id), default=None)


def replies_by_email(interview_ids: list[int]) -> dict[tuple[int, str], list[InvitationReply]]:
    found: dict[tuple[int, str], list[InvitationReply]] = defaultdict(list)
    if not interview_ids:
        return found
    for r in db.session.execute(sa.select(InvitationReply).where(
            InvitationReply.interview_id.in_(interview_ids))).scalars():
        found[(r.interview_id, r.email)].append(r)
    return found


@dataclass
class Response:
    email: str
    name: str
    kind: str
    partstat: str
    comment: str
    at: datetime | None
    sequence: int | None
    stale: bool
    source: str = ""

    @property
    def partstat_label(self) -> str:
        return PARTSTATS.get(self.partstat, self.partstat)

    @property
    def kind_label(self) -> str:
        return INVITEE_KINDS.get(self.kind, self.kind)

    def as_dict(self) -> dict[str, Any]:
        return {"email": self.email, "name": self.name, "partstat": self.partstat, "comment": self.comment,
                "at": isoformat_local(self.at) if self.at else None, "sequence": self.sequence, "stale": self.stale}


def responses_of(interview: Interview) -> list[Response]:
    """Each current invitee's answer (NEEDS-ACTION when none yet). An answer for an older SEQUENCE
    than the interview's (given before a change) is shown, marked stale."""
    replies = replies_by_email([interview.id])
    out = []
    for email, who in invitees_of(interview).items():
        reply = current(replies.get((interview.id, email), []))
        if reply is None:
            out.append(Response(email, who.name, who.kind, "NEEDS-ACTION", "", None, None, False))
        else:
            out.append(Response(email, who.name, who.kind, reply.partstat, reply.comment, reply.answered_at,
                                reply.sequence, reply.sequence < (interview.sequence or 0), reply.source))
    return out


def response_dicts(interview: Interview) -> list[dict[str, Any]]:
    """`responses` of `GET /api/v1/interviews/{id}`."""
    return [r.as_dict() for r in responses_of(interview)]


def counters_of(interview: Interview) -> list[CounterProposal]:
    return list(db.session.execute(sa.select(CounterProposal).where(CounterProposal.interview_id == interview.id)
                                   .order_by(CounterProposal.received_at.desc(), CounterProposal.id.desc())).scalars())


@dataclass
class SlotCheck:
    """A proposed time as the slot finder sees it: fits, or why not and what would."""

    ok: bool
    problems: list[str]
    alternatives: list[Any]
    note: str = ""


def check_counter(counter: CounterProposal, *, now: datetime | None = None) -> SlotCheck:
    """The same rules as (re)scheduling: working day and hours, notice, everyone and the room free.
    The interview keeps its duration when moved."""
    interview = counter.interview
    duration = interview.duration_minutes
    start, end = counter.proposed_start, counter.proposed_start + timedelta(minutes=duration)
    problems: list[str] = []
    try:
        check_slot(start, end, now=now)
    except DomainError as err:
        problems.append(err.message)
    resources = resources_of(interview)
    problems += list(dict.fromkeys(c.describe() for c in sched.clashes(resources, start, end,
                                                                     exclude_interview_id=interview.id)))
    proposed = int((counter.proposed_end - counter.proposed_start).total_seconds() // 60)
    note = f"建议时长 {proposed} 分钟，改期后仍按 {duration} 分钟安排。" if proposed != duration else ""
    alternatives: list[Any] = []
    if problems:
        base = max(start - timedelta(days=1), now or utcnow())
        try:
            alternatives = find_slots(resources, duration, base, base + timedelta(days=14), 3, now=now,
                                      exclude_interview_id=interview.id, explain=False).slots
        except DomainError:
            alternatives = []
    return SlotCheck(not problems, problems, alternatives, note)
