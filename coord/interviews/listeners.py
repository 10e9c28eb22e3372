"""Interviews and follow-up visits follow the working-day calendar.

After a calendar change: a scheduled interview whose day became a day off is flagged (page and
list), not moved; its organiser is told. A pending follow-up visit is due on the first working day
after its rectification deadline: when the change moves that day, the visit moves with it. Each
change is an audit entry on the interview; the lead agency gets one e-mail listing its moved visits.
`interview_flagged` and `follow_up_due_moved` are announced for the in-app notifications.
"""
from __future__ import annotations

import os
from collections import defaultdict
from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from coord import events
from coord.accounts.models import User
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.dbtypes import write_lock
from coord.extensions import db
from coord.interviews.models import FollowUp, Interview, RectificationItem
from coord.lang import _, tr
from coord.notify.services import queue_mail_in_languages
from coord.timeutil import fmt_local, local_datetime, to_local
from coord.workdays.impact import ChangeSet, Impact, register_impact
from coord.workdays.services import CalendarMissing, reason_shown


def _on_days(days: set[date] | dict[date, Any]) -> list[tuple[Interview, date]]:
    """Scheduled interviews held on one of these (local) days."""
    if not days:
        return []
    lo, hi = min(days), max(days)
    stmt = sa.select(Interview).where(
        Interview.status == "scheduled", Interview.start_at >= local_datetime(lo, time(0)),
        Interview.start_at < local_datetime(hi + timedelta(days=1), time(0))).order_by(Interview.start_at)
    out = []
    for interview in db.session.execute(stmt).scalars():
        day = to_local(interview.start_at).date()
        if day in days:
            out.append((interview, day))
    return out


def flagged(cs: ChangeSet) -> list[tuple[Interview, date, str]]:
    off = cs.became_off()
    return [(iv, day, off[day]) for iv, day in _on_days(off)]


def visit_moves(cs: ChangeSet) -> list[tuple[FollowUp, date, date]]:
    """Pending visits whose due day (first working day after the deadline) the change moves."""
    if not cs.changes:
        return []
    # Visits of interviews (by their item's deadline) and of measures' observation periods (no item).
    stmt = (sa.select(FollowUp).outerjoin(RectificationItem, FollowUp.item_id == RectificationItem.id)
            .options(joinedload(FollowUp.item), joinedload(FollowUp.interview))
            .where(FollowUp.status == "pending", FollowUp.due >= cs.lo,
                   sa.or_(RectificationItem.deadline < cs.hi, FollowUp.item_id.is_(None)))
            .order_by(FollowUp.id))
    out = []
    for visit in db.session.execute(stmt).scalars():
        if visit.deadline >= cs.hi or not cs.touches(visit.deadline, visit.due):
            continue
        try:
            due = cs.new.nth_after(visit.deadline, 1)
        except CalendarMissing:
            continue
        if due != visit.due:
            out.append((visit, visit.due, due))
    return out


def _interview_impact(cs: ChangeSet) -> list[Impact]:
    return [Impact(iv.id, iv.title, "约谈日期", fmt_local(iv.start_at), f"{day.isoformat()} 变为休息日（不自动改期）",
                   f"/interviews/{iv.id}") for iv, day, _note in flagged(cs)]


def _visit_impact(cs: ChangeSet) -> list[Impact]:
    return [Impact(v.id, f"{v.subject}：{v.requirement[:30]}", "回访日期", before.isoformat(),
                   after.isoformat(), v.record_url) for v, before, after in visit_moves(cs)]


register_impact("interviews", "已排期约谈（改为休息日）", _interview_impact)
register_impact("follow_ups", "回访日期", _visit_impact)


def _agency_recipients(agency_id: int) -> list[str]:
    """The agency's mailbox and its active coordinators (who organise interviews and visits)."""
    mailbox = db.session.execute(sa.select(Agency.email).where(Agency.id == agency_id)).scalars()
    people = db.session.execute(sa.select(User.email).where(
        User.agency_id == agency_id, User.active.is_(True), User.role == "coordinator")).scalars()
    return [a for a in [*mailbox, *people] if a]


@events.calendar_days_changed.connect
def follow_calendar(_sender: Any, **data: Any) -> None:
    """After a calendar change is committed: flag interviews on new days off, move visits."""
    cs = ChangeSet.from_event(data)
    if not cs.changes:
        return
    write_lock(db.session)
    actor = db.session.get(User, data["actor_id"]) if data.get("actor_id") else None
    reason = data.get("reason") or "工作日历调整"
    changed = _flag(cs, actor, reason) + _unflag(cs, actor, reason) + _move_visits(cs, actor, reason)
    if changed:
        db.session.commit()
    else:
        db.session.rollback()


def _flag(cs: ChangeSet, actor: Any, reason: str) -> int:
    rows = flagged(cs)
    for interview, day, note in rows:
        before = {"off_day": interview.off_day.isoformat() if interview.off_day else None}
        interview.off_day, interview.off_day_note = day, (note or "休息日")[:80]
        audit.record(actor, "interview.off_day", "interview", interview.id, agencies=interview.agency_ids,
                     summary=f"因{reason}，约谈日期 {day.isoformat()} 已变为休息日（{interview.off_day_note}），"
                             "约谈未改期，已通知组织者",
                     before=before, after={"off_day": day.isoformat(), "note": interview.off_day_note})
        events.announce(events.interview_flagged, interview.id, actor=actor, day=day, note=interview.off_day_note,
                        reason=reason)
        to = [interview.created_by.email if interview.created_by else None, *_agency_recipients(
            interview.lead_agency_id)]
        queue_mail_in_languages(to, lambda interview=interview, day=day: _off_day_mail(interview, day, reason))
    return len(rows)


def _off_day_mail(interview: Interview, day: date, reason: str) -> tuple[str, str]:
    """Subject and text in the current language (each reader's: `queue_mail_in_languages`)."""
    subject = _("【约谈日期变为休息日】%(title)s", title=interview.title)
    text = (_("您好：") + "\n\n"
            + _("因%(reason)s，您组织的约谈“%(title)s”所在日期 %(day)s（%(when)s）已变为休息日（%(note)s）。",
                reason=reason_shown(reason), title=interview.title, day=day.isoformat(),
                when=fmt_local(interview.start_at), note=tr(interview.off_day_note)) + "\n"
            + _("约谈未自动改期，请确认照常举行或在平台上改期：") + "\n"
            + f"{_base_url()}/interviews/{interview.id}\n")
    return subject, text


def _unflag(cs: ChangeSet, actor: Any, reason: str) -> int:
    """An interview flagged on a day that is a working day again loses its flag."""
    back = cs.became_work()
    if not back:
        return 0
    rows = db.session.execute(sa.select(Interview).where(Interview.off_day.in_(back))).scalars().all()
    for interview in rows:
        before = {"off_day": interview.off_day.isoformat()}
        interview.off_day, interview.off_day_note = None, ""
        audit.record(actor, "interview.off_day", "interview", interview.id, agencies=interview.agency_ids,
                     summary=f"因{reason}，约谈日期 {before['off_day']} 恢复为工作日", before=before,
                     after={"off_day": None})
    return len(rows)


def _move_visits(cs: ChangeSet, actor: Any, reason: str) -> int:
    moves = visit_moves(cs)
    by_agency: dict[int, list[tuple[FollowUp, date, date]]] = defaultdict(list)
    for visit, before, after in moves:
        visit.due = after
        if visit.interview_id:
            entity, agencies = ("interview", visit.interview_id), visit.interview.agency_ids
        else:  # a measure's observation period: its trail is the measure's
            entity, agencies = ("measure", visit.observed_measure.id), [visit.agency_id]
        audit.record(actor, "interview.follow_up_due", *entity, agencies=agencies,
                     summary=f"因{reason}，整改要求“{visit.requirement[:40]}”的回访日期由 {before.isoformat()} "
                             f"改为 {after.isoformat()}",
                     before={"follow_up_id": visit.id, "due": before.isoformat()},
                     after={"follow_up_id": visit.id, "due": after.isoformat()})
        events.announce(events.follow_up_due_moved, visit.id, actor=actor, before=before, after=after, reason=reason)
        by_agency[visit.agency_id].append((visit, before, after))
    for agency_id, items in sorted(by_agency.items()):
        queue_mail_in_languages(_agency_recipients(agency_id), lambda items=items: _visits_mail(items, reason))
    return len(moves)


def _visits_mail(items: list[tuple[FollowUp, date, date]], reason: str) -> tuple[str, str]:
    """Subject and text in the current language (each reader's: `queue_mail_in_languages`)."""
    lines = [_("- %(subject)s：%(requirement)s（整改期限 %(deadline)s）回访日期 %(before)s → %(after)s",
               subject=_visit_subject(v), requirement=v.requirement[:60], deadline=v.deadline.isoformat(),
               before=b.isoformat(), after=a.isoformat()) + f"  {_base_url()}{v.record_url}"
             for v, b, a in items]
    subject = _("【回访日期调整】因%(reason)s，%(n)s 项回访日期已变更", reason=reason_shown(reason), n=len(items))
    text = (_("您好：") + "\n\n" + _("工作日历调整后，以下回访任务的日期已按新的工作日历重新计算：") + "\n\n"
            + "\n".join(lines) + "\n\n" + _("（本邮件由系统自动发送。）") + "\n")
    return subject, text


def _visit_subject(visit: FollowUp) -> str:
    """`FollowUp.subject` in the current language (a measure's kind is a label)."""
    if visit.interview_id:
        return visit.interview.title
    measure = visit.observed_measure
    return _("%(kind)s：%(matter)s", kind=tr(measure.kind_label), matter=measure.matter)


def _base_url() -> str:
    return (current_app.config.get("COORD_BASE_URL") or os.environ.get("COORD_BASE_URL")
            or "http://127.0.0.1:5000").rstrip("/")
