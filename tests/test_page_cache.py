"""The whole-page cache (coord/web/pagecache.py): a list page asked again answers from the kept copy with
only the counter read, and never shows what is no longer true: a change by anyone, a logout, another user, a
flash, the clock, a create form's token."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import sqlalchemy as sa

from coord.extensions import db
from coord.web.pagecache import HEADER
from tests.conftest import csrf_token, login
from tests.referrals_fixtures import make_lead

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", ";")


def _queries(client, path: str) -> tuple[int, object]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(CONTROL):
            seen.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        resp = client.get(path)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)
    return len(seen), resp


def _login(client, username: str) -> None:
    """Logged in, with the welcome flash already shown (a page showing a flash is never kept)."""
    login(client, username)
    client.get("/account")


def test_a_list_page_asked_again_is_the_kept_copy_read_with_one_query(app, client):
    make_lead(sender="cgj_coord", to="scjgj", party_name="重庆缓存测试商行")
    _login(client, "scjg_coord")
    first = client.get("/leads/")
    assert first.headers[HEADER] == "miss" and "重庆缓存测试商行" in first.get_data(as_text=True)
    n, again = _queries(client, "/leads/")
    # No query through the app's engine (session, user, page): only the counter, read on its own connection.
    assert again.headers[HEADER] == "hit" and n == 0
    assert again.get_data() == first.get_data()
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]


def test_a_change_by_another_user_shows_at_once(app, client):
    _login(client, "scjg_coord")
    assert "重庆新移交商行" not in client.get("/leads/").get_data(as_text=True)
    assert client.get("/leads/").headers[HEADER] == "hit"
    make_lead(sender="cgj_coord", to="scjgj", party_name="重庆新移交商行")  # another agency's coordinator
    resp = client.get("/leads/")
    assert resp.headers[HEADER] == "miss" and "重庆新移交商行" in resp.get_data(as_text=True)


def test_a_write_in_plain_sql_counts_too(app, client):
    _login(client, "scjg_coord")
    client.get("/agencies/")
    db.session.execute(sa.text("UPDATE agency SET name = '区市场监督管理局（新）' WHERE code = 'scjgj'"))
    db.session.commit()
    resp = client.get("/agencies/")
    assert resp.headers[HEADER] == "miss" and "区市场监督管理局（新）" in resp.get_data(as_text=True)


def test_the_workers_idle_minute_sweep_keeps_the_copies(app, client):
    """An UPDATE that matches no row changes no page: the outbox sweep runs every minute."""
    from coord.notify.services import release_stale

    _login(client, "scjg_coord")
    client.get("/leads/")
    assert release_stale() == 0
    assert client.get("/leads/").headers[HEADER] == "hit"
    db.session.execute(sa.text("UPDATE agency SET phone = phone WHERE code = 'scjgj'"))  # one row: counts
    db.session.commit()
    assert client.get("/leads/").headers[HEADER] == "miss"


def test_a_kept_page_is_never_shown_to_another_session_or_user(app, client):
    make_lead(sender="cgj_coord", to="scjgj", party_name="只给市场监管看的商行")
    _login(client, "scjg_coord")
    client.get("/leads/")
    other = app.test_client()
    _login(other, "cgj_coord")
    resp = other.get("/leads/")
    assert resp.headers[HEADER] == "miss" and "只给市场监管看的商行" not in resp.get_data(as_text=True)
    assert app.test_client().get("/leads/").status_code == 302  # no cookie: the login page, not a copy


def test_a_copy_is_kept_per_host(app, client):
    """Links on a page may name the host it was asked on (feeds, the party's links): another host renders."""
    _login(client, "scjg_coord")
    browser = app.test_client(use_cookies=False)  # one cookie, sent to either host
    cookie = {"Cookie": f"session={client.get_cookie('session').value}"}
    browser.get("/leads/", headers=cookie)
    assert browser.get("/leads/", headers=cookie).headers[HEADER] == "hit"
    elsewhere = {**cookie, "Host": "coord.example.cn"}
    assert browser.get("/leads/", headers=elsewhere).headers[HEADER] == "miss"
    assert browser.get("/leads/", headers=elsewhere).headers[HEADER] == "hit"


def test_logout_ends_a_copied_cookie_even_with_its_page_kept(app, client):
    _login(client, "scjg_officer")
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get("/leads/").status_code == 200
    assert thief.get("/leads/").headers[HEADER] == "hit"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    resp = thief.get("/leads/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_page_showing_a_flash_is_not_kept(app, client):
    login(client, "scjg_coord")  # the welcome is flashed on the next page
    first = client.get("/")
    assert 'class="flash' in first.get_data(as_text=True)
    second = client.get("/")
    assert second.headers[HEADER] == "miss"  # the first answer (with its flash) was not kept
    assert client.get("/").headers[HEADER] == "hit"


def test_the_copy_expires_with_the_session_check_and_the_clock(app, client):
    from coord.accounts.models import UserSession
    from coord.dbtypes import utcnow

    _login(client, "scjg_coord")
    client.get("/measures/")
    assert client.get("/measures/").headers[HEADER] == "hit"
    app.config["PAGE_CACHE_SECONDS"] = 0.2
    client.get("/interviews/")
    time.sleep(0.3)
    assert client.get("/interviews/").headers[HEADER] == "miss"
    app.config["PAGE_CACHE_SECONDS"] = 30
    # A session idle past its limit while the page was kept: the copy is not answered, the login page is.
    client.get("/agencies/")
    db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31),
                                                     created_at=utcnow() - timedelta(minutes=40)))
    db.session.commit()
    assert client.get("/agencies/").status_code == 302


def test_a_create_form_on_a_kept_page_gets_a_new_token_each_time(app, client):
    _login(client, "scjg_coord")
    pattern = re.compile(r'name="form_token" value="([0-9a-f]{32})"')
    pages = [client.get("/scheduling/busy") for _ in range(3)]
    assert [p.headers[HEADER] for p in pages] == ["miss", "hit", "hit"]
    tokens = [pattern.search(p.get_data(as_text=True)).group(1) for p in pages]
    assert len(set(tokens)) == 3


def test_a_page_that_is_not_marked_is_never_kept(app, client):
    lead = make_lead(sender="cgj_coord", to="scjgj")
    _login(client, "scjg_coord")
    for _ in range(2):
        resp = client.get(f"/leads/{lead.id}")
        assert resp.status_code == 200 and HEADER not in resp.headers


def test_turned_off_it_renders_every_time(app, client):
    app.config["PAGE_CACHE_SECONDS"] = 0
    _login(client, "scjg_coord")
    client.get("/leads/")
    assert HEADER not in client.get("/leads/").headers
