"""In a real browser: the list-item picker and eligibility hint on the lead form, the flagged reply
form, and escalating a "not rectified" visit into a lead."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from coord.extensions import db
from coord.timeutil import local_today
from tests.conftest import browser_login
from tests.interview_fixtures import ensure_calendar
from tests.test_integration import not_rectified_visit

pytestmark = pytest.mark.browser


def _logout(page) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login**")


def test_lead_form_picker_hint_and_flagged_reply(page):
    ensure_calendar(local_today(), 40)
    browser_login(page, "cgj_coord")
    page.goto("/leads/new")
    page.get_by_label("接收单位").select_option(label="区市场监管局")
    picker = page.get_by_label("所涉清单事项")
    # The options follow the receiver chosen (htmx, hx-include of the receiver's select).
    expect(picker.locator("option", has_text="[负面] 发布虚假广告")).to_have_count(1)
    picker.select_option(value=picker.locator("option", has_text="绝对化用语").get_attribute("value"))
    expect(page.locator("#eligibility-hint")).to_contain_text("约谈告诫")
    picker.select_option(value=picker.locator("option", has_text="发布虚假广告").get_attribute("value"))
    expect(page.locator("#eligibility-hint")).to_contain_text("不适用柔性执法")
    page.get_by_label("当事人名称").fill("重庆某某传媒有限公司")
    page.get_by_label("线索事实").fill("户外广告宣称“全市销量第一”，无依据。")
    page.get_by_label("涉嫌违法事项").fill("发布虚假广告")
    page.get_by_role("button", name="移交", exact=True).click()
    expect(page.locator("h1")).to_contain_text("待签收")
    expect(page.locator("#lead-list-item")).to_contain_text("[负面清单] 发布虚假广告")
    expect(page.locator("#lead-eligibility")).to_contain_text("不适用柔性执法")
    db.session.rollback()
    _logout(page)

    browser_login(page, "scjg_officer")
    page.get_by_role("link", name="线索移交").first.click()
    page.locator("tr", has_text="重庆某某传媒有限公司").get_by_role("link").first.click()
    page.get_by_role("button", name="签收").click()
    expect(page.locator("#reply-not-eligible")).to_contain_text("不适用柔性执法")
    expect(page.locator("#outcome option[value=flexible]")).to_be_disabled()


def test_escalate_a_not_rectified_visit_from_the_follow_ups_page(page):
    ensure_calendar(local_today(), 40)
    visit = not_rectified_visit()
    db.session.commit()
    browser_login(page, "scjg_coord")
    page.goto("/interviews/follow-ups?status=done")
    page.locator(f"#follow-up-{visit.id}").get_by_role("link", name="升级处理：移交线索").click()
    expect(page.locator("h1")).to_contain_text("升级处理")
    expect(page.get_by_label("当事人名称")).to_have_value("重庆某某餐饮管理有限公司")
    expect(page.get_by_label("线索事实")).to_contain_text("清理占道物品并安装油烟净化设施")
    page.get_by_label("接收单位").select_option(label="区城市管理局")
    expect(page.get_by_label("所涉清单事项").locator("option", has_text="[正面] 占道经营")).to_have_count(1)
    expect(page.locator("#eligibility-hint")).to_contain_text("可适用柔性执法")
    page.get_by_role("button", name="升级并移交线索").click()
    expect(page.locator("h1")).to_contain_text("待签收")
    expect(page.locator("#lead-source")).to_contain_text("整改回访未整改")
    page.locator("#lead-source").get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text("联合约谈")
    expect(page.get_by_role("link", name="XS")).to_be_visible()
