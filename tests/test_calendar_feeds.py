"""Subscription feeds at secret URLs (ETag/304, regeneration), checked by ical.js and a real
CalDAV server (Radicale); and .ics import of busy blocks."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import requests
import sqlalchemy as sa

from coord.calendar import ics
from coord.calendar import services as calendar
from coord.extensions import db
from coord.interviews import services as interviews
from coord.scheduling.models import BusyBlock
from tests.calendar_fixtures import assert_folded_without_split_utf8, ical_js, make_interview, radicale_fixture  # noqa: F401
from tests.conftest import csrf_token, login, user_by_name
from tests.interview_fixtures import NOW, at, room_id


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def agency_feed(api, username: str = "scjg_coord") -> str:
    agency_id = user_by_name(username).agency_id
    return api(username).get(f"/api/v1/agencies/{agency_id}").json["feed_url"]


def test_agency_feed_has_no_method_and_the_invites_uid_and_sequence(app, client, api):
    first = make_interview()
    second = make_interview("2026-09-28", "14:00", title="第二次约谈")
    interviews.reschedule(user_by_name("scjg_coord"), second.id, at("2026-09-29", "10:00"), now=NOW)
    url = agency_feed(api)
    assert url.startswith("http://localhost/cal/feed/agency/")
    resp = client.get(path_of(url))  # no login: the URL is the key
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert b"METHOD:" not in resp.data
    assert_folded_without_split_utf8(resp.data)
    cal = ical_js(resp.data)
    assert cal["method"] is None and cal["calname"] == "区市场监管局 约谈日程"
    assert cal["refresh_interval"] == "PT1H" and cal["refresh_value_type"] == "duration"
    assert cal["published_ttl"] == "PT1H"
    events = {e["uid"]: e for e in cal["events"]}
    for interview in (first, second):
        invite = ical_js(calendar.invite_ics(interview)[0])["events"][0]
        assert events[interview.uid]["sequence"] == invite["sequence"]
        assert events[interview.uid]["start"] == invite["start"]
    assert events[second.uid]["sequence"] == 2 and events[second.uid]["start"] == "2026-09-29T02:00:00.000Z"


def test_feed_answers_304_until_something_changes(app, client, api):
    interview = make_interview()
    path = path_of(agency_feed(api))
    first = client.get(path)
    tag = first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b""
    interviews.cancel(user_by_name("scjg_coord"), interview.id, "另行安排")
    changed = client.get(path, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert ical_js(changed.data)["events"][0]["status"] == "CANCELLED"


def test_personal_feed_follows_the_person_in_and_out(app, client, api):
    interview = make_interview()
    me = api("cgj_officer").get("/api/v1/me").json
    path = path_of(me["feed_url"])
    assert [e["uid"] for e in ical_js(client.get(path).data)["events"]] == [interview.uid]
    interviews.update(user_by_name("scjg_coord"), interview.id,
                      {"participant_ids": [user_by_name("scjg_coord").id, user_by_name("cgj_coord").id]}, now=NOW)
    assert ical_js(client.get(path).data)["events"] == []


def test_feed_urls_only_for_those_allowed(app, api):
    scjg = user_by_name("scjg_coord").agency_id
    assert api("scjg_officer").get(f"/api/v1/agencies/{scjg}").json["feed_url"]  # a member
    assert api("cgj_coord").get(f"/api/v1/agencies/{scjg}").json["feed_url"] is None
    assert api("admin").get(f"/api/v1/agencies/{scjg}").json["feed_url"]
    room = room_id()
    with app.test_request_context():
        assert calendar.feed_url_for(user_by_name("admin"), "room", room)
        assert calendar.feed_url_for(user_by_name("cgj_officer"), "room", room) is None
        assert calendar.feed_url_for(user_by_name("cgj_officer"), "user", user_by_name("scjg_coord").id) is None


def test_regenerating_a_feed_kills_the_old_url(app, client):
    login(client, "scjg_coord")
    page = client.get("/cal/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    old = re.search(r'value="(http://localhost/cal/feed/user/\d+/[^"]+\.ics)"', html).group(1)
    assert client.get(path_of(old)).status_code == 200
    uid = user_by_name("scjg_coord").id
    assert client.post(f"/cal/feeds/user/{uid}/regenerate").status_code == 400  # no CSRF token
    assert client.get(path_of(old)).status_code == 200
    resp = client.post(f"/cal/feeds/user/{uid}/regenerate", data={"csrf_token": csrf_token(client, "/cal/")},
                       headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "旧地址已失效" in resp.get_data(as_text=True)
    new = re.search(r'value="([^"]+\.ics)"', resp.get_data(as_text=True)).group(1)
    assert new != old
    assert client.get(path_of(old)).status_code == 404
    assert client.get(path_of(new)).status_code == 200
    # someone else's feed: not theirs to reset, and not even revealed
    other = user_by_name("cgj_officer").id
    resp = client.post(f"/cal/feeds/user/{other}/regenerate", data={"csrf_token": csrf_token(client, "/cal/")})
    assert resp.status_code == 404


def test_guessed_or_malformed_feed_urls_are_404(app, client):
    uid = user_by_name("scjg_coord").id
    assert client.get(f"/cal/feed/user/{uid}/guess.ics").status_code == 404
    assert client.get(f"/cal/feed/nope/{uid}/x.ics").status_code == 404
    assert client.get("/cal/feed/user/999999/x.ics").status_code == 404


def split_events(data: bytes) -> list[bytes]:
    """One calendar object per event (as a CalDAV client stores them): header, VTIMEZONE, VEVENT."""
    text = data.decode()
    tz = text[text.index("BEGIN:VTIMEZONE"):text.index("END:VTIMEZONE\r\n") + 15]
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:" + ics.PRODID + "\r\n"
    return [(head + tz + "BEGIN:VEVENT" + body.split("END:VEVENT")[0] + "END:VEVENT\r\nEND:VCALENDAR\r\n").encode()
            for body in text.split("BEGIN:VEVENT")[1:]]


def test_caldav_server_accepts_each_event_and_gives_it_back(app, client, api, radicale):
    first = make_interview()
    second = make_interview("2026-09-28", "14:00", title="第二次约谈")
    interviews.reschedule(user_by_name("scjg_coord"), second.id, at("2026-09-29", "15:00"), now=NOW)
    objects = split_events(client.get(path_of(agency_feed(api))).data)
    assert len(objects) == 2
    expected = {first.uid: ("2026-09-24T01:00:00.000Z", 1), second.uid: ("2026-09-29T07:00:00.000Z", 2)}
    auth = ("coord", "x")
    for obj in objects:
        uid = ical_js(obj)["events"][0]["uid"]
        name = uid.split("@")[0] + ".ics"
        put = requests.put(radicale + name, data=obj, auth=auth, timeout=10,
                           headers={"Content-Type": "text/calendar; charset=utf-8"})
        assert put.status_code == 201, put.text
        back = requests.get(radicale + name, auth=auth, timeout=10)
        assert back.status_code == 200
        [ev] = ical_js(back.content)["events"]
        assert (ev["start"], ev["sequence"]) == expected[uid]
        assert ev["summary"].startswith("联合约谈：")
    report = requests.request("PROPFIND", radicale, auth=auth, headers={"Depth": "1"}, timeout=10)
    assert report.text.count(".ics</") == 2


# --- .ics import --------------------------------------------------------------------------------

def ics_file(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test Office//EN\r\n" + "".join(events)
            + "END:VCALENDAR\r\n").encode()


def vevent(uid: str, start: str, end: str | None, summary: str, extra: str = "") -> str:
    dtend = f"DTEND;TZID=Asia/Shanghai:{end}\r\n" if end else ""
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Asia/Shanghai:{start}\r\n"
            f"{dtend}SUMMARY:{summary}\r\n{extra}END:VEVENT\r\n")


def soon(days: int, hhmm: str = "0900") -> str:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return day.strftime("%Y%m%d") + "T" + hhmm + "00"


def blocks(username: str) -> list[BusyBlock]:
    db.session.rollback()
    return list(db.session.execute(sa.select(BusyBlock).where(
        BusyBlock.user_id == user_by_name(username).id, BusyBlock.active.is_(True)).order_by(BusyBlock.start_at)
    ).scalars())


WEEKLY = vevent("weekly@office", soon(1), soon(1, "1000"), "周例会", "RRULE:FREQ=WEEKLY;COUNT=4\r\n")
TRAINING = vevent("training@office", soon(3, "1400"), soon(3, "1700"), "执法培训")


def test_import_expands_recurring_events_and_reimport_replaces(app, api):
    client = api("cgj_officer")
    uid = user_by_name("cgj_officer").id
    resp = client.post(f"/api/v1/users/{uid}/busy/import", data=ics_file(WEEKLY, TRAINING),
                       headers={"Content-Type": "text/calendar"})
    assert resp.status_code == 200, resp.json
    assert (resp.json["added"], resp.json["updated"], resp.json["removed"]) == (5, 0, 0)
    got = blocks("cgj_officer")
    assert sorted(b.reason for b in got) == ["周例会"] * 4 + ["执法培训"]
    weekly = [b for b in got if b.reason == "周例会"]
    assert [b.start_at - weekly[0].start_at for b in weekly] == [timedelta(weeks=i) for i in range(4)]
    assert weekly[0].end_at - weekly[0].start_at == timedelta(hours=1)

    again = client.post(f"/api/v1/users/{uid}/busy/import", data=ics_file(WEEKLY, TRAINING),
                        headers={"Content-Type": "text/calendar"})
    assert (again.json["added"], again.json["updated"], again.json["removed"]) == (0, 0, 0)
    assert len(blocks("cgj_officer")) == 5  # the same file again: no duplicates

    moved = vevent("training@office", soon(3, "1500"), soon(3, "1700"), "执法培训")
    third = client.post(f"/api/v1/users/{uid}/busy/import", data=ics_file(moved),
                        headers={"Content-Type": "text/calendar"})
    assert (third.json["added"], third.json["updated"], third.json["removed"]) == (0, 1, 4)
    [left] = blocks("cgj_officer")
    assert left.reason == "执法培训" and left.source == "ics"


def test_bad_files_change_nothing_and_say_why(app, api):
    client = api("cgj_officer")
    uid = user_by_name("cgj_officer").id
    url = f"/api/v1/users/{uid}/busy/import"
    assert client.post(url, data=ics_file(TRAINING), headers={"Content-Type": "text/calendar"}).status_code == 200
    before = [(b.start_at, b.reason) for b in blocks("cgj_officer")]
    cases = {
        b"hello world": "缺少 BEGIN:VCALENDAR",
        ics_file(WEEKLY, vevent("noend@office", soon(2), None, "没有结束的会")): "没有结束时间",
        b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VCALENDAR\r\n": "",
        "BEGIN:VCALENDAR\r\n".encode("utf-16"): "UTF-8",
        ics_file(*[vevent(f"e{i}@x", soon(1), soon(1, "1000"), "x" * 900) for i in range(1300)]): "文件过大",
        b"": "请选择",
    }
    for body, words in cases.items():
        resp = client.post(url, data=body, headers={"Content-Type": "text/calendar"})
        assert resp.status_code == 400, (words, resp.json)
        assert words in resp.json["message"], resp.json
        assert [(b.start_at, b.reason) for b in blocks("cgj_officer")] == before
    assert api("scjg_officer").post(url, data=ics_file(TRAINING),
                                    headers={"Content-Type": "text/calendar"}).status_code == 404


def test_import_page_upload(app, client):
    login(client, "cgj_officer")
    token = csrf_token(client, "/cal/")
    from io import BytesIO

    resp = client.post("/cal/busy/import", data={"csrf_token": token, "file": (BytesIO(ics_file(TRAINING)),
                                                                                      "office.ics")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert resp.status_code == 200
    assert "已导入：新增 1 条" in resp.get_data(as_text=True) and "执法培训" in resp.get_data(as_text=True)
    bad = client.post("/cal/busy/import", data={"csrf_token": token, "file": (BytesIO(b"junk"), "x.ics")},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "缺少 BEGIN:VCALENDAR" in bad.get_data(as_text=True)
    assert len(blocks("cgj_officer")) == 1
