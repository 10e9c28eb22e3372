"""In a real browser: refer a lead, the receiver acknowledges and replies, the sender accepts."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from coord.extensions import db
from tests.conftest import browser_login
from tests.referrals_fixtures import PDF

pytestmark = pytest.mark.browser


def _logout(page) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/login**")


def test_refer_acknowledge_reply_accept(page, tmp_path):
    evidence = tmp_path / "现场检查笔录.pdf"
    evidence.write_bytes(PDF)

    # 区城市管理局's coordinator refers a lead to 区市场监管局, with a file.
    browser_login(page, "cgj_coord")
    page.get_by_role("link", name="线索移交").first.click()
    page.get_by_role("link", name="移交线索").click()
    page.get_by_label("接收单位").select_option(label="区市场监管局")
    page.get_by_label("当事人名称").fill("沙坪坝区某某烧烤店")
    page.get_by_label("线索事实").fill("夜间巡查发现该店在无照经营，且油烟直排。")
    page.get_by_label("涉嫌违法事项").fill("涉嫌无照经营")
    page.get_by_label("紧急程度").select_option(label="紧急")
    page.locator("#files").set_input_files(str(evidence))
    page.get_by_role("button", name="移交", exact=True).click()
    expect(page.locator("h1")).to_contain_text("待签收")
    number = page.locator("h1").inner_text().split()[1]
    expect(page.get_by_role("link", name="现场检查笔录.pdf")).to_be_visible()
    db.session.rollback()
    _logout(page)

    # The receiver finds it in its inbox (with the count badge), acknowledges and replies.
    browser_login(page, "scjg_officer")
    expect(page.locator("nav.mainnav .badge")).to_be_visible()
    page.get_by_role("link", name="线索移交").first.click()
    row = page.locator("tr", has_text=number)
    expect(row).to_contain_text("剩")
    row.get_by_role("link", name=number).click()
    page.get_by_role("button", name="签收").click()
    expect(page.locator("h1")).to_contain_text("核查中")
    expect(page.locator("#lead-clock")).to_contain_text("回复期限")
    # A reply without an outcome is refused with a message, and the page stays usable.
    page.get_by_label("处理情况说明").fill("已核查。")
    page.get_by_role("button", name="提交回复").click()
    expect(page.get_by_role("alert")).to_contain_text("请选择处理结果")
    expect(page.locator("h1")).to_contain_text("核查中")
    page.get_by_label("处理结果").select_option(label="采取柔性执法方式处理")
    page.get_by_label("柔性执法方式（采取柔性执法方式时选择）").select_option(label="告知建议")
    page.get_by_label("处理情况说明").fill("经核查属实，已书面告知办照要求，当事人承诺七日内办结。")
    page.get_by_role("button", name="提交回复").click()
    expect(page.locator("h1")).to_contain_text("已回复待确认")
    db.session.rollback()
    _logout(page)

    # The sender accepts the reply; the lead is closed and its history shows every step.
    browser_login(page, "cgj_coord")
    page.get_by_role("link", name="线索移交").first.click()
    page.get_by_role("link", name="发件箱（本单位移交）").click()
    page.locator("tr", has_text=number).get_by_role("link", name=number).click()
    expect(page.get_by_text("告知建议")).to_be_visible()
    page.get_by_role("button", name="确认办结").click()
    expect(page.locator("h1")).to_contain_text("已办结")
    expect(page.locator(".timeline")).to_contain_text("确认回复，线索办结")
    expect(page.locator(".timeline")).to_contain_text("签收")
