"""In a real browser: the invite download on the interview page, feed URLs and their reset."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from coord.extensions import db
from tests.calendar_fixtures import ical_js, make_interview
from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def test_interview_page_offers_the_invite(page, live_server):
    interview = make_interview()
    uid = interview.uid
    path = f"/interviews/{interview.id}"
    db.session.rollback()
    browser_login(page, "cgj_officer")
    page.goto(path)
    link = page.get_by_role("link", name="下载日程（.ics）")
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    data = open(download.value.path(), "rb").read()
    cal = ical_js(data)
    assert cal["method"] == "REQUEST" and cal["events"][0]["uid"] == uid


def test_reset_feed_url_in_the_browser(page, live_server):
    browser_login(page, "scjg_coord")
    page.get_by_role("navigation").get_by_text("更多").click()  # secondary pages sit in the 更多 menu
    page.get_by_role("navigation").get_by_role("link", name="日历订阅").click()
    box = page.get_by_label("我的约谈日程 订阅地址")
    old = box.input_value()
    assert old.startswith(live_server + "/cal/feed/user/")
    assert requests.get(old, timeout=10).status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())  # hx-confirm
    page.locator("#feed-user-" + old.split("/")[-2]).get_by_role("button", name="重置地址").click()
    expect(page.get_by_text("订阅地址已重置，旧地址已失效。")).to_be_visible()
    new = page.get_by_label("我的约谈日程 订阅地址").input_value()
    assert new != old
    assert requests.get(old, timeout=10).status_code == 404
    feed = requests.get(new, timeout=10)
    assert feed.status_code == 200 and ical_js(feed.content)["calname"] == "张堃 的约谈日程"
