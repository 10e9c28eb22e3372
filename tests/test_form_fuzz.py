"""Form fuzzing: every page POST route, with a valid CSRF token, gets hostile field values; none answers 5xx.

The field names come from the app's own pages (every `name="..."` of the forms they render), the
path ids from real records (an interview, a lead, a list version and item, a busy block, …) or from
numbers past 32 bits. Values are drawn by a seeded generator from what broke the app before: integers
above 2³¹−1, `abc` where a number belongs, U+0000 and other control characters, impossible dates,
very long text, markup. Bounded: `FORM_FUZZ_ROUNDS` posts per route (default 4), fixed seed; query
strings of the GET pages are fuzzed the same way.
"""
from __future__ import annotations

import io
import os
import random
import re

import pytest
import sqlalchemy as sa

from coord.extensions import db
from tests.conftest import csrf_token, login, user_by_name
from tests.interview_fixtures import busy, ensure_calendar, interview_data
from tests.referrals_fixtures import PDF, make_lead

ROUNDS = int(os.environ.get("FORM_FUZZ_ROUNDS", "4"))
SEED = int(os.environ.get("FORM_FUZZ_SEED", "11"))
HUGE = "99999999999"
NASTY = ["", "abc", "-1", "0", "1", HUGE, "9" * 30, "8031822716780381184", "1.5", "１２", "2026-13-45",
         "2026-02-30", "2026-12-01", "2026-12-01T09:00", "2026-12-01T25:61", "0001-01-01", "9999-12-31",
         "\x00", "a\x00b", "名称\x1f", "\x7f", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
         "<script>alert(1)</script>", "x" * 5000, "[]", "null", "true", "on", "positive", "approve", "return",
         "officer", "coordinator", "admin", "flexible", "case", "interview", "confirmed", "declined"]
NAME_RE = re.compile(r'name="([A-Za-z_][\w\-\[\]]*)"')


def _records() -> dict[str, int]:
    from coord.interviews import services as interviews
    from coord.lists.models import ListItem, ListVersion
    from coord.scheduling.models import Room
    from coord.timeutil import local_today

    ensure_calendar(local_today(), 60)
    interview = interviews.create(user_by_name("scjg_coord"), interview_data())
    lead = make_lead(uploads=())
    version = db.session.execute(sa.select(ListVersion).order_by(ListVersion.id)).scalars().first()
    item = db.session.execute(sa.select(ListItem).order_by(ListItem.id)).scalars().first()
    from datetime import datetime, timedelta

    from tests.interview_fixtures import SH

    start = datetime.now(SH).replace(microsecond=0) + timedelta(days=3)
    block = busy("scjg_officer", start, start + timedelta(hours=1))
    room = db.session.execute(sa.select(Room.id).order_by(Room.id)).scalars().first()
    ids = {"interview_id": interview.id, "lead_id": lead.id, "version_id": version.id if version else 1,
           "item_id": item.id if item else 1, "block_id": block.id, "room_id": room or 1,
           "user_id": user_by_name("scjg_officer").id, "agency_id": user_by_name("scjg_coord").agency_id,
           "owner_id": user_by_name("admin").id, "token_id": 1, "follow_up_id": 1, "message_id": 1,
           "referral_id": 1}
    db.session.commit()
    return ids


def _url(rule, ids: dict[str, int], rnd: random.Random) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if type(converter).__name__ in ("BoundedIntConverter", "IntegerConverter"):
            values[name] = ids.get(name, 1) if rnd.random() < 0.8 else 2_147_483_646
        elif hasattr(converter, "items"):  # <any(a, b):kind>
            values[name] = rnd.choice(sorted(converter.items))
        elif name == "kind":
            values[name] = rnd.choice(["positive", "negative", "user", "agency", "room", "x"])
        else:
            values[name] = "x"
    return rule.build(values, append_unknown=False)[1]


def _names(client, paths: list[str]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        resp = client.get(path)
        if resp.status_code == 200 and resp.mimetype == "text/html":
            found.update(NAME_RE.findall(resp.get_data(as_text=True)))
    found.discard("csrf_token")
    return found


@pytest.fixture
def fuzz(app, client):
    ids = _records()
    login(client, "admin")
    rules = [r for r in app.url_map.iter_rules()
             if not r.rule.startswith(("/api/", "/static")) and r.endpoint not in ("accounts.logout",)]
    get_pages = [_url(r, ids, random.Random(0)) for r in rules if "GET" in r.methods]
    names = _names(client, get_pages)
    return ids, rules, names


def _value(rnd: random.Random) -> str:
    return rnd.choice(NASTY)


def test_no_page_post_gives_a_server_error(app, client, fuzz):
    ids, rules, all_names = fuzz
    rnd = random.Random(SEED)
    failures = []
    posts = [r for r in rules if "POST" in r.methods]
    assert len(posts) > 40, "the POST routes were not found"
    for rule in posts:
        for _ in range(ROUNDS):
            url = _url(rule, ids, rnd)
            own = _names(client, [url]) if "GET" in rule.methods else set()
            names = sorted(own) + rnd.sample(sorted(all_names), k=min(8, len(all_names)))
            data: dict = {"csrf_token": csrf_token(client)}
            for name in names:
                if rnd.random() < 0.7:
                    data[name] = [_value(rnd) for _ in range(rnd.choice((1, 1, 2)))]
            if rnd.random() < 0.4:  # a file part on the upload forms, and on the others too
                data[rnd.choice(["file", "files", "letter"])] = (io.BytesIO(rnd.choice([PDF, b"\x00" * 64, b""])),
                                                                 rnd.choice(["a.pdf", "a.xlsx", "a.ics", ""]))
            headers = {"HX-Request": "true"} if rnd.random() < 0.5 else {}
            resp = client.post(url, data=data, headers=headers, content_type="multipart/form-data")
            if resp.status_code >= 500:
                failures.append((url, {k: v for k, v in data.items() if k != "csrf_token"}, resp.status_code))
            if resp.status_code in (302, 401) and "/login" in (resp.headers.get("Location", "")
                                                               + resp.headers.get("HX-Redirect", "")):
                login(client, "admin")  # a password change or the like ended the session
    assert not failures, f"{len(failures)} server errors, e.g. {failures[:5]}"


def test_no_page_query_string_gives_a_server_error(app, client, fuzz):
    ids, rules, all_names = fuzz
    rnd = random.Random(SEED + 1)
    failures = []
    names = sorted(all_names | {"page", "q", "agency_id", "agency", "from", "to", "status", "state", "box",
                                "year", "id", "kind", "against", "list_item_id", "lead_agency_id", "limit"})
    for rule in [r for r in rules if "GET" in r.methods]:
        for _ in range(2):
            query = {name: _value(rnd) for name in rnd.sample(names, k=min(6, len(names)))}
            resp = client.get(_url(rule, ids, rnd), query_string=query,
                              headers={"HX-Request": "true"} if rnd.random() < 0.5 else {})
            if resp.status_code >= 500:
                failures.append((rule.rule, query, resp.status_code))
    assert not failures, f"{len(failures)} server errors, e.g. {failures[:5]}"
