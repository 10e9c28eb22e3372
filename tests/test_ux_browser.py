"""Issue 13 in a real browser: agency pickers by keyboard, nothing wider than the window at 1366 × 768
or 390 px (scrollWidth measured), no console error on any page, and PRG after creating a lead."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from coord.extensions import db
from coord.referrals.models import Lead
from coord.timeutil import local_today
from tests.conftest import browser_login, user_by_name
from tests.interview_fixtures import ensure_calendar, interview_data
from tests.referrals_fixtures import make_lead

pytestmark = pytest.mark.browser

# Collect what the console says, and every CSP violation, from the first byte of every page.
WATCH = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def watch(page) -> list[str]:
    problems: list[str] = []
    page.add_init_script(WATCH)
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text} ({page.url})") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e} ({page.url})"))
    return problems


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


@pytest.fixture
def some_records(app):
    """An interview and a lead, so their pages can be visited."""
    from coord.interviews import services as interviews

    ensure_calendar(local_today(), 60)
    interview = interviews.create(user_by_name("scjg_coord"), interview_data())
    lead = make_lead()
    from coord.notify.services import queue_mail

    queue_mail(["很长的名字的收件人 <a.very.long.mailbox.name.for.testing@some-long-subdomain.spb.example.cn>"] * 1
               + [f"user{i}@spb.example.cn" for i in range(6)], "【约谈邀请】" + "很长的主题" * 12, "正文",
               about=("interview", interview.id))
    db.session.commit()
    return {"interview": interview.id, "lead": lead.id}


def nav_pages(app) -> list[str]:
    """Every page of the navigation (as the office sees it), plus the create forms and the account page."""
    from flask import url_for

    from coord.web import NAV

    with app.test_request_context():
        return [url_for(endpoint) for endpoint, _label, _who in NAV] + [
            url_for("interviews.new"), url_for("referrals.new"), url_for("accounts.account"),
            url_for("scheduling.rooms")]


def _walk(page, paths: list[str], problems: list[str]) -> list[str]:
    wide = []
    for path in paths:
        resp = page.goto(path)
        assert resp is not None and resp.status < 400, f"{path}: {resp.status if resp else 'no answer'}"
        page.wait_for_load_state("networkidle")
        extra = overflow(page)
        if extra > 1:
            widest = page.evaluate("""() => { let w = null, n = 0;
              for (const el of document.querySelectorAll('body *')) {
                const r = el.getBoundingClientRect();
                if (r.right > document.documentElement.clientWidth + 1 && r.width > n) { n = r.width; w = el; } }
              return w ? (w.tagName + '.' + w.className + '#' + w.id + ' ' + Math.round(n) + 'px') : ''; }""")
            wide.append(f"{path}: {extra}px wider than the window ({widest})")
    return wide


@pytest.mark.parametrize("width,height", [(1366, 768), (390, 844)])
def test_no_page_overflows_or_logs_an_error(app, page, some_records, width, height):
    problems = watch(page)
    page.set_viewport_size({"width": width, "height": height})
    browser_login(page, "admin")
    paths = nav_pages(app) + [f"/interviews/{some_records['interview']}", f"/leads/{some_records['lead']}",
                     f"/interviews/{some_records['interview']}/minutes"]
    wide = _walk(page, paths, problems)
    assert not wide, "\n".join(wide)
    assert not problems, "\n".join(problems)


def test_no_overflow_for_a_coordinator_on_a_phone(page, some_records):
    problems = watch(page)
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(page, "scjg_coord")
    wide = _walk(page, ["/", "/cal/", "/interviews/new", f"/interviews/{some_records['interview']}",
                        f"/leads/{some_records['lead']}", "/dev/mail/"], problems)
    assert not wide, "\n".join(wide)
    assert not problems, "\n".join(problems)


def test_htmx_actions_log_no_console_error(page, some_records):
    """Boosted links, htmx searches and a boosted form: the console stays clean (CSP included)."""
    problems = watch(page)
    browser_login(page, "scjg_coord")
    # Scripts and browser extensions (password managers, translators) set style on elements; htmx's settle
    # step copied such a style attribute onto the swapped-in element, which CSP refuses (logged after each swap).
    page.evaluate("document.getElementById('main').style.minHeight = '1px'")
    page.get_by_role("link", name="联合约谈").first.click()
    page.wait_for_url("**/interviews/")
    page.locator("[name=party]").fill("某")
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="线索移交").first.click()
    page.wait_for_url("**/leads/**")
    page.goto(f"/interviews/{some_records['interview']}")
    page.wait_for_load_state("networkidle")
    page.go_back()
    page.wait_for_load_state("networkidle")
    assert not problems, "\n".join(problems)


def test_co_organiser_picker_searches_groups_and_works_by_keyboard(page, app):
    ensure_calendar(local_today(), 60)
    browser_login(page, "scjg_coord")
    page.goto("/interviews/new")
    picker = page.locator("#agency-picker")
    # Grouped by kind, in the directory's order.
    groups = picker.locator(".picker-group-name").all_inner_texts()
    assert groups == ["区委工作机关挂牌机构", "区政府组成部门", "市驻区直属机构", "镇", "街道", "授权组织"]
    # Every agency is reachable: the list scrolls vertically, never sideways, and fits the window.
    box = picker.locator(".picker-list")
    assert box.evaluate("el => el.scrollWidth - el.clientWidth") <= 1
    assert box.bounding_box()["width"] <= page.viewport_size["width"]
    assert overflow(page) <= 1
    # Keyboard alone: type to filter, ↓ to the match, Space to tick; Enter does not submit the form.
    search = picker.get_by_role("searchbox")
    search.focus()
    page.keyboard.type("城市管理")
    expect(picker.get_by_label("区城市管理局")).to_be_visible()
    expect(picker.get_by_label("区教委")).to_be_hidden()
    expect(picker.locator("[data-picker-count]")).to_contain_text("显示 1 / ")
    page.keyboard.press("Enter")
    expect(picker.get_by_label("区城市管理局")).to_be_focused()
    assert page.url.endswith("/interviews/new")
    page.keyboard.press("Space")
    expect(picker.get_by_label("区城市管理局")).to_be_checked()
    # Ticking refreshes the officials: 区城市管理局's people are offered.
    expect(page.locator("#people")).to_contain_text("区城市管理局")
    page.keyboard.press("ArrowUp")
    expect(search).to_be_focused()
    page.keyboard.press("Escape")
    expect(picker.get_by_label("区教委")).to_be_visible()


def test_creating_a_lead_redirects_and_a_second_submit_makes_nothing(page, app):
    browser_login(page, "cgj_coord")
    before = db.session.execute(sa.select(sa.func.count()).select_from(Lead)).scalar_one()
    db.session.rollback()
    page.goto("/leads/new")
    page.locator("#to_agency_id").select_option(label="区市场监管局")
    page.get_by_label("当事人名称").fill("重庆某某商贸有限公司")
    page.get_by_label("线索事实").fill("巡查发现无照经营。")
    page.get_by_label("涉嫌违法事项").fill("涉嫌无照经营")
    page.get_by_role("button", name="移交").click()
    page.wait_for_url(re.compile(r".*/leads/\d+$"))
    lead_url = page.url
    # Back shows the form as it was sent; sending it again goes to the same lead, nothing new is made.
    page.go_back()
    page.wait_for_url("**/leads/new")
    if page.get_by_label("当事人名称").input_value():
        page.get_by_role("button", name="移交").click()
        page.wait_for_url(re.compile(r".*/leads/\d+$"))
        assert page.url == lead_url
        expect(page.locator(".flash")).to_contain_text("没有重复保存")
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Lead)).scalar_one() == before + 1


def test_interview_form_shows_every_error_in_the_browser(page, app):
    ensure_calendar(local_today() + timedelta(days=0), 60)
    browser_login(page, "scjg_coord")
    page.goto("/interviews/new")
    page.get_by_label("当事人名称").fill("某公司")
    page.get_by_role("radio", name="行业性问题").check()
    page.get_by_role("button", name="保存为草稿").click()
    page.wait_for_load_state("networkidle")
    for field in ("title", "sector", "party_credit_code", "participant_ids"):
        expect(page.locator(f"#err-{field}")).to_be_visible()
    expect(page.get_by_label("当事人名称")).to_have_value("某公司")


def test_outbox_headers_stay_on_one_line(page, some_records):
    browser_login(page, "admin")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 768})
        page.goto("/admin/outbox/")
        heights = page.locator("table.outbox th").evaluate_all("ths => ths.map(th => th.getBoundingClientRect().height)")
        line = page.locator("table.outbox th").first.evaluate("th => parseFloat(getComputedStyle(th).lineHeight)")
        assert heights and max(heights) < 2 * line, (width, heights)
        assert overflow(page) <= 1


def test_the_language_switch_saves_the_choice_but_a_link_from_elsewhere_does_not(page, live_server):
    """Chromium sends Sec-Fetch-Site: the top bar's own link is same-origin and is saved on the account; the
    same link followed from another page (a top-level navigation, which carries the Lax session cookie) is not."""
    browser_login(page, "cgj_coord")
    page.get_by_role("link", name="English", exact=True).click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    db.session.expire_all()
    assert user_by_name("cgj_coord").language == "en"
    page.goto(f'data:text/html,<a id="away" href="{live_server}/lang/zh_CN">zh</a>')  # a page of another origin
    with page.expect_navigation(url=f"{live_server}/"):  # /lang answers with the way home
        page.click("#away")
    db.session.expire_all()
    assert user_by_name("cgj_coord").language == "en"
    expect(page.locator("html")).to_have_attribute("lang", "en")  # nor this browser's cookie
