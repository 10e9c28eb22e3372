"""The party directory and a party's timeline, scoped: each user sees what their agency may see.

A party is visible to an agency when one of its records concerns the party: an interview the agency
takes part in, a measure in its register, or a lead it sent or received (leads name their party by
credit code, or by name when there is none). The office sees every party and every record. A party
outside the caller's scope is reported as absent (404).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from coord.errors import NotFound
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import FOLLOW_UP_RESULTS, FollowUp, Interview, InterviewAgency
from coord.measures.models import Measure
from coord.minutes.models import Minutes
from coord.parties.models import Party
from coord.referrals.models import OUTCOMES, Lead
from coord.timeutil import isoformat_local, local_datetime

SEARCH_LIMIT = 50


def _lead_matches(party: Any) -> sa.ColumnElement[bool]:
    """Leads about a party: by credit code when it has one, else by the exact name."""
    return sa.or_(
        sa.and_(party.credit_code != "", Lead.party_credit_code == party.credit_code),
        sa.and_(party.credit_code == "", Lead.party_name == party.name),
    )


def _visible_to(agency_id: int) -> sa.ColumnElement[bool]:
    in_interview = sa.select(Interview.id).join(InterviewAgency, InterviewAgency.interview_id == Interview.id).where(
        Interview.party_id == Party.id, InterviewAgency.agency_id == agency_id)
    in_register = sa.select(Measure.id).where(Measure.party_id == Party.id, Measure.agency_id == agency_id)
    in_leads = sa.select(Lead.id).where(_lead_matches(Party), sa.or_(Lead.from_agency_id == agency_id,
                                                                     Lead.to_agency_id == agency_id))
    return sa.or_(sa.exists(in_interview), sa.exists(in_register), sa.exists(in_leads))


def search(actor: Any, q: str, limit: int = SEARCH_LIMIT) -> list[Party]:
    """Parties by name (part of it), credit code or ID number (from the start), within the caller's scope."""
    q = (q or "").strip()
    stmt = sa.select(Party).order_by(Party.name, Party.id).limit(limit)
    if q:
        code = q.upper()
        stmt = stmt.where(sa.or_(Party.name.ilike(f"%{q}%"), Party.credit_code.startswith(code),
                                 sa.and_(Party.id_number != "", Party.id_number.startswith(code))))
    if not actor.is_office:
        stmt = stmt.where(_visible_to(actor.agency_id))
    return list(db.session.execute(stmt).scalars())


def get(actor: Any, party_id: Any) -> Party:
    try:
        pid = int(party_id)
    except (TypeError, ValueError):
        pid = 0
    stmt = sa.select(Party).where(Party.id == pid)
    if not actor.is_office:
        stmt = stmt.where(_visible_to(actor.agency_id))
    party = db.session.execute(stmt).scalar_one_or_none() if 0 < pid < 2**31 else None
    if party is None:
        raise NotFound(_("当事人不存在或您无权查看。"))
    return party


@dataclass
class Event:
    at: datetime
    type: str
    title: str
    url: str
    agency: str

    def as_dict(self) -> dict[str, Any]:
        return {"at": isoformat_local(self.at), "type": self.type, "title": self.title, "url": self.url,
                "agency": self.agency}


TYPES: dict[str, str] = {
    "interview": "约谈", "follow_up": "回访", "undertaking": "承诺", "list_item": "清单事项", "lead": "线索",
    "lead_reply": "线索回复", "measure": "柔性执法措施",
}


def _day(value: date) -> datetime:
    return local_datetime(value, time(0))


def _list_item_event(item: Any, at: datetime, where: str) -> Event:
    version = item.version
    return Event(at, "list_item", _("涉及%(agency)s%(kind)s事项：%(matter)s（%(where)s）", agency=version.agency.name,
                                    kind=_(version.kind_label), matter=item.matter, where=where),
                 url_for("lists.version", version_id=version.id), version.agency.name)


def timeline(actor: Any, party: Party) -> list[Event]:
    """Every interview, lead, measure, follow-up, undertaking and list item about the party that the
    caller may see, oldest first."""
    events: list[Event] = []
    visits_with_entry: set[int] = set()
    events += _measures(actor, party, visits_with_entry)
    shown = _interviews(actor, party, visits_with_entry)
    events += shown
    events += _leads(actor, party)
    events.sort(key=lambda e: (e.at, e.type, e.title))
    return events


def _interviews(actor: Any, party: Party, visits_with_entry: set[int]) -> list[Event]:
    rows = list(db.session.execute(interviews.visible_query(actor).where(Interview.party_id == party.id)
                                   .order_by(Interview.id)).unique().scalars())
    if not rows:
        return []
    out: list[Event] = []
    for i in rows:
        at = i.start_at or i.created_at
        title = _("%(measure)s：%(title)s（%(status)s）", measure=_(i.measure_label), title=i.title,
                  status=_(i.status_label))
        out.append(Event(at, "interview", title,
                         url_for("interviews.show", interview_id=i.id), i.lead_agency.name))
        if i.list_item is not None:
            out.append(_list_item_event(i.list_item, at, _("约谈“%(title)s”", title=i.title)))
    ids = [i.id for i in rows]
    by_id = {i.id: i for i in rows}
    for visit in db.session.execute(sa.select(FollowUp).where(FollowUp.interview_id.in_(ids))).scalars():
        if visit.id in visits_with_entry:
            continue  # its register entry (回访) is on the timeline already
        out.append(_visit_event(visit, url_for("interviews.show", interview_id=visit.interview_id),
                                _("约谈“%(title)s”整改：%(requirement)s", title=by_id[visit.interview_id].title,
                                  requirement=visit.item.requirement)))
    for minutes in db.session.execute(sa.select(Minutes).where(Minutes.interview_id.in_(ids),
                                                               Minutes.status == "final")).scalars():
        issued = minutes.issued
        if issued and issued[-1].content.get("undertaking"):
            interview = by_id[minutes.interview_id]
            out.append(Event(minutes.finalized_at or issued[-1].created_at, "undertaking",
                             _("签署保证承诺书（约谈“%(title)s”）", title=interview.title),
                             url_for("minutes.undertaking_pdf", interview_id=interview.id), interview.lead_agency.name))
    return out


def _visit_event(visit: FollowUp, url: str, about: str) -> Event:
    if visit.status == "done":
        result = FOLLOW_UP_RESULTS.get(visit.result or "", "")
        title = _("回访：%(result)s（%(about)s）", result=_(result) if result else "", about=about)
        at = visit.visited_at
    else:
        title = _("待回访，应于 %(day)s 回访（%(about)s）", day=visit.due.isoformat(), about=about)
        at = _day(visit.due)
    return Event(at, "follow_up", title, url, visit.agency.name)


def _measures(actor: Any, party: Party, visits_with_entry: set[int]) -> list[Event]:
    stmt = sa.select(Measure).where(Measure.party_id == party.id).order_by(Measure.id)
    if not actor.is_office:
        stmt = stmt.where(Measure.agency_id == actor.agency_id)
    out: list[Event] = []
    for m in db.session.execute(stmt).unique().scalars():
        url = url_for("measures.show", measure_id=m.id)
        at = _day(m.measure_on)
        out.append(Event(at, "measure", _("%(kind)s：%(matter)s（%(number)s）", kind=_(m.kind_title), matter=m.matter,
                                           number=m.number), url, m.agency.name))
        if m.follow_up_id:
            visits_with_entry.add(m.follow_up_id)
        if m.undertaking:
            out.append(Event(at, "undertaking", _("当事人承诺：%(text)s", text=m.undertaking[:60]), url, m.agency.name))
        if m.list_item is not None:
            out.append(_list_item_event(m.list_item, at, m.number or ""))
        visit = m.observation_visit
        if visit is not None and visit.status != "done":
            out.append(_visit_event(visit, url, _("%(number)s 纠错观察期：%(requirement)s", number=m.number,
                                                    requirement=m.observation_requirement)))
    return out


def _leads(actor: Any, party: Party) -> list[Event]:
    stmt = sa.select(Lead).where(_lead_matches(party), Lead.state != "merged").order_by(Lead.id)
    if not actor.is_office:
        stmt = stmt.where(sa.or_(Lead.from_agency_id == actor.agency_id, Lead.to_agency_id == actor.agency_id))
    out: list[Event] = []
    for lead in db.session.execute(stmt).unique().scalars():
        url = url_for("referrals.show", lead_id=lead.id)
        route = _("%(a)s移交%(b)s，%(state)s", a=lead.from_agency.name, b=lead.to_agency.name,
                  state=_(lead.state_label))
        title = _("线索 %(n)s：%(matter)s（%(route)s）", n=lead.number, matter=lead.matter, route=route)
        out.append(Event(lead.referred_at, "lead", title, url,
                         lead.to_agency.name))
        if lead.replied_at:
            outcome = OUTCOMES.get(lead.outcome or "", "")
            outcome = _(outcome) if outcome else ""
            reply = _("线索 %(n)s 回复：%(outcome)s", n=lead.number, outcome=outcome)
            out.append(Event(lead.replied_at, "lead_reply", reply, url,
                             lead.to_agency.name))
        if lead.list_item is not None:
            out.append(_list_item_event(lead.list_item, lead.referred_at, _("线索 %(n)s", n=lead.number)))
    return out
