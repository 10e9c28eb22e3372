"""The interview and scheduling pages through the test client (forms, htmx fragments, scoping)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from coord.extensions import db
from coord.interviews import services
from coord.interviews.models import Interview
from coord.scheduling.models import BusyBlock
from coord.timeutil import local_today
from tests.conftest import csrf_token, login, user_by_name
from tests.interview_fixtures import NOW, VALID_CREDIT_CODE, agency_id, at, busy, ensure_calendar, room_id


@pytest.fixture
def coord_client(app, client):
    ensure_calendar(local_today(), 150)
    login(client, "scjg_coord")
    return client


def form(**overrides) -> dict:
    data = {
        "title": "某建材市场消防通道占用联合约谈", "problem_kind": "regional", "region_agency_id": agency_id("spb"),
        "party_kind": "organisation", "party_name": "重庆某某建材市场有限公司", "party_credit_code": VALID_CREDIT_CODE,
        "attendee_name": ["刘某", "", ""], "attendee_post": ["总经理", "", ""], "attendee_email": ["liu@example.com", "", ""],
        "attendee_phone": ["", "", ""], "lead_agency_id": agency_id("scjgj"), "agency_ids": [agency_id("cgj")],
        "participant_ids": [user_by_name("scjg_coord").id, user_by_name("cgj_officer").id],
        "room_id": room_id(), "duration_minutes": "90", "measure": "interview", "action": "draft",
    }
    data.update(overrides)
    return data


def interviews() -> int:
    db.session.rollback()
    return db.session.execute(sa.select(sa.func.count()).select_from(Interview)).scalar_one()


def first_slot(participants: list[int]):
    window = (at(local_today(), "00:00"), at(local_today() + timedelta(days=45), "00:00"))
    return services.suggest(user_by_name("scjg_coord"), participants, room_id(), 90, *window, 1)[0].slots[0]


def test_bad_input_on_the_form_keeps_what_was_typed_and_saves_nothing(coord_client):
    token = csrf_token(coord_client, "/interviews/new")
    resp = coord_client.post("/interviews/new", data={**form(party_credit_code="91500106MA5U3Q0X2A"),
                                                      "csrf_token": token})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "统一社会信用代码校验位不正确" in html
    assert 'value="某建材市场消防通道占用联合约谈"' in html and "checked" in html  # the form keeps its values
    resp = coord_client.post("/interviews/new", data={**form(action="schedule"), "csrf_token": token})
    assert resp.status_code == 400 and "请先从推荐时段中选择约谈时间" in resp.get_data(as_text=True)
    assert interviews() == 0


def test_a_clash_on_the_form_answers_409_with_alternatives(coord_client):
    people = [user_by_name("scjg_coord").id, user_by_name("cgj_officer").id]
    slot = first_slot(people)
    busy("cgj_officer", slot.start, slot.end, "专项检查")
    token = csrf_token(coord_client, "/interviews/new")
    resp = coord_client.post("/interviews/new", data={**form(action="schedule", start=slot.start.isoformat()),
                                                      "csrf_token": token})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "陈志强（区城市管理局）" in html and "专项检查" in html
    assert "可选的其他时段" in html
    assert interviews() == 0


def test_draft_then_schedule_from_the_interview_page(coord_client):
    token = csrf_token(coord_client, "/interviews/new")
    resp = coord_client.post("/interviews/new", data={**form(), "csrf_token": token})
    assert resp.status_code == 303
    iid = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    fragment = coord_client.get(f"/interviews/suggest?interview_id={iid}&mode=schedule", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert "安排在此时段" in html and "<html" not in html
    slot = first_slot([user_by_name("scjg_coord").id, user_by_name("cgj_officer").id])
    assert slot.start.isoformat() in html
    resp = coord_client.post(f"/interviews/{iid}/schedule", data={"start": slot.start.isoformat(), "csrf_token": token})
    assert resp.status_code == 303
    page = coord_client.get(f"/interviews/{iid}").get_data(as_text=True)
    assert "已排期" in page and "约谈已排期" in page
    # Scheduling again is refused with the reason, on the page itself.
    resp = coord_client.post(f"/interviews/{iid}/schedule", data={"start": slot.start.isoformat(), "csrf_token": token})
    assert resp.status_code == 400 and "不能排期" in resp.get_data(as_text=True)


def test_people_fragment_follows_the_chosen_agencies(coord_client):
    resp = coord_client.get(f"/interviews/people?lead_agency_id={agency_id('scjgj')}&agency_ids={agency_id('cgj')}"
                            f"&agency_ids={agency_id('sthjj')}", headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert all(name in html for name in ("张堃", "李喆", "陈志强", "王晓燕", "赵敏")) and "刘洋" not in html
    assert resp.headers["HX-Trigger-After-Settle"] == "people-changed"


def test_co_organiser_confirms_and_declines_on_the_board_fragment(app, client):
    interview = services.create(user_by_name("scjg_coord"), {
        "title": "联合约谈", "problem_kind": "sector", "sector": "餐饮", "party": {"name": "某人", "kind": "person"},
        "lead_agency_id": agency_id("scjgj"), "agency_ids": [agency_id("cgj")],
        "participant_ids": [user_by_name("scjg_coord").id]}, now=NOW)
    services.schedule(user_by_name("scjg_coord"), interview.id, at("2026-09-24", "09:00"), now=NOW)
    login(client, "cgj_coord")
    token = csrf_token(client, f"/interviews/{interview.id}")
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    resp = client.post(f"/interviews/{interview.id}/respond", data={"decision": "declined"}, headers=headers)
    assert resp.status_code == 200 and "拒绝时须填写原因" in resp.get_data(as_text=True)
    resp = client.post(f"/interviews/{interview.id}/respond", data={"decision": "declined", "reason": "人员外出"},
                       headers=headers)
    html = resp.get_data(as_text=True)
    assert 'id="board"' in html and "已拒绝" in html and "人员外出" in html and "<html" not in html
    # The lead agency cannot answer for a co-organiser; an outsider does not see the interview at all.
    login(client, "scjg_coord")
    assert "确认参加" not in client.get(f"/interviews/{interview.id}").get_data(as_text=True)
    login(client, "sthj_coord")
    assert client.post(f"/interviews/{interview.id}/respond", data={"decision": "confirmed"},
                       headers={**headers, "X-CSRFToken": csrf_token(client, "/interviews/")}).status_code == 404


def test_list_filters_by_status_and_party(app, client):
    coord = user_by_name("scjg_coord")
    base = {"problem_kind": "sector", "sector": "建筑", "lead_agency_id": agency_id("scjgj"),
            "participant_ids": [coord.id]}
    a = services.create(coord, {**base, "title": "甲公司约谈", "party": {"name": "甲公司", "kind": "person"}}, now=NOW)
    services.create(coord, {**base, "title": "乙公司约谈", "party": {"name": "乙公司", "kind": "person"}}, now=NOW)
    services.schedule(coord, a.id, at("2026-09-24", "09:00"), now=NOW)
    login(client, "scjg_coord")
    hx = {"HX-Request": "true", "HX-Target": "interview-rows"}
    rows = client.get("/interviews/?status=draft", headers=hx).get_data(as_text=True)
    assert "乙公司约谈" in rows and "甲公司约谈" not in rows and "<table" not in rows
    rows = client.get("/interviews/?party=甲", headers=hx).get_data(as_text=True)
    assert "甲公司约谈" in rows and "乙公司约谈" not in rows
    rows = client.get("/interviews/?from=2026-09-24&to=2026-09-24", headers=hx).get_data(as_text=True)
    assert "甲公司约谈" in rows and "乙公司约谈" not in rows
    page = client.get("/interviews/?status=scheduled").get_data(as_text=True)
    assert "<table" in page and "甲公司约谈" in page


def test_busy_page_records_and_withdraws_unavailability(app, client):
    login(client, "cgj_officer")
    token = csrf_token(client, "/scheduling/busy")
    day = (local_today() + timedelta(days=7)).isoformat()
    bad = client.post("/scheduling/busy", data={"start_day": day, "start_time": "10:00", "end_day": day,
                                                "end_time": "09:00", "reason": "培训", "csrf_token": token})
    assert bad.status_code == 400 and "结束时间须晚于开始时间" in bad.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count()).select_from(BusyBlock)).scalar_one() == 0
    good = client.post("/scheduling/busy", data={"start_day": day, "start_time": "09:00", "end_day": day,
                                                 "end_time": "12:00", "reason": "执法资格培训", "csrf_token": token})
    assert good.status_code == 303
    page = client.get(good.headers["Location"]).get_data(as_text=True)
    assert "执法资格培训" in page and "忙碌时间已登记" in page
    block = db.session.execute(sa.select(BusyBlock)).scalar_one()
    resp = client.post(f"/scheduling/busy/{block.id}/cancel", headers={"HX-Request": "true", "HX-Target": "busy-list",
                                                                        "X-CSRFToken": token})
    assert resp.status_code == 200 and "执法资格培训" not in resp.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(BusyBlock, block.id).active is False  # withdrawn, not deleted
    # An officer cannot enter busy time for someone else (it is not theirs to see): 404.
    other = user_by_name("cgj_coord").id
    assert client.get(f"/scheduling/busy?user_id={other}").status_code == 404


def test_follow_up_visit_and_escalation_through_the_pages(app, client):
    coord = user_by_name("scjg_coord")
    interview = services.create(coord, {
        "title": "整改回访测试", "problem_kind": "sector", "sector": "餐饮", "party": {"name": "某人", "kind": "person"},
        "lead_agency_id": agency_id("scjgj"), "participant_ids": [coord.id]}, now=NOW)
    services.schedule(coord, interview.id, at("2026-09-24", "09:00"), now=NOW)
    services.mark_held(coord, interview.id, now=at("2026-09-24", "10:00"))
    item = services.add_item(coord, interview.id, "拆除违规招牌", date(2026, 9, 30), today=date(2026, 9, 24))
    visit_id = item.follow_ups[0].id
    login(client, "scjg_officer")
    page = client.get("/interviews/follow-ups").get_data(as_text=True)
    assert "拆除违规招牌" in page and "2026-10-08" in page
    token = csrf_token(client, "/interviews/follow-ups")
    resp = client.post(f"/interviews/follow-ups/{visit_id}/visit",
                       data={"result": "not_rectified", "notes": "招牌仍在", "csrf_token": token})
    assert resp.status_code == 303
    login(client, "scjg_coord")
    ensure_calendar(local_today(), 40)  # the lead's clocks run from today
    done = client.get("/interviews/follow-ups?status=done").get_data(as_text=True)
    assert f"/interviews/follow-ups/{visit_id}/escalate" in done  # a link to the escalation form
    token = csrf_token(client, "/interviews/follow-ups?status=done")
    refused = client.post(f"/interviews/follow-ups/{visit_id}/escalate", data={"csrf_token": token})
    assert refused.status_code == 400 and "请选择接收线索的行政执法部门" in refused.get_data(as_text=True)
    resp = client.post(f"/interviews/follow-ups/{visit_id}/escalate",
                       data={"csrf_token": token, "to_agency_id": agency_id("cgj"), "party_name": "某人",
                             "facts": "招牌仍在", "matter": "擅自设置招牌"}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "已升级处理" in html and "整改回访未整改" in html and "拆除违规招牌" in html  # the lead page
    shown = client.get(f"/interviews/{interview.id}").get_data(as_text=True)
    assert "拆除违规招牌" in shown and "未整改" in shown and "回访：未整改" in client.get(
        f"/audit/interview/{interview.id}", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_week_views_show_bookings_and_hide_other_agencies_details(app, client):
    coord = user_by_name("scjg_coord")
    interview = services.create(coord, {
        "title": "周视图测试约谈", "problem_kind": "sector", "sector": "餐饮", "party": {"name": "某人", "kind": "person"},
        "lead_agency_id": agency_id("scjgj"), "participant_ids": [coord.id], "room_id": room_id()}, now=NOW)
    services.schedule(coord, interview.id, at("2026-09-24", "09:00"), now=NOW)
    busy("scjg_coord", at("2026-09-25", "09:00"), at("2026-09-25", "11:00"), "家中有事")
    login(client, "scjg_officer")
    mine = client.get(f"/scheduling/week?kind=person&id={coord.id}&date=2026-09-24").get_data(as_text=True)
    assert "周视图测试约谈" in mine and "家中有事" in mine and "09:00–10:30" in mine
    room = client.get(f"/scheduling/week?kind=room&id={room_id()}&date=2026-09-22").get_data(as_text=True)
    assert "周视图测试约谈" in room
    assert "休" in client.get("/scheduling/week?kind=agency&date=2026-10-01").get_data(as_text=True)
    login(client, "gafj_officer")
    theirs = client.get(f"/scheduling/week?kind=person&id={coord.id}&date=2026-09-24").get_data(as_text=True)
    assert "周视图测试约谈" not in theirs and "其他单位约谈（已占用）" in theirs
    assert "家中有事" not in theirs and "忙碌" in theirs


def test_the_office_manages_rooms(app, client, api):
    login(client, "admin")
    token = csrf_token(client, "/scheduling/rooms")
    resp = client.post("/scheduling/rooms", data={"name": "区司法局第二会议室", "location": "4 楼", "capacity": "12",
                                                  "email": "room-sfj-2@spb.example.cn", "csrf_token": token})
    assert resp.status_code == 303
    dup = client.post("/scheduling/rooms", data={"name": "区司法局第二会议室", "capacity": "12", "csrf_token": token})
    assert dup.status_code == 400 and "已有同名会议室" in dup.get_data(as_text=True)
    names = {r["name"]: r for r in api("viewer").get("/api/v1/rooms").json}
    assert names["区司法局第二会议室"]["email"] == "room-sfj-2@spb.example.cn"
    rid = names["区司法局第二会议室"]["id"]
    client.post(f"/scheduling/rooms/{rid}", data={"name": "区司法局第二会议室", "capacity": "12", "active": "0",
                                                  "csrf_token": token})
    assert "区司法局第二会议室" not in {r["name"] for r in api("viewer").get("/api/v1/rooms").json}
    login(client, "scjg_coord")
    assert client.post("/scheduling/rooms", data={"name": "x", "capacity": "3",
                                                  "csrf_token": csrf_token(client, "/scheduling/rooms")}).status_code == 403
