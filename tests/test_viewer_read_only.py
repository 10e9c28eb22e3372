"""The viewer role is read-only everywhere (issue 11): pages, API and services."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from coord.accounts import services as accounts
from coord.accounts.models import ApiToken
from coord.errors import Forbidden
from coord.extensions import db
from coord.scheduling import services as scheduling
from coord.scheduling.models import BusyBlock
from coord.timeutil import local_today
from tests.conftest import csrf_token, login, user_by_name

ICS = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:x1@t\r\n"
       b"DTSTAMP:20260101T000000Z\r\nDTSTART:20261201T010000Z\r\nDTEND:20261201T020000Z\r\nSUMMARY:meeting\r\n"
       b"END:VEVENT\r\nEND:VCALENDAR\r\n")


def _counts() -> tuple[int, int]:
    return (db.session.scalar(sa.select(sa.func.count(BusyBlock.id))),
            db.session.scalar(sa.select(sa.func.count(ApiToken.id))))


def test_viewer_cannot_add_busy_import_ics_or_create_tokens_on_pages(client):
    """Issue 11: the viewer could add busy blocks, import .ics and create API tokens."""
    login(client, "viewer")
    before = _counts()
    day = (local_today() + timedelta(days=3)).isoformat()
    token = csrf_token(client, "/scheduling/busy")
    busy = client.post("/scheduling/busy", data={"csrf_token": token, "start_day": day, "start_time": "09:00",
                                                 "end_day": day, "end_time": "10:00", "reason": "培训"})
    assert busy.status_code == 403 and "只读用户" in busy.get_data(as_text=True)
    from io import BytesIO

    ics = client.post("/cal/busy/import", data={"csrf_token": token, "file": (BytesIO(ICS), "a.ics")},
                      content_type="multipart/form-data")
    assert ics.status_code == 403
    tok = client.post("/account/tokens", data={"csrf_token": token, "tk-name": "x"})
    assert tok.status_code == 403
    assert _counts() == before
    # Reading still works, and so does changing one's own password and logging out.
    assert client.get("/scheduling/busy").status_code == 200
    assert client.get("/account").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def test_viewer_api_is_read_only(api):
    viewer = api("viewer")
    me = user_by_name("viewer").id
    before = _counts()
    day = local_today() + timedelta(days=3)
    resp = viewer.post(f"/api/v1/users/{me}/busy", json={"start": f"{day}T09:00:00+08:00",
                                                          "end": f"{day}T10:00:00+08:00", "reason": "培训"})
    assert resp.status_code == 403 and resp.json["message"] == "只读用户不能修改数据。"
    resp = viewer.post(f"/api/v1/users/{me}/busy/import", data=ICS, headers={"Content-Type": "text/calendar"})
    assert resp.status_code == 403
    assert _counts() == before
    assert viewer.get("/api/v1/me").status_code == 200
    # A search with a body changes nothing: allowed.
    assert viewer.post("/api/v1/slots/search", json={}).status_code != 403


def test_services_refuse_the_viewer(app):
    from coord.dbtypes import utcnow

    viewer = user_by_name("viewer")

    start = utcnow() + timedelta(days=3)
    with pytest.raises(Forbidden):
        scheduling.add_busy(viewer, viewer.id, start, start + timedelta(hours=1), "培训")
    with pytest.raises(Forbidden):
        accounts.create_token(viewer, viewer, "x")
    from coord.calendar import services as calendar

    with pytest.raises(Forbidden):
        calendar.import_busy(viewer, viewer.id, ICS, "a.ics")


def _sample(rule) -> str:
    """A concrete URL for a rule: 1 for every argument."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "1", rule.rule)


def test_every_state_changing_page_refuses_the_viewer(app, client):
    """Not a list kept by hand: every POST route of the site, except logging in and out and one's
    own password, answers 403 to the viewer before any view code runs."""
    from coord.security import VIEWER_MAY_POST

    login(client, "viewer")
    token = csrf_token(client, "/account")
    checked = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint in VIEWER_MAY_POST:
            continue
        resp = client.post(_sample(rule), data={"csrf_token": token})
        assert resp.status_code == 403, (rule.rule, resp.status_code)
        checked += 1
    assert checked > 40
    # The same answer for a record that does not exist: the refusal reveals nothing.
    assert client.post("/leads/99999999/acknowledge", data={"csrf_token": token}).status_code == 403
    assert client.get("/").status_code == 200  # still logged in


def test_every_state_changing_api_call_refuses_the_viewer(app, api):
    viewer = api("viewer")
    checked = 0
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "_read_only", False) or getattr(view, "_public", False):
            continue
        for method in methods:
            resp = getattr(viewer, method.lower())(_sample(rule), json={})
            assert resp.status_code == 403, (method, rule.rule, resp.status_code)
            checked += 1
    assert checked > 20
