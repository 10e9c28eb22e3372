"""Pages at framework speed (issue 11, point 4): the home page and every list page use at most 3 queries.

Counted with SQLAlchemy's `before_cursor_execute` on a real request through the app, logged in, with
records on the page (interviews, leads, busy blocks, published lists), in steady state (after one
request, as a browser would have made). Transaction control (BEGIN/COMMIT/ROLLBACK) is not a query.
The navigation badges are not counted here: they belong to the worklist (issue 12), which serves them
from a cached count without a query per page; this test empties `NAV_BADGES` so that what it counts is
the page itself — loading the session's user (1 query, which also reads the page cache's counter) and the
page's content. The whole-page cache (coord/web/pagecache.py, tests/test_page_cache.py) is on, as deployed;
queries are counted on every engine and on its own connection: a user's first view renders with at most 3,
a page asked again is its kept copy with 1 (the counter), and after someone wrote, the counter read that
finds the copy stale is followed by a render with at most 3.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from coord.extensions import db
from coord.web import pagecache
from coord.web.pagecache import HEADER
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


COUNTER = "SELECT value FROM page_generation (the page cache's own connection)"


def _queries(client, path: str) -> tuple[list[str], object]:
    """The statements one request runs, on every engine and on the page cache's raw connection."""
    seen: list[str] = []
    read = pagecache._Counter.read

    def counted_read(counter):
        seen.append(COUNTER)
        return read(counter)

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(CONTROL):
            seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    pagecache._Counter.read = counted_read
    try:
        resp = client.get(path)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
        pagecache._Counter.read = read
    return seen, resp


def _count(app, client, path: str) -> dict[str, list[str]]:
    """A user's first view (rendered), the same page again (kept, if the page is marked), and the page after
    someone wrote (rendered again, after the counter read that found the copy stale)."""
    app.config["PAGE_CACHE_SECONDS"] = 0  # steady state (templates compiled, session settled), nothing kept
    client.get(path)
    app.config["PAGE_CACHE_SECONDS"] = 30
    first, resp = _queries(client, path)
    assert resp.status_code == 200 and resp.headers.get(HEADER) != "hit", path
    counts = {"first view": first}
    if resp.headers.get(HEADER) == "miss":  # a marked page, kept now
        counts["again"], resp = _queries(client, path)
        assert resp.headers[HEADER] == "hit", path
        db.session.execute(sa.text("UPDATE page_generation SET value = value + 1"))  # a write by someone else
        db.session.commit()
        after, resp = _queries(client, path)
        assert resp.headers[HEADER] == "miss" and after[0] == COUNTER, path
        counts["after a write"] = after[1:]  # the page itself, once the copy was found stale
    return counts


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
        for case, statements in _count(app, client, path).items():
            if len(statements) > (1 if case == "again" else MAX_QUERIES):
                over[path, case] = [q.split(" FROM ")[1][:60] if " FROM " in q else q[:60] for q in statements]
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
