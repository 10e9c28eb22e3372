"""English second, everywhere (#13 point 4): each area of coord, walked in English as the demo roles
that use it over the living demo district, shows no Chinese outside the data."""
from __future__ import annotations

from datetime import timedelta

import pytest

from coord.extensions import db
from coord.timeutil import local_today
from tests.conftest import login
from tests.english_walk import walk
from tests.interview_fixtures import ensure_calendar

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


@pytest.fixture
def district(app, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")
    ensure_calendar(local_today() - timedelta(days=70), 100)
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["seed-demo", "--quiet"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    return app


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
