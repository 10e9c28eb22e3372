"""E-mail reminders through the outbox: before a deadline (from the 80% warning) and when overdue.

Once per lead, per clock (its deadline) and per stage: the key is remembered on the lead and also
given to `queue_mail`, whose outbox refuses a second message with the same key.
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from coord import events
from coord.accounts.models import User
from coord.dbtypes import utcnow, write_lock
from coord.extensions import db
from coord.lang import N_, _, tr
from coord.notify.models import OutboxMessage
from coord.notify.services import language_key, queue_mail_in_languages
from coord.referrals import services
from coord.referrals.models import Lead


def _base_url() -> str:
    return (current_app.config.get("COORD_BASE_URL") or os.environ.get("COORD_BASE_URL")
            or "http://127.0.0.1:5000").rstrip("/")


def _recipients(agency_ids: list[int]) -> list[str]:
    """The agencies' mailboxes and their active coordinators' and officers' addresses."""
    from coord.agencies.models import Agency

    agencies = db.session.execute(sa.select(Agency.email).where(Agency.id.in_(agency_ids))).scalars()
    users = db.session.execute(sa.select(User.email).where(
        User.agency_id.in_(agency_ids), User.active.is_(True), User.role.in_(("coordinator", "officer")))).scalars()
    return [a for a in [*agencies, *users] if a]


# A lead's reminder, per clock (签收 / 回复): written for each reader (`queue_mail_in_languages`).
LEAD_TEXTS: dict[str, dict[str, str]] = {
    "ack": {
        "overdue": N_("【已超期】线索 %(number)s 的签收期限（%(due)s）已过"),
        "before": N_("【即将到期】线索 %(number)s 须于 %(due)s 前签收"),
        "late_days": N_("已超过签收期限 %(days)s 个工作日"),
        "late": N_("已超过签收期限"),
        "left_days": N_("距签收期限还有 %(days)s 个工作日"),
        "near": N_("签收期限临近"),
        "body": N_("%(sender)s移交的线索 %(number)s（当事人：%(party)s；事项：%(matter)s）"
                   "签收期限为 %(due)s，%(status)s。"),
    },
    "reply": {
        "overdue": N_("【已超期】线索 %(number)s 的回复期限（%(due)s）已过"),
        "before": N_("【即将到期】线索 %(number)s 须于 %(due)s 前回复"),
        "late_days": N_("已超过回复期限 %(days)s 个工作日"),
        "late": N_("已超过回复期限"),
        "left_days": N_("距回复期限还有 %(days)s 个工作日"),
        "near": N_("回复期限临近"),
        "body": N_("%(sender)s移交的线索 %(number)s（当事人：%(party)s；事项：%(matter)s）"
                   "回复期限为 %(due)s，%(status)s。"),
    },
}


def _message(lead: Lead, stage: str, left: int | None) -> tuple[str, str]:
    """Subject and text in the current language (the caller chooses it); the data as entered."""
    texts = LEAD_TEXTS.get(lead.clock or "", LEAD_TEXTS["reply"])
    due = lead.due_on.isoformat()
    if stage == "overdue":
        subject = _(texts["overdue"], number=lead.number, due=due)
        status = _(texts["late_days"], days=-left) if left is not None else _(texts["late"])
    else:
        subject = _(texts["before"], number=lead.number, due=due)
        status = _(texts["left_days"], days=left) if left is not None else _(texts["near"])
    text = (
        _("%(agency)s：", agency=lead.to_agency.name) + "\n\n"
        + _(texts["body"], sender=lead.from_agency.name, number=lead.number, party=lead.party_name,
            matter=lead.matter, due=due, status=status) + "\n\n"
        + _("请登录柔性执法协同平台办理：%(url)s", url=f"{_base_url()}/leads/{lead.id}") + "\n\n"
        + _("（本邮件由系统自动发送，期限按工作日历计算。）") + "\n"
    )
    return subject, text


def _police_message(item: Any, stage: str, due: str) -> tuple[str, str]:
    what = tr(item.clock_label)
    if stage == "overdue":
        subject = _("【已超期】移送 %(number)s：%(what)s期限（%(due)s）已过", number=item.number, what=what, due=due)
    else:
        subject = _("【即将到期】移送 %(number)s：须于 %(due)s 前完成%(what)s", number=item.number, what=what, due=due)
    text = (_("涉嫌犯罪案件移送 %(number)s（%(party)s，涉嫌%(crime)s）%(what)s期限为 %(due)s（国务院令第310号）。",
              number=item.number, party=item.party_name, crime=item.suspected_crime, what=what, due=due) + "\n\n"
            + _("请登录柔性执法协同平台办理：%(url)s", url=f"{_base_url()}/leads/police/{item.id}") + "\n")
    return subject, text


def send_reminders(now: datetime | None = None) -> int:
    """Queue the reminders that are due now; returns how many were queued."""
    now = now or utcnow()
    today = services.local_day(now)
    write_lock(db.session)
    # Only leads whose running clock is in its warning window or past it: chosen by SQL.
    leads = db.session.execute(
        sa.select(Lead).where(Lead.due_on.is_not(None), Lead.warn_on <= today).order_by(Lead.id)
    ).scalars().all()
    days = services.calendar_for(leads, today)
    queued = 0
    for lead in leads:
        stage = "overdue" if lead.due_on < today else "before"
        key = f"lead:{lead.id}:{lead.clock}:{lead.due_on.isoformat()}:{stage}"
        if key in lead.reminders_sent.split(";"):
            continue
        agencies = [lead.to_agency_id] + ([lead.from_agency_id] if stage == "overdue" else [])
        left = services.days_left(today, lead.due_on, days)
        if queue_mail_in_languages(_recipients(agencies), lambda lead=lead, stage=stage, left=left: _message(
                lead, stage, left), key=key, about=("lead", lead.id)):
            queued += 1
        events.announce(events.lead_clock_overdue if stage == "overdue" else events.lead_clock_warning, lead.id,
                        clock=lead.clock, due_on=lead.due_on)
        lead.reminders_sent = ";".join(filter(None, [lead.reminders_sent, key]))
    queued += _police_reminders(now)
    db.session.commit()
    return queued


def _police_reminders(now: datetime) -> int:
    """The 310号令 clocks: the side that must act is told at 80% and when the time is up.

    Once per referral, clock and stage through the outbox key (queueing a key again is a no-op)."""
    from coord.referrals.models import PoliceReferral
    from coord.timeutil import fmt_local

    items = db.session.execute(
        sa.select(PoliceReferral).where(PoliceReferral.due_at.is_not(None), PoliceReferral.warn_at <= now)
    ).scalars().all()
    queued = 0
    for item in items:
        stage = "overdue" if item.due_at < now else "before"
        key = f"police:{item.id}:{item.clock}:{item.due_at.isoformat()}:{stage}"
        actor = item.police_agency_id if item.clock in ("decide", "reconsider") else item.agency_id
        due = fmt_local(item.due_at)
        existing = db.session.execute(sa.select(sa.literal(1)).select_from(OutboxMessage).where(
            OutboxMessage.key.in_([key, language_key(key, "en")]))).first()
        if existing is None:
            if queue_mail_in_languages(_recipients([actor]), lambda item=item, stage=stage, due=due: _police_message(
                    item, stage, due), key=key):
                queued += 1
            events.announce(events.police_clock_overdue if stage == "overdue" else events.police_clock_warning,
                            item.id, clock=item.clock, due_at=item.due_at, agency_id=actor)
    return queued
