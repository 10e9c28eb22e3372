"""English second (#13 point 4) for interviews: a refused form explains itself in the user's language,
what was typed comes back as typed, and Chinese stays the default."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.extensions import db
from coord.interviews.models import Interview
from coord.notify.models import OutboxMessage
from coord.timeutil import local_today
from tests.conftest import csrf_token, login, user_by_name
from tests.english_walk import HAN
from tests.interview_fixtures import ensure_calendar
from tests.test_interviews_pages import first_slot, form

# What the user typed (Chinese data): it may appear in a message, and is not interface text.
TYPED = ("刘某", "重庆某某建材市场有限公司")


@pytest.fixture
def coord_client(app, client):
    ensure_calendar(local_today(), 150)
    login(client, "scjg_coord")
    return client


def _refused(client, lang: str) -> tuple[int, str]:
    client.set_cookie("lang", lang)
    token = csrf_token(client, "/interviews/new")
    # Four mistakes at once: no subject, a duration out of range, no officer, a malformed attendee e-mail.
    data = form(title="", duration_minutes="1000", participant_ids=[],
                attendee_email=["not-an-address", "", ""])
    resp = client.post("/interviews/new", data={**data, "csrf_token": token})
    return resp.status_code, resp.get_data(as_text=True)


def _errors(html: str) -> list[str]:
    """The texts of the error summary and of the errors beside the fields."""
    summary = re.search(r'<div class="flash error" role="alert" id="form-error">(.*?)</div>', html, re.S)
    beside = re.findall(r'<p class="error" id="err-[\w-]+" role="alert">(.*?)</p>', html, re.S)
    texts = [re.sub(r"<[^>]+>", " ", summary.group(1))] if summary else []
    return texts + beside


def _interviews() -> int:
    db.session.rollback()
    return db.session.execute(sa.select(sa.func.count()).select_from(Interview)).scalar_one()


def test_a_refused_interview_form_in_english_shows_english_errors(coord_client):
    status, html = _refused(coord_client, "en")
    assert status == 400
    errors = _errors(html)
    assert len(errors) >= 5, errors  # the summary and each of the four errors beside its field
    text = "\n".join(errors)
    for typed in TYPED:
        text = text.replace(typed, " ")
    assert not HAN.findall(text), text
    assert "Please fill in the subject (title) of the interview." in text
    assert "The duration must be between 15 and 240 minutes." in text
    assert "Please choose at least one officer to take part in the interview." in text
    assert "The e-mail address of attendee “ ” is not valid." in text  # the typed name, stripped above
    assert "4 fields need changing" in text
    assert 'value="not-an-address"' in html and 'value="重庆某某建材市场有限公司"' in html  # kept as typed
    assert _interviews() == 0


def test_the_same_refusal_stays_chinese_by_default(coord_client):
    status, html = _refused(coord_client, "zh_CN")
    assert status == 400
    text = "\n".join(_errors(html))
    assert "请填写约谈事由（标题）。" in text and "约谈时长应在 15–240 分钟之间。" in text
    assert "参加人员“刘某”的电子邮箱格式不正确。" in text and "Please" not in text
    assert _interviews() == 0


def test_what_an_english_user_causes_is_stored_in_chinese(coord_client):
    """The organiser reads English; the invitation e-mails and the audit trail, read by others, stay Chinese."""
    coord_client.set_cookie("lang", "en")
    token = csrf_token(coord_client, "/interviews/new")
    resp = coord_client.post("/interviews/new", data={**form(), "csrf_token": token})
    iid = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    slot = first_slot([user_by_name("scjg_coord").id, user_by_name("cgj_officer").id])
    resp = coord_client.post(f"/interviews/{iid}/schedule", data={"start": slot.start.isoformat(), "csrf_token": token})
    assert resp.status_code == 303
    page = coord_client.get(f"/interviews/{iid}").get_data(as_text=True)
    assert "The interview has been scheduled." in page  # the flash, in English
    db.session.rollback()
    mails = list(db.session.execute(sa.select(OutboxMessage)).scalars())
    assert mails and all("您被邀请参加以下联合约谈。" in m.text and "You are invited" not in m.text for m in mails)
    assert all("约谈事由" in (m.html or "") and "Subject" not in (m.html or "") for m in mails)
    summaries = [e.summary for e in db.session.execute(sa.select(AuditEntry)).scalars()]
    assert any(s.startswith("排期：") for s in summaries) and not any("Scheduled" in s for s in summaries)
