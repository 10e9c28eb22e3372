"""In a real browser: an invitee answers through the e-mail's link; the organiser decides a counter."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from coord.extensions import db
from coord.interviews.models import Interview
from coord.mailin.models import InvitationReply
from tests.conftest import browser_login
from tests.notify_fixtures import run_worker, smtp_fixture  # noqa: F401
from tests.test_mailin import OFFICIAL_NAME, PARTY, _counter, _future_interview

pytestmark = pytest.mark.browser


def test_invitee_declines_through_the_link_and_the_organiser_sees_it(page, live_server, smtp):
    interview, _, _ = _future_interview()
    run_worker()
    [mail] = [m for m in smtp.wait_for(4) if m.rcpt_tos == [PARTY]]
    text = mail.message.get_payload()[0].get_payload()[0].get_content()
    url = re.search(r"http://\S+/rsvp/(\S+)\?answer=decline", text)
    page.goto(f"/rsvp/{url.group(1)}?answer=decline")
    expect(page.get_by_role("heading", name="约谈邀请答复")).to_be_visible()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InvitationReply)) == 0  # only looked
    page.get_by_label("留言（可选）").fill("那天在外地出差")
    page.get_by_role("button", name="确认拒绝").click()
    expect(page.get_by_role("status")).to_contain_text("拒绝")

    page.context.clear_cookies()
    browser_login(page, "scjg_coord")
    page.goto(f"/interviews/{interview.id}")
    row = page.locator("#responses tr", has_text="王某")
    expect(row).to_contain_text("拒绝")
    expect(row).to_contain_text("那天在外地出差")


def test_organiser_accepts_a_counter_proposal_on_the_interview_page(page, live_server):
    interview, when, _ = _future_interview()
    _counter(interview, when)
    db.session.rollback()
    browser_login(page, "scjg_coord")
    page.goto(f"/interviews/{interview.id}")
    section = page.locator("#counters")
    expect(section).to_contain_text(OFFICIAL_NAME)
    expect(section).to_contain_text("可行")
    section.get_by_role("button", name="采纳", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("已采纳改期建议")
    db.session.rollback()
    moved = db.session.get(Interview, interview.id)
    assert moved.start_at == when and moved.sequence == 2
    expect(page.locator("#counters")).to_contain_text("已采纳")
