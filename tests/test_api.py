"""The JSON API: tokens, errors, OpenAPI, the base endpoints."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import csrf_token, login


def test_no_token_is_401_json(client):
    for path in ["/api/v1/me", "/api/v1/agencies", "/api/v1/users", "/api/v1/agencies/1"]:
        resp = client.get(path)
        assert resp.status_code == 401
        assert "令牌" in resp.json["message"]
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_session_cookie_does_not_authenticate_api(client):
    login(client, "admin")
    assert client.get("/api/v1/me").status_code == 401


def test_me_agencies_users(api):
    admin = api("admin")
    me = admin.get("/api/v1/me").json
    assert me["username"] == "admin" and me["agency"]["name"] == "区司法局" and me["role"] == "admin"
    agencies = admin.get("/api/v1/agencies").json
    assert len(agencies) >= 55
    scjg = next(a for a in agencies if a["name"] == "区市场监管局")
    one = admin.get(f"/api/v1/agencies/{scjg['id']}").json
    assert one["email"].endswith("@spb.example.cn") and one["is_enforcement"] is True
    users = admin.get(f"/api/v1/users?agency_id={scjg['id']}").json
    assert {u["username"] for u in users} == {"scjg_coord", "scjg_officer"}
    assert set(users[0]) >= {"id", "username", "name", "agency", "role"}
    missing = admin.get("/api/v1/agencies/999999")
    assert missing.status_code == 404 and missing.json["message"]
    bad = admin.get("/api/v1/users?agency_id=abc")
    assert bad.status_code == 422 and "errors" in bad.json


def test_calendar_api_and_admin_only_edit(api):
    admin = api("admin")
    days = admin.get("/api/v1/calendar/days?from=2026-10-01&to=2026-10-10").json["days"]
    by_date = {d["date"]: d for d in days}
    assert by_date["2026-10-01"]["is_workday"] is False and by_date["2026-10-10"]["is_workday"] is True
    officer = api("scjg_officer")
    resp = officer.put("/api/v1/calendar/days/2030-01-02", json={"is_workday": True})
    assert resp.status_code == 403
    resp = admin.put("/api/v1/calendar/days/2030-01-02", json={"is_workday": True, "note": "新年度录入"})
    assert resp.status_code == 200 and resp.json["source"] == "admin"
    assert admin.put("/api/v1/calendar/days/2030-13-40", json={"is_workday": True}).status_code == 400
    assert admin.get("/api/v1/calendar/days?from=2026-10-10&to=2026-10-01").status_code == 422


def test_openapi_document_generated(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ["/api/v1/agencies", "/api/v1/agencies/{agency_id}", "/api/v1/users", "/api/v1/me"]:
        assert path in spec["paths"], path
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_account_page_creates_and_revokes_token(client):
    login(client, "scjg_coord")
    resp = client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account"), "tk-name": "对接"})
    html = resp.get_data(as_text=True)
    import re

    token = re.search(r'<code class="token">([^<]+)</code>', html).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).json["username"] == "scjg_coord"
    from coord.accounts.services import user_tokens
    from tests.conftest import user_by_name

    token_id = user_tokens(user_by_name("scjg_coord").id)[0].id
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/account")})
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_create_token_command(app, fresh_db_url, tmp_path):
    env = {"DATABASE_URL": fresh_db_url, "SECRET_KEY": "x", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "create-token", "admin"],
                         capture_output=True, text=True, env=env, check=True)
    token = out.stdout.strip()
    assert token.startswith("coord_")
    resp = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.json["username"] == "admin"
    bad = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "create-token", "ghost"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "不存在" in bad.stderr
