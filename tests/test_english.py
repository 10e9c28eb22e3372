"""English second, everywhere (#13 point 4): each area of coord, walked in English as the demo roles
that use it over the living demo district, shows no Chinese outside the data."""
from __future__ import annotations

import pytest

from tests.conftest import login
from tests.english_walk import walk

ROLES = ("admin", "scjg_coord", "scjg_officer", "viewer")

# area: (where the walk starts, the paths it stays within)
AREAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "home": (("/", "/worklist/", "/me/notifications", "/login"), ("/worklist", "/me")),
    "leads": (("/leads/", "/leads/?box=outbox", "/leads/police", "/leads/figures"), ("/leads",)),
    "lists": (("/lists/", "/public/lists"), ("/lists", "/public")),
    "accounts": (("/account", "/users/", "/agencies/", "/security/", "/audit/", "/admin/", "/me/"),
                 ("/account", "/users", "/agencies", "/security", "/audit", "/admin", "/me")),
    "interviews": (("/interviews/", "/interviews/new", "/interviews/follow-ups", "/minutes/"),
                   ("/interviews", "/minutes")),
    "scheduling": (("/scheduling/", "/calendar/", "/cal/", "/parties/", "/mail/", "/dev/"),
                   ("/scheduling", "/calendar", "/cal", "/parties", "/mail", "/dev")),
    "measures": (("/measures/", "/party/"), ("/measures", "/party")),
    "oversight": (("/oversight/",), ("/oversight",)),
}


@pytest.mark.parametrize("area", sorted(AREAS))
def test_every_page_in_english_shows_no_chinese_but_the_data(district, area):
    starts, within = AREAS[area]
    found: dict[str, list[str]] = {}
    for username in ROLES:
        client = district.test_client()
        login(client, username)
        for path, left in walk(client, list(starts), within=within).items():
            found[f"{username} {path}"] = left
    assert not found, "Chinese left in English:\n" + "\n".join(f"{k}: {v[:12]}" for k, v in sorted(found.items()))


def _refused_lead(client, lang: str | None) -> str:
    """Post a lead without its facts (as cgj_coord, in `lang` or the default) and return the refused page."""
    from tests.conftest import csrf_token
    from tests.referrals_fixtures import agency

    login(client, "cgj_coord")
    if lang:
        client.set_cookie("lang", lang)
    data = {"csrf_token": csrf_token(client, "/leads/new"), "to_agency_id": str(agency("scjgj").id),
            "party_name": "某公司", "facts": "", "matter": "无证经营"}
    resp = client.post("/leads/new", data=data)
    assert resp.status_code == 400
    return resp.get_data(as_text=True)


def test_a_refused_lead_in_english_says_why_in_english_and_keeps_what_was_typed(client):
    html = _refused_lead(client, "en")
    assert "Please fill in: Facts." in html and "请填写" not in html
    assert 'value="某公司"' in html and 'value="无证经营"' in html  # the data stays as entered
    assert "Receiving agency (law-enforcement agency)" in html and "接收单位（行政执法部门）" not in html


def test_chinese_stays_the_default(client):
    html = _refused_lead(client, None)
    assert "请填写线索事实。" in html and "接收单位（行政执法部门）" in html and "Please fill in" not in html
    assert '<html lang="zh-CN">' in html


def test_dates_are_written_the_english_way_in_english(app):
    from datetime import UTC, date, datetime

    from flask_babel import refresh

    from coord.timeutil import fmt_date, fmt_local

    instant = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    with app.test_request_context("/?lang=en"):
        refresh()  # the locale is kept per app context, which the test app's fixture holds open
        assert fmt_local(instant, "%Y年%m月%d日") == "2 Dec 2026"
        assert fmt_local(instant, "%m月%d日 %H:%M") == "2 Dec 09:30"
        assert fmt_local(instant) == "2026-12-02 09:30"
        assert fmt_date(date(2026, 12, 2)) == "2 Dec 2026"
    with app.test_request_context("/"):
        refresh()
        assert fmt_local(instant, "%Y年%m月%d日") == "2026年12月02日"
        assert fmt_local(instant, "%m月%d日 %H:%M") == "12月02日 09:30"
    with app.app_context():  # the worker and the CLI write Chinese
        refresh()
        assert fmt_local(instant, "%Y年%m月%d日") == "2026年12月02日"


def test_an_api_refusal_is_in_english_when_asked(client):
    login(client, "viewer")
    resp = client.post("/api/v1/leads?lang=en", json={})
    body = resp.get_json()
    assert resp.status_code in (401, 403) and not any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])
