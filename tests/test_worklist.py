"""The worklist (工作台): each kind of task appears for the right people and leaves when it is done;
the home page, the badges and the API show the same; a page costs no query for them in steady state;
and nobody sees another agency's records."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from coord import create_app
from coord.extensions import db
from coord.interviews import services as interviews
from coord.lists import services as lists
from coord.minutes import services as minutes
from coord.referrals import police
from coord.referrals import services as referrals
from coord.referrals.storage import Upload
from coord.timeutil import local_today
from coord.workdays.models import WorkDay
from coord.worklist import cache, queries
from tests.conftest import _overrides, csrf_token, login
from tests.interview_fixtures import NOW as INTERVIEW_NOW
from tests.interview_fixtures import ensure_calendar, interview_data
from tests.lists_fixtures import agency_id
from tests.minutes_fixtures import AFTER, START, content
from tests.referrals_fixtures import PDF, TXT, at, make_lead, user
from tests.worklist_fixtures import has, statements, tasks_of

MONDAY = at(2026, 11, 2, 9)  # a plain working week: 11-02 .. 11-06


def badge(html: str, label: str) -> int | None:
    """The count badge of a nav entry (None when it shows none)."""
    match = re.search(rf'>{label}(?: <span class="badge" title="待办">(\d+)</span>)?</a>', html)
    assert match, f"no nav entry {label}"
    return int(match.group(1)) if match.group(1) else None


@pytest.fixture
def today_calendar(app):
    """Tests at today's date: keep them working when the calendar table has not reached today yet."""
    ensure_calendar(local_today() - timedelta(days=30), 60)


def test_lead_tasks_follow_the_lead_from_referral_to_closing(app):
    lead = make_lead("cgj_coord", "scjgj", now=MONDAY)
    later = MONDAY + timedelta(hours=1)
    assert has("scjg_officer", "lead_acknowledge", lead.id, later)
    assert has("scjg_coord", "lead_acknowledge", lead.id, later)
    assert not has("cgj_coord", "lead_acknowledge", lead.id, later)  # the sender waits, nothing to do
    assert not has("viewer", "lead_acknowledge", lead.id, later)

    referrals.acknowledge(user("scjg_officer"), lead.id, now=later)
    assert not has("scjg_officer", "lead_acknowledge", lead.id, later)
    assert has("scjg_officer", "lead_reply", lead.id, later)

    referrals.request_extension(user("scjg_officer"), lead.id, 3, "需要调取监控。", now=later)
    assert has("cgj_coord", "extension_decide", lead.id, later)
    assert not has("cgj_officer", "extension_decide", lead.id, later)  # officers do not decide
    referrals.decide_extension(user("cgj_coord"), lead.id, True, now=later)
    assert not has("cgj_coord", "extension_decide", lead.id, later)

    referrals.supervise(user("admin"), lead.id, "请加快办理。", now=later)
    assert has("scjg_officer", "supervision_answer", lead.id, later)
    referrals.answer_supervision(user("scjg_officer"), lead.id, "正在核查，三日内回复。", now=later)
    assert not has("scjg_officer", "supervision_answer", lead.id, later)

    referrals.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "不构成违法。"}, now=later)
    assert not has("scjg_officer", "lead_reply", lead.id, later)
    assert has("cgj_coord", "lead_accept", lead.id, later)
    assert not has("cgj_officer", "lead_accept", lead.id, later)

    referrals.send_back(user("cgj_coord"), lead.id, "请补充现场照片。", now=later)
    assert not has("cgj_coord", "lead_accept", lead.id, later)
    assert has("scjg_officer", "lead_reply", lead.id, later)

    referrals.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "补充照片。"}, now=later)
    referrals.accept(user("cgj_coord"), lead.id, now=later)
    for name in ("cgj_coord", "scjg_officer", "scjg_coord"):
        assert all(lead.id not in ids for kind, ids in tasks_of(name, later).items() if kind.startswith("lead"))


def test_returned_lead_waits_for_the_sender_until_redirected(app):
    lead = make_lead("cgj_coord", "scjgj", now=MONDAY)
    referrals.return_lead(user("scjg_officer"), lead.id, "不属于本单位职责。", now=MONDAY)
    assert has("cgj_coord", "lead_redirect", lead.id, MONDAY)
    referrals.redirect(user("cgj_coord"), lead.id, agency_id("sthjj"), now=MONDAY)
    assert not has("cgj_coord", "lead_redirect", lead.id, MONDAY)
    assert has("sthj_coord", "lead_acknowledge", lead.id, MONDAY)
    assert not has("scjg_officer", "lead_acknowledge", lead.id, MONDAY)


def test_overdue_leads_of_every_agency_for_the_office(app):
    lead = make_lead("cgj_coord", "scjgj", now=MONDAY)  # acknowledge by 11-03
    thursday = at(2026, 11, 5, 9)
    assert has("admin", "lead_overdue", lead.id, thursday)
    assert not has("admin", "lead_overdue", lead.id, MONDAY)
    assert "lead_overdue" not in tasks_of("cgj_coord", thursday)  # only the office sees every agency
    with app.test_request_context():
        worklist = queries.compute(user("scjg_officer"), now=thursday)
    [task] = [t for r in worklist.sections for t in r.tasks if t.record_id == lead.id]
    assert task.state(worklist.today, thursday) == "overdue" and task.days_left == -2
    referrals.acknowledge(user("scjg_officer"), lead.id, now=thursday)  # the reply clock is not overdue
    assert not has("admin", "lead_overdue", lead.id, thursday)


def test_police_referral_is_on_the_list_of_the_side_that_must_act(app):
    start = at(2026, 11, 2, 9)
    item = police.create(user("cgj_officer"), {"party_name": "某车队", "suspected_crime": "污染环境罪",
                                               "facts": "非法倾倒危险废物。"}, now=start)
    assert has("cgj_coord", "police_referral", item.id, start)  # the head approves within 3 days
    assert not has("gafj_officer", "police_referral", item.id, start)
    police.approve(user("cgj_coord"), item.id, True, now=start)
    police.add_materials(user("cgj_officer"), item.id, [Upload("移送书.pdf", PDF, "letter"),
                                                        Upload("调查报告.txt", TXT, "report")])
    police.hand_over(user("cgj_officer"), item.id, now=start + timedelta(hours=2))
    assert has("gafj_officer", "police_referral", item.id, start)
    assert not has("cgj_officer", "police_referral", item.id, start)
    police.receipt(user("gafj_officer"), item.id, "回执001", now=start + timedelta(hours=3))
    assert has("gafj_officer", "police_referral", item.id, start)  # the 3-day decision clock still runs
    police.decide(user("gafj_officer"), item.id, {"decision": "case_opened", "police_case_number": "沙公立001"},
                  now=start + timedelta(hours=4))
    assert not has("gafj_officer", "police_referral", item.id, start)


@pytest.fixture(autouse=True)
def _pdf_cache(app, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")


def test_interview_confirmations_attendance_minutes_and_visits(app):
    interview = interviews.create(user("scjg_coord"), interview_data(start=START), now=INTERVIEW_NOW)
    now = INTERVIEW_NOW
    assert has("cgj_coord", "interview_confirm", interview.id, now)
    assert not has("cgj_officer", "interview_confirm", interview.id, now)  # coordinators answer for the agency
    assert not has("scjg_coord", "interview_confirm", interview.id, now)  # the organiser has nothing to confirm
    assert has("scjg_coord", "interview_attend", interview.id, now)
    assert has("cgj_officer", "interview_attend", interview.id, now)
    assert not has("scjg_officer", "interview_attend", interview.id, now)  # not taking part
    assert not has("cgj_officer", "interview_attend", interview.id, START - timedelta(days=8))  # not this week
    interviews.respond(user("cgj_coord"), interview.id, "confirmed")
    assert not has("cgj_coord", "interview_confirm", interview.id, now)

    # After its time, the minutes wait for the organiser and the officials who took part.
    assert has("scjg_coord", "minutes_finalise", interview.id, AFTER)
    assert has("cgj_officer", "minutes_finalise", interview.id, AFTER)
    assert not has("cgj_coord", "minutes_finalise", interview.id, AFTER)
    assert not has("cgj_officer", "interview_attend", interview.id, AFTER)
    minutes.save(user("scjg_coord"), interview.id, content(), 0)
    assert has("scjg_coord", "minutes_finalise", interview.id, AFTER)  # a draft is not final
    minutes.finalize(user("scjg_coord"), interview.id, now=AFTER)
    assert not has("scjg_coord", "minutes_finalise", interview.id, AFTER)

    # Each rectification requirement became a visit, due the first working day after its deadline.
    visit_day = at(2026, 10, 9, 9)
    visits = tasks_of("scjg_officer", visit_day).get("follow_up_visit", set())
    assert len(visits) == 2
    assert tasks_of("cgj_officer", visit_day).get("follow_up_visit") is None  # the lead agency visits
    first = min(visits)
    interviews.record_visit(user("scjg_officer"), first, "rectified", "已整改。", now=visit_day)
    assert tasks_of("scjg_officer", visit_day)["follow_up_visit"] == visits - {first}


def test_cancelled_interview_leaves_every_list(app):
    interview = interviews.create(user("scjg_coord"), interview_data(start=START), now=INTERVIEW_NOW)
    interviews.cancel(user("scjg_coord"), interview.id, "当事人已主动整改。")
    for name, kind in (("cgj_coord", "interview_confirm"), ("cgj_officer", "interview_attend")):
        assert not has(name, kind, interview.id, INTERVIEW_NOW)


def _submit(username: str, code: str, kind: str, row: dict) -> int:
    actor = user(username)
    version = lists.start_draft(actor, agency_id(code), kind)
    lists.add_item(actor, version.id, row)
    lists.submit(actor, version.id)
    return version.id


POSITIVE = {"matter": "未按规定公示环境信息", "matter_code": "330221001000", "circumstances": "首次。",
            "legal_basis": "《办法》第二十八条。", "measures": "劝导", "remarks": ""}
NEGATIVE = {"matter": "暗管排污", "matter_code": "330221010000", "circumstances": "一般：首次\n严重：再次",
            "legal_basis": "《水污染防治法》第八十三条。", "remarks": ""}


def test_lists_to_review_to_fix_and_agencies_without_lists(app):
    sthj = agency_id("sthjj")
    assert sthj in tasks_of("admin")["list_missing"]
    version_id = _submit("sthj_coord", "sthjj", "positive", POSITIVE)
    assert has("admin", "list_review", version_id)
    assert not has("sthj_coord", "list_review", version_id)
    lists.review(user("admin"), version_id, "return", "依据条款不全。")
    assert not has("admin", "list_review", version_id)
    assert has("sthj_coord", "list_fix", version_id)
    lists.submit(user("sthj_coord"), version_id)
    assert not has("sthj_coord", "list_fix", version_id)
    lists.review(user("admin"), version_id, "approve")
    assert sthj in tasks_of("admin")["list_missing"]  # one of the two lists is still missing
    lists.review(user("admin"), _submit("sthj_coord", "sthjj", "negative", NEGATIVE), "approve")
    assert sthj not in tasks_of("admin").get("list_missing", set())


def test_a_police_officer_sees_nothing_of_a_lead_between_two_other_agencies(app, api, client):
    lead = make_lead("cgj_coord", "scjgj", now=MONDAY)
    referrals.supervise(user("admin"), lead.id, "请加快办理。", now=MONDAY)
    thursday = at(2026, 11, 5, 9)
    mine = tasks_of("gafj_officer", thursday)
    assert all(lead.id not in ids for ids in mine.values())
    body = api("gafj_officer").get("/api/v1/me/tasks").get_json()
    assert all(t["record"] != {"type": "lead", "id": lead.id} for t in body["tasks"])
    assert lead.number not in str(body)
    login(client, "gafj_officer")
    assert lead.number not in client.get("/").get_data(as_text=True)
    assert lead.number not in client.get("/worklist/").get_data(as_text=True)


def test_api_tasks_contract(app, api, today_calendar):
    lead = make_lead("cgj_coord", "scjgj")  # now: acknowledge by the next working day
    body = api("scjg_officer").get("/api/v1/me/tasks").get_json()
    [task] = [t for t in body["tasks"] if t["record"] == {"type": "lead", "id": lead.id}]
    assert task["kind"] == "lead_acknowledge"
    assert task["url"] == f"/leads/{lead.id}" and lead.number in task["title"]
    assert task["state"] in ("ok", "warning") and task["due"].endswith("23:59:59+08:00")
    assert task["due"][:10] == lead.ack_due.isoformat()
    assert body["counts"]["lead_acknowledge"] >= 1 and set(body["counts"]) >= {"lead_reply", "interview_attend"}
    only = api("scjg_officer").get("/api/v1/me/tasks?kind=lead_reply").get_json()
    assert set(only["counts"]) == {"lead_reply"}
    assert api("scjg_officer").get("/api/v1/me/tasks?limit=0").status_code == 422
    assert app.test_client().get("/api/v1/me/tasks").status_code == 401
    kinds = {"lead_acknowledge", "lead_reply", "lead_accept", "extension_decide", "supervision_answer",
             "interview_confirm", "minutes_finalise", "follow_up_visit", "list_review", "list_fix"}
    assert kinds <= {s.kind for s in queries.SECTIONS}


def test_home_page_is_the_worklist_with_clocks_links_and_badges(app, client):
    lead = make_lead("cgj_coord", "scjgj", now=MONDAY)  # overdue since 11-04
    login(client, "scjg_officer")
    html = client.get("/").get_data(as_text=True)
    assert 'id="worklist"' in html and "待签收的线索" in html
    assert f'href="/leads/{lead.id}"' in html and "已超期" in html and 'class="clock badge red"' in html
    assert 'hx-trigger="every 30s, coord:changed from:body"' in html  # leaves without a reload
    assert badge(html, "线索移交") == len(tasks_of("scjg_officer")["lead_acknowledge"])  # same queries
    assert 'class="card"' not in html  # the old grid of links is gone


def test_quick_action_acknowledges_and_the_item_leaves(app, client, today_calendar):
    lead = make_lead("cgj_coord", "scjgj")
    login(client, "scjg_officer")
    token = csrf_token(client)
    resp = client.post(f"/worklist/lead_acknowledge/{lead.id}", data={"csrf_token": token},
                       headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["HX-Trigger"] == "coord:changed"
    assert f'data-record="lead-{lead.id}"' in html and 'data-kind="lead_reply"' in html
    assert f'data-kind="lead_acknowledge" data-record="lead-{lead.id}"' not in html
    db.session.rollback()
    assert db.session.get(type(lead), lead.id).state == "acknowledged"
    # A rule broken is explained in the worklist, nothing changed.
    again = client.post(f"/worklist/lead_acknowledge/{lead.id}", data={"csrf_token": token},
                        headers={"HX-Request": "true"})
    assert again.status_code == 200 and "不能重复签收" in again.get_data(as_text=True)
    assert client.post("/worklist/nothing/1", data={"csrf_token": token}).status_code == 404


def test_any_htmx_change_tells_the_page_to_refresh(app, client):
    interview = interviews.create(user("scjg_coord"), interview_data(start=START), now=INTERVIEW_NOW)
    login(client, "cgj_coord")
    token = csrf_token(client)
    resp = client.post(f"/interviews/{interview.id}/respond", data={"csrf_token": token, "decision": "confirmed"},
                       headers={"HX-Request": "true"})
    assert resp.status_code == 200 and "coord:changed" in resp.headers["HX-Trigger"]
    assert "HX-Trigger" not in client.get("/", headers={"HX-Request": "true"}).headers


def test_badges_and_bell_cost_no_query_once_cached_and_follow_every_change(app, client, today_calendar):
    login(client, "gafj_officer")  # nothing waits for 区公安分局 in the seeded database
    client.get("/agencies/")
    with statements() as warm:
        client.get("/agencies/")
    touched = [s for s in warm if any(t in s for t in ("FROM lead", "notification", "interview", "follow_up"))]
    assert touched == []  # the badges and the bell come from the cache: only the page's own reads
    assert badge(client.get("/agencies/").get_data(as_text=True), "线索移交") is None
    lead = make_lead("cgj_coord", "gafj")  # an event: the receiver's stamp is raised in the database
    with statements() as after:
        html = client.get("/agencies/").get_data(as_text=True)
    assert any("FROM lead" in s for s in after)  # recomputed once
    assert badge(html, "线索移交") == 1 and badge(html, "工作台") is None
    assert 'class="badge bell-count">1<' in html  # the bell: 1 unread (the new lead)
    referrals.acknowledge(user("gafj_officer"), lead.id)
    assert badge(client.get("/agencies/").get_data(as_text=True), "线索移交") == 1  # still one: now to reply
    referrals.return_lead(user("gafj_officer"), lead.id, "不属于本单位职责。")
    assert badge(client.get("/agencies/").get_data(as_text=True), "线索移交") is None


def test_two_workers_each_with_its_cache_see_a_change_made_by_the_other(app, fresh_db_url, tmp_path,
                                                                       today_calendar):
    """Like two gunicorn workers: separate processes' caches, one database; the stamp is in the database."""
    (tmp_path / "other").mkdir()
    other = create_app(_overrides(fresh_db_url, tmp_path / "other"))
    first, second = app.test_client(), other.test_client()
    login(first, "gafj_officer")
    db.session.rollback()  # SQLite: the login's writer transaction is still open in this session
    with other.app_context():
        login(second, "gafj_officer")
        db.session.rollback()
        assert "待签收的线索" not in second.get("/").get_data(as_text=True)  # cached in the second worker
    lead = make_lead("cgj_coord", "gafj")  # made through the first worker's app
    with other.app_context():
        assert lead.number in second.get("/").get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()
    assert lead.number in first.get("/").get_data(as_text=True)


def test_the_cache_is_a_safety_net_not_the_truth(app, client, today_calendar):
    """A change made without an event (straight SQL) shows after the TTL; with TTL 0 at once."""
    lead = make_lead("cgj_coord", "scjgj")
    login(client, "scjg_officer")
    assert lead.number in client.get("/").get_data(as_text=True)
    db.session.execute(sa.text("UPDATE lead SET state = 'closed' WHERE id = :i"), {"i": lead.id})
    db.session.commit()
    assert lead.number in client.get("/").get_data(as_text=True)  # cached, no event said otherwise
    app.config["WORKLIST_CACHE_SECONDS"] = 0
    app.config["PAGE_CACHE_SECONDS"] = 0  # the kept home page (coord/web/pagecache.py) holds the old list too
    assert lead.number not in client.get("/").get_data(as_text=True)
    cache.clear()


def test_days_left_need_the_calendar(app):
    lead = make_lead("cgj_coord", "scjgj", now=at(2026, 12, 28, 9))  # acknowledge by 12-29
    now = at(2026, 12, 28, 10)
    with app.test_request_context():
        worklist = queries.compute(user("scjg_officer"), now=now)
        [task] = [t for r in worklist.sections for t in r.tasks if t.record_id == lead.id]
        assert task.days_left == 1 and "剩 1 个工作日" in task.clock_text(worklist.today, now)
        db.session.execute(sa.delete(WorkDay).where(WorkDay.day == date(2026, 12, 29)))
        db.session.commit()
        worklist = queries.compute(user("scjg_officer"), now=now)
        [task] = [t for r in worklist.sections for t in r.tasks if t.record_id == lead.id]
        assert task.days_left is None  # a gap in the calendar: no number, never a guess
        assert task.clock_text(worklist.today, now) == "期限 2026-12-29"


def test_a_later_feature_adds_a_section(app, client):
    """The registry: a section is one query; the page, the API and the badges pick it up."""
    from flask import url_for

    from coord.agencies.models import Agency

    def query(user, ctx):
        return sa.select(Agency.id.label("record_id"), sa.cast(sa.null(), sa.Date).label("due"),
                         sa.cast(sa.null(), sa.Date).label("warn"), Agency.name).where(Agency.id == user.agency_id)

    section = queries.register(queries.Section(
        "test_own_agency", "本单位测试事项", "agency", query, lambda r: f"测试：{r.name}",
        lambda r: url_for("agencies.show", agency_id=r.record_id), nav="agencies.index"))
    try:
        login(client, "viewer")
        html = client.get("/").get_data(as_text=True)
        assert "本单位测试事项" in html and "测试：区司法局" in html
        assert badge(html, "单位名录") == 1
    finally:
        queries.SECTIONS.remove(section)
