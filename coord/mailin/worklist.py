"""The organiser's worklist sections from invitees' answers (#15): a decline by a required official or by
the room, and open counter-proposals, for interviews still to come. One statement each (see
`coord.worklist.queries`); the cache is told by the answers' own events."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from coord import events
from coord.interviews.models import Interview
from coord.mailin.models import CounterProposal, InvitationReply
from coord.timeutil import fmt_local
from coord.worklist.cache import watch
from coord.worklist.listeners import interview_agencies
from coord.worklist.queries import SENDING, Context, Section, Who, register

REQUIRED = ("official", "room")  # the party's own answer goes through its portal link


def organised(who: Who, ctx: Context) -> list[sa.ColumnElement[bool]] | None:
    """Scheduled interviews still to come that the user organises (the office: all of them); None: not theirs."""
    if not who.is_office and who.role not in SENDING:
        return None
    scope = [] if who.is_office else [Interview.lead_agency_id == who.agency_id]
    return [Interview.status == "scheduled", Interview.start_at >= ctx.now, *scope]


def _declines(who: Who, ctx: Context) -> sa.Select | None:
    """Each required invitee whose answer that counts (highest SEQUENCE, then latest) is a decline of the
    current SEQUENCE: a later accept, or an answer to a newer invitation, takes it off the list."""
    where = organised(who, ctx)
    if where is None:
        return None
    later = aliased(InvitationReply)
    superseded = sa.exists(sa.select(later.id).where(
        later.interview_id == InvitationReply.interview_id, later.email == InvitationReply.email,
        sa.tuple_(later.sequence, later.answered_at, later.id)
        > sa.tuple_(InvitationReply.sequence, InvitationReply.answered_at, InvitationReply.id)))
    no_warning = sa.cast(sa.null(), Interview.start_at.type)
    return (sa.select(InvitationReply.id.label("record_id"), Interview.start_at.label("due"),
                      no_warning.label("warn"), Interview.id.label("interview_id"), Interview.title,
                      InvitationReply.name, InvitationReply.email, InvitationReply.kind, InvitationReply.comment)
            .join(Interview, Interview.id == InvitationReply.interview_id)
            .where(*where, InvitationReply.partstat == "DECLINED", InvitationReply.kind.in_(REQUIRED),
                   InvitationReply.sequence == Interview.sequence, ~superseded))


def _counters(who: Who, ctx: Context) -> sa.Select | None:
    where = organised(who, ctx)
    if where is None:
        return None
    no_warning = sa.cast(sa.null(), Interview.start_at.type)
    return (sa.select(CounterProposal.id.label("record_id"), Interview.start_at.label("due"),
                      no_warning.label("warn"), Interview.id.label("interview_id"), Interview.title,
                      CounterProposal.name, CounterProposal.email, CounterProposal.proposed_start)
            .join(Interview, Interview.id == CounterProposal.interview_id)
            .where(*where, CounterProposal.status == "open"))


def _decline_title(row: Any) -> str:
    who = _("会议室") if row.kind == "room" else _("参加人员")
    why = f"：{row.comment[:60]}" if row.comment else ""
    return _("%(title)s：%(who)s%(name)s拒绝参加%(why)s", title=row.title, who=who, name=row.name or row.email,
             why=why)


def _counter_title(row: Any) -> str:
    return _("%(title)s：%(name)s提议改到 %(when)s", title=row.title, name=row.name or row.email,
             when=fmt_local(row.proposed_start, "%m月%d日 %H:%M"))


register(Section("invitation_declined", "拒绝参加的受邀人", "invitation_reply", _declines, _decline_title,
                 lambda r: url_for("interviews.show", interview_id=r.interview_id) + "#responses",
                 action="改期或调整人员", clock="instant", nav="interviews.index", priority=14,
                 more=lambda: url_for("interviews.index")))
register(Section("counter_decide", "待决定的改期提议", "counter_proposal", _counters, _counter_title,
                 lambda r: url_for("interviews.show", interview_id=r.interview_id) + "#counters",
                 action="采纳或不采纳", clock="instant", nav="interviews.index", priority=13,
                 more=lambda: url_for("interviews.index")))
for _signal in (events.invitation_replied, events.invitation_countered, events.invitation_counter_decided):
    watch(_signal, interview_agencies)
