"""Calendar invites through the interview services: the e-mails (delivered to a real SMTP server),
their iCalendar checked by ical.js, vobject and icalendar; the invite download and API."""
from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import sqlalchemy as sa
import vobject

from coord.audit.models import AuditEntry
from coord.calendar import feeds, ics
from coord.calendar import services as calendar
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import Interview
from coord.notify.models import OutboxMessage
from tests.calendar_fixtures import assert_folded_without_split_utf8, ical_js, lines_of, make_interview
from tests.conftest import login, user_by_name
from tests.interview_fixtures import NOW, at
from tests.notify_fixtures import run_worker, smtp_fixture  # noqa: F401

LEAD_MAILBOX = "scjgj@spb.example.cn"  # 区市场监管局, the lead agency
ROOM_MAILBOX = "room-sfj-1@spb.example.cn"  # 区司法局第一会议室's resource mailbox


def calendar_part(message):
    """The text/calendar alternative and the invite.ics attachment of a delivered e-mail."""
    alt, attachment = message.get_payload()[:2]
    cal = [p for p in alt.get_payload() if p.get_content_type() == "text/calendar"]
    assert len(cal) == 1
    return cal[0], attachment


def deliver(smtp, count: int):
    run_worker()
    return smtp.wait_for(count)


INVITEES = ["cgj_officer@spb.example.cn", ROOM_MAILBOX, "scjg_coord@spb.example.cn", "wang@example.com"]
REPLY_MAILBOX = "coord@spb.example.cn"  # COORD_REPLY_ADDRESS unset: the platform sender


def one_each(received) -> dict:
    """Invitations go one message per recipient (each with its own answer links)."""
    out = {}
    for got in received:
        [rcpt] = got.rcpt_tos
        out[rcpt] = got
    assert len(out) == len(received)
    return out


def test_scheduling_sends_every_invitee_a_meeting_request(app, smtp):
    interview = make_interview()
    got = one_each(deliver(smtp, 4))
    assert sorted(got) == INVITEES
    assert LEAD_MAILBOX not in got and REPLY_MAILBOX not in got  # the organiser is not a recipient
    msg = got["wang@example.com"].message
    assert msg["Subject"] == f"【约谈邀请】{interview.title}"
    assert "您被邀请参加以下联合约谈" in msg.get_payload()[0].get_payload()[0].get_content()
    part, attachment = calendar_part(msg)
    data = part.get_payload(decode=True)
    assert part.get_param("method") == "REQUEST" and part.get_param("charset") == "UTF-8"
    assert attachment.get_filename() == "invite.ics" and attachment.get_payload(decode=True) == data
    # Everybody gets the same event (only the answer links in the text differ).
    assert {calendar_part(m.message)[0].get_payload(decode=True) for m in got.values()} == {data}

    cal = ical_js(data)
    assert cal["method"] == "REQUEST" and cal["uid"] is None  # no calendar-level UID
    [zone] = cal["zones"]
    assert zone == {"tzid": "Asia/Shanghai", "standard": 1, "daylight": 0, "comment": False, "offsets": ["+08:00"]}
    [ev] = cal["events"]
    assert ev["uid"] == interview.uid and ev["sequence"] == 1
    assert (ev["start"], ev["end"]) == ("2026-09-24T01:00:00.000Z", "2026-09-24T02:30:00.000Z")
    assert ev["start_tzid"] == "Asia/Shanghai" and ev["status"] == "CONFIRMED"
    assert ev["summary"] == f"联合约谈：{interview.title}"
    # ORGANIZER: coord's reply mailbox, named after the coordinator who organised the interview.
    assert ev["organizer"] == f"mailto:{REPLY_MAILBOX}" and ev["organizer_cn"] == "张堃"
    people = {a["value"]: a for a in ev["attendees"]}
    assert people["mailto:scjg_coord@spb.example.cn"] == {
        "value": "mailto:scjg_coord@spb.example.cn", "cn": "张堃", "role": "CHAIR", "partstat": "NEEDS-ACTION",
        "rsvp": "TRUE", "cutype": "INDIVIDUAL"}
    assert people["mailto:cgj_officer@spb.example.cn"]["cn"] == "陈志强"
    assert people["mailto:cgj_officer@spb.example.cn"]["role"] == "REQ-PARTICIPANT"
    assert people["mailto:wang@example.com"]["cn"] == "王某"
    [room] = [a for a in ev["attendees"] if a["cutype"] == "ROOM"]
    # The room's resource mailbox receives the invitation and answers it, like every recipient.
    assert room["cn"] == "区司法局第一会议室" and room["rsvp"] == "TRUE" and room["partstat"] == "NEEDS-ACTION"
    assert room["value"] == f"mailto:{ROOM_MAILBOX}" and room["role"] == "NON-PARTICIPANT"
    assert ev["location"].startswith("区司法局第一会议室")
    assert f"mailto:{REPLY_MAILBOX}" not in people and f"mailto:{LEAD_MAILBOX}" not in people
    assert all(people[f"mailto:{r}"]["rsvp"] == "TRUE" for r in INVITEES)  # Outlook shows Accept/Decline


def test_invite_bytes_are_crlf_folded_and_read_alike_by_vobject_and_icalendar(app):
    long_title = "关于某某餐饮管理有限公司油烟扰民、占道经营及消防通道堵塞等问题的联合约谈（第二次）"
    interview = make_interview(title=long_title)
    data, method = calendar.invite_ics(interview)
    assert method == "REQUEST"
    assert_folded_without_split_utf8(data)
    assert any(line.startswith(b" ") for line in lines_of(data))  # the long title was folded

    ev = vobject.readOne(data.decode()).vevent
    assert ev.summary.value == f"联合约谈：{long_title}"
    assert ev.dtstart.value == at("2026-09-24", "09:00")
    assert ev.uid.value == interview.uid and ev.sequence.value == "1"
    cns = sorted(a.params["CN"][0] for a in ev.attendee_list)
    assert cns == sorted(["张堃", "陈志强", "王某", "区司法局第一会议室"])

    parsed = icalendar.Calendar.from_ical(data)
    [event] = parsed.walk("VEVENT")
    assert event.decoded("DTSTART").astimezone(UTC) == datetime(2026, 9, 24, 1, 0, tzinfo=UTC)
    assert str(parsed["METHOD"]) == "REQUEST" and "UID" not in parsed


def test_reschedule_updates_the_same_event_with_a_higher_sequence(app, smtp):
    interview = make_interview()
    deliver(smtp, 4)
    interviews.reschedule(user_by_name("scjg_coord"), interview.id, at("2026-09-28", "14:00"), "会议室冲突", now=NOW)
    received = deliver(smtp, 8)
    first, second = one_each(received[:4])["wang@example.com"], one_each(received[4:])["wang@example.com"]
    assert second.message["Subject"].startswith("【约谈改期】")
    assert "约谈时间已变更" in second.message.get_payload()[0].get_payload()[0].get_content()
    old = ical_js(calendar_part(first.message)[0].get_payload(decode=True))["events"][0]
    new = ical_js(calendar_part(second.message)[0].get_payload(decode=True))["events"][0]
    assert new["uid"] == old["uid"] and new["sequence"] == old["sequence"] + 1 == 2
    assert new["start"] == "2026-09-28T06:00:00.000Z"
    assert sorted(one_each(received[4:])) == INVITEES


def test_removed_person_gets_a_cancel_the_others_an_update(app, smtp):
    interview = make_interview()
    deliver(smtp, 4)
    interviews.update(user_by_name("scjg_coord"), interview.id,
                      {"participant_ids": [user_by_name("scjg_coord").id, user_by_name("cgj_coord").id]}, now=NOW)
    got = deliver(smtp, 9)[4:]
    [removed] = [m for m in got if calendar_part(m.message)[0].get_param("method") == "CANCEL"]
    updates = one_each([m for m in got if calendar_part(m.message)[0].get_param("method") == "REQUEST"])
    assert removed.rcpt_tos == ["cgj_officer@spb.example.cn"]
    assert removed.message["Subject"].startswith("【约谈取消】您无需参加")
    cal = ical_js(calendar_part(removed.message)[0].get_payload(decode=True))
    [ev] = cal["events"]
    assert cal["method"] == "CANCEL" and ev["sequence"] == 2 and ev["uid"] == interview.uid
    assert [a["value"] for a in ev["attendees"]] == ["mailto:cgj_officer@spb.example.cn"]
    assert ev["status"] is None  # only this attendee is uninvited (RFC 5546 §3.2.5)
    assert sorted(updates) == ["cgj_coord@spb.example.cn", ROOM_MAILBOX, "scjg_coord@spb.example.cn",
                               "wang@example.com"]
    assert all(u.message["Subject"].startswith("【约谈变更】") for u in updates.values())


def test_cancelling_sends_everyone_a_cancellation(app, smtp):
    interview = make_interview()
    deliver(smtp, 4)
    interviews.cancel(user_by_name("scjg_coord"), interview.id, "当事人已主动整改")
    cancel = deliver(smtp, 5)[4]
    assert sorted(cancel.rcpt_tos) == ["cgj_officer@spb.example.cn", ROOM_MAILBOX, "scjg_coord@spb.example.cn",
                                       "wang@example.com"]
    assert cancel.message["Subject"] == f"【约谈取消】{interview.title}"
    part, _ = calendar_part(cancel.message)
    assert part.get_param("method") == "CANCEL"
    cal = ical_js(part.get_payload(decode=True))
    [ev] = cal["events"]
    assert cal["method"] == "CANCEL" and ev["status"] == "CANCELLED" and ev["sequence"] == 2
    assert "当事人已主动整改" in ev["description"]


def test_draft_sends_nothing_and_a_person_without_email_is_named(app, smtp):
    from coord.interviews.services import create
    from tests.interview_fixtures import interview_data

    data = interview_data(attendees=[{"name": "王某", "post": "法定代表人", "email": ""}])
    interview = create(user_by_name("scjg_coord"), data, now=NOW)
    assert run_worker() == 0 and db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    interviews.schedule(user_by_name("scjg_coord"), interview.id, at("2026-09-24", "09:00"), now=NOW)
    assert sorted(one_each(deliver(smtp, 3))) == ["cgj_officer@spb.example.cn", ROOM_MAILBOX,
                                                  "scjg_coord@spb.example.cn"]
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "calendar.invite")).scalar_one()
    assert "无电子邮箱未发送：王某" in entry.summary
    assert calendar.missing_emails(db.session.get(Interview, interview.id)) == ["王某"]


def test_feed_event_is_byte_identical_to_the_invite_event(app):
    make_interview()
    other = make_interview("2026-09-28", "14:00", title="第二次约谈")
    interviews.cancel(user_by_name("scjg_coord"), other.id, "另行安排")
    lead = user_by_name("scjg_coord").agency_id
    bulk = {ev.uid: ev for ev in feeds.events("agency", lead)}
    for interview in db.session.execute(sa.select(Interview)).scalars():
        assert ics.vevent(bulk[interview.uid]) == ics.vevent(calendar.event_data(interview))


def test_invite_download_and_api(app, client, api):
    interview = make_interview()
    resp = api("cgj_officer").get(f"/api/v1/interviews/{interview.id}/invite.ics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8; method=REQUEST"
    assert ical_js(resp.data)["events"][0]["uid"] == interview.uid
    assert api("sthj_coord").get(f"/api/v1/interviews/{interview.id}/invite.ics").status_code == 404
    assert api("admin").get("/api/v1/interviews/999999/invite.ics").status_code == 404

    interviews.cancel(user_by_name("scjg_coord"), interview.id, "另行安排")
    resp = api("scjg_coord").get(f"/api/v1/interviews/{interview.id}/invite.ics")
    cal = ical_js(resp.data)
    assert cal["method"] == "CANCEL" and cal["events"][0]["status"] == "CANCELLED"

    login(client, "cgj_officer")
    page = client.get(f"/cal/interviews/{interview.id}/invite.ics")
    assert page.status_code == 200 and b"METHOD:CANCEL" in page.data
    assert 'filename="interview-' in page.headers["Content-Disposition"]


def test_unscheduled_interview_has_no_invite(app, api):
    from coord.interviews.services import create
    from tests.interview_fixtures import interview_data

    interview = create(user_by_name("scjg_coord"), interview_data(), now=NOW)
    resp = api("scjg_coord").get(f"/api/v1/interviews/{interview.id}/invite.ics")
    assert resp.status_code == 409 and resp.json["message"] == "约谈尚未排期，还没有日程。"


def test_organizer_is_the_reply_mailbox_whatever_the_lead_agency_has(app):
    from coord.agencies.models import Agency

    agency = db.session.get(Agency, user_by_name("scjg_coord").agency_id)
    agency.email = ""
    db.session.commit()
    interview = make_interview(room_id=None)
    cal = ical_js(calendar.invite_ics(interview)[0])
    [ev] = cal["events"]
    assert ev["organizer"] == "mailto:coord@spb.example.cn" and ev["organizer_cn"] == "张堃"
    app.config["REPLY_ADDRESS"] = "yuetan-reply@spb.example.cn"
    [ev] = ical_js(calendar.invite_ics(interview)[0])["events"]
    assert ev["organizer"] == "mailto:yuetan-reply@spb.example.cn"
    assert ev["location"] is None and all(a["cutype"] != "ROOM" for a in ev["attendees"])


def test_a_refused_booking_queues_no_mail(app, smtp):
    """The invitation lives in the interview's transaction: a clash (409) leaves no e-mail behind."""
    from coord.errors import Conflict

    make_interview()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    try:
        make_interview(title="同一时段的另一场约谈")
    except Conflict:
        pass
    else:
        raise AssertionError("the clash was not refused")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == before == 4
    assert len(deliver(smtp, 4)) == 4
