"""Invitees' answers coming back: real clients' replies (tests/mailin_samples), TNEF, stale
SEQUENCE, forged senders, duplicates, quarantine, counter-proposals, answer links, `flask mail-in`,
and the invitations as they leave (MIME tree parsed from the wire)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from coord import events
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import Interview
from coord.mailin import parse, queries, services
from coord.mailin.models import CounterProposal, InboundMessage, InvitationReply
from coord.notify.models import OutboxMessage
from coord.timeutil import local_today
from coord.workdays.models import WorkDay
from tests.calendar_fixtures import ical_js, make_interview
from tests.conftest import csrf_token, login, user_by_name
from tests.interview_fixtures import NOW, SH, at, busy, ensure_calendar
from tests.mailin_fixtures import REPLY_MAILBOX, sample, tnef_meeting_response
from tests.notify_fixtures import run_worker, smtp_fixture  # noqa: F401
from tests.worklist_fixtures import notes, tasks_of

ROOT = Path(__file__).resolve().parent.parent
LATER = datetime(2026, 9, 22, 12, 0, tzinfo=SH)  # "now" when the answers arrive
OFFICIAL, OFFICIAL_NAME = "cgj_officer@spb.example.cn", "陈志强"
PARTY, PARTY_NAME = "wang@example.com", "王某"
ROOM = "room-sfj-1@spb.example.cn"


def receive(raw: bytes, now: datetime = LATER) -> services.Outcome:
    outcome = services.process_message(raw, "stdin", now=now)
    db.session.expire_all()
    return outcome


def responses(api, interview) -> dict:
    resp = api("scjg_coord").get(f"/api/v1/interviews/{interview.id}")
    assert resp.status_code == 200
    return {r["email"]: r for r in resp.json["responses"]}


def replies_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(InvitationReply))


# --- real clients ------------------------------------------------------------------------------------------

CLIENTS = [
    # sample, who answers, partstat, comment the person typed (None: the client's own text, not a comment)
    ("outlook_accept.eml", OFFICIAL, OFFICIAL_NAME, "ACCEPTED", "准时参加，会带上执法记录仪。"),
    ("gmail_decline.eml", PARTY, PARTY_NAME, "DECLINED", None),
    ("apple_tentative.eml", OFFICIAL, OFFICIAL_NAME, "TENTATIVE", None),
    ("thunderbird_accept.eml", PARTY, PARTY_NAME, "ACCEPTED", None),
    ("outlook_no_organizer.eml", OFFICIAL, OFFICIAL_NAME, "ACCEPTED", "我会准时参加！"),
]


@pytest.mark.parametrize(("name", "who", "who_name", "partstat", "comment"), CLIENTS,
                         ids=[c[0].removesuffix(".eml") for c in CLIENTS])
def test_each_clients_reply_records_that_persons_answer(app, api, name, who, who_name, partstat, comment):
    interview = make_interview()
    raw = sample(name, interview, attendee=who, attendee_name=who_name, comment=comment or "")
    outcome = receive(raw)
    assert outcome.status == "processed", outcome.summary
    got = responses(api, interview)
    assert got[who] == {"email": who, "name": who_name, "partstat": partstat, "comment": comment or "",
                        "at": "2026-09-22T10:30:00+08:00", "sequence": 1, "stale": False}
    others = [r for email, r in got.items() if email != who]
    assert others and all(r["partstat"] == "NEEDS-ACTION" and r["at"] is None for r in others)
    assert set(got) == {"scjg_coord@spb.example.cn", OFFICIAL, PARTY, ROOM}


def test_outlook_reply_without_organizer_or_sequence_counts_for_the_current_version(app, api):
    interview = make_interview()
    raw = sample("outlook_no_organizer.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME, comment="好")
    assert b"ORGANIZER" not in raw and b"SEQUENCE" not in raw
    assert receive(raw).status == "processed"
    assert responses(api, interview)[OFFICIAL]["sequence"] == 1
    # The same client answering an earlier time after a reschedule: an old version, kept as stale.
    interviews.reschedule(user_by_name("scjg_coord"), interview.id, at("2026-09-28", "14:00"), now=NOW)
    old = sample("outlook_no_organizer.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME,
                 start=at("2026-09-24", "09:00"))
    assert receive(old).status == "processed"
    row = db.session.execute(sa.select(InvitationReply).order_by(InvitationReply.id.desc())).scalars().first()
    assert row.sequence == 0 and row.stale_on_arrival


def test_exchange_reply_wrapped_in_tnef_winmail_dat(app, api):
    interview = make_interview()
    tnef = tnef_meeting_response(
        uid=interview.uid, sequence=1, partstat="DECLINED", sender=OFFICIAL, name=OFFICIAL_NAME,
        comment="当天另有执法任务，无法参加。", answered=datetime(2026, 9, 22, 9, 15, tzinfo=SH),
        start=interview.start_at, end=interview.end_at)
    raw = sample("exchange_tnef_accept.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME,
                 comment="当天另有执法任务，无法参加。", tnef=tnef)
    [item] = parse.parse(raw).items  # read by tnefparse: no text/calendar anywhere in this message
    assert (item.via, item.method, item.uid, item.attendee) == ("tnef-mapi", "REPLY", interview.uid, OFFICIAL)
    assert receive(raw).status == "processed"
    got = responses(api, interview)[OFFICIAL]
    assert got["partstat"] == "DECLINED" and got["comment"] == "当天另有执法任务，无法参加。"
    assert got["at"] == "2026-09-22T09:15:00+08:00" and got["sequence"] == 1


def test_answers_show_on_the_interview_page_and_the_confirmation_board(app, client):
    interview = make_interview()
    receive(sample("outlook_accept.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME,
                   comment="准时参加"))
    receive(sample("gmail_decline.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME))
    login(client, "scjg_coord")
    page = client.get(f"/interviews/{interview.id}").get_data(as_text=True)
    table = page[page.index('id="responses"'):]
    table = table[:table.index("</table>")]
    assert re.search(r"陈志强.*?接受.*?准时参加", table, re.S)
    assert re.search(r"王某.*?拒绝", table, re.S) and "未答复" in table  # 张堃 and the room have not answered
    board = client.get(f"/interviews/{interview.id}", headers={"HX-Request": "true", "HX-Target": "board"})
    assert 'id="responses"' in board.get_data(as_text=True) and "陈志强" in board.get_data(as_text=True)


# --- SEQUENCE ------------------------------------------------------------------------------------------------

def test_answer_to_an_older_sequence_is_kept_but_marked_stale(app, api):
    interview = make_interview()
    first = sample("thunderbird_accept.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME)
    assert receive(first).status == "processed"
    interviews.reschedule(user_by_name("scjg_coord"), interview.id, at("2026-09-28", "14:00"), now=NOW)
    db.session.expire_all()
    got = responses(api, interview)[PARTY]
    assert (got["partstat"], got["sequence"], got["stale"]) == ("ACCEPTED", 1, True)  # accepted the old time

    interview = db.session.get(Interview, interview.id)
    new = sample("gmail_decline.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME, sequence=2)
    assert receive(new).status == "processed"
    late = sample("apple_tentative.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME, sequence=1)
    outcome = receive(late)
    assert outcome.status == "processed" and "旧版本" in outcome.summary
    got = responses(api, interview)[PARTY]
    assert (got["partstat"], got["sequence"], got["stale"]) == ("DECLINED", 2, False)  # the late one did not win
    kept = db.session.execute(sa.select(InvitationReply).where(InvitationReply.partstat == "TENTATIVE")).scalar_one()
    assert kept.sequence == 1 and kept.stale_on_arrival


def test_answer_for_a_sequence_never_sent_is_quarantined(app, api):
    interview = make_interview()
    outcome = receive(sample("thunderbird_accept.eml", interview, attendee=PARTY, sequence=7))
    assert outcome.status == "quarantined" and "SEQUENCE 7" in outcome.summary
    assert replies_count() == 0


# --- nothing forged gets in -------------------------------------------------------------------------------------

def test_forged_sender_is_quarantined_and_changes_nothing(app, api, client):
    interview = make_interview()
    # 陈志强 (or anyone) writes an acceptance "for" the party from their own address.
    raw = sample("outlook_accept.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME, sender=OFFICIAL)
    with events.recorded() as seen:
        outcome = receive(raw)
    assert outcome.status == "quarantined"
    assert outcome.summary == f"发件人 {OFFICIAL} 与答复所代表的参加人 {PARTY} 不一致。"
    assert replies_count() == 0 and all(r["partstat"] == "NEEDS-ACTION" for r in responses(api, interview).values())
    assert [e.name for e in seen] == ["mail-quarantined"]
    [note] = notes("admin", "mail_quarantined")  # the office is told (once a day however many arrive)
    assert note.url == "/mail/quarantine" and notes("scjg_coord", "mail_quarantined") == []

    listed = api("admin").get("/api/v1/mail/quarantine")
    assert listed.status_code == 200
    [row] = listed.json
    assert row["from"] == OFFICIAL and row["reason"] == outcome.summary and row["uid"] == interview.uid
    assert row["interview_id"] == interview.id and row["source"] == "stdin"
    assert api("scjg_coord").get("/api/v1/mail/quarantine").status_code == 403

    login(client, "admin")
    page = client.get("/mail/quarantine").get_data(as_text=True)
    assert outcome.summary in page
    raw_page = client.get(f"/mail/quarantine/{row['id']}")
    assert raw_page.status_code == 200 and "X-MICROSOFT-CDO-REPLYTIME" in raw_page.get_data(as_text=True)
    login(client, "scjg_coord")
    assert client.get("/mail/quarantine").status_code == 404
    assert client.get(f"/mail/quarantine/{row['id']}").status_code == 404
    receive(sample("outlook_accept.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME, sender=OFFICIAL,
                   message_id="<forged-2@client.example>"))
    assert len(notes("admin", "mail_quarantined")) == 1


@pytest.mark.parametrize(("case", "reason"), [
    ("unknown_uid", "未知的 UID"),
    ("not_imip", "不是日历答复（iMIP）邮件"),
    ("not_invited", "不是约谈"),
    ("request", "不受理的日历方法“REQUEST”"),
    ("two_attendees", "此答复有 2 个"),
    ("delegated", "不受理的答复状态“DELEGATED”"),
])
def test_what_is_not_an_invitees_answer_is_quarantined(app, api, case, reason):
    interview = make_interview()
    raw = sample("thunderbird_accept.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME)
    if case == "unknown_uid":
        raw = raw.replace(interview.uid.encode(), b"0f3c2e1a-0000-4000-8000-000000000000@elsewhere")
    elif case == "not_imip":
        raw = (f"From: {PARTY}\r\nTo: {REPLY_MAILBOX}\r\nSubject: =?UTF-8?B?5Zyw54K55Zyo5ZOq6YeM77yf?=\r\n"
               "Message-ID: <question-1@example.com>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"
               "请问约谈地点在哪里？\r\n").encode()
    elif case == "not_invited":
        raw = sample("thunderbird_accept.eml", interview, attendee="stranger@example.com")
    elif case == "request":
        raw = raw.replace(b"METHOD:REPLY", b"METHOD:REQUEST")
    elif case == "two_attendees":
        raw = raw.replace(b"DTSTART;TZID=Asia/Shanghai:", f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{OFFICIAL}\r\n"
                          f"DTSTART;TZID=Asia/Shanghai:".encode(), 1)
    elif case == "delegated":
        raw = raw.replace(b"PARTSTAT=ACCEPTED", b"PARTSTAT=DELEGATED")
    outcome = receive(raw)
    assert outcome.status == "quarantined" and reason in outcome.summary, outcome.summary
    assert replies_count() == 0
    assert db.session.scalar(sa.select(InboundMessage.reason)) == outcome.summary


def test_with_an_authserv_id_only_mail_our_server_authenticated_counts(app, api):
    interview = make_interview()
    app.config["MAILIN_AUTHSERV_ID"] = "mx.spb.example.cn"
    raw = sample("thunderbird_accept.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME)
    forged = b"Authentication-Results: mx.spb.example.cn; dmarc=fail header.from=example.com\r\n" + raw
    assert receive(forged).status == "quarantined"
    # A header another server added (or the sender wrote) is not ours, whatever it says.
    theirs = sample("thunderbird_accept.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME)
    assert receive(b"Authentication-Results: evil.example; dmarc=pass\r\n" + theirs).status == "quarantined"
    good = sample("thunderbird_accept.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME)
    good = b"Authentication-Results: mx.spb.example.cn;\r\n dkim=pass header.d=example.com; spf=none\r\n" + good
    assert receive(good).status == "processed"
    assert responses(api, interview)[PARTY]["partstat"] == "ACCEPTED"


def test_the_same_message_twice_changes_nothing_more(app, api):
    interview = make_interview()
    raw = sample("outlook_accept.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME,
                 message_id="<same-1@client.example>")
    with events.recorded() as seen:
        assert receive(raw).status == "processed"
        again = receive(raw, now=LATER + timedelta(hours=1))
    assert again.status == "duplicate" and "<same-1@client.example>" in again.summary
    assert replies_count() == 1 and [e.name for e in seen] == ["invitation-replied"]
    forged = sample("outlook_accept.eml", interview, attendee=PARTY, sender=OFFICIAL,
                    message_id="<same-2@client.example>")
    assert receive(forged).status == "quarantined"
    assert receive(forged).status == "duplicate"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 2


# --- events and the organiser's attention (for the worklist, #12) -------------------------------------------------

def test_answers_announce_events_and_declines_reach_the_organisers_attention(app):
    interview = make_interview()
    with events.recorded() as seen:
        receive(sample("gmail_decline.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME))
        receive(sample("gmail_decline.eml", interview, attendee=PARTY, attendee_name=PARTY_NAME))
    [official, party] = [e for e in seen if e.name == "invitation-replied"]
    assert official.record_id == interview.id
    assert official.data["partstat"] == "DECLINED" and official.data["required"] is True
    assert official.data["user_id"] == user_by_name("cgj_officer").id and official.data["stale"] is False
    assert party.data["required"] is False and party.data["kind"] == "party"

    # The organiser's worklist lists the official's decline, not the party's (its answer has its own link).
    [decline] = tasks_of("scjg_coord", now=LATER)["invitation_declined"]
    reply = db.session.get(InvitationReply, decline)
    assert (reply.interview_id, reply.email, reply.kind) == (interview.id, OFFICIAL, "official")
    assert len(tasks_of("admin", now=LATER)["invitation_declined"]) == 1
    assert "invitation_declined" not in tasks_of("cgj_coord", now=LATER)  # a co-organiser does not organise
    assert "invitation_declined" not in tasks_of("scjg_officer", now=LATER)
    # The organisers are told once, in the bell; the party's own decline tells no one here.
    [note] = notes("scjg_coord", "invitation_declined")
    assert OFFICIAL in note.title and note.url.endswith(f"/interviews/{interview.id}#responses")
    assert notes("cgj_coord", "invitation_declined") == []
    # Once the official accepts after all, the decline is gone.
    receive(sample("outlook_accept.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME,
                   sent=datetime(2026, 9, 22, 11, 0, tzinfo=SH)))
    assert "invitation_declined" not in tasks_of("scjg_coord", now=LATER)


def test_the_room_declining_reaches_the_organiser(app):
    interview = make_interview()
    receive(sample("outlook_accept.eml", interview, attendee=ROOM, attendee_name="区司法局第一会议室").replace(
        b"PARTSTAT=ACCEPTED", b"PARTSTAT=DECLINED"))
    [decline] = tasks_of("scjg_coord", now=LATER)["invitation_declined"]
    reply = db.session.get(InvitationReply, decline)
    assert reply.kind == "room" and reply.email == ROOM


# --- counter-proposals ---------------------------------------------------------------------------------------------

def _days_ahead() -> tuple[date, date, date]:
    """Two working days (a week and more from today) and a day off after the first: pages and the API
    decide with the real clock, so these interviews lie in the real future."""
    today = local_today()
    ensure_calendar(today, 120)
    rows = db.session.execute(sa.select(WorkDay.day, WorkDay.is_workday).where(
        WorkDay.day > today + timedelta(days=7)).order_by(WorkDay.day)).all()
    work = [d for d, w in rows if w]
    off = next(d for d, w in rows if not w and d > work[0])
    return work[0], work[3], off


def _future_interview():
    first, second, off = _days_ahead()
    return make_interview(first.isoformat()), at(second, "14:00"), at(off, "10:00")


def _counter(interview, when: datetime, comment: str = "上午另有会议，能否改到下周一下午？") -> CounterProposal:
    raw = sample("gmail_counter.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME, comment=comment,
                 counter_start=when)
    with events.recorded() as seen:
        outcome = receive(raw)
    assert outcome.status == "processed", outcome.summary
    assert "invitation-countered" in [e.name for e in seen]
    return db.session.execute(sa.select(CounterProposal).order_by(CounterProposal.id.desc())).scalars().first()


def test_a_counter_is_shown_checked_and_accepting_it_reschedules_with_new_invitations(app, client, smtp):
    interview, when, _ = _future_interview()
    run_worker()
    smtp.wait_for(4)
    counter = _counter(interview, when)
    assert (counter.status, counter.proposed_start, counter.comment) == (
        "open", when, "上午另有会议，能否改到下周一下午？")
    check = queries.check_counter(counter)
    assert check.ok and check.problems == []
    assert tasks_of("scjg_coord", now=LATER)["counter_decide"] == {counter.id}
    assert notes("scjg_coord", "invitation_countered")[0].url.endswith("#counters")
    assert responses_of_db(interview)[OFFICIAL] == "TENTATIVE"  # Gmail's counter also says "maybe"

    login(client, "scjg_coord")
    page = client.get(f"/interviews/{interview.id}").get_data(as_text=True)
    section = page[page.index('id="counters"'):]
    weekday = "一二三四五六日"[when.weekday()]
    assert "陈志强" in section and f"{when:%Y-%m-%d}（周{weekday}）14:00" in section and "可行" in section

    token = csrf_token(client, f"/interviews/{interview.id}")
    resp = client.post(f"/interviews/{interview.id}/counters/{counter.id}/decide",
                       data={"decision": "accepted", "csrf_token": token})
    assert resp.status_code == 303
    db.session.expire_all()
    moved = db.session.get(Interview, interview.id)
    assert moved.start_at == when and moved.sequence == 2
    assert db.session.get(CounterProposal, counter.id).status == "accepted"
    run_worker()
    sent = smtp.wait_for(8)[4:]
    assert {m.rcpt_tos[0] for m in sent} == {"scjg_coord@spb.example.cn", OFFICIAL, PARTY, ROOM}
    for m in sent:
        assert m.message["Subject"].startswith("【约谈改期】")
    [ev] = ical_js(_calendar_bytes(sent[0].message))["events"]
    assert ev["sequence"] == 2 and ev["start"] == when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert ev["uid"] == interview.uid


def test_declining_a_counter_sends_a_declinecounter(app, api, smtp):
    interview, when, _ = _future_interview()
    start = interview.start_at
    counter = _counter(interview, when)
    resp = api("scjg_coord").post(f"/api/v1/mail/counters/{counter.id}/decide",
                                  json={"decision": "declined", "comment": "时间已协调一致，不再调整"})
    assert resp.status_code == 200 and resp.json["status"] == "declined"
    assert db.session.get(Interview, interview.id).start_at == start  # unchanged
    run_worker()
    [msg] = [m for m in smtp.wait_for(5) if "改期建议未采纳" in m.message["Subject"]]
    assert msg.rcpt_tos == [OFFICIAL]
    alt = msg.message.get_payload()[0]
    [part] = [p for p in alt.get_payload() if p.get_content_type() == "text/calendar"]
    assert part.get_param("method") == "DECLINECOUNTER"
    cal = ical_js(part.get_payload(decode=True))
    assert cal["method"] == "DECLINECOUNTER"
    [ev] = cal["events"]
    assert ev["uid"] == interview.uid and ev["sequence"] == 1 and ev["organizer"] == f"mailto:{REPLY_MAILBOX}"
    assert [a["value"] for a in ev["attendees"]] == [f"mailto:{OFFICIAL}"]
    again = api("scjg_coord").post(f"/api/v1/mail/counters/{counter.id}/decide", json={"decision": "accepted"})
    assert again.status_code == 409


def test_a_counter_for_a_taken_time_is_shown_as_not_possible_and_cannot_be_accepted(app, api):
    interview, when, day_off = _future_interview()
    busy("cgj_officer", when - timedelta(minutes=30), when + timedelta(hours=3), "区里另有会议")
    counter = _counter(interview, when)
    check = queries.check_counter(counter)
    assert not check.ok and any("陈志强" in p and "区里另有会议" in p for p in check.problems)
    assert check.alternatives  # the slot finder offers others
    resp = api("scjg_coord").post(f"/api/v1/mail/counters/{counter.id}/decide", json={"decision": "accepted"})
    assert resp.status_code == 409 and resp.json["alternatives"]
    db.session.expire_all()
    assert db.session.get(CounterProposal, counter.id).status == "open"
    assert db.session.get(Interview, interview.id).sequence == 1
    weekend = _counter(interview, day_off)
    assert not queries.check_counter(weekend).ok
    resp = api("scjg_coord").post(f"/api/v1/mail/counters/{weekend.id}/decide", json={"decision": "accepted"})
    assert resp.status_code == 400 and db.session.get(CounterProposal, weekend.id).status == "open"


def test_only_the_organiser_decides_a_counter(app, api):
    interview, when, _ = _future_interview()
    counter = _counter(interview, when)
    assert api("cgj_coord").post(f"/api/v1/mail/counters/{counter.id}/decide",
                                 json={"decision": "declined"}).status_code == 403
    assert api("sthj_coord").post(f"/api/v1/mail/counters/{counter.id}/decide",
                                  json={"decision": "declined"}).status_code == 404
    assert "counter_decide" not in tasks_of("cgj_coord", now=LATER)


def _calendar_bytes(message) -> bytes:
    alt = message.get_payload()[0]
    [part] = [p for p in alt.get_payload() if p.get_content_type() == "text/calendar"]
    return part.get_payload(decode=True)


def responses_of_db(interview) -> dict:
    return {r.email: r.partstat for r in queries.responses_of(db.session.get(Interview, interview.id))}


# --- without an iMIP client: the answer links ---------------------------------------------------------------------

def _link(smtp, rcpt: str, answer: str) -> str:
    run_worker()
    [msg] = [m for m in smtp.wait_for(4) if m.rcpt_tos == [rcpt]]
    text = msg.message.get_payload()[0].get_payload()[0].get_content()
    html = msg.message.get_payload()[0].get_payload()[1].get_content()
    url = re.search(rf"(http://\S+/rsvp/\S+\?answer={answer})", text).group(1)
    assert url.replace("&", "&amp;") in html or url in html
    return url.split("://", 1)[1].split("/", 1)[1]


def test_answer_link_opens_a_confirmation_page_and_only_the_post_answers(app, client, smtp, api):
    interview = make_interview()
    path = "/" + _link(smtp, PARTY, "decline")
    page = client.get(path)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    body = page.get_data(as_text=True)
    assert "王某" in body and interview.title in body and "确认拒绝" in body
    client.get(path.replace("decline", "accept"))
    assert replies_count() == 0  # opening the link (or a mail scanner doing so) changed nothing

    token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    resp = client.post(path.split("?")[0], data={"answer": "decline", "comment": "本人出差", "csrf_token": token})
    assert resp.status_code == 200 and "已收到您的答复" in resp.get_data(as_text=True)
    got = responses(api, interview)[PARTY]
    assert (got["partstat"], got["comment"], got["sequence"], got["stale"]) == ("DECLINED", "本人出差", 1, False)
    reply = db.session.execute(sa.select(InvitationReply)).scalar_one()
    assert reply.source == "link"


def test_answer_links_are_personal_hashed_and_refuse_anything_else(app, client, smtp):
    from coord.calendar.models import InvitationLink

    interview = make_interview()
    path = "/" + _link(smtp, OFFICIAL, "accept")
    token = path.split("/rsvp/")[1].split("?")[0]
    stored = {row.token_hash for row in db.session.execute(sa.select(InvitationLink)).scalars()}
    assert token not in stored and len(stored) == 3  # three people, not the room; only hashes kept
    [room] = [m for m in smtp.received if m.rcpt_tos == [ROOM]]
    assert "/rsvp/" not in room.message.get_payload()[0].get_payload()[0].get_content()
    assert client.get("/rsvp/not-a-token").status_code == 404
    assert client.get(f"/rsvp/{token[:-2]}xx").status_code == 404
    interviews.cancel(user_by_name("scjg_coord"), interview.id, "另行安排")
    page = client.get(path)
    assert page.status_code == 200 and "无需再答复" in page.get_data(as_text=True)
    form_token = csrf_token(client, "/login")
    resp = client.post(f"/rsvp/{token}", data={"answer": "accept", "csrf_token": form_token})
    assert resp.status_code == 400 and replies_count() == 0


# --- flask mail-in (the MTA pipes a message, like rt-mailgate) ---------------------------------------------------------

def test_mail_in_command_prints_what_it_did_and_exits_as_documented(app):
    interview = make_interview()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["mail-in"], input=sample("apple_tentative.eml", interview, attendee=PARTY,
                                                        attendee_name=PARTY_NAME))
    assert ok.exit_code == 0 and ok.output.startswith("processed: 王某 暂定约谈")
    forged = runner.invoke(args=["mail-in"], input=sample("apple_tentative.eml", interview, attendee=PARTY,
                                                            sender=OFFICIAL))
    assert forged.exit_code == 0 and forged.output.startswith("quarantined: 发件人")
    assert runner.invoke(args=["mail-in"], input=b"").exit_code == 65
    assert runner.invoke(args=["mail-in"], input=b"\x00\x01 just bytes, no header").exit_code == 65


def test_mail_in_reads_standard_input_of_a_real_process(app, fresh_db_url, tmp_path):
    """What the MTA runs: `flask --app wsgi mail-in` with the message on standard input."""
    interview = make_interview()
    raw = sample("outlook_accept.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME, comment="到")
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": fresh_db_url, "SECRET_KEY": "test-secret",
           "HUEY_SQLITE_PATH": str(tmp_path / "huey.db")}
    flask = Path(sys.executable).with_name("flask")
    done = subprocess.run([str(flask), "--app", "wsgi", "mail-in"], input=raw, capture_output=True, cwd=ROOT,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("processed: 陈志强 接受约谈")
    again = subprocess.run([str(flask), "--app", "wsgi", "mail-in"], input=raw, capture_output=True, cwd=ROOT,
                           env=env, timeout=120)
    assert again.returncode == 0 and again.stdout.decode().startswith("duplicate: ")
    db.session.expire_all()
    assert replies_count() == 1


# --- the invitations as they leave: meetings in every client ------------------------------------------------------

def _tree(part, depth: int = 0) -> list[str]:
    line = "  " * depth + part.get_content_type()
    if part.get_content_type() == "text/calendar":
        line += f" method={part.get_param('method')} charset={part.get_param('charset')}"
    if part.get_content_disposition():
        line += f" {part.get_content_disposition()}"
    if part.get_filename():
        line += f" {part.get_filename()}"
    out = [line]
    if part.is_multipart():
        for sub in part.get_payload():
            out += _tree(sub, depth + 1)
    return out


def test_invitations_and_cancellations_have_the_mime_tree_outlook_needs(app, smtp):
    interview = make_interview()
    run_worker()
    request = smtp.wait_for(4)
    interviews.cancel(user_by_name("scjg_coord"), interview.id, "当事人已整改")
    run_worker()
    cancel = smtp.wait_for(5)[4]
    expected = {
        "REQUEST": ["multipart/mixed", "  multipart/alternative", "    text/plain", "    text/html",
                    "    text/calendar method=REQUEST charset=UTF-8", "  application/ics attachment invite.ics"],
        "CANCEL": ["multipart/mixed", "  multipart/alternative", "    text/plain", "    text/html",
                   "    text/calendar method=CANCEL charset=UTF-8", "  application/ics attachment invite.ics"],
    }
    for got, method in [*[(m, "REQUEST") for m in request], (cancel, "CANCEL")]:
        msg = got.message
        assert _tree(msg) == expected[method]
        [ev] = ical_js(_calendar_bytes(msg))["events"]
        assert ev["organizer"] == f"mailto:{REPLY_MAILBOX}" and ev["organizer_cn"] == "张堃"
        people = {a["value"]: a for a in ev["attendees"]}
        for rcpt in got.rcpt_tos:  # every recipient is an ATTENDEE that is asked to answer
            assert people[f"mailto:{rcpt}"]["rsvp"] == "TRUE"
        assert REPLY_MAILBOX not in got.rcpt_tos
    assert sorted(cancel.rcpt_tos) == sorted(r for m in request for r in m.rcpt_tos)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 5


def test_an_oversized_message_is_quarantined_without_being_read(app):
    interview = make_interview()
    raw = sample("outlook_accept.eml", interview, attendee=OFFICIAL, attendee_name=OFFICIAL_NAME)
    app.config["MAILIN_MAX_BYTES"] = 1000
    outcome = receive(raw)
    assert outcome.status == "quarantined" and outcome.summary.startswith("邮件过大")
    assert replies_count() == 0
    row = db.session.execute(sa.select(InboundMessage)).scalar_one()
    assert row.from_addr == OFFICIAL and len(row.raw) == len(raw)
