"""Pages at framework speed (issue 11, point 4): the home page and every list page use at most 3 queries.

Counted with SQLAlchemy's `before_cursor_execute` on a real request through the app, logged in, with
records on the page (interviews, leads, busy blocks, published lists), in steady state (after one
request, as a browser would have made). Transaction control (BEGIN/COMMIT/ROLLBACK) is not a query.
The navigation badges are not counted here: they belong to the worklist (issue 12), which serves them
from a cached count without a query per page; this test empties `NAV_BADGES` so that what it counts is
the page itself — loading the session's user (1 query) and the page's content. The whole-page cache
(coord/web/pagecache.py, tests/test_page_cache.py) is turned off here: what is counted is a page rendered.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from coord.extensions import db
from tests.conftest import login, user_by_name
from tests.interview_fixtures import SH, busy, ensure_calendar, interview_data
from tests.measures_fixtures import measure_data
from tests.referrals_fixtures import make_lead

MAX_QUERIES = 3
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@pytest.fixture
def records(app, monkeypatch):
    from coord.interviews import services as interviews
    from coord.measures import services as measures
    from coord.timeutil import local_today
    from coord.web import NAV_BADGES

    monkeypatch.setattr("coord.web.NAV_BADGES", {})
    app.config["PAGE_CACHE_SECONDS"] = 0
    assert NAV_BADGES is not None
    ensure_calendar(local_today(), 60)
    for n in range(30):  # more than a page of each
        interviews.create(user_by_name("scjg_coord"), interview_data(title=f"第{n}次联合约谈"))
        make_lead(sender="cgj_coord", to="scjgj")
    for n in range(3):  # register entries, each with its officer
        measures.create(user_by_name("scjg_coord"), measure_data(matter=f"第{n}次劝导"), today=date(2026, 11, 15))
    start = datetime.now(SH).replace(microsecond=0) + timedelta(days=2)
    for n in range(5):
        busy("scjg_coord", start + timedelta(days=n), start + timedelta(days=n, hours=2))
    db.session.commit()


def _count(app, client, path: str) -> tuple[int, list[str], int]:
    client.get(path)  # steady state: templates compiled, session settled
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(CONTROL):
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        resp = client.get(path)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return len(seen), seen, resp.status_code


COORDINATOR_PAGES = ["/", "/interviews/", "/interviews/follow-ups", "/minutes/", "/leads/", "/leads/?box=outbox",
                     "/leads/police/", "/agencies/", "/audit/", "/scheduling/busy", "/measures/"]
# The office's lead list and register also offer an agency filter: its choices are cached per process
# (`agencies.services.filter_choices`), so they cost no query either.
OFFICE_PAGES = ["/", "/lists/", "/interviews/", "/audit/", "/admin/outbox/", "/leads/?box=all", "/measures/"]


@pytest.mark.parametrize("username, pages", [("scjg_coord", COORDINATOR_PAGES), ("admin", OFFICE_PAGES)])
def test_list_pages_and_home_use_at_most_three_queries(app, client, records, username, pages):
    login(client, username)
    pages = pages + ([f"/lists/agency/{user_by_name(username).agency_id}"] if username != "admin" else [])
    over = {}
    for path in pages:
        n, statements, status = _count(app, client, path)
        assert status == 200, (path, status)
        if n > MAX_QUERIES:
            over[path] = [s.split(" FROM ")[1][:60] if " FROM " in s else s[:60] for s in statements]
    assert not over, f"pages over {MAX_QUERIES} queries: {over}"


def test_an_agency_the_office_adds_or_renames_is_offered_by_the_filters_at_once(app, client, records):
    from coord.agencies import services as agencies

    login(client, "admin")
    client.get("/measures/")  # the choices are cached now
    added = agencies.create(user_by_name("admin"), {"name": "区测试执法局", "kind": "government_department", "is_enforcement": True})
    for path in ("/measures/", "/leads/?box=all"):
        assert f'<option value="{added.id}"' in client.get(path).get_data(as_text=True), path
    agencies.update(user_by_name("admin"), added.id, {"name": "区测试综合执法局", "kind": "government_department",
                                                      "is_enforcement": True})
    assert "区测试综合执法局" in client.get("/leads/?box=all").get_data(as_text=True)
