"""Reminders by e-mail through the outbox, delivered to a real SMTP server on loopback."""
from __future__ import annotations

import sqlalchemy as sa

from coord.extensions import db
from coord.notify.models import OutboxMessage
from coord.referrals import services
from coord.referrals.reminders import send_reminders
from tests.notify_fixtures import run_worker, smtp_fixture  # noqa: F401
from tests.referrals_fixtures import at, make_lead, user


def _outbox(lead_id: int) -> list[OutboxMessage]:
    return list(db.session.execute(sa.select(OutboxMessage).where(
        OutboxMessage.key.like(f"lead:{lead_id}:%")).order_by(OutboxMessage.id)).scalars())


def test_before_deadline_and_overdue_once_each(app, smtp):
    lead = make_lead(now=at(2026, 10, 8))
    services.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 10, 8, 11))  # reply due 10-14, yellow 10-13
    send_reminders(now=at(2026, 10, 12, 8))
    assert _outbox(lead.id) == []  # still green
    send_reminders(now=at(2026, 10, 13, 8))
    send_reminders(now=at(2026, 10, 13, 15))  # the hourly job runs again: nothing new
    send_reminders(now=at(2026, 10, 14, 8))
    [before] = _outbox(lead.id)
    assert "即将到期" in before.subject and "2026-10-14" in before.subject
    assert "scjgj@spb.example.cn" in before.to_addrs and "scjg_officer@spb.example.cn" in before.to_addrs
    assert "cgj@spb.example.cn" not in before.to_addrs
    send_reminders(now=at(2026, 10, 15, 8))
    send_reminders(now=at(2026, 10, 16, 8))
    before_again, overdue = _outbox(lead.id)
    assert before_again.id == before.id
    assert "已超期" in overdue.subject and "cgj@spb.example.cn" in overdue.to_addrs  # the sender is told too
    assert "已超过回复期限 1 个工作日" in overdue.text and f"/leads/{lead.id}" in overdue.text

    run_worker()
    got = smtp.wait_for(2)
    subjects = [m.message["Subject"] for m in got]
    assert any("即将到期" in s for s in subjects) and any("已超期" in s for s in subjects)


def test_new_clock_gets_new_reminders_and_replied_leads_none(app):
    lead = make_lead(now=at(2026, 9, 30))  # acknowledge due 10-08 (1 working day: yellow = due day)
    send_reminders(now=at(2026, 10, 8, 8))
    assert [m.key.split(":")[2] for m in _outbox(lead.id)] == ["ack"]
    services.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 10, 8, 9))
    services.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "不构成违法。"},
                   now=at(2026, 10, 9))
    send_reminders(now=at(2026, 10, 20, 8))
    assert len(_outbox(lead.id)) == 1  # replied: no clock runs, nothing more


def test_send_reminders_command(app):
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert result.exit_code == 0 and "reminders queued" in result.output
    # The seeded lead 区生态环境局 → 区城市管理局 has been overdue for days: it got one reminder.
    keys = db.session.execute(sa.select(OutboxMessage.key).where(OutboxMessage.key.like("lead:%"))).scalars().all()
    assert any(k.endswith(":overdue") for k in keys)
    again = app.test_cli_runner().invoke(args=["send-reminders"])
    assert "reminders queued: 0" in again.output


def test_police_clock_reminders_go_to_the_side_that_must_act(app):
    from coord.referrals import police

    item = police.create(user("scjg_officer"), {"party_name": "某某食品厂", "suspected_crime": "销售伪劣产品罪",
                                                "facts": "货值逾五万元。"}, now=at(2026, 10, 12, 9))
    police.approve(user("scjg_coord"), item.id, True, now=at(2026, 10, 12, 10))  # hand over by 10-13 10:00
    send_reminders(now=at(2026, 10, 12, 20))
    assert _police_outbox(item.id) == []  # 10 of 24 hours
    send_reminders(now=at(2026, 10, 13, 8))  # past 80%
    send_reminders(now=at(2026, 10, 13, 9))
    send_reminders(now=at(2026, 10, 13, 11))  # overdue
    before, overdue = _police_outbox(item.id)
    assert "即将到期" in before.subject and "scjgj@spb.example.cn" in before.to_addrs
    assert "已超期" in overdue.subject and "gafj@spb.example.cn" not in overdue.to_addrs


def _police_outbox(item_id: int) -> list[OutboxMessage]:
    return list(db.session.execute(sa.select(OutboxMessage).where(
        OutboxMessage.key.like(f"police:{item_id}:%")).order_by(OutboxMessage.id)).scalars())
