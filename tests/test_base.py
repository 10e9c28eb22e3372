"""The base: login, accounts, directory, audit chain, API, security."""
from __future__ import annotations

import re

import sqlalchemy as sa

from coord.accounts.models import User
from coord.agencies.models import Agency
from coord.audit.models import AuditEntry
from coord.extensions import db
from tests.conftest import DEMO_PASSWORD, csrf_token, login, user_by_name


def test_healthz_checks_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json["status"] == "ok"
    assert resp.json["database"] == "ok"


def test_login_logout_and_messages(client):
    resp = client.get("/", follow_redirects=True)
    assert "请先登录" in resp.get_data(as_text=True)
    bad = login(client, "admin", "wrong-password")
    assert bad.status_code == 400
    assert "用户名或密码不正确" in bad.get_data(as_text=True)
    unknown = login(client, "nobody")
    assert "用户名或密码不正确" in unknown.get_data(as_text=True)
    ok = login(client, "admin")
    assert ok.status_code == 302
    home = client.get("/")
    assert "秦立新" in home.get_data(as_text=True)
    out = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert out.status_code == 302
    assert client.get("/").status_code == 302


def test_login_rate_limited(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    for _ in range(3):
        login(client, "admin", "wrong-password")
    resp = login(client, "admin", "wrong-password")
    assert resp.status_code == 429
    assert "过于频繁" in resp.get_data(as_text=True)


def test_csrf_missing_is_refused_and_changes_nothing(client):
    login(client, "admin")
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    resp = client.post("/users/new", data={"username": "newbie", "name": "新人", "role": "viewer",
                                           "agency_id": "1", "password": "abc123456789"})
    assert resp.status_code == 400
    assert "安全令牌" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_admin_creates_edits_deactivates_account(client):
    login(client, "admin")
    agency = db.session.execute(sa.select(Agency).where(Agency.code == "scjgj")).scalar_one()
    token = csrf_token(client, "/users/new")
    resp = client.post("/users/new", data={
        "csrf_token": token, "username": "scjg_new", "name": "孙悦", "agency_id": agency.id,
        "role": "officer", "email": "sy@spb.example.cn", "password": "Start-pass-123",
    })
    assert resp.status_code == 302, resp.get_data(as_text=True)
    user = user_by_name("scjg_new")
    assert user.agency_id == agency.id and user.role == "officer"
    resp = client.post(f"/users/{user.id}", data={
        "csrf_token": token, "name": "孙悦悦", "agency_id": agency.id, "role": "coordinator",
    })
    assert resp.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.role) == ("孙悦悦", "coordinator")
    resp = client.post(f"/users/{user.id}/active", data={"csrf_token": token, "active": "0"})
    assert resp.status_code == 302
    db.session.refresh(user)
    assert user.active is False
    # The deactivated account cannot log in.
    other = client.application.test_client()
    resp = login(other, "scjg_new", "Start-pass-123")
    assert "已停用" in resp.get_data(as_text=True)
    actions = [e.action for e in db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.entity_type == "user", AuditEntry.entity_id == str(user.id))
    ).scalars()]
    assert actions == ["user.create", "user.update", "user.deactivate"]


def test_bad_account_input_changes_nothing(client):
    login(client, "admin")
    token = csrf_token(client, "/users/new")
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    for data, message in [
        ({"username": "admin", "name": "x", "role": "viewer", "agency_id": 1, "password": "Abcdefgh123"}, "已被使用"),
        ({"username": "ok_name", "name": "x", "role": "boss", "agency_id": 1, "password": "Abcdefgh123"}, "角色"),
        ({"username": "ok_name", "name": "x", "role": "viewer", "agency_id": 99999, "password": "Abcdefgh123"}, "单位"),
        ({"username": "ok_name", "name": "x", "role": "viewer", "agency_id": 1, "password": "short"}, "密码"),
        ({"username": "ok_name", "name": "", "role": "viewer", "agency_id": 1, "password": "Abcdefgh123"}, "必填"),
        ({"username": "ok_name", "name": "x", "role": "viewer", "agency_id": "abc", "password": "Abcdefgh123"}, "单位"),
    ]:
        resp = client.post("/users/new", data={"csrf_token": token, **data})
        assert resp.status_code == 400, data
        assert message in resp.get_data(as_text=True), (data, message)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_non_admin_cannot_manage_accounts_or_agencies(client):
    login(client, "scjg_coord")
    assert client.get("/users").status_code == 403
    assert client.get("/agencies/1/edit").status_code == 403
    resp = client.post("/users/new", data={"csrf_token": csrf_token(client), "username": "x"})
    assert resp.status_code == 403
    assert "无权" in resp.get_data(as_text=True)


def test_change_password_ends_other_sessions(client, app):
    login(client, "scjg_officer")
    other = app.test_client()
    login(other, "scjg_officer")
    assert other.get("/").status_code == 200
    token = csrf_token(client, "/account")
    bad = client.post("/account", data={"csrf_token": token, "pw-current_password": "nope",
                                        "pw-new_password": "New-pass-2026", "pw-confirm": "New-pass-2026"})
    assert "当前密码不正确" in bad.get_data(as_text=True)
    ok = client.post("/account", data={"csrf_token": token, "pw-current_password": DEMO_PASSWORD,
                                       "pw-new_password": "New-pass-2026", "pw-confirm": "New-pass-2026"})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200  # this session goes on
    assert other.get("/").status_code == 302  # the other one is over
    fresh = app.test_client()
    assert login(fresh, "scjg_officer", "New-pass-2026").status_code == 302


def test_directory_search_page_and_htmx_fragment(client):
    login(client, "scjg_officer")
    page = client.get("/agencies/?q=市场")
    html = page.get_data(as_text=True)
    assert "区市场监管局" in html and "<html" in html and "区公安分局" not in html
    frag = client.get("/agencies/?q=街道", headers={"HX-Request": "true", "HX-Target": "agency-rows"})
    text = frag.get_data(as_text=True)
    assert "<html" not in text and "小龙坎街道办事处" in text and "区司法局" not in text
    assert "HX-Request" in frag.headers.get("Vary", "")
    towns = client.get("/agencies/?kind=town").get_data(as_text=True)
    assert towns.count("镇人民政府") >= 7
    police = client.get("/agencies/?role=is_police").get_data(as_text=True)
    assert "区公安分局" in police and "区教委" not in police


def test_directory_holds_annex_2(app):
    names = set(db.session.execute(sa.select(Agency.name)).scalars())
    for expected in ["区委保密办（区国家保密局）", "区网信办", "区发展改革委", "区公共资源交易管理局",
                     "区公安分局", "区规划自然资源局", "区市场监管局", "区消防救援支队", "虎溪街道办事处",
                     "歌乐山镇人民政府"]:
        assert expected in names
    kinds = set(db.session.execute(sa.select(Agency.kind)).scalars())
    assert kinds == {"committee_office", "government_department", "city_branch", "town", "subdistrict",
                     "authorised_org"}


def test_admin_edits_agency_and_history_shows_before_after(client):
    login(client, "admin")
    agency = db.session.execute(sa.select(Agency).where(Agency.code == "cgj")).scalar_one()
    token = csrf_token(client)
    bad = client.post(f"/agencies/{agency.id}/edit", data={"csrf_token": token, "name": agency.name,
                                                          "kind": "town", "email": "not-an-email"})
    assert bad.status_code == 400 and "邮箱" in bad.get_data(as_text=True)
    ok = client.post(f"/agencies/{agency.id}/edit", data={
        "csrf_token": token, "name": agency.name, "kind": agency.kind, "email": "cgj-new@spb.example.cn",
        "is_enforcement": "y", "active": "y"})
    assert ok.status_code == 302
    history = client.get(f"/audit/agency/{agency.id}").get_data(as_text=True)
    assert "cgj@spb.example.cn" in history and "cgj-new@spb.example.cn" in history


def test_audit_history_scoped_to_what_user_may_see(client):
    login(client, "admin")
    scjg = user_by_name("scjg_officer")
    token = csrf_token(client)
    client.post(f"/users/{scjg.id}", data={"csrf_token": token, "name": "李喆", "agency_id": scjg.agency_id,
                                           "role": "officer", "post": "队长"})
    client.post("/logout", data={"csrf_token": token})
    login(client, "cgj_coord")  # another agency
    assert client.get(f"/audit/user/{scjg.id}").status_code == 404
    assert "李喆" not in client.get("/audit/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(client, "scjg_coord")  # same agency
    assert client.get(f"/audit/user/{scjg.id}").status_code == 200
    assert client.get("/audit/nosuchthing/1").status_code == 404


def test_unknown_ids_are_404_in_chinese(client):
    login(client, "admin")
    resp = client.get("/agencies/99999")
    assert resp.status_code == 404 and "不存在" in resp.get_data(as_text=True)
    assert client.get("/users/99999").status_code == 404


def test_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    html = resp.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script found"
    login(client, "admin")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only


def test_output_is_escaped(client):
    login(client, "admin")
    agency = db.session.execute(sa.select(Agency).where(Agency.code == "tb")).scalar_one()
    client.post(f"/agencies/{agency.id}/edit", data={
        "csrf_token": csrf_token(client), "name": "<script>alert(1)</script>", "kind": agency.kind, "active": "y"})
    html = client.get(f"/agencies/{agency.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_workday_calendar_knows_2026_makeup_days(client):
    from datetime import date

    from coord.workdays import services

    assert services.is_workday(date(2026, 10, 10))  # Saturday, make-up working day
    assert not services.is_workday(date(2026, 10, 7))
    assert services.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert services.add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)  # make-up Saturday
    assert services.add_working_days(date(2026, 12, 28), 3) == date(2026, 12, 31)
    # The next year is always there (provisional until its notice): 2027-01-01 is 元旦.
    assert services.add_working_days(date(2026, 12, 30), 5) == date(2027, 1, 7)
    import pytest

    # A day beyond every year of the table is still an error, never a guess.
    last = max(services.known_years())
    with pytest.raises(services.CalendarMissing, match=str(last + 1)):
        services.add_working_days(date(last, 12, 28), 5)
    login(client, "viewer")
    html = client.get("/calendar/?year=2026").get_data(as_text=True)
    assert "调休上班" in html


def test_english_second(client):
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page and "User name" in page
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "用户名" in page
    resp = client.get("/lang/en")
    assert "lang=en" in resp.headers["Set-Cookie"]


def test_expired_session_asks_to_log_in_again(app, client):
    app.config["PERMANENT_SESSION_LIFETIME"] = 1
    login(client, "scjg_officer")
    cookie = client.get_cookie("session")
    assert cookie.expires is not None  # a permanent session with an end
    import time

    time.sleep(2.1)  # the signed cookie's timestamp is now older than the lifetime
    resp = client.get("/agencies/", follow_redirects=True)
    assert "请先登录，或登录已过期" in resp.get_data(as_text=True)


def test_production_requires_secret_key(monkeypatch, tmp_path):
    import pytest

    from coord import config

    monkeypatch.setenv("COORD_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.load(tmp_path)
    monkeypatch.setenv("COORD_ENV", "development")
    first = config.load(tmp_path)["SECRET_KEY"]
    assert first == config.load(tmp_path)["SECRET_KEY"] and len(first) == 64  # generated once, kept in instance/
