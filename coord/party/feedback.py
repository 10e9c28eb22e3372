"""The party rates the service (policy §四(五)1: the follow-up asks the party's opinion and whether the
officials behaved with integrity): after the interview and after the follow-up visit, once per stage,
1–5 for the process and for the officials' conduct, with a comment; a separate integrity report (廉洁).

Who rated is not kept with the rating (no link, no attendee); the audit entries of ratings and reports
are scoped to no agency, so only the leading-group office reads them. Officials see neither.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from coord import events
from coord.audit import services as audit
from coord.errors import DomainError
from coord.extensions import db
from coord.interviews.models import FollowUp, Interview
from coord.lang import _
from coord.party.models import STAGES, IntegrityReport, PartyFeedback
from coord.party.services import open_link, party_actor

MAX_COMMENT = 2000
MAX_REPORT = 4000


def open_stages(interview: Interview) -> dict[str, bool]:
    """Which stages may be rated now: after the interview was held; after a follow-up visit was recorded."""
    held = interview.status == "held"
    visited = held and db.session.execute(sa.select(FollowUp.id).where(
        FollowUp.interview_id == interview.id, FollowUp.status == "done").limit(1)).first() is not None
    return {"interview": held, "follow_up": visited}


def given(interview_id: int) -> dict[str, PartyFeedback]:
    rows = db.session.execute(sa.select(PartyFeedback).where(PartyFeedback.interview_id == interview_id)).scalars()
    return {row.stage: row for row in rows}


def _rating(value: Any, field: str, label: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if not 1 <= number <= 5:
        raise DomainError(_("请为%(label)s选择 1–5 分。", label=_(label)), field=field)
    return number


def give(token: str, ip: str, stage: str, rating: Any, conduct_rating: Any, comment: str = "",
         integrity_report: str = "") -> PartyFeedback:
    access = open_link(token, for_update=True)
    interview = access.interview
    if stage not in STAGES:
        raise DomainError(_("评价阶段无效。"), field="stage")
    if not open_stages(interview)[stage]:
        raise DomainError(_("约谈结束后可以评价约谈工作，回访后可以评价回访工作。"), field="stage")
    process = _rating(rating, "rating", "办事流程")
    conduct = _rating(conduct_rating, "conduct_rating", "工作人员作风")
    comment = (comment or "").strip()
    report = (integrity_report or "").strip()
    if len(comment) > MAX_COMMENT:
        raise DomainError(_("意见建议不能超过 %(MAX_COMMENT)s 字。", MAX_COMMENT=MAX_COMMENT), field="comment")
    if len(report) > MAX_REPORT:
        raise DomainError(_("廉洁情况反映不能超过 %(MAX_REPORT)s 字。", MAX_REPORT=MAX_REPORT),
                          field="integrity_report")
    existing = given(interview.id).get(stage)
    if existing is not None:
        if (existing.process_rating, existing.conduct_rating, existing.comment) == (process, conduct, comment):
            db.session.rollback()
            return existing  # a double submit counts once
        raise DomainError(_("%(STAGES)s评价已提交，每个阶段只能评价一次。", STAGES=_(STAGES[stage])),
                          field="stage")
    feedback = PartyFeedback(interview_id=interview.id, stage=stage, process_rating=process, conduct_rating=conduct,
                             comment=comment)
    db.session.add(feedback)
    db.session.flush()
    actor = party_actor(access, ip, anonymous=True)
    # Scoped to no agency: only the office reads these entries (the officials rated must not).
    audit.record(actor, "party.feedback", "party_feedback", feedback.id,
                 summary=f"当事人提交{STAGES[stage]}评价（约谈编号 {interview.id}）",
                 after={"interview_id": interview.id, "stage": stage, "ip": ip, "link_id": access.link.id,
                        "process": process, "conduct": conduct})
    events.announce(events.party_feedback_given, interview.id, stage=stage)
    if report:
        row = IntegrityReport(interview_id=interview.id, stage=stage, text=report)
        db.session.add(row)
        db.session.flush()
        audit.record(actor, "party.integrity_report", "integrity_report", row.id,
                     summary=f"收到廉洁情况反映（约谈编号 {interview.id}）",
                     after={"interview_id": interview.id, "stage": stage, "ip": ip, "link_id": access.link.id})
        events.announce(events.party_integrity_reported, row.id, interview_id=interview.id)
    db.session.commit()
    return feedback


def _office_only(user: Any, _entity_id: str) -> bool:
    return bool(user.is_office)


audit.register_entity("party_feedback", "当事人评价", _office_only)
audit.register_entity("integrity_report", "廉洁情况反映", _office_only)
