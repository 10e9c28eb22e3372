"""In a real browser: the first login of an account the admin made, and the lockout message."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from coord.accounts import services
from tests.conftest import user_by_name

pytestmark = pytest.mark.browser


def test_first_login_asks_for_a_new_password_then_goes_on(page, app):
    services.create_user(user_by_name("admin"), {"username": "new_coord", "name": "新联络员", "role": "coordinator",
                                                 "agency_id": user_by_name("scjg_coord").agency_id}, "Given-by-admin-7")
    page.goto("/leads/")
    page.get_by_label("用户名").fill("new_coord")
    page.get_by_label("密码").fill("Given-by-admin-7")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    expect(page.get_by_text("请先设置自己的密码")).to_be_visible()
    page.goto("/interviews/")  # anything else leads back here
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    page.get_by_label("当前密码").fill("Given-by-admin-7")
    page.get_by_label("新密码", exact=True).fill("password1234")
    page.get_by_label("确认新密码").fill("password1234")
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_role("alert")).to_contain_text("三类")
    page.get_by_label("当前密码").fill("Given-by-admin-7")
    page.get_by_label("新密码", exact=True).fill("Jialing-Jiang-58")
    page.get_by_label("确认新密码").fill("Jialing-Jiang-58")
    page.get_by_role("button", name="修改密码").click()
    page.wait_for_url("**/interviews/")  # where the user was going
    expect(page.get_by_text("密码已修改")).to_be_visible()


def test_the_locked_user_is_told_until_when(page, app):
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    for _ in range(5):
        page.goto("/login")
        page.get_by_label("用户名").fill("cgj_officer")
        page.get_by_label("密码").fill("Wrong-pass-0")
        page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_contain_text("已被锁定 15 分钟")
    expect(page.get_by_role("alert")).to_contain_text("北京时间")
