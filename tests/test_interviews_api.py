"""The JSON API for interviews, slots, rooms and busy blocks (real clock: dates ahead of today)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from coord.extensions import db
from coord.interviews.models import Interview
from coord.timeutil import local_today
from tests.conftest import user_by_name
from tests.interview_fixtures import VALID_CREDIT_CODE, agency_id, at, ensure_calendar, room_id


@pytest.fixture
def ahead(app):
    """Calendar rows for the coming months (Mon–Fri test rows only where the table has none)."""
    ensure_calendar(local_today(), 150)
    today = local_today()
    return at(today, "00:00"), at(today + timedelta(days=60), "00:00")


def body(**overrides) -> dict:
    data = {
        "title": "某小区违规装修联合约谈",
        "problem_kind": "sector",
        "sector": "物业管理",
        "party": {"name": "重庆某某物业服务有限公司", "credit_code": VALID_CREDIT_CODE},
        "lead_agency_id": agency_id("scjgj"),
        "agency_ids": [agency_id("cgj"), agency_id("sthjj")],
        "participant_ids": [user_by_name(n).id for n in ("scjg_coord", "cgj_officer", "sthj_coord")],
        "room_id": room_id("区市场监管局约谈室"),
        "duration_minutes": 90,
    }
    data.update(overrides)
    return data


def search(client, window, **overrides):
    payload = {"participant_ids": body()["participant_ids"], "room_id": body()["room_id"], "duration_minutes": 90,
               "window_start": window[0].isoformat(), "window_end": window[1].isoformat(), "limit": 3}
    payload.update(overrides)
    return client.post("/api/v1/slots/search", json=payload)


def test_create_search_schedule_reschedule_cancel(api, ahead):
    coord = api("scjg_coord")
    resp = coord.post("/api/v1/interviews", json=body())
    assert resp.status_code == 201, resp.json
    created = resp.json
    assert created["status"] == "draft" and created["id"] and created["uid"].endswith("@coord")
    assert created["party"]["credit_code"] == VALID_CREDIT_CODE
    assert {a["name"]: a["role"] for a in created["agencies"]} == {
        "区市场监管局": "lead", "区城市管理局": "co", "区生态环境局": "co"}

    found = search(coord, ahead)
    assert found.status_code == 200, found.json
    slots = found.json["slots"]
    assert len(slots) == 3 and all(s["start"].endswith("+08:00") for s in slots)

    iid = created["id"]
    scheduled = coord.post(f"/api/v1/interviews/{iid}/schedule", json={"start": slots[0]["start"]})
    assert scheduled.status_code == 200, scheduled.json
    assert scheduled.json["status"] == "scheduled" and scheduled.json["start"] == slots[0]["start"]
    assert scheduled.json["sequence"] == 1

    # The taken slot no longer shows up; the next search starts after it (plus buffer).
    again = search(coord, ahead).json["slots"]
    assert slots[0]["start"] not in [s["start"] for s in again]

    other = coord.post("/api/v1/interviews", json=body(party={"name": "另一物业公司", "kind": "person"},
                                                       participant_ids=[user_by_name("cgj_officer").id])).json
    clash = coord.post(f"/api/v1/interviews/{other['id']}/schedule", json={"start": slots[0]["start"]})
    assert clash.status_code == 409
    assert "陈志强（区城市管理局）" in clash.json["message"]
    assert clash.json["conflicts"][0]["kind"] == "booking"
    assert clash.json["alternatives"] and clash.json["alternatives"][0]["start"] != slots[0]["start"]
    assert coord.get(f"/api/v1/interviews/{other['id']}").json["status"] == "draft"

    moved = coord.post(f"/api/v1/interviews/{iid}/reschedule", json={"start": again[0]["start"], "reason": "会议室调整"})
    assert moved.status_code == 200 and moved.json["start"] == again[0]["start"] and moved.json["sequence"] == 2
    confirm = api("sthj_coord").post(f"/api/v1/interviews/{iid}/respond", json={"decision": "confirmed"})
    assert confirm.status_code == 200
    assert {a["name"]: a["confirmation"] for a in confirm.json["agencies"]}["区生态环境局"] == "confirmed"
    cancelled = coord.post(f"/api/v1/interviews/{iid}/cancel", json={"reason": "当事人已整改"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled" and cancelled.json["sequence"] == 3
    got = coord.get(f"/api/v1/interviews/{iid}").json
    assert got["cancel_reason"] == "当事人已整改"


def test_schedule_at_once_on_create(api, ahead):
    coord = api("scjg_coord")
    slot = search(coord, ahead).json["slots"][0]
    resp = coord.post("/api/v1/interviews", json=body(start=slot["start"]))
    assert resp.status_code == 201 and resp.json["status"] == "scheduled" and resp.json["end"] == slot["end"]


def test_bad_input_over_the_api_says_why_and_saves_nothing(api, ahead):
    coord = api("scjg_coord")
    count = db.session.execute(sa.select(sa.func.count()).select_from(Interview)).scalar_one()
    bad = [
        (body(room_id=99999), 400, "会议室不存在"),
        (body(participant_ids=[user_by_name("gafj_officer").id]), 400, "不是本次约谈的牵头或协办单位"),
        (body(party={"name": "某公司", "credit_code": "91500106MA5U3Q0X2A"}), 400, "校验位"),
        (body(problem_kind="neither"), 400, "问题类型"),
        (body(participant_ids="abc"), 422, "校验失败"),
    ]
    for payload, status, message in bad:
        resp = coord.post("/api/v1/interviews", json=payload)
        assert resp.status_code == status and message in resp.json["message"], (resp.status_code, resp.json)
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Interview)).scalar_one() == count

    window_2030 = (at("2030-03-01", "00:00"), at("2030-03-20", "00:00"))
    resp = search(coord, window_2030)
    assert resp.status_code == 400 and "2030 年的工作日历尚未录入" in resp.json["message"]
    resp = search(coord, (ahead[1], ahead[0]))
    assert resp.status_code == 400 and "结束时间须晚于开始时间" in resp.json["message"]
    resp = search(coord, ahead, room_id=99999)
    assert resp.status_code == 400 and "会议室不存在" in resp.json["message"]
    resp = search(coord, ahead, window_start="next tuesday")
    assert resp.status_code == 422

    iid = coord.post("/api/v1/interviews", json=body()).json["id"]
    today = local_today()
    holiday = next(today + timedelta(days=n) for n in range(10, 40) if (today + timedelta(days=n)).weekday() == 6)
    for start, message in [(at(holiday, "09:00"), "不是工作日"), (at(today + timedelta(days=1), "09:00"), None),
                           (at(today + timedelta(days=20), "12:15"), None)]:
        resp = coord.post(f"/api/v1/interviews/{iid}/schedule", json={"start": start.isoformat()})
        assert resp.status_code == 400, resp.json
        if message:
            assert message in resp.json["message"]
    assert coord.get(f"/api/v1/interviews/{iid}").json["status"] == "draft"


def test_busy_blocks_count_and_are_validated(api, ahead):
    officer = api("cgj_officer")
    me = user_by_name("cgj_officer").id
    first = search(officer, ahead, participant_ids=[me], room_id=None, limit=1).json["slots"][0]
    resp = officer.post(f"/api/v1/users/{me}/busy", json={"start": first["start"], "end": first["end"],
                                                          "reason": "业务培训"})
    assert resp.status_code == 201 and resp.json["reason"] == "业务培训" and resp.json["start"] == first["start"]
    after = search(officer, ahead, participant_ids=[me], room_id=None, limit=1).json["slots"][0]
    assert after["start"] > first["start"]
    listed = officer.get(f"/api/v1/users/{me}/busy?from={ahead[0].isoformat()}&to={ahead[1].isoformat()}".replace(
        "+", "%2B"))
    assert listed.status_code == 200 and [b["reason"] for b in listed.json] == ["业务培训"]
    backwards = officer.post(f"/api/v1/users/{me}/busy", json={"start": first["end"], "end": first["start"],
                                                               "reason": "x"})
    assert backwards.status_code == 400 and backwards.json["message"] == "结束时间须晚于开始时间。"
    # An officer enters only their own; another agency's person is not even there (404).
    assert officer.post(f"/api/v1/users/{user_by_name('scjg_officer').id}/busy",
                        json={"start": first["start"], "end": first["end"], "reason": "x"}).status_code == 404
    # A coordinator enters for people of the own agency.
    assert api("cgj_coord").post(f"/api/v1/users/{me}/busy", json={
        "start": first["start"], "end": first["end"], "reason": "出差"}).status_code == 201


def test_rooms_and_calendar_endpoints(api):
    client = api("viewer")
    rooms = client.get("/api/v1/rooms").json
    assert {"区司法局第一会议室", "区市场监管局约谈室", "区城市管理局会议室"} <= {r["name"] for r in rooms}
    days = client.get("/api/v1/calendar/days?from=2026-10-01&to=2026-10-10").json["days"]
    assert [d["is_workday"] for d in days] == [False] * 7 + [True, True, True]


def test_near_misses_name_the_blockers(api, ahead):
    coord = api("scjg_coord")
    me = user_by_name("scjg_coord").id
    start, end = ahead
    coord.post(f"/api/v1/users/{me}/busy", json={"start": start.isoformat(), "end": end.isoformat(),
                                                 "reason": "脱产培训"})
    resp = search(coord, ahead, participant_ids=[me, user_by_name("scjg_officer").id], room_id=None)
    assert resp.status_code == 200 and resp.json["slots"] == []
    assert "没有所有人员和会议室都空闲的时段" in resp.json["message"]
    blockers = resp.json["near_misses"][0]["blockers"]
    assert blockers == [{"resource": f"user:{me}", "label": "张堃（区市场监管局）"}]


def test_openapi_lists_the_interview_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ["/api/v1/interviews", "/api/v1/interviews/{interview_id}", "/api/v1/interviews/{interview_id}/schedule",
                 "/api/v1/interviews/{interview_id}/reschedule", "/api/v1/interviews/{interview_id}/cancel",
                 "/api/v1/slots/search", "/api/v1/rooms", "/api/v1/users/{user_id}/busy"]:
        assert path in paths, path
