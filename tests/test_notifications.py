"""Notifications: one for each event that concerns a user (never the one who acted, never a stranger to
the record), in the app and by e-mail as the user chose: at once, in the 08:30 digest on working days,
or not at all. Mail goes through the outbox to a real SMTP server on loopback."""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from coord import events
from coord.extensions import db
from coord.interviews import reminders as visit_reminders
from coord.interviews import services as interviews
from coord.lists import services as lists
from coord.minutes import services as minutes
from coord.notifications import services
from coord.notifications.models import Notification
from coord.notify.models import OutboxMessage
from coord.referrals import police
from coord.referrals import services as referrals
from coord.referrals.reminders import send_reminders
from coord.referrals.storage import Upload
from coord.timeutil import local_datetime, local_today
from coord.workdays.models import WorkDay
from coord.workdays.services import is_workday
from tests.conftest import csrf_token, login
from tests.interview_fixtures import NOW as INTERVIEW_NOW
from tests.interview_fixtures import ensure_calendar, interview_data
from tests.lists_fixtures import agency_id
from tests.minutes_fixtures import AFTER, START, content
from tests.notify_fixtures import run_worker, smtp_fixture  # noqa: F401
from tests.referrals_fixtures import PDF, TXT, at, make_lead, user
from tests.worklist_fixtures import notes

MONDAY = at(2026, 11, 2, 9)


@pytest.fixture(autouse=True)
def _pdf_cache(app, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")


@pytest.fixture
def today_calendar(app):
    ensure_calendar(local_today() - timedelta(days=30), 60)


def told(kind: str, record_id) -> set[str]:
    """Who got a notification of this kind about this record."""
    db.session.rollback()
    from coord.accounts.models import User

    rows = db.session.execute(sa.select(User.username).join(Notification, Notification.user_id == User.id).where(
        Notification.kind == kind, Notification.record_id == str(record_id))).scalars()
    return set(rows)


def set_choice(username: str, choice: str) -> None:
    services.set_mail_choice(user(username), choice)


def test_every_lead_event_tells_the_side_that_must_act_and_never_the_actor(app):
    lead = make_lead("cgj_coord", "scjgj", now=MONDAY)
    assert told("lead_referred", lead.id) == {"scjg_coord", "scjg_officer"}
    [note] = notes("scjg_officer", "lead_referred", lead.id)
    assert lead.number in note.title and "请签收" in note.title and note.url == f"/leads/{lead.id}"
    referrals.acknowledge(user("scjg_officer"), lead.id, now=MONDAY)
    referrals.request_extension(user("scjg_officer"), lead.id, 2, "需调取监控。", now=MONDAY)
    assert told("lead_extension_requested", lead.id) == {"cgj_coord"}  # coordinators decide, not officers
    assert "延期 2 个工作日" in notes("cgj_coord", "lead_extension_requested")[0].title
    referrals.decide_extension(user("cgj_coord"), lead.id, True, now=MONDAY)
    assert told("lead_extension_decided", lead.id) == {"scjg_coord", "scjg_officer"}
    referrals.supervise(user("admin"), lead.id, "请加快。", now=MONDAY)
    assert told("lead_supervised", lead.id) == {"scjg_coord", "scjg_officer"}
    referrals.answer_supervision(user("scjg_coord"), lead.id, "已在核查。", now=MONDAY)
    assert told("lead_supervision_answered", lead.id) == {"admin"}
    referrals.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "不构成违法。"}, now=MONDAY)
    assert told("lead_replied", lead.id) == {"cgj_coord"}
    referrals.send_back(user("cgj_coord"), lead.id, "请补充照片。", now=MONDAY)
    assert told("lead_sent_back", lead.id) == {"scjg_coord", "scjg_officer"}
    referrals.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "已补充。"}, now=MONDAY)
    referrals.accept(user("cgj_coord"), lead.id, now=MONDAY)
    assert told("lead_accepted", lead.id) == {"scjg_coord", "scjg_officer"}

    other = make_lead("cgj_coord", "scjgj", now=MONDAY)
    referrals.return_lead(user("scjg_coord"), other.id, "不属于本单位职责。", now=MONDAY)
    assert told("lead_returned", other.id) == {"cgj_coord"}
    referrals.redirect(user("cgj_coord"), other.id, agency_id("sthjj"), now=MONDAY)
    assert told("lead_redirected", other.id) == {"sthj_coord"}


def test_clocks_turning_yellow_and_red_tell_once(app):
    lead = make_lead("cgj_coord", "scjgj", now=at(2026, 10, 8))
    referrals.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 10, 8, 11))  # reply due 10-14, yellow 10-13
    send_reminders(now=at(2026, 10, 13, 8))
    send_reminders(now=at(2026, 10, 13, 9))  # the hourly job again: nothing new
    assert told("lead_clock_warning", lead.id) == {"scjg_coord", "scjg_officer"}
    assert len(notes("scjg_officer", "lead_clock_warning")) == 1
    assert "2026-10-14" in notes("scjg_officer", "lead_clock_warning")[0].title
    send_reminders(now=at(2026, 10, 15, 8))
    assert told("lead_clock_overdue", lead.id) == {"scjg_coord", "scjg_officer", "cgj_coord"}  # the sender too


def test_police_referral_steps_and_clocks_tell_the_side_that_must_act(app):
    start = at(2026, 11, 2, 9)
    item = police.create(user("cgj_officer"), {"party_name": "某车队", "suspected_crime": "污染环境罪",
                                               "facts": "非法倾倒危险废物。"}, now=start)
    assert told("police_referral_changed", item.id) == {"cgj_coord"}  # the head approves
    police.approve(user("cgj_coord"), item.id, True, now=start)
    police.add_materials(user("cgj_officer"), item.id, [Upload("移送书.pdf", PDF, "letter"),
                                                        Upload("调查报告.txt", TXT, "report")])
    police.hand_over(user("cgj_officer"), item.id, now=start + timedelta(hours=1))
    assert "gafj_officer" in told("police_referral_changed", item.id)
    send_reminders(now=start + timedelta(days=3, hours=8))  # 80 % of the police's 3 days is past
    assert told("police_clock_warning", item.id) == {"gafj_officer"}


def test_interview_events_tell_the_people_in_it(app):
    interview = interviews.create(user("scjg_coord"), interview_data(start=START), now=INTERVIEW_NOW)
    assert told("interview_created", interview.id) == {"cgj_officer"}  # the organiser made it
    assert told("interview_scheduled", interview.id) == set()  # the same change: told once
    assert told("interview_confirmation_requested", interview.id) == {"cgj_coord"}
    interviews.respond(user("cgj_coord"), interview.id, "declined", "当日有执法行动。")
    assert told("interview_confirmation_answered", interview.id) == {"scjg_coord"}
    assert "拒绝参加（当日有执法行动。）" in notes("scjg_coord", "interview_confirmation_answered")[0].title
    interviews.reschedule(user("scjg_coord"), interview.id, START + timedelta(days=5), now=INTERVIEW_NOW)
    assert told("interview_rescheduled", interview.id) == {"cgj_officer"}
    assert len(notes("cgj_coord", "interview_confirmation_requested")) == 2  # asked again for the new time
    interviews.update(user("scjg_coord"), interview.id, {"participant_ids": [user("scjg_coord").id,
                                                                             user("scjg_officer").id]},
                      now=INTERVIEW_NOW)
    assert "scjg_officer" in told("interview_changed", interview.id)
    [gone] = notes("cgj_officer", "interview_changed")
    assert "不再参加" in gone.title and gone.url == ""
    interviews.cancel(user("scjg_coord"), interview.id, "当事人已整改。")
    assert told("interview_cancelled", interview.id) == {"scjg_officer"}


def test_minutes_finalised_and_visits_falling_due(app):
    interview = interviews.create(user("scjg_coord"), interview_data(start=START), now=INTERVIEW_NOW)
    minutes.save(user("scjg_coord"), interview.id, content(), 0)
    minutes.finalize(user("scjg_coord"), interview.id, now=AFTER)
    assert told("minutes_finalised", interview.id) == {"cgj_officer"}
    assert notes("cgj_officer", "minutes_finalised")[0].url == f"/interviews/{interview.id}/minutes"
    assert visit_reminders.announce_due_visits(at(2026, 10, 9).date()) == 1  # the 09-30 deadline: due 10-09
    visit_reminders.announce_due_visits(at(2026, 10, 9).date())  # hourly: told once
    [visit_id] = {n.record_id for n in notes("scjg_officer", "follow_up_due")}
    assert len(notes("scjg_officer", "follow_up_due")) == 1
    assert told("follow_up_due", visit_id) == {"scjg_coord", "scjg_officer"}


def test_calendar_moves_tell_both_sides(app):
    lead = make_lead("cgj_coord", "scjgj", now=MONDAY)
    events.announce(events.lead_deadline_moved, lead.id, before="2026-11-03", after="2026-11-04")
    db.session.commit()
    assert told("lead_deadline_moved", lead.id) == {"scjg_coord", "scjg_officer", "cgj_coord"}
    assert "2026-11-04" in notes("cgj_coord", "lead_deadline_moved")[0].title


def test_lists_returned_and_published_tell_the_agency_submitted_tells_the_office(app):
    coord = user("sthj_coord")
    version = lists.start_draft(coord, agency_id("sthjj"), "positive")
    lists.add_item(coord, version.id, {"matter": "未按规定公示环境信息", "matter_code": "330221001000",
                                       "circumstances": "首次。", "legal_basis": "《办法》。", "measures": "劝导"})
    lists.submit(coord, version.id)
    assert told("list_submitted", version.id) == {"admin"}
    lists.review(user("admin"), version.id, "return", "依据不全。")
    assert told("list_returned", version.id) == {"sthj_coord"}
    assert "依据不全" in notes("sthj_coord", "list_returned")[0].title
    lists.submit(coord, version.id)
    lists.review(user("admin"), version.id, "approve")
    assert told("list_published", version.id) == {"sthj_coord"}


def test_a_police_officer_is_told_nothing_of_a_lead_between_two_other_agencies(app, api):
    lead = make_lead("cgj_coord", "scjgj", now=MONDAY)
    referrals.supervise(user("admin"), lead.id, "请加快。", now=MONDAY)
    send_reminders(now=at(2026, 11, 6, 8))
    assert told("lead_clock_overdue", lead.id)  # others were told
    mine = notes("gafj_officer")
    assert all(n.record_id != str(lead.id) and lead.number not in n.title for n in mine)
    body = api("gafj_officer").get("/api/v1/me/notifications").get_json()
    assert lead.number not in str(body)


# --- e-mail: at once, digest, none ---------------------------------------------------------------

def _mails_to(address: str) -> list[OutboxMessage]:
    db.session.rollback()
    return [m for m in db.session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
            if address in m.to_addrs]


def _day(after: int = 1, working: bool = True) -> date:
    """The `after`-th working day (or the first non-working day) after today, from the calendar."""
    day, left = local_today(), after
    while True:
        day += timedelta(days=1)
        if is_workday(day) == working:
            left -= 1
            if not working or left == 0:
                return day


def test_mail_at_once_digest_or_none_as_each_user_chose(app, smtp, today_calendar):
    set_choice("scjg_officer", "instant")
    set_choice("scjg_coord", "none")  # cgj_coord keeps the default: the daily digest
    lead = make_lead("cgj_coord", "scjgj")
    assert _mails_to("scjg_coord@spb.example.cn") == []
    [instant] = _mails_to("scjg_officer@spb.example.cn")
    assert lead.number in instant.subject and f"/leads/{lead.id}" in instant.text
    run_worker()
    [got] = smtp.wait_for(1)
    assert got.rcpt_tos == ["scjg_officer@spb.example.cn"] and lead.number in got.message["Subject"]

    referrals.return_lead(user("scjg_officer"), lead.id, "不属于本单位职责。")
    assert _mails_to("cgj_coord@spb.example.cn") == []  # waits for the digest
    day = _day()
    assert services.send_digests(now=local_datetime(day, time(8, 29))) == 0  # not before 08:30
    assert services.send_digests(now=local_datetime(day, time(8, 31))) >= 1
    [digest] = _mails_to("cgj_coord@spb.example.cn")
    assert "每日通知汇总" in digest.subject and lead.number in digest.text and "被接收单位退回" in digest.text
    assert services.send_digests(now=local_datetime(day, time(9, 31))) == 0  # once a day
    assert _mails_to("scjg_coord@spb.example.cn") == []  # "none": in the app only
    assert notes("scjg_coord", "lead_referred", lead.id)  # ... where it is
    run_worker()
    assert any(m.rcpt_tos == ["cgj_coord@spb.example.cn"] and "每日通知汇总" in m.message["Subject"]
               for m in smtp.wait_for(2))


def test_digest_waits_for_a_working_day_and_skips_what_was_read(app, today_calendar):
    lead = make_lead("cgj_coord", "scjgj")
    rest_day = _day(working=False)
    assert services.send_digests(now=local_datetime(rest_day, time(8, 31))) == 0  # not a working day
    assert _mails_to("scjg_officer@spb.example.cn") == []
    services.mark_read(user("scjg_coord"), everything=True)  # scjg_coord read it in the app
    assert services.send_digests(now=local_datetime(_day(), time(8, 31))) >= 1
    [digest] = _mails_to("scjg_officer@spb.example.cn")
    assert lead.number in digest.text
    assert _mails_to("scjg_coord@spb.example.cn") == []


def test_digest_needs_the_calendar(app, today_calendar):
    make_lead("cgj_coord", "scjgj")
    day = _day()
    db.session.execute(sa.delete(WorkDay).where(WorkDay.day == day))
    db.session.commit()
    assert services.send_digests(now=local_datetime(day, time(8, 31))) == 0  # a day the calendar lacks: no guess


# --- the API and the pages --------------------------------------------------------------------------

def test_api_lists_and_marks_read(app, api):
    lead = make_lead("cgj_coord", "scjgj", now=MONDAY)
    other = make_lead("scjg_coord", "cgj", now=MONDAY)
    client = api("scjg_officer")
    body = client.get("/api/v1/me/notifications?unread=1").get_json()
    mine = [n for n in body["notifications"] if n["kind"] == "lead_referred" and str(lead.id) in n["url"]]
    [note] = mine
    assert set(note) >= {"id", "kind", "title", "url", "created_at", "read"}
    assert note["read"] is False and note["created_at"].endswith("+08:00") and body["unread"] >= 1
    before = body["unread"]
    theirs = notes("cgj_officer", "lead_referred", other.id)[0].id
    resp = client.post("/api/v1/me/notifications/read", json={"ids": [note["id"], theirs]})
    assert resp.status_code == 200 and resp.get_json() == {"marked": 1, "unread": before - 1}
    assert notes("cgj_officer", "lead_referred", other.id)[0].read_at is None  # someone else's: untouched
    assert client.post("/api/v1/me/notifications/read", json={}).status_code == 422
    assert client.post("/api/v1/me/notifications/read", json={"all": True}).get_json()["unread"] == 0
    assert client.get("/api/v1/me/notifications?unread=1").get_json() == {"notifications": [], "unread": 0}
    assert len(client.get("/api/v1/me/notifications").get_json()["notifications"]) >= 1


def test_bell_page_mark_read_and_open(app, client):
    lead = make_lead("cgj_coord", "gafj", now=MONDAY)
    login(client, "gafj_officer")
    home = client.get("/").get_data(as_text=True)
    assert 'class="badge bell-count">1<' in home
    page = client.get("/me/notifications/").get_data(as_text=True)
    assert lead.number in page and "全部标为已读" in page
    [note] = notes("gafj_officer")
    resp = client.get(f"/me/notifications/{note.id}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/leads/{lead.id}")
    assert notes("gafj_officer")[0].read_at is not None
    assert "bell-count" not in client.get("/").get_data(as_text=True)
    foreign = db.session.execute(sa.select(Notification.id).where(
        Notification.user_id != user("gafj_officer").id)).scalar() or 999999
    assert client.get(f"/me/notifications/{foreign}").status_code == 404  # not one's own: absent
    make_lead("cgj_coord", "gafj", now=MONDAY)
    resp = client.post("/me/notifications/read", data={"csrf_token": csrf_token(client), "all": "1"})
    assert resp.status_code == 303 and all(n.read_at for n in notes("gafj_officer"))


def test_account_page_sets_the_mail_choice(app, client):
    login(client, "scjg_officer")
    page = client.get("/account").get_data(as_text=True)
    assert 'name="notify_mail" value="digest" checked' in page and "每个工作日 08:30" in page
    token = csrf_token(client, "/account")
    resp = client.post("/me/notifications/mail", data={"csrf_token": token, "notify_mail": "instant"})
    assert resp.status_code == 303
    assert user("scjg_officer").notify_mail == "instant"
    assert 'name="notify_mail" value="instant" checked' in client.get("/account").get_data(as_text=True)
    client.post("/me/notifications/mail", data={"csrf_token": token, "notify_mail": "often"})
    assert user("scjg_officer").notify_mail == "instant"  # refused, unchanged
    assert "请选择邮件提醒方式" in client.get("/account").get_data(as_text=True)
