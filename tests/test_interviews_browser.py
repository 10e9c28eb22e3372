"""A real browser books a joint interview of three agencies through the pages."""
from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from coord.extensions import db
from coord.interviews import services
from coord.timeutil import local_today
from tests.conftest import browser_login, user_by_name
from tests.interview_fixtures import at, busy, ensure_calendar, room_id

pytestmark = pytest.mark.browser


def test_book_a_joint_interview_of_three_agencies(page, app, chromium, live_server):
    ensure_calendar(local_today(), 150)
    # The first slot for 张堃 + 陈志强 + the room; 赵敏 is busy then, so adding her must move the suggestion.
    people = [user_by_name("scjg_coord").id, user_by_name("cgj_officer").id]
    window = (at(local_today(), "00:00"), at(local_today() + timedelta(days=46), "00:00"))
    first = services.suggest(user_by_name("scjg_coord"), people, room_id("区市场监管局约谈室"), 90, *window, 1)[0]
    first = first.slots[0]
    busy("sthj_coord", first.start, first.end, "环保督察")
    db.session.rollback()

    browser_login(page, "scjg_coord")
    page.get_by_role("link", name="联合约谈").first.click()
    page.get_by_role("link", name="发起联合约谈").click()
    page.get_by_label("约谈事由").fill("磁器口某火锅店油烟及占道经营联合约谈")
    page.get_by_label("所在镇街（区域性问题）").select_option(label="磁器口街道办事处")
    page.get_by_label("当事人名称").fill("重庆某某火锅餐饮有限公司")
    page.get_by_label("统一社会信用代码").fill("91500106MA5U3Q0X2H")
    page.get_by_label("参加人员1姓名").fill("李某")
    page.get_by_label("参加人员1邮箱").fill("li@example.com")
    page.get_by_label("会议室").select_option(label="区市场监管局约谈室（10 人）")

    # Co-organisers: the officials of each agency appear as they are added (htmx).
    page.get_by_label("区城市管理局", exact=True).check()
    expect(page.locator("#people")).to_contain_text("陈志强")
    page.get_by_label("区生态环境局", exact=True).check()
    expect(page.locator("#people")).to_contain_text("赵敏")
    page.get_by_label("张堃").check()
    page.get_by_label("陈志强").check()
    slots = page.locator("#slots input[name=start]")
    expect(slots.first).to_have_attribute("value", first.start.isoformat())
    page.get_by_label("赵敏").check()  # she is busy then: the suggestions refresh and move on
    expect(slots.first).not_to_have_attribute("value", first.start.isoformat())
    page.get_by_label("赵敏").uncheck()
    expect(slots.first).to_have_attribute("value", first.start.isoformat())
    page.get_by_label("赵敏").check()
    expect(slots.first).not_to_have_attribute("value", first.start.isoformat())
    chosen = slots.first.get_attribute("value")
    slots.first.check()
    page.get_by_role("button", name="创建并排期").click()

    expect(page.locator("h1")).to_contain_text("已排期")
    expect(page.locator(".flash.success")).to_contain_text("约谈已创建并排期")
    board = page.locator("#board")
    for name in ("区市场监管局", "区城市管理局", "区生态环境局"):
        expect(board).to_contain_text(name)
    expect(board).to_contain_text("待确认")
    interview_url = page.url
    expect(page.locator(".timeline")).to_contain_text("发起约谈")

    # A co-organiser confirms from its own view; another declines with a reason.
    for username, action in (("cgj_coord", "confirm"), ("sthj_coord", "decline")):
        context = chromium.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
        other = context.new_page()
        browser_login(other, username)
        other.get_by_role("link", name="联合约谈").first.click()
        other.wait_for_url("**/interviews/")  # the home page (worklist) links to the same interview
        other.get_by_role("link", name="磁器口某火锅店油烟及占道经营联合约谈").click()
        if action == "confirm":
            other.get_by_role("button", name="确认参加").click()
            expect(other.locator("#board tr", has_text="区城市管理局")).to_contain_text("已确认")
        else:
            other.get_by_role("button", name="拒绝").click()
            expect(other.locator("#board")).to_contain_text("拒绝时须填写原因")
            other.get_by_label("拒绝原因").fill("当日有环保督察")
            other.get_by_role("button", name="拒绝").click()
            expect(other.locator("#board tr", has_text="区生态环境局")).to_contain_text("当日有环保督察")
        context.close()

    page.goto(interview_url)
    expect(page.locator("#board tr", has_text="区城市管理局")).to_contain_text("已确认")
    expect(page.locator("#board tr", has_text="区生态环境局")).to_contain_text("已拒绝")
    db.session.rollback()
    from coord.interviews.models import Interview

    booked = db.session.query(Interview).filter_by(title="磁器口某火锅店油烟及占道经营联合约谈").one()
    assert booked.status == "scheduled" and booked.start_at.isoformat() == chosen
    assert len(booked.agencies) == 3 and len(booked.participants) == 3
    db.session.rollback()

    # The room's week view shows it.
    page.goto(f"/scheduling/week?kind=room&id={booked.room_id}&date={booked.start_at.date().isoformat()}")
    expect(page.locator(".week")).to_contain_text("磁器口某火锅店油烟及占道经营联合约谈")
