"""The two lists in a real browser: import, submit, approve, and the public page without login."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from coord.extensions import db
from tests.conftest import browser_login
from tests.lists_fixtures import make_xlsx, versions_of

pytestmark = pytest.mark.browser


def test_coordinator_imports_and_submits_admin_approves_public_sees_it(page, chromium, live_server, tmp_path):
    sheet = tmp_path / "生态环境局正面清单.xlsx"
    sheet.write_bytes(make_xlsx("positive"))

    browser_login(page, "sthj_coord")
    page.get_by_role("link", name="两张清单").first.click()
    expect(page.get_by_role("heading", name="区生态环境局 · 两张清单")).to_be_visible()
    positive = page.locator("#kind-positive")
    positive.get_by_label("导入正面清单").set_input_files(str(sheet))
    positive.get_by_role("button", name="导入", exact=True).click()
    page.wait_for_url("**/lists/versions/*")
    expect(page.get_by_text("已导入 3 项")).to_be_visible()
    expect(page.locator("#items tr")).to_have_count(3)
    expect(page.locator("#items")).to_contain_text("建设项目环境影响登记表未备案")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator("#version-state")).to_have_text("待审核")
    expect(page.get_by_role("button", name="提交审核")).to_have_count(0)

    admin = chromium.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    office = admin.new_page()
    browser_login(office, "admin")
    office.get_by_role("link", name="两张清单").first.click()
    pending = office.locator("#pending")
    expect(pending).to_contain_text("区生态环境局")
    pending.get_by_role("link", name="审核").click()
    office.get_by_label("审核意见").fill("同意发布。")
    office.get_by_role("button", name="审核通过并发布").click()
    expect(office.locator("#version-state")).to_have_text("已发布")
    admin.close()

    public = chromium.new_context(base_url=live_server, locale="zh-CN")
    anon = public.new_page()
    anon.goto("/public/lists")
    expect(anon.locator("#published-lists")).to_contain_text("区生态环境局")
    anon.get_by_placeholder("按事项名称、事项编码或单位搜索").fill("环境影响登记表")  # htmx active search
    expect(anon.locator("#public-items tbody tr")).to_have_count(1)
    expect(anon.locator("#public-items")).to_contain_text("区生态环境局")
    assert "q=" in anon.url
    with anon.expect_download() as download:
        anon.locator("#published-lists tr", has_text="区生态环境局").get_by_role("link", name="XLSX").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    public.close()
    db.session.rollback()
    assert versions_of("sthjj", "positive")[0].state == "published"


def test_coordinator_edits_a_row_in_place(page):
    browser_login(page, "cgj_coord")
    page.goto("/lists/")
    page.locator("#kind-positive").get_by_role("button", name="修订正面清单").click()
    page.wait_for_url("**/lists/versions/*")
    first = page.locator("#items tr").first
    first.get_by_role("link", name="编辑").click()
    row = page.locator("#items tr.editing")
    row.get_by_label("备注").fill("首次发现，不予处罚；当场改正")
    row.get_by_label("事项编码").fill("123")
    expect(row.locator(".code-hint")).to_contain_text("当前为 3 位")  # inline check while typing
    row.get_by_role("button", name="保存").click()
    expect(page.locator("#items tr.editing")).to_have_count(0)
    expect(page.locator("#items tr").first).to_contain_text("首次发现，不予处罚；当场改正")
    expect(page.locator("#items tr").first).to_contain_text("当前为 3 位")  # the warning stays beside the item
    page.get_by_role("link", name="新增事项").click()
    new = page.locator("#item-new")
    new.get_by_role("button", name="保存").click()
    expect(page.locator("#item-new")).to_contain_text("为必填项")
