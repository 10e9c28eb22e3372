"""Accessibility (#13 point 5, GB/T 37668-2019): every page each demo role reaches over the living demo
district, the public lists, the login page and the party's portal pass axe-core (npm, run in Debian's
Chromium) with no serious or critical violation; a focused link or button shows where the focus is.

Form labels are axe's `label` rule (critical): a control with no accessible name fails the test.
"""
from __future__ import annotations

from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from flask import template_rendered

from coord.extensions import db
from tests.conftest import browser_login, login
from tests.english_walk import SKIP, _shape, _Text

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
ROLES = ("admin", "scjg_coord", "scjg_officer", "cgj_coord", "gafj_officer", "viewer")
# Where each role's walk starts (a role that cannot open one is sent elsewhere or refused: not walked).
# Not /worklist/: it is the home page's part that htmx refreshes, not a page.
STARTS = ("/", "/me/notifications", "/account", "/leads/", "/leads/?box=outbox", "/leads/police",
          "/leads/figures", "/lists/", "/users/", "/agencies/", "/security/", "/audit/", "/admin/",
          "/interviews/", "/interviews/new", "/interviews/follow-ups", "/minutes/", "/scheduling/", "/calendar/",
          "/cal/", "/parties/", "/mail/", "/measures/", "/party/", "/oversight/")
PUBLIC = ("/login", "/public/lists")
# A language link would turn the rest of the walk into English (the English walk covers English).
NOT_WALKED = (*SKIP, "/lang/", "/dev/")
# axe takes 0.5 to 1 s a page: a template is checked once per role (its other URLs, e.g. the audit history
# of each kind of record, or a list with other filters, show the same markup).
LIMIT = 90  # pages per role: every template the roles reach fits (measured: 29 to 48)

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 4).map((n) => n.target.join(' ') + ' — ' + (n.failureSummary || '').split('\\n')[1]),
  }));
}"""

# The element that has the focus: does it show it? (an outline that is drawn, or a box shadow)
FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  return {tag: el.tagName.toLowerCase(), text: (el.textContent || el.value || '').trim().slice(0, 30),
          shown: outline || s.boxShadow !== 'none'};
}"""


def reachable(app, client, starts: tuple[str, ...], limit: int = LIMIT) -> list[str]:
    """The HTML pages a user reaches from `starts` by same-site GET links: every start, and then one page
    per template (the page's own, that extends base.html) among one URL per shape."""
    seen: set[str] = set()
    shapes: set[str] = set()
    templates: set[str] = set()
    rendered: list[str] = []
    queue = deque(starts)
    pages: list[str] = []

    def note(sender, template, context, **extra):
        rendered.append(template.name)

    with template_rendered.connected_to(note, app):
        while queue and len(pages) < limit:
            url = queue.popleft()
            parts = urlsplit(url)
            if parts.netloc not in ("localhost", ""):
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path in seen or any(parts.path.startswith(s) for s in NOT_WALKED):
                continue
            seen.add(path)
            shape = _shape(parts.path) + "?" + "&".join(sorted({f.split("=")[0] for f in parts.query.split("&") if f}))
            if shape in shapes and url not in starts:
                continue
            shapes.add(shape)
            rendered.clear()
            response = client.get(path)
            if response.status_code != 200 or not response.content_type.startswith("text/html") or not rendered:
                continue
            if rendered[0] not in templates or url in starts:
                templates.add(rendered[0])
                pages.append(path)
            parser = _Text()
            parser.feed(response.get_data(as_text=True))
            for link in parser.links:
                if not link.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
                    queue.append(urljoin(path, link.split("#")[0]))
    db.session.rollback()  # the test client shares the test's session: end its read, or the server cannot write
    return pages


def party_tokens() -> list[str]:
    """A personal link of a scheduled interview and one of a held interview (the demo issues them)."""
    from coord.interviews.models import Interview
    from coord.party import links
    from coord.party.models import PartyLink

    tokens = []
    for status in ("scheduled", "held"):
        link = db.session.execute(
            sa.select(PartyLink).join(Interview, Interview.id == PartyLink.interview_id)
            .where(Interview.status == status, PartyLink.revoked_at.is_(None), PartyLink.attendee_name.is_not(None))
            .order_by(PartyLink.id).limit(1)).scalar_one_or_none()
        if link is not None:
            tokens.append(links.token_for(link))
    db.session.rollback()
    return tokens


def axe_check(page, path: str) -> list[str]:
    """axe-core's serious and critical violations on `path`, one line each."""
    response = page.goto(path)
    assert response is not None and response.ok, f"{path}: {response and response.status}"
    return [f"{path} [{v['impact']}] {v['id']} ({v['help']}): " + "; ".join(v["targets"])
            for v in page.evaluate(RUN_AXE)]


def focus_hidden(page, path: str, presses: int = 12) -> list[str]:
    """Tab through the first links and buttons of `path`: each one focused must show it."""
    page.goto(path)
    hidden = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_SHOWN)
        if focused and not focused["shown"]:
            hidden.append(f"{path}: <{focused['tag']}> {focused['text']!r} shows no focus")
    return hidden


def new_context(chromium, live_server):
    # axe comes in as an init script: the browser runs it in every page before the page's own scripts,
    # outside the app's CSP (which refuses injected script tags), and it is handed over once, not per page.
    context = chromium.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    context.add_init_script(path=str(AXE))
    return context


def test_every_page_passes_axe_as_each_demo_role_and_logged_out(district, chromium, live_server):
    assert AXE.exists(), "axe-core is missing: run scripts/test-deps.sh (npm install in tests/js)"
    problems: list[str] = []
    walked: dict[str, int] = {}

    context = new_context(chromium, live_server)
    page = context.new_page()
    public = reachable(district, district.test_client(), PUBLIC, limit=12)
    walked["logged out"] = len(public)
    for path in public:
        problems += axe_check(page, path)
    problems += focus_hidden(page, "/login")
    tokens = party_tokens()
    assert len(tokens) == 2, "the demo has no personal link of a scheduled or of a held interview"
    for token in tokens:
        problems += axe_check(page, f"/p/{token}")
    walked["party"] = len(tokens) + 1
    problems += focus_hidden(page, f"/p/{tokens[0]}")
    problems += axe_check(page, "/p/")
    context.close()

    for username in ROLES:
        client = district.test_client()
        login(client, username)
        pages = reachable(district, client, STARTS)
        walked[username] = len(pages)
        context = new_context(chromium, live_server)
        page = context.new_page()
        browser_login(page, username)
        for path in pages:
            problems += [f"{username} {line}" for line in axe_check(page, path)]
        problems += [f"{username} {line}" for line in focus_hidden(page, "/")]
        context.close()

    print("pages walked:", walked)
    assert not problems, f"{len(problems)} accessibility problems:\n" + "\n".join(problems)
