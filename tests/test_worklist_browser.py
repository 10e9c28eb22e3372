"""In a real browser: every demo account opens coord on a worklist with something in it, acts on one
item and sees it leave; an item done in another tab leaves without a reload."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from coord.extensions import db
from coord.timeutil import local_today
from tests.conftest import browser_login
from tests.interview_fixtures import ensure_calendar
from tests.referrals_fixtures import make_lead

pytestmark = pytest.mark.browser

# The order matters where two accounts share an item (both of 区市场监管局 may acknowledge the same lead).
ACCOUNTS = ("scjg_officer", "scjg_coord", "cgj_coord", "cgj_officer", "gafj_officer", "sthj_coord", "admin",
            "viewer")


def _logout(page) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login**")


def test_every_demo_account_finds_its_worklist_and_acts_on_an_item(app, page, tmp_path):
    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")
    ensure_calendar(local_today() - timedelta(days=70), 100)
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    for name in ACCOUNTS:
        browser_login(page, name)
        tasks = page.locator("#worklist li.task")
        expect(tasks.first).to_be_visible()
        assert tasks.count() >= 1, name
        expect(page.locator("#worklist .clock").first).to_be_visible()  # each item with its clock
        if name == "viewer":  # read-only: the item leads to the interview the viewer attends
            tasks.first.locator("a.task-title").click()
            expect(page.locator("h1")).to_be_visible()
            _logout(page)
            continue
        item = tasks.filter(has=page.locator("form button")).first
        kind, record = item.get_attribute("data-kind"), item.get_attribute("data-record")
        item.locator("form button").click()
        gone = page.locator(f'#worklist li.task[data-kind="{kind}"][data-record="{record}"]')
        expect(gone).to_have_count(0)
        expect(page.locator("#worklist li.task").first).to_be_visible()  # the rest is still there
        page.reload()
        expect(gone).to_have_count(0)  # for good, not only on screen
        _logout(page)


def test_an_item_done_in_another_tab_leaves_without_a_reload(app, page):
    ensure_calendar(local_today() - timedelta(days=30), 60)
    app.config["WORKLIST_POLL_SECONDS"] = 1
    lead_id = make_lead("cgj_coord", "gafj").id
    db.session.remove()
    browser_login(page, "gafj_officer")
    item = page.locator(f'#worklist li[data-kind="lead_acknowledge"][data-record="lead-{lead_id}"]')
    expect(item).to_be_visible()
    other = page.context.new_page()
    other.goto(f"/leads/{lead_id}")
    other.get_by_role("button", name="签收").click()
    expect(other.locator("h1")).to_contain_text("核查中")
    expect(item).to_have_count(0)  # the first tab's worklist refreshed itself
    expect(page.locator(f'#worklist li[data-kind="lead_reply"][data-record="lead-{lead_id}"]')).to_be_visible()
    other.close()
