"""E-mail reminders through the outbox: before a deadline (from the 80% warning) and when overdue.

Once per lead, per clock (its deadline) and per stage: the key is remembered on the lead and also
given to `queue_mail`, whose outbox refuses a second message with the same key.
"""
from __future__ import annotations

import os
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from coord import events
from coord.accounts.models import User
from coord.dbtypes import utcnow, write_lock
from coord.extensions import db
from coord.notify.models import OutboxMessage
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


def _message(lead: Lead, stage: str, left: int | None) -> tuple[str, str]:
    what = lead.clock_label
    due = lead.due_on.isoformat()
    if stage == "overdue":
        subject = f"【已超期】线索 {lead.number} 的{what}期限（{due}）已过"
        status = f"已超过{what}期限" + (f" {-left} 个工作日" if left is not None else "")
    else:
        subject = f"【即将到期】线索 {lead.number} 须于 {due} 前{what}"
        status = f"距{what}期限还有 {left} 个工作日" if left is not None else f"{what}期限临近"
    text = (
        f"{lead.to_agency.name}：\n\n"
        f"{lead.from_agency.name}移交的线索 {lead.number}（当事人：{lead.party_name}；事项：{lead.matter}）"
        f"{what}期限为 {due}，{status}。\n\n"
        f"请登录柔性执法协同平台办理：{_base_url()}/leads/{lead.id}\n\n"
        "（本邮件由系统自动发送，期限按工作日历计算。）\n"
    )
    return subject, text


def send_reminders(now: datetime | None = None) -> int:
    """Queue the reminders that are due now; returns how many were queued."""
    from coord.notify.services import queue_mail

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
        subject, text = _message(lead, stage, services.days_left(today, lead.due_on, days))
        if queue_mail(_recipients(agencies), subject, text, key=key, about=("lead", lead.id)) is not None:
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
    from coord.notify.services import queue_mail
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
        subject = (f"【已超期】移送 {item.number}：{item.clock_label}期限（{due}）已过" if stage == "overdue"
                   else f"【即将到期】移送 {item.number}：须于 {due} 前完成{item.clock_label}")
        text = (f"涉嫌犯罪案件移送 {item.number}（{item.party_name}，涉嫌{item.suspected_crime}）"
                f"{item.clock_label}期限为 {due}（国务院令第310号）。\n\n"
                f"请登录柔性执法协同平台办理：{_base_url()}/leads/police/{item.id}\n")
        existing = db.session.execute(sa.select(sa.literal(1)).select_from(OutboxMessage).where(
            OutboxMessage.key == key)).first()
        if existing is None:
            if queue_mail(_recipients([actor]), subject, text, key=key) is not None:
                queued += 1
            events.announce(events.police_clock_overdue if stage == "overdue" else events.police_clock_warning,
                            item.id, clock=item.clock, due_at=item.due_at, agency_id=actor)
    return queued
