"""Importing the State Council notice, and every clock following the calendar when it lands.

Real database (SQLite or PostgreSQL), real services and listeners; the 2027 notice is a test text in
the published wording (tests/fixtures/notices/2027-test.txt) that makes 2027-01-04 and 01-05 days off.
"""
from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from coord import events
from coord.accounts.models import User
from coord.audit import services as audit_services
from coord.audit.models import AuditEntry
from coord.errors import Conflict, Forbidden
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import FollowUp, Interview
from coord.notify.models import OutboxMessage
from coord.referrals import police
from coord.referrals import services as leads
from coord.referrals.models import Lead, PoliceReferral
from coord.timeutil import local_today
from coord.workdays import imports
from coord.workdays import services as workdays
from coord.workdays.models import CalendarYear, WorkDay
from coord.workdays.notice import NoticeError
from tests.interview_fixtures import at as local_at
from tests.interview_fixtures import interview_data
from tests.referrals_fixtures import at, make_lead, user
from tests.test_workdays_notice import NOTICES
from tests.worklist_fixtures import has, tasks_of

TODAY = date(2026, 12, 1)
NOTICE_2027 = (NOTICES / "2027-test.txt").read_text(encoding="utf-8")


@pytest.fixture(autouse=True)
def _years_through_2027(app):
    """2027 exists and is provisional, as it is on 2026-12-01 (whatever day the suite runs)."""
    workdays.ensure_years(TODAY)
    assert db.session.get(CalendarYear, 2027).status == "provisional"


def _reload(model, record_id):
    db.session.expire_all()
    return db.session.get(model, record_id)


def _published(name: str) -> str:
    return (NOTICES / name).read_text(encoding="utf-8")


# --- provisional years ---------------------------------------------------------------------------

def test_a_provisional_year_is_built_from_the_statutory_holidays_and_weekends(app):
    year = db.session.get(CalendarYear, 2027)
    assert "2024年修订" in year.source
    days = {d.day: d for d in workdays.days(date(2027, 1, 1), date(2027, 12, 31))}
    assert len(days) == 365 and all(d.source == "provisional" for d in days.values())
    off = sorted(d for d, row in days.items() if not row.is_workday and d.weekday() < 5)
    # 元旦 1, 春节 除夕–初三 (two on a weekend: 补假 on 02-09, 02-10), 清明, 劳动节 2 (both on a weekend: 05-03,
    # 05-04), 端午, 中秋, 国庆 3 (two on a weekend: 10-04, 10-05): never a make-up Saturday.
    assert off == [date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10),
                   date(2027, 4, 5), date(2027, 5, 3), date(2027, 5, 4), date(2027, 6, 9), date(2027, 9, 15),
                   date(2027, 10, 1), date(2027, 10, 4), date(2027, 10, 5)]
    assert not any(row.is_workday for d, row in days.items() if d.weekday() >= 5)
    assert workdays.statutory_rules_current()


def test_ensure_years_keeps_the_horizon_and_the_office_sets_it(app):
    assert workdays.ensure_years(TODAY) == []  # idempotent
    assert db.session.get(CalendarYear, 2028) is None
    workdays.set_years_ahead(user("admin"), 2)
    workdays.ensure_years(TODAY)
    assert db.session.get(CalendarYear, 2028).status == "provisional"
    assert len(workdays.days(date(2028, 1, 1), date(2028, 12, 31))) == 366
    with pytest.raises(Forbidden):
        workdays.set_years_ahead(user("scjg_coord"), 3)
    # A day beyond every year in the table is still an error.
    with pytest.raises(workdays.CalendarMissing, match="2029"):
        workdays.add_working_days(date(2028, 12, 29), 3)


def test_the_hourly_task_builds_the_next_year(app):
    from coord.notify import tasks as notify_tasks
    from coord.workdays.tasks import calendar_years

    notify_tasks.configure(app)
    db.session.execute(sa.delete(WorkDay).where(WorkDay.day >= date(2027, 1, 1)))
    db.session.execute(sa.delete(CalendarYear).where(CalendarYear.year >= 2027))
    db.session.commit()
    workdays.forget_years()
    built = calendar_years.call_local()
    db.session.rollback()
    today = local_today()
    assert built == [y for y in range(today.year, today.year + 2) if y >= 2027]
    assert workdays.known_years()[-1] == today.year + 1


def test_a_lead_referred_on_2026_12_28_gets_a_provisional_deadline(api):
    lead = make_lead(now=at(2026, 12, 28))
    lead = leads.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 12, 28, 11))
    assert lead.due_on == date(2027, 1, 5)  # 12-29, 12-30, 12-31, (元旦), 01-04, 01-05
    body = api("scjg_officer").get(f"/api/v1/leads/{lead.id}").json
    assert body["deadline"]["due_date"] == "2027-01-05" and body["deadline"]["provisional"] is True
    days = api("viewer").get("/api/v1/calendar/days?from=2026-12-31&to=2027-01-01").json["days"]
    assert [(d["date"], d["provisional"]) for d in days] == [("2026-12-31", False), ("2027-01-01", True)]
    years = {y["year"]: y for y in api("viewer").get("/api/v1/calendar/years").json["years"]}
    assert years[2026]["status"] == "official" and years[2027]["status"] == "provisional"
    assert years[2027]["source"]


# --- the published notices change nothing --------------------------------------------------------

@pytest.mark.parametrize("name", ["2023.txt", "2024.txt", "2025-halfwidth.txt", "2026.txt", "2026-pdf.txt"])
def test_a_published_notice_makes_zero_changes_against_the_seeded_table(app, name):
    result = imports.preview(user("admin"), _published(name), today=TODAY)
    assert result.changes == [] and result.created == 0
    assert result.affected == {"leads": [], "interviews": [], "follow_ups": []}


def test_the_api_preview_lists_holidays_workdays_and_changes(api):
    resp = api("admin").post("/api/v1/calendar/notice", json={"text": _published("2026.txt"), "apply": False})
    assert resp.status_code == 200
    body = resp.json
    assert body["year"] == 2026 and body["changes"] == [] and "applied" not in body
    assert {"date": "2026-02-21", "name": "春节"} in body["holidays"]  # a Saturday inside the range
    assert body["workdays"] == ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
    assert body["affected"] == {"leads": [], "interviews": [], "follow_ups": []}


# --- importing 2027 ----------------------------------------------------------------------------------

def _scenario():
    """Records whose dates are counted over 2027-01-04/05, and one police referral beside them."""
    reply = make_lead(now=at(2026, 12, 28))
    reply = leads.acknowledge(user("scjg_officer"), reply.id, now=at(2026, 12, 28, 11))
    ack = make_lead(now=at(2026, 12, 31))  # acknowledge by 01-04, return by 01-05 (provisional)
    coord = user("scjg_coord")
    interview = interviews.create(coord, interview_data(start=local_at("2027-01-04", "10:00")),
                                  now=local_at("2026-12-21", "09:00"))
    held = interviews.create(coord, interview_data(title="某超市价格标示问题约谈", start=local_at("2026-12-10", "10:00")),
                             now=local_at("2026-12-07", "09:00"))
    interviews.mark_held(coord, held.id, now=local_at("2026-12-10", "11:00"))
    item = interviews.add_item(coord, held.id, "规范价格标签", date(2026, 12, 31), today=date(2026, 12, 10))
    visit = item.follow_ups[0]
    report = police.create(user("scjg_officer"), {"party_name": "某某食品厂", "suspected_crime": "销售伪劣产品罪",
                                                   "facts": "货值逾五万元。"}, now=at(2027, 1, 3, 9))
    return reply, ack, interview, visit, report


def test_importing_the_2027_notice_moves_the_clocks_audits_and_tells_people(api):
    reply, ack, interview, visit, report = _scenario()
    assert (ack.ack_due, ack.return_due, visit.due) == (date(2027, 1, 4), date(2027, 1, 5), date(2027, 1, 4))
    police_due = report.due_at
    # Before the notice the office's worklist asks for it (from 1 November); no one else's does.
    december, october = at(2026, 12, 1), at(2026, 10, 30)
    assert tasks_of("admin", now=december)["calendar_provisional"] == {2027}
    assert "calendar_provisional" not in tasks_of("admin", now=october)
    assert "calendar_provisional" not in tasks_of("scjg_coord", now=december)
    outbox_before = db.session.execute(sa.select(sa.func.count()).select_from(OutboxMessage)).scalar_one()

    preview = api("admin").post("/api/v1/calendar/notice", json={"text": NOTICE_2027, "apply": False}).json
    assert {"date": "2027-01-05", "is_workday": False, "was_workday": True} in preview["changes"]
    assert {"date": "2027-01-09", "is_workday": True, "was_workday": False} in preview["changes"]
    assert sorted(preview["affected"]["leads"]) == sorted([reply.id, ack.id])
    assert preview["affected"]["interviews"] == [interview.id]
    assert preview["affected"]["follow_ups"] == [visit.id]
    assert _reload(Lead, reply.id).due_on == date(2027, 1, 5)  # a preview changes nothing

    with events.recorded() as seen:
        resp = api("admin").post("/api/v1/calendar/notice",
                                 json={"text": NOTICE_2027, "apply": True, "version": preview["version"]})
    assert resp.status_code == 200 and resp.json["applied"] is True
    assert resp.json["changes"] == preview["changes"]
    year = _reload(CalendarYear, 2027)
    assert year.status == "official" and "2027年部分节假日安排" in year.source and year.notice_text
    assert year.version == preview["version"] + 1

    # The reply clock: 12-29, 12-30, 12-31, then 01-06, 01-07 (01-04/05 are now days off).
    reply = _reload(Lead, reply.id)
    assert (reply.due_on, reply.reply_due, reply.warn_on) == (date(2027, 1, 7), date(2027, 1, 7), date(2027, 1, 6))
    assert reply.ack_due == date(2026, 12, 29)  # a stopped clock does not move
    ack = _reload(Lead, ack.id)
    assert (ack.due_on, ack.ack_due, ack.return_due) == (date(2027, 1, 6), date(2027, 1, 6), date(2027, 1, 7))
    assert _reload(FollowUp, visit.id).due == date(2027, 1, 6)
    flagged = _reload(Interview, interview.id)
    assert flagged.off_day == date(2027, 1, 4) and flagged.status == "scheduled"
    assert flagged.start_at == interview.start_at  # flagged, never moved
    assert "已调整为休息日" in flagged.off_day_warning
    # The office and the organiser see it on the worklist until it is moved; the year's warning is gone.
    organiser = db.session.get(User, flagged.created_by_id).username
    assert has("admin", "interview_off_day", flagged.id, now=december)
    assert has(organiser, "interview_off_day", flagged.id, now=december)
    assert "calendar_provisional" not in tasks_of("admin", now=december)
    assert _reload(PoliceReferral, report.id).due_at == police_due  # 310号令: calendar days, untouched

    entries = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "lead.deadline_moved",
                                                             AuditEntry.entity_id == str(reply.id))).scalars().all()
    assert len(entries) == 1
    assert '"due_on":"2027-01-05"' in entries[0].before and '"due_on":"2027-01-07"' in entries[0].after
    assert db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "calendar.notice")).scalar_one()
    assert db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "interview.off_day",
                                                          AuditEntry.entity_id == str(interview.id))).scalar_one()
    assert db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "interview.follow_up_due")).scalar_one()

    mails = db.session.execute(sa.select(OutboxMessage).order_by(OutboxMessage.id).offset(outbox_before)).scalars().all()
    lead_mails = [m for m in mails if m.subject.startswith("【期限调整】")]
    receiver = next(m for m in lead_mails if "scjg_officer@spb.example.cn" in m.to_addrs)
    sender = next(m for m in lead_mails if "cgj_coord@spb.example.cn" in m.to_addrs)
    for mail in (receiver, sender):
        assert reply.number in mail.text and "2027-01-05 → 2027-01-07" in mail.text and ack.number in mail.text
    organiser = next(m for m in mails if m.subject.startswith("【约谈日期变为休息日】"))
    assert "scjg_coord@spb.example.cn" in organiser.to_addrs and "2027-01-04" in organiser.text
    assert any(m.subject.startswith("【回访日期调整】") for m in mails)

    names = [e.name for e in seen]
    assert names.count("lead-deadline-moved") == 2 and "interview-flagged" in names
    assert "follow-up-due-moved" in names and "calendar-days-changed" in names
    moved = next(e for e in seen if e.name == "lead-deadline-moved" and e.record_id == reply.id)
    assert moved.data["before"]["due_on"] == "2027-01-05" and moved.data["after"]["due_on"] == "2027-01-07"
    assert api("scjg_officer").get(f"/api/v1/leads/{reply.id}").json["deadline"]["provisional"] is False
    assert audit_services.verify().ok  # the entries written in one go are chained like any other


def test_the_same_notice_twice_changes_nothing_the_second_time(api):
    admin = api("admin")
    first = admin.post("/api/v1/calendar/notice", json={"text": NOTICE_2027, "apply": True}).json
    assert first["changes"]
    entries = db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one()
    again = admin.post("/api/v1/calendar/notice", json={"text": NOTICE_2027, "apply": True})
    assert again.status_code == 200 and again.json["changes"] == [] and again.json["applied"] is True
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one() == entries


def test_a_stale_preview_is_refused_and_says_so(api):
    admin = api("admin")
    preview = admin.post("/api/v1/calendar/notice", json={"text": NOTICE_2027}).json
    workdays.set_day(user("admin"), date(2027, 3, 1), False, "临时调整")  # someone changes 2027 meanwhile
    resp = admin.post("/api/v1/calendar/notice",
                      json={"text": NOTICE_2027, "apply": True, "version": preview["version"]})
    assert resp.status_code == 409 and "预览已过期" in resp.json["message"] and resp.json["stale"] is True
    assert _reload(CalendarYear, 2027).status == "provisional"


def test_two_applies_at_once_one_wins_the_other_is_stale(app):
    version = imports.preview(user("admin"), NOTICE_2027, today=TODAY).version
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    results: list[object] = []
    barrier = threading.Barrier(2)

    def worker():
        from coord import create_app

        other = create_app({**{k: app.config[k] for k in ("TESTING", "SECRET_KEY", "HUEY_SQLITE_PATH")},
                            "SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_STORAGE_URI": "memory://"})
        with other.app_context():
            admin = user("admin")
            barrier.wait()
            try:
                results.append(imports.apply(admin, NOTICE_2027, version=version, today=TODAY))
            except Conflict as err:
                results.append(err)
            finally:
                db.session.remove()
                db.engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = [r for r in results if isinstance(r, imports.Preview)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "预览已过期" in lost[0].message
    db.session.rollback()  # a new snapshot: the other connections' commits
    assert db.session.get(CalendarYear, 2027).version == version + 1
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "calendar.notice")).scalar_one() == 1


# --- bad input ---------------------------------------------------------------------------------------

def test_only_the_office_imports(api):
    resp = api("scjg_coord").post("/api/v1/calendar/notice", json={"text": NOTICE_2027})
    assert resp.status_code == 403
    with pytest.raises(Forbidden):
        imports.apply(user("cgj_coord"), NOTICE_2027)


def test_unreadable_text_is_400_with_the_line_and_nothing_changes(api):
    admin = api("admin")
    before = db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one()
    broken = NOTICE_2027.replace("1月9日（周六）上班", "1月9日（周六）调整")
    resp = admin.post("/api/v1/calendar/notice", json={"text": broken, "apply": True})
    assert resp.status_code == 400 and resp.json["line"] == 7 and resp.json["message"]
    other = admin.post("/api/v1/calendar/notice", json={"text": "关于开展安全生产大检查的通知\n请各单位自查。",
                                                        "apply": True})
    assert other.status_code == 400 and other.json["line"] == 1 and "不是" in other.json["message"]
    twice = NOTICE_2027.replace("1月9日（周六）上班", "1月3日（周日）上班")
    resp = admin.post("/api/v1/calendar/notice", json={"text": twice, "apply": True})
    assert resp.status_code == 400 and "既是放假日又是上班日" in resp.json["message"]
    assert db.session.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one() == before
    assert _reload(CalendarYear, 2027).status == "provisional"
    missing = admin.post("/api/v1/calendar/notice", json={"apply": True})
    assert missing.status_code == 422


def test_a_year_before_2000_or_more_than_two_years_ahead_is_refused():
    with pytest.raises(NoticeError, match="只能导入 2000 年至 2028 年"):
        imports.read(_published("2026.txt").replace("2026年", "1999年"), today=TODAY)
    with pytest.raises(NoticeError) as err:
        imports.read(NOTICE_2027.replace("2027年", "2029年"), today=TODAY)
    assert err.value.line == 1


def test_a_day_toggled_by_the_office_moves_the_clocks_too(app):
    lead = make_lead(now=at(2026, 12, 28))
    lead = leads.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 12, 28, 11))
    assert lead.due_on == date(2027, 1, 5)
    workdays.set_day(user("admin"), date(2026, 12, 30), False, "临时停电，全区休息")
    assert _reload(Lead, lead.id).due_on == date(2027, 1, 6)
    workdays.set_range(user("admin"), date(2027, 1, 2), date(2027, 1, 3), True, "调休上班")
    assert _reload(Lead, lead.id).due_on == date(2027, 1, 4)  # 12-29, 12-31, 01-02, 01-03, 01-04
    entries = db.session.execute(sa.select(AuditEntry.action).where(
        AuditEntry.entity_type == "lead", AuditEntry.entity_id == str(lead.id))).scalars().all()
    assert entries.count("lead.deadline_moved") == 2


def test_the_day_table_counts_with_changes_laid_over_and_stops_at_a_gap(app):
    table = workdays.DayTable({date(2027, 1, 4): False, date(2027, 1, 9): True})
    assert table.count(date(2026, 12, 31), date(2027, 1, 11)) == 6  # 01-05..08, Saturday 01-09, 01-11 (not 01-04)
    assert table.nth_after(date(2026, 12, 31), 1) == date(2027, 1, 5)
    assert table.nth_after(date(2027, 1, 8), 1) == date(2027, 1, 9)  # the make-up Saturday
    plain = workdays.DayTable()
    assert plain.nth_after(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert plain.nth_after(date(2026, 12, 31), 60) == workdays.add_working_days(date(2026, 12, 31), 60)
    with pytest.raises(workdays.CalendarMissing, match="2028"):
        plain.nth_after(date(2027, 12, 30), 3)


def test_the_commands_build_years_and_preview_or_apply_a_notice(app, tmp_path):
    runner = app.test_cli_runner()
    out = runner.invoke(args=["calendar-ensure"])
    assert out.exit_code == 0 and "2027  provisional" in out.output
    path = tmp_path / "notice.txt"
    path.write_text(NOTICE_2027, encoding="utf-8")
    out = runner.invoke(args=["calendar-import", str(path)])
    assert out.exit_code == 0 and "12 天变化（预览，未写入" in out.output and "2027-01-05  上班 → 休息" in out.output
    assert _reload(CalendarYear, 2027).status == "provisional"
    out = runner.invoke(args=["calendar-import", str(path), "--apply"])
    assert out.exit_code == 0 and "已导入" in out.output
    assert _reload(CalendarYear, 2027).status == "official"
    path.write_text("随便一段文字", encoding="utf-8")
    out = runner.invoke(args=["calendar-import", str(path)])
    assert out.exit_code != 0 and "第 1 行" in out.output


def test_a_notice_for_a_year_not_yet_built_creates_it_official(api):
    import re

    text = re.sub(r"（[^）]*）", "", NOTICE_2027).replace("2027年", "2028年").replace("2026年", "2027年")
    assert db.session.get(CalendarYear, 2028) is None
    preview = imports.preview(user("admin"), text, today=TODAY)
    assert preview.created == 366 and preview.changes == [] and preview.version == 0 and preview.status is None
    body = api("admin").post("/api/v1/calendar/notice", json={"text": text, "apply": True, "version": 0}).json
    assert body["applied"] is True and body["year"] == 2028
    year = _reload(CalendarYear, 2028)
    assert year.status == "official" and year.version == 1
    assert len(workdays.days(date(2028, 1, 1), date(2028, 12, 31))) == 366
    assert _reload(WorkDay, date(2028, 1, 4)).is_workday is False  # 1月1日至5日
