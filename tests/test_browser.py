"""A real browser (headless Chromium driven by Playwright) through the pages."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_login

pytestmark = pytest.mark.browser


def test_login_search_directory_open_agency(page):
    browser_login(page, "scjg_coord")
    page.get_by_role("link", name="单位名录").first.click()
    search = page.get_by_placeholder("输入单位名称搜索")
    # htmx active search, no submit. Typed key by key, as a person does: a fill() right after the
    # boosted navigation can land before htmx has processed the new page and so send nothing.
    search.press_sequentially("城市管理", delay=80)
    rows = page.locator("#agency-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("区城市管理局")
    assert "q=" in page.url  # hx-push-url keeps the search in the address bar
    page.get_by_role("link", name="区城市管理局").click()
    page.wait_for_selector("h1:has-text('区城市管理局')")
    assert "cgj@spb.example.cn" in page.content()
    assert "王晓燕" in page.content()


def test_directory_search_works_without_javascript(chromium, live_server):
    context = chromium.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    browser_login(page, "viewer")
    page.goto("/agencies/")
    page.get_by_placeholder("输入单位名称搜索").fill("公安")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**q=*")
    assert page.locator("#agency-rows tr").count() == 1
    context.close()
