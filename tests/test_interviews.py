"""Joint interviews: the state machine, bad input, clashes, scoping, rectification and follow-ups."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.errors import Conflict, DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.interviews import services
from coord.interviews.models import Interview
from coord.interviews.validation import credit_code_error, id_number_error
from coord.parties.models import Party
from coord.scheduling import services as sched
from coord.scheduling.models import Booking
from tests.conftest import login, user_by_name
from tests.interview_fixtures import NOW, VALID_CREDIT_CODE, agency_id, at, busy, interview_data, room_id


def counts() -> tuple[int, int, int, int]:
    return tuple(db.session.execute(sa.select(sa.func.count()).select_from(m)).scalar_one()
                 for m in (Interview, Booking, AuditEntry, Party))


def active_bookings(interview_id: int) -> list[tuple[str, str]]:
    rows = db.session.execute(sa.select(Booking).where(Booking.interview_id == interview_id,
                                                       Booking.active.is_(True))).scalars()
    return sorted((b.resource, b.start_at.astimezone(NOW.tzinfo).strftime("%m-%d %H:%M")) for b in rows)


def make(**overrides) -> Interview:
    return services.create(user_by_name("scjg_coord"), interview_data(**overrides), now=NOW)


def test_credit_code_and_id_number_check_digits():
    assert credit_code_error(VALID_CREDIT_CODE) is None
    assert credit_code_error("91350100M000100Y43") is None  # a published example
    assert "校验位" in credit_code_error("91350100M000100Y44")
    assert "18 位" in credit_code_error("9135010")
    assert "无效字符" in credit_code_error("91350100M000100YI3")
    assert id_number_error("11010519491231002X") is None
    assert "校验位" in id_number_error("110105194912310021")


def test_state_machine_draft_scheduled_rescheduled_cancelled(app):
    coord, cgj = user_by_name("scjg_coord"), user_by_name("cgj_coord")
    interview = make()
    assert interview.status == "draft" and interview.sequence == 0 and interview.uid.endswith("@coord")
    roles = {a.agency.name: (a.role, a.confirmation) for a in interview.agencies}
    assert roles == {"区市场监管局": ("lead", "confirmed"), "区城市管理局": ("co", "pending")}
    invitees = services.participants_of(interview)
    assert [(p.name, p.kind, p.is_lead) for p in invitees] == [
        ("张堃", "official", True), ("陈志强", "official", False), ("王某", "party", False)]

    with pytest.raises(DomainError, match="不能改期"):
        services.reschedule(coord, interview.id, at("2026-09-28", "09:00"), now=NOW)
    with pytest.raises(DomainError, match="排期后才能确认"):
        services.respond(cgj, interview.id, "confirmed")

    services.schedule(coord, interview.id, at("2026-09-24", "09:00"), now=NOW)
    assert interview.status == "scheduled" and interview.sequence == 1
    party, room = f"party:{interview.party_id}", f"room:{room_id()}"
    people = [f"user:{user_by_name('cgj_officer').id}", f"user:{coord.id}"]
    assert active_bookings(interview.id) == sorted((r, "09-24 09:00") for r in [party, room, *people])
    with pytest.raises(DomainError, match="不能排期"):
        services.schedule(coord, interview.id, at("2026-09-28", "09:00"), now=NOW)

    with pytest.raises(DomainError, match="拒绝时须填写原因"):
        services.respond(cgj, interview.id, "declined", "")
    services.respond(cgj, interview.id, "declined", "当日有执法专项行动")
    row = next(a for a in interview.agencies if a.role == "co")
    assert (row.confirmation, row.reason) == ("declined", "当日有执法专项行动")

    services.reschedule(coord, interview.id, at("2026-09-28", "14:00"), "协办单位时间冲突", now=NOW)
    assert interview.sequence == 2 and row.confirmation == "pending"  # everyone confirms the new time again
    assert {t for _, t in active_bookings(interview.id)} == {"09-28 14:00"}
    services.respond(cgj, interview.id, "confirmed")
    assert row.confirmation == "confirmed"

    with pytest.raises(DomainError, match="开始后才能"):
        services.mark_held(coord, interview.id, now=NOW)
    with pytest.raises(DomainError, match="取消原因"):
        services.cancel(coord, interview.id, "  ")
    services.cancel(coord, interview.id, "当事人已主动整改完毕")
    assert interview.status == "cancelled" and interview.sequence == 3
    assert active_bookings(interview.id) == []  # the time is free again; the rows stay (inactive)
    for call in (lambda: services.cancel(coord, interview.id, "再次取消"),
                 lambda: services.reschedule(coord, interview.id, at("2026-09-29", "09:00"), now=NOW),
                 lambda: services.mark_held(coord, interview.id, now=NOW)):
        with pytest.raises(DomainError):
            call()
    actions = [e.action for e in db.session.execute(sa.select(AuditEntry).where(
        AuditEntry.entity_type == "interview", AuditEntry.entity_id == str(interview.id))
        .order_by(AuditEntry.id)).scalars()]
    assert actions == ["interview.create", "interview.schedule", "interview.declined", "interview.reschedule",
                       "interview.confirmed", "interview.cancel"]


def test_only_the_lead_agency_organises_and_only_co_agencies_respond(app):
    interview = make()
    services.schedule(user_by_name("scjg_coord"), interview.id, at("2026-09-24", "09:00"), now=NOW)
    with pytest.raises(Forbidden):
        services.reschedule(user_by_name("cgj_coord"), interview.id, at("2026-09-28", "09:00"), now=NOW)
    with pytest.raises(Forbidden):
        services.cancel(user_by_name("scjg_officer"), interview.id, "officers do not organise")
    with pytest.raises(Forbidden, match="不是本次约谈的协办单位"):
        services.respond(user_by_name("scjg_coord"), interview.id, "confirmed")
    with pytest.raises(NotFound):
        services.respond(user_by_name("sthj_coord"), interview.id, "confirmed")
    # The leading-group office may organise any interview.
    services.reschedule(user_by_name("admin"), interview.id, at("2026-09-28", "09:00"), now=NOW)


def test_held_interview_rectification_follow_up_visit_and_escalation(app):
    coord = user_by_name("scjg_coord")
    interview = make()
    services.schedule(coord, interview.id, at("2026-09-24", "09:00"), now=NOW)
    with pytest.raises(DomainError, match="约谈举行后"):
        services.add_item(coord, interview.id, "清理占道物品", date(2026, 9, 30), today=date(2026, 9, 24))
    services.mark_held(coord, interview.id, now=at("2026-09-24", "09:05"))
    assert interview.status == "held"
    with pytest.raises(DomainError, match="整改期限"):
        services.add_item(coord, interview.id, "清理占道物品", None, today=date(2026, 9, 24))
    with pytest.raises(DomainError, match="2031 年的工作日历尚未录入"):  # beyond every year of the table
        services.add_item(coord, interview.id, "远期整改", date(2030, 12, 31), today=date(2026, 9, 24))
    item = services.add_item(coord, interview.id, "七日内清理占道物品并安装油烟净化设施", date(2026, 9, 30),
                             today=date(2026, 9, 24))
    visit = item.follow_ups[0]
    # The visit falls on the first working day after the deadline: National Day lies between.
    assert visit.due == date(2026, 10, 8) and visit.agency_id == agency_id("scjgj") and visit.status == "pending"
    assert [v.id for v in services.follow_ups(user_by_name("scjg_officer"))] == [visit.id]
    assert services.follow_ups(user_by_name("cgj_coord")) == []  # the lead agency visits

    officer = user_by_name("scjg_officer")
    with pytest.raises(DomainError, match="情况说明"):
        services.record_visit(officer, visit.id, "not_rectified", "")
    with pytest.raises(DomainError, match="未整改"):
        services.escalate(coord, visit.id)
    services.record_visit(officer, visit.id, "not_rectified", "占道物品仍未清理", now=at("2026-10-08", "15:00"))
    assert (visit.status, visit.result) == ("done", "not_rectified")
    with pytest.raises(DomainError, match="已登记"):
        services.record_visit(officer, visit.id, "rectified", "")
    with pytest.raises(Forbidden):
        services.escalate(user_by_name("cgj_coord"), visit.id, {"to_agency_id": agency_id("cgj")})
    with pytest.raises(DomainError, match="接收线索的行政执法部门"):
        services.escalate(coord, visit.id, {})
    # Escalation now creates a lead (issue 6) from the lead agency to the chosen enforcement agency.
    services.escalate(coord, visit.id, {"to_agency_id": agency_id("cgj")}, now=at("2026-10-09", "10:00"))
    assert visit.escalated and visit.escalated_by_id == coord.id and visit.lead is not None
    assert (visit.lead.from_agency_id, visit.lead.to_agency_id) == (agency_id("scjgj"), agency_id("cgj"))
    with pytest.raises(DomainError, match="已升级"):
        services.escalate(coord, visit.id, {"to_agency_id": agency_id("cgj")})


def test_bad_input_gives_a_clear_message_and_saves_nothing(app):
    coord = user_by_name("scjg_coord")
    draft = make()
    before = counts()
    cases = [
        (lambda: services.schedule(coord, draft.id, at("2026-10-01", "09:00"), now=NOW), "不是工作日"),
        (lambda: services.schedule(coord, draft.id, at("2026-09-24", "12:30"), now=NOW), "工作时段"),
        (lambda: services.schedule(coord, draft.id, at("2026-09-24", "17:00"), now=NOW), "工作时段"),
        (lambda: services.schedule(coord, draft.id, at("2026-09-22", "09:00"), now=NOW), "至少提前 3 个工作日"),
        (lambda: services.schedule(coord, draft.id, at("2030-03-01", "09:00"), now=NOW), "2030 年的工作日历尚未录入"),
        (lambda: make(participant_ids=[coord.id, user_by_name("gafj_officer").id]), "不是本次约谈的牵头或协办单位"),
        (lambda: make(room_id=99999), "会议室不存在"),
        (lambda: make(party={"name": "某公司", "credit_code": "91350100M000100Y44"}), "校验位不正确"),
        (lambda: make(party={"kind": "organisation", "name": "某公司"}), "统一社会信用代码"),
        (lambda: make(title=" "), "约谈事由"),
        (lambda: make(problem_kind="regional", region_agency_id=agency_id("cgj")), "镇或街道"),
        (lambda: make(problem_kind="sector", sector=""), "所属行业"),
        (lambda: make(participant_ids=[]), "至少选择一名"),
        (lambda: make(duration_minutes=5), "约谈时长"),
        (lambda: make(attendees=[{"name": "王某", "email": "not-an-email"}]), "电子邮箱"),
        (lambda: make(start=at("2026-10-02", "09:00")), "不是工作日"),
        (lambda: services.create(user_by_name("scjg_officer"), interview_data()), "只有联络员"),
        (lambda: services.create(coord, interview_data(lead_agency_id=agency_id("cgj"))), "本单位为牵头单位"),
        (lambda: sched.add_busy(coord, coord.id, at("2026-09-24", "10:00"), at("2026-09-24", "09:00"), "培训"),
         "结束时间须晚于开始时间"),
        (lambda: sched.add_busy(coord, coord.id, at("2026-09-24", "09:00"), at("2026-09-24", "10:00"), ""), "事由"),
        (lambda: services.suggest(coord, [coord.id], None, 90, at("2026-09-30", "00:00"), at("2026-09-29", "00:00"),
                                  now=NOW), "结束时间须晚于开始时间"),
        (lambda: services.suggest(coord, [coord.id], 99999, 90, at("2026-09-24", "00:00"), at("2026-09-30", "00:00"),
                                  now=NOW), "会议室不存在"),
        (lambda: services.suggest(coord, [coord.id], None, 90, at("2030-03-01", "00:00"), at("2030-03-30", "00:00"),
                                  now=at("2026-12-21", "09:00")), "2030 年的工作日历尚未录入"),
    ]
    for call, message in cases:
        with pytest.raises(DomainError, match=message):
            call()
        db.session.rollback()  # as the request teardown does
        assert counts() == before, message
    assert db.session.get(Interview, draft.id).status == "draft"


def test_a_clash_is_refused_with_the_conflict_named_and_fresh_alternatives(app):
    coord = user_by_name("scjg_coord")
    busy("cgj_officer", at("2026-09-24", "09:00"), at("2026-09-24", "10:00"), "安全生产培训")
    first = make()
    with pytest.raises(Conflict) as info:
        services.schedule(coord, first.id, at("2026-09-24", "09:00"), now=NOW)
    err = info.value
    assert "陈志强（区城市管理局）" in err.message and "安全生产培训" in err.message
    assert err.details["conflicts"][0]["kind"] == "busy"
    alternatives = err.details["alternatives"]
    assert alternatives and alternatives[0]["start"] == "2026-09-24T10:30:00+08:00"  # 10:00 + 15 min buffer, on grid
    db.session.rollback()

    services.schedule(coord, first.id, at("2026-09-24", "10:30"), now=NOW)
    # A second interview for the same official overlapping the first (10:30–12:00) is refused.
    second = make(participant_ids=[coord.id], room_id=None, party={"name": "另一当事人", "kind": "person"},
                  duration_minutes=60)
    with pytest.raises(Conflict, match="已有其他约谈安排"):
        services.schedule(coord, second.id, at("2026-09-24", "11:00"), now=NOW)
    db.session.rollback()
    services.schedule(coord, second.id, at("2026-09-24", "14:00"), now=NOW)
    assert second.status == "scheduled"


def test_the_party_cannot_be_summoned_to_two_interviews_at_once(app):
    coord = user_by_name("scjg_coord")
    first = make(participant_ids=[coord.id], room_id=None)
    services.schedule(coord, first.id, at("2026-09-24", "09:00"), now=NOW)
    other = make(participant_ids=[user_by_name("cgj_officer").id], room_id=None)
    assert other.party_id == first.party_id  # same credit code: same party record
    with pytest.raises(Conflict, match="当事人：重庆某某餐饮管理有限公司"):
        services.schedule(coord, other.id, at("2026-09-24", "09:00"), now=NOW)


def test_changing_people_of_a_scheduled_interview_rebooks_and_raises_sequence(app):
    coord = user_by_name("scjg_coord")
    interview = make()
    services.schedule(coord, interview.id, at("2026-09-24", "09:00"), now=NOW)
    sthj = user_by_name("sthj_coord")
    busy("sthj_coord", at("2026-09-24", "09:30"), at("2026-09-24", "10:00"), "外出检查")
    with pytest.raises(Conflict, match="赵敏"):
        services.update(coord, interview.id, {"agency_ids": [agency_id("cgj"), agency_id("sthjj")],
                                              "participant_ids": [coord.id, sthj.id]}, now=NOW)
    db.session.rollback()
    interview = db.session.get(Interview, interview.id)
    assert interview.sequence == 1 and len(interview.participants) == 2
    services.update(coord, interview.id, {"agency_ids": [agency_id("sthjj")], "participant_ids": [coord.id],
                                          "room_id": None}, now=NOW)
    assert interview.sequence == 2
    assert [a.agency.name for a in interview.agencies] == ["区市场监管局", "区生态环境局"]
    assert active_bookings(interview.id) == sorted([(f"party:{interview.party_id}", "09-24 09:00"),
                                                    (f"user:{coord.id}", "09-24 09:00")])


def test_scoping_an_agency_not_in_the_interview_gets_404_everywhere(app, client, api):
    interview = make()
    services.schedule(user_by_name("scjg_coord"), interview.id, at("2026-09-24", "09:00"), now=NOW)
    outsider = api("sthj_coord")
    assert outsider.get(f"/api/v1/interviews/{interview.id}").status_code == 404
    for action, body in [("schedule", {"start": "2026-09-28T09:00:00+08:00"}), ("cancel", {"reason": "x"}),
                         ("reschedule", {"start": "2026-09-28T09:00:00+08:00"}), ("respond", {"decision": "confirmed"})]:
        resp = outsider.post(f"/api/v1/interviews/{interview.id}/{action}", json=body)
        assert resp.status_code == 404, action
        assert resp.json["message"] == "约谈不存在或您无权查看。"
    assert outsider.get("/api/v1/interviews").json == []
    login(client, "sthj_coord")
    for path in [f"/interviews/{interview.id}", f"/audit/interview/{interview.id}"]:
        assert client.get(path).status_code == 404, path
    token = client.get("/interviews/").get_data(as_text=True)
    assert interview.title not in token
    assert client.get(f"/scheduling/week?kind=agency&id={agency_id('scjgj')}").status_code == 404
    # A co-organiser sees it (200) but may not reschedule it (403).
    co = api("cgj_officer")
    assert co.get(f"/api/v1/interviews/{interview.id}").status_code == 200
    assert co.post(f"/api/v1/interviews/{interview.id}/cancel", json={"reason": "x"}).status_code == 403
    assert api("admin").get(f"/api/v1/interviews/{interview.id}").status_code == 200
