"""工作日历 pages: the year as twelve month grids, toggling a day (htmx), a range, the notice import
with its preview, the office's warning on every page, provisional marks, calendar errors linked."""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from coord.audit.models import AuditEntry
from coord.extensions import db
from coord.referrals import services as leads
from coord.workdays import services as workdays
from coord.workdays.models import CalendarYear, WorkDay
from tests.conftest import csrf_token, login, user_by_name
from tests.referrals_fixtures import at, make_lead, user
from tests.test_workdays_import import NOTICE_2027, TODAY

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _years(app):
    workdays.ensure_years(TODAY)


def _day(d: date) -> WorkDay:
    db.session.expire_all()
    return db.session.get(WorkDay, d)


def test_the_year_is_twelve_month_grids_with_marks(client):
    login(client, "viewer")
    html = client.get("/calendar/?year=2026").get_data(as_text=True)
    assert len(re.findall(r'<table class="month[^"]*" id="month-2026-\d+"', html)) == 12
    assert 'data-day="2026-10-10"' in html and re.search(r'class="work makeup[^"]*" data-day="2026-10-10"', html)
    assert re.search(r'class="off holiday[^"]*" data-day="2026-10-01"', html)
    assert 'hx-get="/calendar/day/' not in html  # only the office edits
    provisional = client.get("/calendar/?year=2027").get_data(as_text=True)
    assert 'id="year-status">暂定' in provisional and workdays.PROVISIONAL_NOTE in provisional
    assert provisional.count('class="month provisional"') == 12


def test_the_office_toggles_a_day_with_a_note_through_htmx(client):
    login(client, "admin")
    page = client.get("/calendar/?year=2027").get_data(as_text=True)
    assert 'hx-get="/calendar/day/2027-03-01"' in page
    editor = client.get("/calendar/day/2027-03-01", headers=HX).get_data(as_text=True)
    assert "改为休息日" in editor and 'name="is_workday" value="0"' in editor
    resp = client.post("/calendar/set", headers={**HX, "X-CSRFToken": csrf_token(client, "/calendar/")},
                       data={"day": "2027-03-01", "is_workday": "0", "note": "区庆调休"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.startswith("\n<table") or 'id="month-2027-3"' in html
    assert re.search(r'class="off holiday[^"]*" data-day="2027-03-01"', html)
    assert 'hx-swap-oob="true"' in html and "2027-03-01 已设为休息日" in html
    row = _day(date(2027, 3, 1))
    assert (row.is_workday, row.note, row.source) == (False, "区庆调休", "admin")
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "workday.set")).scalars().all()[-1]
    assert entry.entity_id == "2027-03-01" and '"is_workday":true' in entry.before


def test_others_cannot_edit(client):
    login(client, "scjg_coord")
    token = csrf_token(client, "/calendar/")
    assert client.get("/calendar/day/2027-03-01", headers=HX).status_code == 403
    assert client.post("/calendar/set", data={"csrf_token": token, "day": "2027-03-01", "is_workday": "0"}
                       ).status_code == 403
    assert client.post("/calendar/notice/preview", data={"csrf_token": token, "text": NOTICE_2027}).status_code == 403


def test_a_range_is_set_at_once_with_one_audit_entry(client):
    login(client, "admin")
    resp = client.post("/calendar/range", data={"csrf_token": csrf_token(client, "/calendar/"), "from": "2027-07-05",
                                                "to": "2027-07-09", "is_workday": "0", "note": "防汛停工"})
    assert resp.status_code == 303
    assert all(not _day(date(2027, 7, d)).is_workday for d in range(5, 10))
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "workday.set_range")).scalar_one()
    assert entry.entity_id == "2027-07-05..2027-07-09"
    follow = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "2027-07-05 至 2027-07-09 已设为休息日（5 天有变化）" in follow


def test_importing_the_notice_through_the_page_preview_then_confirm(client):
    lead = make_lead(now=at(2026, 12, 28))
    leads.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 12, 28, 11))
    login(client, "admin")
    token = csrf_token(client, "/calendar/")
    preview = client.post("/calendar/notice/preview", headers={**HX, "X-CSRFToken": token},
                          data={"text": NOTICE_2027}).get_data(as_text=True)
    assert "《国务院办公厅关于2027年部分节假日安排的通知》" in preview
    assert re.search(r"2027-01-05（周二）</td><td>工作日</td>\s*<td><strong>休息日</strong>", preview)
    assert lead.number in preview and "2027-01-05 → <strong>2027-01-07</strong>" in preview
    assert 'id="calendar-year" data-year="2027" hx-swap-oob="true"' in preview  # the grid beside it
    assert re.search(r'class="work changed[^"]*" data-day="2027-01-05"', preview)  # as it is now, marked
    version = re.search(r'name="version" value="(\d+)"', preview).group(1)
    resp = client.post("/calendar/notice/apply", data={"csrf_token": token, "text": NOTICE_2027, "version": version})
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已导入《国务院办公厅关于2027年部分节假日安排的通知》" in page and 'id="year-status">正式' in page
    db.session.expire_all()
    assert db.session.get(CalendarYear, 2027).status == "official"
    # Confirming the same (now stale) preview again says so and shows a fresh preview.
    stale = client.post("/calendar/notice/apply", data={"csrf_token": token, "text": NOTICE_2027, "version": version})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "预览已过期" in html and "与现有日历一致，没有日期改变" in html


def test_unreadable_text_on_the_page_names_the_line(client):
    login(client, "admin")
    token = csrf_token(client, "/calendar/")
    broken = NOTICE_2027.replace("1月9日（周六）上班", "1月9日（周六）另行安排")
    html = client.post("/calendar/notice/preview", headers={**HX, "X-CSRFToken": token},
                       data={"text": broken}).get_data(as_text=True)
    assert "<strong>第 7 行</strong>" in html and "未做任何修改" in html
    full = client.post("/calendar/notice/apply", data={"csrf_token": token, "text": broken, "version": "1"})
    assert full.status_code == 400 and "第 7 行" in full.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CalendarYear, 2027).status == "provisional"


WARNING = "2027 年放假安排尚未导入，国务院公布后请在工作日历导入"


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def _banner(html: str) -> str:
    """The warning every page shows the office (the worklist has its own item, tested in test_workdays_import)."""
    found = re.search(r'<p[^>]*id="calendar-warning"[^>]*>(.*?)</p>', html, re.S)
    return _text(found.group(1)) if found else ""


def test_the_office_is_warned_on_every_page_from_november_while_next_year_is_provisional(client, monkeypatch):
    from coord.workdays import views

    monkeypatch.setattr(views, "local_today", lambda: date(2026, 12, 1))
    login(client, "admin")
    for path in ("/", "/leads/", "/interviews/", "/calendar/?year=2026"):
        html = client.get(path).get_data(as_text=True)
        assert WARNING in _banner(html), path
        assert 'href="/calendar/?year=2027">工作日历</a>' in html
    monkeypatch.setattr(views, "local_today", lambda: date(2026, 10, 31))
    assert WARNING not in _banner(client.get("/").get_data(as_text=True))
    monkeypatch.setattr(views, "local_today", lambda: date(2026, 11, 1))
    client.get("/logout")
    login(client, "scjg_coord")
    assert WARNING not in _banner(client.get("/").get_data(as_text=True))  # the office's task


def test_the_warning_costs_at_most_one_cached_query(app, client, monkeypatch):
    from coord.workdays import views

    monkeypatch.setattr(views, "local_today", lambda: date(2026, 12, 1))
    login(client, "admin")
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if "calendar_year" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        workdays.forget_years()
        client.get("/")
        # The banner reads the years once; the office's worklist has its own section for it (one
        # statement, cached per user with the rest of the worklist).
        banner = [s for s in seen if s.lstrip().startswith("SELECT calendar_year.year")]
        assert len(banner) <= 1 and len(seen) - len(banner) <= 1
        seen.clear()
        client.get("/")
        assert seen == []  # cached
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # The warning ends when the notice lands (the change clears this process's cache at once).
    from coord.workdays import imports

    imports.apply(user_by_name("admin"), NOTICE_2027)
    home = _text(client.get("/").get_data(as_text=True))
    assert WARNING not in home and "2027 年放假安排尚未导入" not in home  # nor on the worklist


def test_provisional_marks_on_the_lead_pages(client):
    lead = make_lead(now=at(2026, 12, 28))
    leads.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 12, 28, 11))
    login(client, "scjg_officer")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "2027-01-05" in page and workdays.PROVISIONAL_NOTE in page
    listing = client.get("/leads/").get_data(as_text=True)
    assert 'data-provisional>暂定' in listing and workdays.PROVISIONAL_NOTE in listing
    old = make_lead(now=at(2026, 10, 8))
    assert workdays.PROVISIONAL_NOTE not in client.get(f"/leads/{old.id}").get_data(as_text=True)


def test_slot_suggestions_in_a_provisional_year_are_marked_and_a_missing_year_links_to_the_calendar(client):
    login(client, "scjg_coord")
    me = user_by_name("scjg_coord").id
    html = client.get(f"/interviews/suggest?participant_ids={me}&window_from=2027-03-01&window_to=2027-03-05",
                      headers=HX).get_data(as_text=True)
    assert "2027-03-01" in html and "data-provisional>暂定" in html and workdays.PROVISIONAL_NOTE in html
    missing = client.get(f"/interviews/suggest?participant_ids={me}&window_from=2030-03-01&window_to=2030-03-05",
                         headers=HX).get_data(as_text=True)
    assert "2030 年的工作日历尚未录入" in missing
    assert '<a class="calendar-link" href="/calendar/?year=2030">前往工作日历</a>' in missing


def test_api_calendar_errors_carry_the_link(api):
    resp = api("scjg_coord").post("/api/v1/slots/search", json={
        "participant_ids": [user_by_name("scjg_coord").id], "window_start": "2030-03-01T00:00:00+08:00",
        "window_end": "2030-03-05T00:00:00+08:00"})
    assert resp.status_code == 400 and resp.json["calendar_url"] == "/calendar/?year=2030"
