"""GB/T 22239-2019 level 3 account controls (issue 11, point 3) and the login view's defects."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coord.accounts import services
from coord.accounts.models import LoginEvent, User, UserSession
from coord.accounts.passwords import check_password_strength
from coord.audit.models import AuditEntry
from coord.dbtypes import utcnow
from coord.errors import DomainError, Forbidden
from coord.extensions import db
from tests.conftest import DEMO_PASSWORD, csrf_token, login, user_by_name

GOOD = "Qinglong#Rx82"


# --- the login view's defects ----------------------------------------------------------------

def test_login_next_with_a_line_break_is_not_a_500(client):
    """Issue 11: POST /login?next=/%0d%0aX gave a 500 (a header with a newline)."""
    token = csrf_token(client, "/login")
    resp = client.post("/login?next=/%0d%0aX", data={"username": "admin", "password": DEMO_PASSWORD,
                                                      "csrf_token": token})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"
    for bad in ("//evil.example", "/\\evil.example", "https://evil.example/", "/\t/evil.example"):
        client.post("/logout", data={"csrf_token": csrf_token(client)})
        token = csrf_token(client, "/login")
        resp = client.post("/login", query_string={"next": bad},
                           data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token})
        assert resp.status_code == 302 and resp.headers["Location"] == "/", bad


def test_head_login_is_200(client):
    """Issue 11: HEAD /login gave 400."""
    resp = client.head("/login")
    assert resp.status_code == 200
    assert resp.get_data() == b""


def test_control_characters_in_the_user_name_are_no_500(client):
    token = csrf_token(client, "/login")
    resp = client.post("/login", data={"username": "ad\x00min", "password": "x", "csrf_token": token})
    assert resp.status_code == 400  # refused before the view (coord.inputs), with what to do in Chinese
    assert "控制字符" in resp.get_data(as_text=True)


# --- passwords ---------------------------------------------------------------------------------

@pytest.mark.parametrize("password, reason", [
    ("password1234", "三类"),  # issue 11: was accepted
    ("Password1234", "常见"),
    ("P@ssw0rd2026", "常见"),
    ("Dragon2026!", "常见"),
    ("Abc12345", "常见"),
    ("Qwerty123!", "常见"),
    ("Ab1!xyz", "8 个字符"),
    ("abcdefghij", "三类"),
    ("ABCDEFGH12", "三类"),
])
def test_weak_passwords_refused(password, reason):
    with pytest.raises(DomainError, match=reason):
        check_password_strength(password)


@pytest.mark.parametrize("password", [GOOD, "Test-pass-2026", "yuzhong-lu-47", "Start-pass-123", "长江大桥abc123"])
def test_good_passwords_accepted(password):
    check_password_strength(password)


def test_password_may_not_contain_the_user_name():
    with pytest.raises(DomainError, match="用户名"):
        check_password_strength("Scjg_officer-9", username="scjg_officer")


def test_admin_cannot_create_an_account_with_password1234(client):
    """Issue 11: `password1234` was accepted."""
    login(client, "admin")
    token = csrf_token(client, "/users/new")
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    resp = client.post("/users/new", data={"csrf_token": token, "username": "weak_one", "name": "弱", "agency_id": 1,
                                           "role": "officer", "password": "password1234"})
    assert resp.status_code == 400 and "三类" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_password_change_refuses_a_common_password(client):
    login(client, "scjg_officer")
    token = csrf_token(client, "/account")
    resp = client.post("/account", data={"csrf_token": token, "pw-current_password": DEMO_PASSWORD,
                                         "pw-new_password": "Password123", "pw-confirm": "Password123"})
    assert resp.status_code == 400 and "常见" in resp.get_data(as_text=True)


def test_first_login_requires_a_new_password(client, app):
    login(client, "admin")
    token = csrf_token(client, "/users/new")
    assert client.post("/users/new", data={"csrf_token": token, "username": "new_officer", "name": "新", "agency_id": 1,
                                           "role": "officer", "password": "Given-by-admin-7"}).status_code == 302
    assert user_by_name("new_officer").must_change_password
    fresh = app.test_client()
    resp = login(fresh, "new_officer", "Given-by-admin-7")
    assert resp.status_code == 302 and "/account/password" in resp.headers["Location"]
    for path in ("/", "/leads/", "/interviews/"):
        resp = fresh.get(path)
        assert resp.status_code == 302 and "/account/password" in resp.headers["Location"], path
    htmx = fresh.get("/leads/", headers={"HX-Request": "true"})
    assert "/account/password" in htmx.headers.get("HX-Redirect", "")
    page = fresh.get("/account/password").get_data(as_text=True)
    assert "请先设置自己的密码" in page
    token = csrf_token(fresh, "/account/password")
    same = fresh.post("/account/password", data={"csrf_token": token, "pw-current_password": "Given-by-admin-7",
                                                 "pw-new_password": "Given-by-admin-7", "pw-confirm": "Given-by-admin-7"})
    assert same.status_code == 400
    ok = fresh.post("/account/password", data={"csrf_token": token, "pw-current_password": "Given-by-admin-7",
                                               "pw-new_password": GOOD, "pw-confirm": GOOD})
    assert ok.status_code == 302
    assert fresh.get("/leads/").status_code == 200
    db.session.expire_all()
    user = user_by_name("new_officer")
    assert not user.must_change_password and user.password_changed_at is not None


def test_demo_accounts_need_no_change(app):
    assert not any(db.session.execute(sa.select(User.must_change_password)).scalars())


# --- lockout -----------------------------------------------------------------------------------

def _events(username: str) -> list[tuple[str, bool, str]]:
    return [(e.event, e.success, e.reason) for e in db.session.execute(
        sa.select(LoginEvent).where(LoginEvent.username == username).order_by(LoginEvent.id)).scalars()]


def test_five_failures_lock_the_account_for_15_minutes(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"  # the lock, not the rate limiter, is under test
    for i in range(4):
        resp = login(client, "scjg_officer", "Wrong-pass-0")
        assert resp.status_code == 400 and "用户名或密码不正确" in resp.get_data(as_text=True), i
    fifth = login(client, "scjg_officer", "Wrong-pass-0").get_data(as_text=True)
    assert "已被锁定 15 分钟" in fifth and "北京时间" in fifth
    # Now even the right password is refused, and the user is told why.
    resp = login(client, "scjg_officer")
    assert resp.status_code == 400 and "已被锁定" in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302
    db.session.expire_all()
    user = user_by_name("scjg_officer")
    assert timedelta(minutes=14) < user.locked_until - utcnow() <= timedelta(minutes=15)
    assert _events("scjg_officer") == [("login", False, "bad_password")] * 4 + [
        ("login", False, "locked_now"), ("login", False, "locked")]
    assert db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "user.lock")).scalar_one()
    # Fifteen minutes later the right password works again and the count starts afresh.
    db.session.execute(sa.update(User).where(User.id == user.id).values(locked_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert login(client, "scjg_officer").status_code == 302
    db.session.expire_all()
    assert user_by_name("scjg_officer").failed_logins == 0


def test_a_success_resets_the_count(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    for _ in range(4):
        login(client, "cgj_officer", "Wrong-pass-0")
    assert login(client, "cgj_officer").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    for _ in range(4):
        login(client, "cgj_officer", "Wrong-pass-0")
    assert login(client, "cgj_officer").status_code == 302


def test_security_admin_unlocks(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    other = app.test_client()
    for _ in range(5):
        login(other, "cgj_officer", "Wrong-pass-0")
    login(client, "admin")
    user = user_by_name("cgj_officer")
    page = client.get("/security/logins").get_data(as_text=True)
    assert "cgj_officer" in page and "解锁" in page
    resp = client.post(f"/users/{user.id}/unlock", data={"csrf_token": csrf_token(client, "/security/logins")})
    assert resp.status_code == 302
    assert login(other, "cgj_officer").status_code == 302
    assert db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "user.unlock")).scalar_one()


# --- server-side sessions ------------------------------------------------------------------------

def _copy_cookie(client) -> str:
    return client.get_cookie("session").value


def _with_cookie(app, value: str):
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def test_a_copied_cookie_stops_working_after_logout(client, app):
    """Issue 11: a cookie copied before POST /logout still opened /leads/ afterwards."""
    login(client, "scjg_officer")
    stolen = _copy_cookie(client)
    assert _with_cookie(app, stolen).get("/leads/").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    resp = _with_cookie(app, stolen).get("/leads/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    row = db.session.execute(sa.select(UserSession).order_by(UserSession.id.desc()).limit(1)).scalar_one()
    assert row.ended_at is not None and row.end_reason == "logout"
    assert _events("scjg_officer")[-1] == ("logout", True, "logout")


def test_a_copied_cookie_stops_working_after_a_password_change(client, app):
    login(client, "scjg_officer")
    stolen = _copy_cookie(client)
    token = csrf_token(client, "/account")
    assert client.post("/account", data={"csrf_token": token, "pw-current_password": DEMO_PASSWORD,
                                         "pw-new_password": GOOD, "pw-confirm": GOOD}).status_code == 302
    assert client.get("/leads/").status_code == 200  # this browser goes on, with a new session
    assert _with_cookie(app, stolen).get("/leads/").status_code == 302


def test_idle_timeout_ends_the_session(client, app):
    login(client, "scjg_officer")
    db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    resp = client.get("/leads/", follow_redirects=True)
    assert "长时间未操作" in resp.get_data(as_text=True)
    db.session.rollback()  # the test shares the requests' session: read afresh
    row = db.session.execute(sa.select(UserSession).order_by(UserSession.id.desc()).limit(1)).scalar_one()
    assert row.end_reason == "idle" and row.ended_at is not None


def test_idle_timeout_is_configurable(client, app):
    app.config["SESSION_IDLE_SECONDS"] = 5 * 60
    login(client, "scjg_officer")
    db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=6)))
    db.session.commit()
    assert client.get("/leads/").status_code == 302


def test_absolute_limit_ends_an_active_session(client, app):
    login(client, "scjg_officer")
    db.session.execute(sa.update(UserSession).values(created_at=utcnow() - timedelta(hours=8, minutes=1)))
    db.session.commit()
    resp = client.get("/leads/", follow_redirects=True)
    assert "最长时长" in resp.get_data(as_text=True)
    db.session.rollback()
    assert db.session.execute(sa.select(UserSession.end_reason).order_by(UserSession.id.desc()).limit(1)).scalar() \
        == "expired"


def test_one_query_for_session_and_user_and_no_write_per_request(client, app):
    """The other pages' budget (≤ 3 queries) leaves one for the session: it joins the user."""
    login(client, "scjg_officer")
    client.get("/account")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get("/account")
        client.get("/account")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    session_reads = [s for s in statements if "user_session" in s]
    assert len(session_reads) == 2, session_reads  # one per request
    assert all("JOIN user_account" in s and "JOIN agency" in s for s in session_reads)
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    # A minute later the next request records that the session was used.
    db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(seconds=90)))
    db.session.commit()
    statements.clear()
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        client.get("/account")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("UPDATE USER_SESSION")]) == 1
    db.session.rollback()
    seen = db.session.execute(sa.select(UserSession.last_seen_at).order_by(UserSession.id.desc()).limit(1)).scalar()
    assert utcnow() - seen < timedelta(seconds=10)


def test_deactivation_and_admin_end_sessions(client, app):
    officer = app.test_client()
    login(officer, "cgj_officer")
    login(client, "admin")
    user = user_by_name("cgj_officer")
    assert client.post(f"/users/{user.id}/sessions/end",
                       data={"csrf_token": csrf_token(client, f"/users/{user.id}")}).status_code == 302
    assert officer.get("/leads/").status_code == 302
    login(officer, "cgj_officer")
    assert officer.get("/leads/").status_code == 200
    services.set_active(user_by_name("admin"), user.id, False)
    assert officer.get("/leads/").status_code == 302
    reasons = set(db.session.execute(sa.select(UserSession.end_reason).where(UserSession.user_id == user.id)).scalars())
    assert {"admin", "deactivated"} <= reasons


# --- the login log -------------------------------------------------------------------------------

def test_login_log_read_and_exported_by_the_security_admin(client, app):
    other = app.test_client()
    login(other, "scjg_officer", "Wrong-pass-0")
    login(other, "scjg_officer")
    login(other, "nobody-here", "x")
    login(client, "admin")
    page = client.get("/security/logins").get_data(as_text=True)
    for text in ("scjg_officer", "密码错误", "登录成功", "nobody-here", "用户名不存在", "127.0.0.1"):
        assert text in page, text
    fails = client.get("/security/logins?result=fail&user=scjg_officer").get_data(as_text=True)
    assert "密码错误" in fails and "登录成功" not in fails
    csv = client.get("/security/logins.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data().decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("时间（北京时间）,用户名")
    assert any("scjg_officer" in line and "失败" in line and "密码错误" in line for line in lines)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", lines[1])
    login(other, "scjg_coord")
    assert other.get("/security/logins").status_code == 403
    assert other.get("/security/logins.csv").status_code == 403


def test_login_log_export_defuses_formulas(client, app):
    other = app.test_client()
    login(other, "=cmd|calc", "x")
    login(client, "admin")
    text = client.get("/security/logins.csv").get_data().decode("utf-8-sig")
    assert "'=cmd|calc" in text


def test_login_records_kept_180_days(app):
    from coord.accounts.login import purge

    db.session.add(LoginEvent(at=utcnow() - timedelta(days=10), username="u", address="", user_agent="",
                              event="login", success=True, reason="ok"))
    db.session.add(LoginEvent(at=utcnow() - timedelta(days=200), username="old", address="", user_agent="",
                              event="login", success=True, reason="ok"))
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="180 days"):  # the database itself refuses
        db.session.execute(sa.delete(LoginEvent).where(LoginEvent.username == "u"))
        db.session.commit()
    db.session.rollback()
    with pytest.raises(sa.exc.DBAPIError):
        db.session.execute(sa.update(LoginEvent).values(reason="x"))
        db.session.commit()
    db.session.rollback()
    with pytest.raises(DomainError, match="180"):
        purge(30)
    assert purge(180) == 1
    assert set(db.session.execute(sa.select(LoginEvent.username)).scalars()) == {"u"}


def test_retention_below_180_days_is_refused(monkeypatch, tmp_path):
    from coord import config

    monkeypatch.setenv("COORD_LOG_RETENTION_DAYS", "90")
    with pytest.raises(RuntimeError, match="180"):
        config.load(tmp_path)


def test_production_requires_the_audit_key(monkeypatch, tmp_path):
    from coord import config

    monkeypatch.setenv("COORD_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("COORD_AUDIT_KEY", raising=False)
    with pytest.raises(RuntimeError, match="COORD_AUDIT_KEY"):
        config.load(tmp_path)
    monkeypatch.setenv("COORD_AUDIT_KEY", "k" * 32)
    assert config.load(tmp_path)["AUDIT_KEY"] == "k" * 32
    monkeypatch.setenv("COORD_ENV", "development")
    monkeypatch.delenv("COORD_AUDIT_KEY")
    generated = config.load(tmp_path)["AUDIT_KEY"]
    assert (tmp_path / "audit_key").read_text().strip() == generated and len(generated) == 64


# --- 三员分立 (separation of duties) ---------------------------------------------------------------

def _add_user(username: str, role: str) -> User:
    user = User(username=username, name=username, agency_id=user_by_name("admin").agency_id, role=role,
                password_hash=services.hash_password(DEMO_PASSWORD), active=True)
    db.session.add(user)
    db.session.commit()
    return user


def test_separated_roles_are_off_by_default(client):
    login(client, "admin")
    form = client.get("/users/new").get_data(as_text=True)
    assert "sysadmin" not in form and "安全管理员" not in form
    with pytest.raises(DomainError, match="角色"):
        services.create_user(user_by_name("admin"), {"username": "sys1", "name": "系", "role": "sysadmin",
                                                     "agency_id": 1}, GOOD)


def test_separation_of_duties(client, app):
    app.config["SEPARATION_OF_DUTIES"] = True
    for username, role in (("sys_admin", "sysadmin"), ("sec_admin", "secadmin"), ("aud_admin", "auditadmin")):
        _add_user(username, role)
    # The office keeps its oversight of records but no longer keeps the accounts.
    login(client, "admin")
    assert client.get("/users").status_code == 403
    assert client.get("/security/logins").status_code == 403
    assert client.get("/leads/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, "sys_admin")
    assert client.get("/users").status_code == 200
    assert "安全管理员" in client.get("/users/new").get_data(as_text=True)
    assert client.get("/security/logins").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, "sec_admin")
    assert client.get("/users").status_code == 403
    assert client.get("/security/logins").status_code == 200
    with pytest.raises(Forbidden):
        services.create_user(user_by_name("sec_admin"), {}, GOOD)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, "aud_admin")
    assert client.get("/security/logins.csv").status_code == 200
    assert client.get("/users").status_code == 403
    # The audit administrator reads every agency's entries.
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.agency_scope != "").limit(1)).scalar_one()
    assert entry.summary in client.get("/audit/").get_data(as_text=True) or entry.id
    from coord.audit.services import recent_for

    assert len(recent_for(user_by_name("aud_admin"))) == len(recent_for(user_by_name("admin")))
    with pytest.raises(Forbidden):
        services.unlock(user_by_name("aud_admin"), user_by_name("viewer").id)


def test_login_log_records_the_client_behind_the_proxy(fresh_db_url, tmp_path):
    from coord import create_app
    from tests.conftest import _overrides

    app = create_app({**_overrides(fresh_db_url, tmp_path), "PROXY_COUNT": 1})
    with app.app_context():
        client = app.test_client()
        token = csrf_token(client, "/login")
        client.post("/login", data={"username": "viewer", "password": "x", "csrf_token": token},
                    headers={"X-Forwarded-For": "10.1.2.3"})
        assert db.session.scalar(sa.select(LoginEvent.address).order_by(LoginEvent.id.desc()).limit(1)) == "10.1.2.3"
        db.session.remove()
        db.engine.dispose()
