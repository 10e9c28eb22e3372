"""English second, in the mail too (#13 point 4): a user who chose English (the language switch, saved on
the account) reads every e-mail to them in English — notifications (at once and the digest), interview
invitations, deadline reminders — and the notifications page in their language; a Chinese user, and every
mailbox without an account (the party, rooms, agencies' mailboxes, outside addresses), still reads Chinese.
Mail goes through the outbox to a real SMTP server on loopback."""
from __future__ import annotations

import json
import re
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from coord.accounts import services as accounts
from coord.audit.models import AuditEntry
from coord.errors import DomainError
from coord.extensions import db
from coord.lang import in_language
from coord.notifications import services as notifications
from coord.notifications import titles
from coord.notifications.models import Notification
from coord.notify.models import OutboxMessage
from coord.referrals import services as referrals
from coord.referrals.reminders import send_reminders
from coord.timeutil import local_datetime, local_today
from coord.workdays.services import is_workday
from tests.calendar_fixtures import make_interview
from tests.conftest import login, user_by_name
from tests.english_walk import ALLOWED, HAN, leaves
from tests.interview_fixtures import ensure_calendar
from tests.notify_fixtures import run_worker, smtp_fixture  # noqa: F401
from tests.referrals_fixtures import at, make_lead, user
from tests.worklist_fixtures import notes

# What is not data: copies of mail and titles (the Chinese versions of what is checked here) and the trail.
NOT_DATA = {"outbox_message", "outbox_attachment", "notification", "audit_entry", "alembic_version"}


def data_texts() -> list[str]:
    """Every text value with a Chinese character that users entered or the demo seeded, longest first."""
    values: set[str] = set()
    for table in sa.inspect(db.engine).get_table_names():
        if table in NOT_DATA:
            continue
        for column in sa.inspect(db.engine).get_columns(table):
            if not (isinstance(column["type"], sa.String | sa.Text) or "JSON" in str(column["type"]).upper()):
                continue
            for value in db.session.execute(sa.text(f'SELECT "{column["name"]}" FROM "{table}"')).scalars():
                for text in leaves(value):
                    values.update(p.strip() for p in text.split("\n") if HAN.search(p))
    return sorted(values, key=len, reverse=True)


def chinese_outside_data(text: str) -> list[str]:
    for value in data_texts():
        text = text.replace(value, " ")
    return [m for m in HAN.findall(text) if m not in ALLOWED]


def mails_to(address: str) -> list[OutboxMessage]:
    db.session.rollback()
    return [m for m in db.session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id)).scalars()
            if any(address in a for a in m.to_addrs)]


def delivered_to(smtp, address: str) -> list:
    return [m for m in smtp.received if address in m.rcpt_tos]


def subject_of(received) -> str:
    # Decoded (policy.default); a long subject is folded right after "Subject:", which the parser keeps as a space.
    return str(received.message["Subject"]).strip()


def body_of(received) -> str:
    part = received.message.get_body(preferencelist=("plain",))
    return part.get_content()


def choose(username: str, language: str, mail: str | None = None) -> None:
    accounts.set_language(user(username), language)
    if mail:
        notifications.set_mail_choice(user(username), mail)


@pytest.fixture
def today_calendar(app):
    ensure_calendar(local_today() - timedelta(days=30), 60)


def next_working_day() -> date:
    day = local_today() + timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return day


# --- the choice ----------------------------------------------------------------------------------------

def test_the_language_switch_is_saved_on_the_account_and_outlives_the_session(app, client):
    login(client, "scjg_officer")
    resp = client.get("/lang/en", headers={"Referer": "http://localhost/account"})
    assert resp.status_code == 302 and "lang=en" in resp.headers["Set-Cookie"]
    assert user("scjg_officer").language == "en"
    [entry] = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "user.language")).scalars()
    assert json.loads(entry.after) == {"language": "en"} and json.loads(entry.before) == {"language": "zh_CN"}
    page = client.get("/account").get_data(as_text=True)
    assert "E-mail to you (notifications, interview invitations, deadline reminders)" in page and "English" in page
    client.post("/logout", data={"csrf_token": _csrf(client)})

    fresh = app.test_client()  # another browser: no cookie, a new session
    assert '<html lang="zh-CN">' in fresh.get("/login").get_data(as_text=True)  # nobody is known yet
    login(fresh, "scjg_officer")
    assert '<html lang="en">' in fresh.get("/").get_data(as_text=True)  # the account's language
    assert '<html lang="zh-CN">' in fresh.get("/?lang=zh_CN").get_data(as_text=True)  # a link may ask otherwise
    fresh.get("/lang/zh_CN")
    assert user("scjg_officer").language == "zh_CN"
    other = app.test_client()
    login(other, "scjg_officer")
    assert '<html lang="zh-CN">' in other.get("/").get_data(as_text=True)


def test_the_switch_before_logging_in_is_the_users_choice_and_a_stranger_changes_no_account(app, client):
    client.get("/lang/en")  # on the login page: only this browser's cookie
    assert {u.language for u in _users()} == {"zh_CN"}
    login(client, "cgj_coord")
    assert user("cgj_coord").language == "en"  # the language the user logged in with
    assert {u.username for u in _users() if u.language == "en"} == {"cgj_coord"}
    assert client.get("/lang/xx").status_code == 302 and user("cgj_coord").language == "en"  # unknown: ignored


def _users():
    db.session.rollback()
    from coord.accounts.models import User

    return list(db.session.execute(sa.select(User)).scalars())


def _csrf(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/account")


# --- notifications -------------------------------------------------------------------------------------

def test_notification_mail_at_once_is_in_each_readers_language(app, smtp):
    choose("scjg_officer", "en", "instant")
    choose("scjg_coord", "zh_CN", "instant")
    lead = make_lead("cgj_coord", "scjgj")
    [en] = mails_to("scjg_officer@spb.example.cn")
    assert en.subject == (f"[Flexible Enforcement Coordination] Lead {lead.number} ({lead.party_name}) was referred "
                          "to your agency: please acknowledge it")
    assert "Please log in to Flexible Enforcement Coordination" in en.text and f"/leads/{lead.id}" in en.text
    assert chinese_outside_data(en.subject + "\n" + en.text) == []
    [zh] = mails_to("scjg_coord@spb.example.cn")
    assert zh.subject == f"【柔性执法协同平台】线索 {lead.number}（{lead.party_name}）已移交本单位，请签收"
    assert "请登录柔性执法协同平台办理" in zh.text and "Please" not in zh.text
    # What is stored stays Chinese; each reader sees it in their own language.
    [note] = notes("scjg_officer", "lead_referred", lead.id)
    assert note.title == f"线索 {lead.number}（{lead.party_name}）已移交本单位，请签收"
    assert note.template == "lead_referred" and note.params == {"number": lead.number, "party": lead.party_name}

    run_worker()
    smtp.wait_for(2)
    [got] = delivered_to(smtp, "scjg_officer@spb.example.cn")
    assert subject_of(got) == en.subject and "Please log in" in body_of(got)
    [got_zh] = delivered_to(smtp, "scjg_coord@spb.example.cn")
    assert "已移交本单位" in subject_of(got_zh)


def test_the_digest_is_in_the_readers_language(app, today_calendar):
    choose("cgj_coord", "en")  # the default e-mail choice: the 08:30 digest
    lead = make_lead("cgj_coord", "scjgj")
    referrals.return_lead(user("scjg_officer"), lead.id, "不属于本单位职责。")
    referrals_extension = make_lead("cgj_coord", "scjgj")
    referrals.acknowledge(user("scjg_officer"), referrals_extension.id)
    referrals.request_extension(user("scjg_officer"), referrals_extension.id, 2, "需调取监控。")
    assert notifications.send_digests(now=local_datetime(next_working_day(), time(8, 31))) >= 1
    [digest] = mails_to("cgj_coord@spb.example.cn")
    assert digest.subject.startswith("[Flexible Enforcement Coordination] Daily digest (")
    assert re.search(r"^You have \d+ unread notifications:$", digest.text, re.M)  # the demo's, and these two
    assert f"Lead {lead.number} ({lead.party_name}) was returned by the receiving agency" in digest.text
    assert "asks for an extension of 2 working days: please decide" in digest.text
    assert chinese_outside_data(digest.subject + "\n" + digest.text) == []
    [zh] = mails_to("scjg_officer@spb.example.cn")  # a Chinese reader's digest
    assert "每日通知汇总" in zh.subject and "已移交本单位，请签收" in zh.text


def test_the_notifications_page_and_api_show_titles_in_the_readers_language(app, client, api):
    choose("scjg_officer", "en")
    lead = make_lead("cgj_coord", "scjgj")
    old = Notification(user_id=user("scjg_officer").id, kind="lead_referred", title="旧版本的通知（无模板）", url="")
    odd = Notification(user_id=user("scjg_officer").id, kind="lead_referred", title="模板已改名的通知", url="",
                       template="no_such_template", params={"x": 1})
    db.session.add_all([old, odd])
    db.session.commit()
    login(client, "scjg_officer")
    page = client.get("/me/notifications/").get_data(as_text=True)
    assert f"Lead {lead.number} ({lead.party_name}) was referred to your agency: please acknowledge it" in page
    assert "已移交本单位" not in page
    assert "旧版本的通知（无模板）" in page and "模板已改名的通知" in page  # older rows: their stored text
    body = api("scjg_officer").get("/api/v1/me/notifications").get_json()
    assert any("was referred to your agency" in n["title"] for n in body["notifications"])

    zh_client = app.test_client()
    login(zh_client, "scjg_coord")
    page = zh_client.get("/me/notifications/").get_data(as_text=True)
    assert f"线索 {lead.number}（{lead.party_name}）已移交本单位，请签收" in page and "was referred" not in page
    zh_client.set_cookie("lang", "en")  # this browser chose English: the page follows it
    assert "was referred to your agency" in zh_client.get("/me/notifications/").get_data(as_text=True)


def test_every_title_of_the_registry_has_its_english(app):
    for name, entry in titles.TITLES.items():
        params = {}
        for key in re.findall(r"%\((\w+)\)s", entry.msgid):
            if key in entry.labels:
                params[key] = next(iter(entry.labels[key]))
            elif key in entry.instants:
                params[key] = "2026-12-02T01:30:00+00:00"
            else:
                params[key] = f"<{key}>"
        chinese = titles.chinese(name, params)
        with in_language("en"):
            english = titles.render(name, params)
        assert english and english != chinese and not HAN.search(english), (name, english)
        if "when" in entry.instants:
            assert "2 Dec 09:30" in english and "12月02日 09:30" in chinese
    with in_language("en"):
        assert "(Not scheduled)" in titles.render("interview_created", {"title": "T", "when": None})
        assert titles.render("lead_referred", {"number": "1"}) is None  # a value missing: the stored text


# --- invitations ---------------------------------------------------------------------------------------

def test_an_official_who_chose_english_gets_the_invitation_in_english_the_others_in_chinese(app, smtp):
    choose("cgj_officer", "en")
    interview = make_interview()
    run_worker()
    smtp.wait_for(4)
    [en] = delivered_to(smtp, "cgj_officer@spb.example.cn")
    assert subject_of(en) == f"[Interview invitation] {interview.title}"
    text = body_of(en)
    assert "You are invited to the joint interview below." in text
    assert "Time: 24 Sep 2026 09:00–10:30 (Beijing time)" in text
    assert f"Party: {interview.party.name}" in text and "Participants: " in text
    assert chinese_outside_data(subject_of(en) + "\n" + text) == []
    html = en.message.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="en">' in html and "Accept" in html
    # The calendar data itself is the same for everybody, as entered (Chinese).
    ics = [p for p in en.message.walk() if p.get_content_type() == "text/calendar"][0].get_payload(decode=True)
    ics = ics.replace(b"\r\n ", b"")  # unfolded
    assert f"联合约谈：{interview.title}".encode() in ics and "约谈事由：".encode() in ics
    for chinese in ("scjg_coord@spb.example.cn", "wang@example.com", "room-sfj-1@spb.example.cn"):
        [zh] = delivered_to(smtp, chinese)
        assert subject_of(zh) == f"【约谈邀请】{interview.title}" and "您被邀请参加以下联合约谈" in body_of(zh)
    # The notification of the same interview: its time the English way, stored the Chinese way.
    [note] = notes("cgj_officer", "interview_scheduled") or notes("cgj_officer", "interview_created")
    assert "09月24日 09:00" in note.title
    with in_language("en"):
        assert "(24 Sep 09:00)" in note.shown_title


def test_a_cancellation_is_split_by_language(app, smtp):
    from coord.interviews import services as interviews

    interview = make_interview()
    run_worker()
    smtp.wait_for(4)
    choose("cgj_officer", "en")
    interviews.cancel(user_by_name("scjg_coord"), interview.id, "当事人已整改完毕。")
    run_worker()
    smtp.wait_for(6)
    cancels = smtp.received[4:]  # after the four invitations
    [en] = [m for m in cancels if m.rcpt_tos == ["cgj_officer@spb.example.cn"]]
    assert subject_of(en) == f"[Interview cancelled] {interview.title}" and "The interview has been cancelled." in body_of(en)
    assert "Reason for cancelling: 当事人已整改完毕。" in body_of(en)
    [zh] = [m for m in cancels if m is not en]
    assert subject_of(zh) == f"【约谈取消】{interview.title}" and "cgj_officer@spb.example.cn" not in zh.rcpt_tos
    assert "wang@example.com" in zh.rcpt_tos and "取消原因：当事人已整改完毕。" in body_of(zh)


# --- reminders -----------------------------------------------------------------------------------------

def test_a_deadline_reminder_is_in_english_for_who_chose_it_and_chinese_for_the_agencys_mailbox(app, smtp):
    choose("scjg_officer", "en")
    lead = make_lead(now=at(2026, 10, 8))
    referrals.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 10, 8, 11))  # reply due 10-14
    send_reminders(now=at(2026, 10, 16, 8))
    rows = list(db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.key.like(f"lead:{lead.id}:%"))
                                   .order_by(OutboxMessage.id)).scalars())
    [zh] = [m for m in rows if not m.key.endswith(":en")]
    [en] = [m for m in rows if m.key.endswith(":en")]
    assert en.to_addrs == ["scjg_officer@spb.example.cn"] and "scjg_officer@spb.example.cn" not in zh.to_addrs
    assert "scjgj@spb.example.cn" in zh.to_addrs and "cgj@spb.example.cn" in zh.to_addrs  # mailboxes: Chinese
    assert en.subject == f"[Overdue] Lead {lead.number}: the reply deadline (2026-10-14) has passed"
    days = re.search(r"已超过回复期限 (\d+) 个工作日", zh.text).group(1)
    assert f"it is {days} working days past the reply deadline" in en.text and f"/leads/{lead.id}" in en.text
    assert chinese_outside_data(en.subject + "\n" + en.text) == []
    send_reminders(now=at(2026, 10, 16, 9))  # the hourly job again: nothing new in either language
    assert db.session.execute(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.key.like(f"lead:{lead.id}:%"))).scalar_one() == 2
    run_worker()
    smtp.wait_for(2)
    [got] = delivered_to(smtp, "scjg_officer@spb.example.cn")
    assert subject_of(got) == en.subject and "Please log in" in body_of(got)


# --- the other mail to officials: a calendar change, the minutes, a new time not accepted ----------------

def test_what_a_calendar_change_tells_officials_is_in_their_language(app, api):
    from coord.workdays import services as workdays
    from tests.test_workdays_import import NOTICE_2027, TODAY, _scenario

    workdays.ensure_years(TODAY)
    choose("scjg_coord", "en")
    choose("scjg_officer", "en")
    reply, ack, interview, visit, _report = _scenario()
    before = db.session.execute(sa.select(sa.func.max(OutboxMessage.id))).scalar_one() or 0
    preview = api("admin").post("/api/v1/calendar/notice", json={"text": NOTICE_2027, "apply": False}).json
    resp = api("admin").post("/api/v1/calendar/notice",
                             json={"text": NOTICE_2027, "apply": True, "version": preview["version"]})
    assert resp.status_code == 200 and resp.json["applied"] is True
    db.session.rollback()
    mails = list(db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.id > before)
                                    .order_by(OutboxMessage.id)).scalars())
    english = [m for m in mails if "scjg_coord@spb.example.cn" in m.to_addrs]
    assert {m.subject.split("]")[0] + "]" for m in english} == {
        "[Deadlines moved]", "[Interview day is now a day off]", "[Visits moved]"}
    for mail in english:
        assert "After the import of “" in mail.subject + mail.text
        assert chinese_outside_data(mail.subject + "\n" + mail.text) == [], mail.subject
        assert "scjgj@spb.example.cn" not in mail.to_addrs  # the agency's mailbox reads Chinese
    lead_mail = next(m for m in english if m.subject.startswith("[Deadlines moved]"))
    assert f"- {reply.number} ({reply.party_name}) Reply by: 2027-01-05 → 2027-01-07" in lead_mail.text
    chinese = [m for m in mails if "scjgj@spb.example.cn" in m.to_addrs]
    assert {m.subject[:m.subject.index("】") + 1] for m in chinese} == {"【期限调整】", "【约谈日期变为休息日】",
                                                                        "【回访日期调整】"}
    assert all("Please" not in m.text for m in chinese)


def test_the_minutes_go_to_an_english_official_with_an_english_letter(api, app, tmp_path):
    from coord.interviews import services as interviews
    from coord.minutes import services as minutes
    from tests.interview_fixtures import NOW, interview_data
    from tests.minutes_fixtures import START
    from tests.test_minutes import finalized

    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")
    choose("cgj_officer", "en")
    interview = interviews.create(user_by_name("scjg_coord"), interview_data(start=START), now=NOW)
    finalized(api, interview)
    count, _skipped = minutes.mail_minutes(user("scjg_coord"), interview.id)
    assert count == 3
    rows = [m for m in mails_to("") if m.key and m.key.startswith(f"minutes-{interview.id}-")]
    [en] = [m for m in rows if m.key.endswith(":en")]
    [zh] = [m for m in rows if not m.key.endswith(":en")]
    [official] = en.to_addrs
    assert official.endswith("<cgj_officer@spb.example.cn>")
    assert en.subject == f"Interview minutes: {interview.title}"
    assert "Attached are the minutes of the interview of 24 Sep 2026" in en.text
    assert chinese_outside_data(en.subject + "\n" + en.text) == []
    assert zh.subject == f"约谈笔录：{interview.title}" and "附件为 2026年09月24日 约谈" in zh.text
    assert any("wang@example.com" in a for a in zh.to_addrs)
    with pytest.raises(DomainError, match="不再重复发送"):
        minutes.mail_minutes(user("scjg_coord"), interview.id)


def test_a_new_time_not_accepted_is_told_in_the_proposers_language(app, api, smtp):
    from tests.test_mailin import OFFICIAL, _counter, _future_interview

    choose("cgj_officer", "en")
    interview, when, _ = _future_interview()
    counter = _counter(interview, when)
    resp = api("scjg_coord").post(f"/api/v1/mail/counters/{counter.id}/decide",
                                  json={"decision": "declined", "comment": "时间已协调一致，不再调整"})
    assert resp.status_code == 200
    run_worker()
    smtp.wait_for(5)
    [msg] = [m for m in smtp.received if subject_of(m).startswith("[New time not accepted]")]
    assert msg.rcpt_tos == [OFFICIAL]
    text = body_of(msg)
    assert "the lead agency did not accept it." in text and "Note: 时间已协调一致，不再调整" in text
    assert chinese_outside_data(subject_of(msg) + "\n" + text) == []


def test_a_language_switch_from_another_site_changes_nothing(app, client):
    """The switch is a link (GET): a page elsewhere linking or embedding it must not change the account."""
    login(client, "cgj_coord")
    resp = client.get("/lang/en", headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status_code == 302 and "lang=" not in resp.headers.get("Set-Cookie", "")
    assert user("cgj_coord").language == "zh_CN"
    client.get("/lang/en", headers={"Sec-Fetch-Site": "same-origin"})  # the switch on coord's own page
    assert user("cgj_coord").language == "en"
