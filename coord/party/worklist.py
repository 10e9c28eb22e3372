"""The staff's worklist sections from what the party did (#16): reschedule requests to answer, rectification
proof to review, undertakings not yet signed. One statement each (see `coord.worklist.queries`); the
cache is told by the party's own events."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from coord import events
from coord.interviews.models import FollowUp, Interview
from coord.minutes.models import Minutes, MinutesRevision
from coord.parties.models import Party
from coord.party.models import PartyProof, PartyResponse, PartyUndertaking
from coord.timeutil import fmt_local
from coord.worklist.cache import watch
from coord.worklist.listeners import interview_agencies
from coord.worklist.queries import ACTING, SENDING, Context, Section, Who, register


def _organiser(who: Who) -> list[sa.ColumnElement[bool]] | None:
    """The interviews a user organises: the office all, a coordinator (or admin) their agency's; None: none."""
    if who.is_office:
        return []
    if who.role not in SENDING:
        return None
    return [Interview.lead_agency_id == who.agency_id]


def _reschedule_requests(who: Who, ctx: Context) -> sa.Select | None:
    scope = _organiser(who)
    if scope is None:
        return None
    no_warning = sa.cast(sa.null(), Interview.start_at.type)
    return (sa.select(PartyResponse.id.label("record_id"), Interview.start_at.label("due"), no_warning.label("warn"),
                      Interview.id.label("interview_id"), Interview.title, Party.name.label("party_name"))
            .join(Interview, Interview.id == PartyResponse.interview_id)
            .join(Party, Party.id == Interview.party_id)
            .where(*scope, PartyResponse.kind == "reschedule_requested", PartyResponse.status == "open",
                   Interview.status == "scheduled", PartyResponse.for_start_at == Interview.start_at))


def _proof(who: Who, ctx: Context) -> sa.Select | None:
    """Submitted proof whose item's visit is still pending, for the visit's agency (the office: all), by the
    visit's due date."""
    if not who.is_office and who.role not in ACTING:
        return None
    scope = [] if who.is_office else [FollowUp.agency_id == who.agency_id]
    no_warning = sa.cast(sa.null(), sa.Date)
    return (sa.select(PartyProof.id.label("record_id"), FollowUp.due.label("due"), no_warning.label("warn"),
                      FollowUp.id.label("follow_up_id"), Interview.title, Party.name.label("party_name"))
            .join(FollowUp, sa.and_(FollowUp.item_id == PartyProof.item_id, FollowUp.status == "pending"))
            .join(Interview, Interview.id == PartyProof.interview_id)
            .join(Party, Party.id == Interview.party_id)
            .where(*scope, PartyProof.status == "submitted"))


def _undertakings(who: Who, ctx: Context) -> sa.Select | None:
    """Held interviews whose final minutes (their latest revision) ask for an undertaking that the party
    has neither signed nor been recorded as refusing."""
    scope = _organiser(who)
    if scope is None:
        return None
    no_clock = sa.cast(sa.null(), sa.Date)
    return (sa.select(Interview.id.label("record_id"), no_clock.label("due"), no_clock.label("warn"),
                      Interview.title, Party.name.label("party_name"), Minutes.finalized_at)
            .join(Minutes, Minutes.interview_id == Interview.id)
            .join(MinutesRevision, sa.and_(MinutesRevision.minutes_id == Minutes.id,
                                           MinutesRevision.number == Minutes.revision))
            .join(Party, Party.id == Interview.party_id)
            .where(*scope, Interview.status == "held", Minutes.status == "final",
                   MinutesRevision.content["undertaking"].as_boolean().is_(True),
                   ~sa.exists(sa.select(PartyUndertaking.id).where(PartyUndertaking.interview_id == Interview.id))))


register(Section("party_reschedule", "当事人申请改期", "party_response", _reschedule_requests,
                 lambda r: _("%(title)s（%(party)s，原定 %(when)s）", title=r.title, party=r.party_name,
                             when=fmt_local(r.due, "%m月%d日 %H:%M")),
                 lambda r: url_for("interviews.show", interview_id=r.interview_id) + "#party-answer",
                 action="同意改期或不同意", clock="instant", nav="interviews.index", priority=12,
                 more=lambda: url_for("interviews.index")))
register(Section("party_proof_review", "待审核的整改材料", "party_proof", _proof,
                 lambda r: _("%(title)s（%(party)s）的整改材料", title=r.title, party=r.party_name),
                 lambda r: url_for("interviews.follow_up_list") + f"#follow-up-{r.follow_up_id}",
                 action="审核材料", nav="interviews.follow_up_list", priority=17,
                 more=lambda: url_for("interviews.follow_up_list")))
register(Section("undertaking_unsigned", "当事人尚未签署的保证承诺书", "interview", _undertakings,
                 lambda r: _("%(title)s（%(party)s）", title=r.title, party=r.party_name),
                 lambda r: url_for("interviews.show", interview_id=r.record_id) + "#party-undertaking",
                 action="提醒签署或登记拒签", priority=45, more=lambda: url_for("minutes.index")))
for _signal in (events.party_reschedule_requested, events.party_reschedule_answered, events.party_proof_uploaded,
                events.party_proof_reviewed, events.party_undertaking_signed, events.party_undertaking_refused):
    watch(_signal, interview_agencies)
