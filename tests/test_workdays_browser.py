"""In a real browser: click a day of 工作日历 to toggle it (htmx), and import a notice with its preview."""
from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from coord.extensions import db
from coord.workdays import services as workdays
from coord.workdays.models import CalendarYear, WorkDay
from tests.conftest import browser_login
from tests.test_workdays_import import NOTICE_2027, TODAY

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _years(app):
    workdays.ensure_years(TODAY)
    db.session.rollback()


def test_click_a_day_to_toggle_it_with_a_note(page, live_server):
    browser_login(page, "admin")
    page.goto("/calendar/?year=2027")
    expect(page.locator("#year-status")).to_have_text("暂定")
    page.get_by_role("button", name="2027-03-01 工作日，点击修改").click()
    editor = page.locator("#day-editor")
    expect(editor.get_by_role("heading")).to_have_text("2027-03-01（周一）")
    editor.get_by_label("说明").fill("区庆调休")
    editor.get_by_role("button", name="改为休息日").click()
    expect(editor.get_by_text("2027-03-01 已设为休息日。")).to_be_visible()
    cell = page.locator('td[data-day="2027-03-01"]')
    expect(cell).to_have_class("off holiday")
    expect(page.get_by_role("button", name="2027-03-01 区庆调休 休息日，点击修改")).to_be_visible()
    db.session.rollback()
    row = db.session.get(WorkDay, date(2027, 3, 1))
    assert (row.is_workday, row.note) == (False, "区庆调休")


def test_paste_the_notice_see_the_preview_beside_the_year_and_confirm(page, live_server):
    browser_login(page, "admin")
    page.goto("/calendar/")
    page.get_by_label("全文").fill(NOTICE_2027)
    page.get_by_role("button", name="预览变化").click()
    preview = page.locator("#notice-preview")
    expect(preview.get_by_role("heading", name="《国务院办公厅关于2027年部分节假日安排的通知》")).to_be_visible()
    expect(page.locator("#calendar-year")).to_have_attribute("data-year", "2027")  # the grid beside it
    expect(page.locator('td[data-day="2027-01-05"]')).to_have_class("work changed")
    preview.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("已导入《国务院办公厅关于2027年部分节假日安排的通知》")).to_be_visible()
    expect(page.locator("#year-status")).to_have_text("正式")
    expect(page.locator('td[data-day="2027-01-05"]')).to_have_class("off holiday")
    db.session.rollback()
    assert db.session.get(CalendarYear, 2027).status == "official"
