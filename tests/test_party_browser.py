"""A phone (390 × 844) goes through the party's whole path — notice, confirm, proof, sign, rate — and the
organiser then sees each step; a browser without JavaScript does every step but the drawn signature,
which it is refused clearly."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from coord.extensions import db
from coord.interviews.models import Interview
from coord.minutes import services as minutes
from coord.party.models import PartyFeedback, PartyProof, PartyResponse, PartyUndertaking
from coord.timeutil import to_local
from tests.conftest import browser_login, user_by_name
from tests.minutes_fixtures import content
from tests.party_fixtures import _party_app, future_interview, photo_with_gps, token_of  # noqa: F401

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _phone(chromium, live_server, **options):
    context = chromium.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai",
                                   viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, **options)
    context.set_default_timeout(15_000)
    return context, context.new_page()


def _fits(page) -> None:
    """Nothing wider than the phone: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _hold(interview: Interview) -> None:
    """The interview takes place and its minutes are finalised (one item, an undertaking to sign)."""
    coord = user_by_name("scjg_coord")
    start = to_local(interview.start_at)
    day = start.date()
    deadline = (day + timedelta(days=30)).isoformat()
    data = content(started_at=start.isoformat(), ended_at=(start + timedelta(minutes=80)).isoformat(),
                   rectifications=[{"requirement": "清洗并更换油烟净化设施", "deadline": deadline}])
    minutes.save(coord, interview.id, data, 0)
    minutes.finalize(coord, interview.id, 1, now=interview.start_at + timedelta(hours=2))


def _draw(page) -> None:
    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()  # the pointer only reaches what is on the screen
    box = pad.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 90)
    page.mouse.down()
    for dx, dy in ((80, 40), (140, 110), (200, 50), (260, 95), (320, 60)):
        page.mouse.move(x + dx, y + dy, steps=6)
    page.mouse.up()


def test_the_party_goes_the_whole_path_on_a_phone_and_the_organiser_sees_it(app, chromium, live_server):
    interview = future_interview()
    token = token_of(interview)
    context, page = _phone(chromium, live_server)

    # The notice.
    page.goto(f"/p/{token}")
    expect(page.locator("h1")).to_have_text(interview.party.name)
    notice = page.locator("#notice")
    expect(notice).to_contain_text("区市场监管局")
    expect(notice).to_contain_text(f"{to_local(interview.start_at):%Y-%m-%d}")
    expect(notice).to_contain_text("营业执照副本复印件")
    expect(page.get_by_role("link", name="查看约谈通知书（PDF）")).to_be_visible()
    _fits(page)

    # Confirm.
    page.get_by_role("button", name="确认参加").click()
    expect(page.locator(".p-flash")).to_contain_text("已确认参加")
    expect(page.locator("#answer-state")).to_contain_text("您已确认参加本次约谈")

    # After the interview: proof for the item.
    _hold(interview)
    page.reload()
    item = page.locator(".p-item").first
    expect(item).to_contain_text("清洗并更换油烟净化设施")
    expect(item).to_contain_text("剩余")
    _fits(page)
    item.locator("input[type=file]").set_input_files(
        [{"name": "整改后.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}])
    item.get_by_label("情况说明").fill("已更换新的油烟净化器")
    item.get_by_role("button", name="提交整改材料").click()
    expect(page.locator(".p-flash")).to_contain_text("整改材料已提交")
    expect(page.locator(".p-item").first).to_contain_text("待审核")

    # Sign the undertaking with a finger.
    sign = page.locator("#undertaking")
    sign.get_by_label("我已阅读并同意保证承诺书的全部内容").check()
    sign.get_by_label("签署人姓名").fill("王某")
    expect(page.locator("#signature-pad")).to_be_visible()
    _draw(page)
    sign.get_by_role("button", name="签署").click()
    expect(page.locator("#undertaking-state")).to_contain_text("签署人：王某")
    expect(page.get_by_role("link", name="下载已签署的保证承诺书（PDF）")).to_be_visible()

    # Rate the interview.
    rate = page.locator("#feedback-interview")
    rate.locator("input[name=rating][value='4']").check()
    rate.locator("input[name=conduct_rating][value='5']").check()
    rate.get_by_label("意见建议").fill("通知清楚，工作人员耐心")
    rate.get_by_role("button", name="提交评价").click()
    expect(page.locator("#feedback-interview")).to_contain_text("评价已提交")
    _fits(page)
    context.close()

    db.session.rollback()
    assert db.session.execute(sa.select(PartyResponse.kind)).scalar_one() == "confirmed"
    record = db.session.execute(sa.select(PartyUndertaking)).scalar_one()
    assert record.signer_name == "王某" and len(record.signature_png) > 500
    assert db.session.execute(sa.select(PartyFeedback.process_rating)).scalar_one() == 4

    # The organiser sees each step on the interview page.
    organiser = chromium.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    staff = organiser.new_page()
    browser_login(staff, "scjg_coord")
    staff.goto(f"/interviews/{interview.id}")
    expect(staff.locator("#party-answer")).to_contain_text("已确认参加")
    party = staff.locator("#party")
    expect(party).to_contain_text("整改后.jpg")
    expect(party).to_contain_text("待审核")
    expect(staff.locator("#party-undertaking")).to_contain_text("已在线签署")
    expect(party).not_to_contain_text("通知清楚")  # the ratings are the office's
    timeline = staff.locator(".timeline")
    for step in ("确认参加", "提交整改材料", "签署保证承诺书"):
        expect(timeline).to_contain_text(step)
    # The officer of the follow-up visit accepts the proof there; the party's page then says so.
    staff.goto("/interviews/follow-ups")
    staff.get_by_role("button", name="审核通过（已整改）").click()
    expect(staff.locator(".flash.success")).to_contain_text("审核通过")
    organiser.close()
    db.session.rollback()
    assert db.session.execute(sa.select(PartyProof.status)).scalar_one() == "accepted"


def test_without_javascript_every_step_works_but_the_drawn_signature(app, chromium, live_server):
    interview = future_interview()
    token = token_of(interview, "赵喆")
    context, page = _phone(chromium, live_server, java_script_enabled=False)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"/p/{token}")
    page.locator("summary", has_text="申请改期").click()  # <details> opens without script
    page.get_by_label("改期理由").fill("当天需配合消防检查")
    boxes = page.locator("input[name=starts]")
    boxes.nth(0).check()
    boxes.nth(2).check()
    page.get_by_role("button", name="提交改期申请").click()
    expect(page.locator("#answer-state")).to_contain_text("等待约谈单位答复")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    _hold(interview)
    page.reload()
    page.locator("input[type=file]").first.set_input_files(
        [{"name": "发票.jpg", "mimeType": "image/jpeg", "buffer": photo_with_gps()}])
    page.get_by_role("button", name="提交整改材料").first.click()
    expect(page.locator(".p-flash")).to_contain_text("整改材料已提交")

    sign = page.locator("#undertaking")
    expect(page.locator("#signature-pad")).to_be_hidden()
    sign.get_by_label("我已阅读并同意保证承诺书的全部内容").check()
    sign.get_by_role("button", name="签署").click()
    expect(page.locator("#undertaking .p-error-text")).to_contain_text("手写签名需要浏览器启用 JavaScript")

    rate = page.locator("#feedback-interview")
    rate.locator("input[name=rating][value='3']").check()
    rate.locator("input[name=conduct_rating][value='3']").check()
    rate.get_by_role("button", name="提交评价").click()
    expect(page.locator("#feedback-interview")).to_contain_text("评价已提交")
    context.close()
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(PartyUndertaking)).scalar() == 0
    assert db.session.execute(sa.select(PartyResponse.status)).scalar_one() == "open"
