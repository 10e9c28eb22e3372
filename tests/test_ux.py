"""Issue 13: nothing changed behind the user's back, forms that say everything at once, idempotent
POSTs, development mail that stays on the machine and pages that tell what became of each message."""
from __future__ import annotations

import logging
import re
import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.extensions import db
from coord.interviews.models import Interview
from coord.notify import services as outbox
from coord.notify.models import OutboxMessage
from coord.parties.models import Party
from coord.referrals.models import Lead
from coord.timeutil import local_today
from tests.conftest import csrf_token, login, user_by_name
from tests.interview_fixtures import VALID_CREDIT_CODE, agency_id, at, ensure_calendar, room_id
from tests.notify_fixtures import smtp_fixture  # noqa: F401 (fixture)
from tests.referrals_fixtures import lead_data

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def ahead(app):
    ensure_calendar(local_today(), 150)
    today = local_today()
    return at(today, "00:00"), at(today + timedelta(days=60), "00:00")


def body(**overrides) -> dict:
    data = {
        "title": "某小区违规装修联合约谈", "problem_kind": "sector", "sector": "物业管理",
        "party": {"name": "重庆某某物业服务有限公司", "credit_code": VALID_CREDIT_CODE},
        "lead_agency_id": agency_id("scjgj"), "agency_ids": [agency_id("cgj")],
        "participant_ids": [user_by_name(n).id for n in ("scjg_coord", "cgj_officer")],
        "room_id": room_id("区市场监管局约谈室"), "duration_minutes": 90,
    }
    data.update(overrides)
    return data


def count(model) -> int:
    db.session.rollback()
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


# --- over-limit text is refused, with the limit, never cut ----------------------------------------

def test_api_refuses_over_limit_text_with_every_field_instead_of_cutting(api, ahead):
    coord = api("scjg_coord")
    before = count(Interview)
    resp = coord.post("/api/v1/interviews", json=body(sector="行" * 500, matter="事" * 10001, title=""))
    assert resp.status_code == 400, resp.json
    errors = resp.json["errors"]
    assert set(errors) >= {"sector", "matter", "title"}
    assert "120" in errors["sector"] and "500" in errors["sector"]
    assert "10000" in errors["matter"]
    assert count(Interview) == before
    # A real 约谈事项 of 5,000 characters fits whole.
    long_matter = "油烟扰民、占道经营，" * 500
    created = coord.post("/api/v1/interviews", json=body(matter=long_matter))
    assert created.status_code == 201, created.json
    assert created.json["matter"] == long_matter.strip() and len(created.json["matter"]) >= 4999


def test_lead_api_refuses_over_limit_text(api):
    resp = api("cgj_coord").post("/api/v1/leads", json=lead_data(matter="事" * 201, place="地" * 300))
    assert resp.status_code == 400
    assert {"matter", "place"} <= set(resp.json["errors"]) and "200" in resp.json["errors"]["matter"]


# --- the interview form: every error at once, beside its field, typed values kept ------------------

def new_interview_form(client, **overrides) -> dict:
    form = {
        "csrf_token": csrf_token(client, "/interviews/new"), "title": "", "problem_kind": "sector", "sector": "",
        "party_kind": "organisation", "party_name": "某公司", "party_credit_code": VALID_CREDIT_CODE,
        "lead_agency_id": str(agency_id("scjgj")), "matter": "占道经营" * 3, "legal_basis": "条例",
        "attendee_name": ["王某"], "attendee_post": ["经理"], "attendee_email": ["wang@example.com"],
        "attendee_phone": [""], "duration_minutes": "90", "action": "draft",
    }
    form.update(overrides)
    return form


def test_interview_form_shows_every_error_beside_its_field_and_keeps_what_was_typed(client, ahead):
    login(client, "scjg_coord")
    resp = client.post("/interviews/new", data=new_interview_form(client, party_address="址" * 301))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    for field in ("title", "sector", "participant_ids", "party_address"):
        assert f'id="err-{field}"' in html, field
    assert "有 4 处需要修改" in html
    assert "址" * 301 in html and "占道经营" * 3 in html and "wang@example.com" in html  # kept as typed
    assert "300" in html  # the limit, beside the field


def test_an_empty_region_asks_to_choose_one(client, ahead):
    login(client, "scjg_coord")
    resp = client.post("/interviews/new", data=new_interview_form(client, problem_kind="regional",
                                                                  region_agency_id=""))
    html = resp.get_data(as_text=True)
    assert "请选择问题所在镇街" in html and "不存在或已停用" not in html


# --- a stored party matched by credit code: shown, and the user chooses ---------------------------

def test_a_stored_party_is_shown_and_the_user_chooses(api, client, ahead):
    coord = api("scjg_coord")
    first = coord.post("/api/v1/interviews", json=body())
    assert first.status_code == 201
    party_id = first.json["party"]["id"]
    typed = {"name": "重庆某某物业服务有限公司沙坪坝分公司", "credit_code": VALID_CREDIT_CODE, "address": "小龙坎正街 1 号"}
    refused = coord.post("/api/v1/interviews", json=body(party=typed))
    assert refused.status_code == 400
    assert "party_choice" in refused.json["errors"]
    assert refused.json["stored_party"]["name"] == "重庆某某物业服务有限公司"
    assert db.session.get(Party, party_id).name == "重庆某某物业服务有限公司"  # nothing replaced

    used = coord.post("/api/v1/interviews", json=body(party={**typed, "on_match": "stored"}))
    assert used.status_code == 201 and used.json["party"]["name"] == "重庆某某物业服务有限公司"

    updated = coord.post("/api/v1/interviews", json=body(party={**typed, "on_match": "update"}))
    assert updated.status_code == 201 and updated.json["party"]["name"] == typed["name"]
    assert updated.json["party"]["id"] == party_id
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "interview.party_update")
                               ).scalar_one()
    assert "重庆某某物业服务有限公司" in entry.summary and typed["name"] in entry.summary

    # The page shows the stored record beside the choice, keeping the typed name.
    login(client, "scjg_coord")
    page = client.post("/interviews/new", data=new_interview_form(
        client, title="再次约谈", sector="物业", party_name="另一个名字",
        participant_ids=[str(user_by_name("scjg_coord").id)]))
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and 'id="party-choice"' in html
    assert typed["name"] in html and 'value="另一个名字"' in html and 'name="party_choice"' in html


# --- a refused minutes correction comes back exactly as sent --------------------------------------

def test_refused_minutes_correction_keeps_the_ticked_interviewers_and_recorder(client, app):
    from coord.interviews import services as interviews
    from tests.interview_fixtures import NOW, interview_data
    from tests.minutes_fixtures import (
        START,
        interview_fixture,  # noqa: F401
    )
    from tests.test_minutes_pages import HX, editor, form

    app.config["PDF_CACHE_DIR"] = str(Path(app.instance_path) / "pdf-cache")
    interview = interviews.create(user_by_name("scjg_coord"), interview_data(start=START), now=NOW)
    login(client, "scjg_coord")
    client.post(editor(interview), data=form(interview, client, 0), headers=HX)
    client.post(f"{editor(interview)}/finalize", data={"csrf_token": csrf_token(client, editor(interview)),
                                                        "revision": "1"})
    refused = client.post(f"{editor(interview)}/correct", data={**form(interview, client, 2), "reason": ""})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400
    for name in ("scjg_coord", "cgj_officer"):
        uid = user_by_name(name).id
        assert re.search(rf'name="interviewer_ids" value="{uid}" checked', html), name
    assert re.search(rf'<option value="{user_by_name("scjg_officer").id}" selected', html)


# --- idempotent POSTs -----------------------------------------------------------------------------

def test_two_identical_lead_form_posts_make_one_lead(client):
    login(client, "cgj_coord")
    page = client.get("/leads/new").get_data(as_text=True)
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    data = {**lead_data("scjgj"), "csrf_token": csrf_token(client, "/leads/new"), "form_token": token}
    before = count(Lead)
    first = client.post("/leads/new", data=data)
    second = client.post("/leads/new", data=data)
    assert first.status_code == 303 and second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]  # the lead the first one made
    assert count(Lead) == before + 1
    assert "没有重复保存" in client.get(second.headers["Location"]).get_data(as_text=True)


def test_a_refused_form_can_be_sent_again_with_its_token(client):
    login(client, "cgj_coord")
    token = "t-refused-then-fixed"
    data = {**lead_data("scjgj"), "csrf_token": csrf_token(client, "/leads/new"), "form_token": token}
    before = count(Lead)
    refused = client.post("/leads/new", data={**data, "matter": ""})
    assert refused.status_code == 400 and f'value="{token}"' in refused.get_data(as_text=True)
    assert client.post("/leads/new", data=data).status_code == 303
    assert count(Lead) == before + 1


def test_api_idempotency_key_gives_the_same_answer_and_one_record(api):
    coord = api("cgj_coord")
    before = count(Lead)
    key = {"Idempotency-Key": "lead-2026-12-01-0001"}
    first = coord.post("/api/v1/leads", json=lead_data("scjgj"), headers=key)
    second = coord.post("/api/v1/leads", json=lead_data("scjgj"), headers=key)
    assert first.status_code == second.status_code == 201
    assert second.json == first.json and second.headers.get("Idempotent-Replayed") == "true"
    assert count(Lead) == before + 1
    other = coord.post("/api/v1/leads", json=lead_data("scjgj", matter="另一事项"), headers=key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json["message"]
    # The key is the user's own: another user with the same key makes their own record.
    theirs = api("admin").post("/api/v1/leads", json=lead_data("scjgj"), headers=key)
    assert theirs.status_code in (201, 403)
    # Refused requests do not use up the key.
    bad_key = {"Idempotency-Key": "lead-2026-12-01-0002"}
    assert coord.post("/api/v1/leads", json=lead_data("scjgj", matter=""), headers=bad_key).status_code == 400
    assert coord.post("/api/v1/leads", json=lead_data("scjgj"), headers=bad_key).status_code == 201
    # Without a key two POSTs are two records, as before.
    coord.post("/api/v1/leads", json=lead_data("scjgj"))
    coord.post("/api/v1/leads", json=lead_data("scjgj"))
    assert count(Lead) == before + 4 + (1 if theirs.status_code == 201 else 0)


def test_two_concurrent_posts_with_one_key_make_one_record(app, live_server):
    from coord.accounts.services import create_token

    _, token = create_token(None, user_by_name("cgj_coord"), "concurrency")
    payload = lead_data("scjgj", matter="并发提交的线索")
    db.session.commit()
    before = count(Lead)
    answers: list[requests.Response] = []
    barrier = threading.Barrier(2)

    def post() -> None:
        barrier.wait()
        answers.append(requests.post(f"{live_server}/api/v1/leads", json=payload, timeout=60, headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": "concurrent-key-1"}))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [201, 201], [a.text for a in answers]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    assert count(Lead) == before + 1
    assert db.session.execute(sa.select(sa.func.count()).select_from(Lead).where(
        Lead.matter == "并发提交的线索")).scalar_one() == 1


# --- mail: a catch-all in development, the truth on every page -------------------------------------

def _schedule(api, ahead):
    coord = api("scjg_coord")
    slots = coord.post("/api/v1/slots/search", json={
        "participant_ids": body()["participant_ids"], "room_id": body()["room_id"], "duration_minutes": 90,
        "window_start": ahead[0].isoformat(), "window_end": ahead[1].isoformat(), "limit": 1}).json["slots"]
    created = coord.post("/api/v1/interviews", json=body(
        start=slots[0]["start"], attendees=[{"name": "王某", "email": "wang@example.com"},
                                            {"name": "李某", "email": "li@refuse.example.com"}]))
    assert created.status_code == 201, created.json
    return created.json["id"]


def test_development_mail_goes_to_the_catch_all_page(app, api, client, ahead, caplog):
    assert outbox.transport() == "catchall"  # no MAIL_SERVER in development
    interview_id = _schedule(api, ahead)
    row = outbox.messages_about("interview", interview_id)[0]
    with caplog.at_level(logging.INFO, logger="coord.notify.services"):
        assert outbox.deliver(row.id) == "sent"
    db.session.refresh(row)
    assert row.transport == "catchall" and row.refused is None
    assert "开发邮箱" in caplog.text
    login(client, "admin")
    listing = client.get("/dev/mail/").get_data(as_text=True)
    assert row.subject in listing and "invite.ics" in listing
    ics = client.get(f"/dev/mail/{row.id}/invite.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar" and b"BEGIN:VCALENDAR" in ics.data
    eml = client.get(f"/dev/mail/{row.id}.eml")
    assert eml.status_code == 200 and b"Message-ID" in eml.data
    page = client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    assert "已投递到开发邮箱" in page and "参加人员已通过邮件收到邀请" not in page
    # A PDF attachment is downloadable too.
    with_pdf = outbox.queue_mail(["admin@spb.example.cn"], "约谈笔录：测试", "正文",
                                 attachments=[("约谈笔录.pdf", "application/pdf", b"%PDF-1.4 test")])
    db.session.commit()
    att = with_pdf.attachments[0]
    got = client.get(f"/dev/mail/{with_pdf.id}/files/{att.id}")
    assert got.status_code == 200 and got.mimetype == "application/pdf" and got.data == b"%PDF-1.4 test"


def test_the_catch_all_shows_others_only_their_own_mail(app, api, client, ahead):
    interview_id = _schedule(api, ahead)
    officer = user_by_name("cgj_officer").email
    row = next(r for r in outbox.messages_about("interview", interview_id, 20)
               if any(officer in a for a in r.recipients))  # one invitation per recipient
    login(client, "sthj_coord")  # not invited
    assert row.subject not in client.get("/dev/mail/").get_data(as_text=True)
    assert client.get(f"/dev/mail/{row.id}").status_code == 404
    client.get("/logout")
    login(client, "cgj_officer")  # invited
    assert client.get(f"/dev/mail/{row.id}").status_code == 200


def test_with_a_mail_server_there_is_no_catch_all(app, client, smtp):
    assert outbox.transport() == "smtp"
    login(client, "admin")
    assert client.get("/dev/mail/").status_code == 404
    assert "开发邮箱" not in client.get("/").get_data(as_text=True)


def test_the_interview_page_says_per_recipient_what_became_of_the_invitation(app, api, client, ahead, smtp):
    interview_id = _schedule(api, ahead)
    login(client, "scjg_coord")
    page = client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    assert "王某：待发送" in page and "参加人员已通过邮件收到邀请" not in page
    smtp.handler.reject.add("li@refuse.example.com")
    for row in outbox.messages_about("interview", interview_id):
        outbox.deliver(row.id)
    page = client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    assert "王某：已发送" in page
    assert "李某：被邮件服务器拒收" in page and "550" in page


def test_worker_log_says_what_failed_and_what_it_will_do(app, api, ahead, smtp, caplog):
    interview_id = _schedule(api, ahead)
    smtp.stop()  # the server refuses connections
    row = outbox.messages_about("interview", interview_id)[0]
    with caplog.at_level(logging.INFO, logger="coord.notify.services"):
        assert outbox.deliver(row.id) == "queued"
    text = caplog.text
    assert "发送失败" in text and "无法连接邮件服务器" in text and "ConnectionRefusedError" in text
    assert "自动重试" in text
    page_row = db.session.get(OutboxMessage, row.id)
    assert page_row.recipient_states()[0].state == "retrying"


# --- make run: for users ---------------------------------------------------------------------------

def test_run_installs_no_test_tools():
    run = subprocess.run(["bash", "scripts/system-deps.sh", "--list", "run"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    test = subprocess.run(["bash", "scripts/system-deps.sh", "--list", "test"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.split()
    for tool in ("chromium", "poppler-utils", "nodejs", "npm"):
        assert tool not in run and tool in test
    assert "libpango-1.0-0" in run and "fonts-noto-cjk" in run
    makefile = (ROOT / "Makefile").read_text()
    run_target = re.search(r"^run:(.*)$", makefile, re.M).group(1)
    assert "system-deps" not in run_target and "installed-test" not in run_target


def test_the_banner_lists_every_demo_account_from_the_seed(app):
    from coord.demo import ACCOUNTS

    result = app.test_cli_runner().invoke(args=["demo-accounts"])
    assert result.exit_code == 0, result.output
    for username, name, *_ in ACCOUNTS:
        assert username in result.output and name in result.output
    assert "/dev/mail/" in result.output
    for script in ("scripts/run.sh", "coord/cli.py"):
        assert "scjg_coord, scjg_officer" not in (ROOT / script).read_text()  # no hard-coded partial list


# --- smaller things --------------------------------------------------------------------------------

def test_merge_takes_the_lead_number(client):
    from tests.referrals_fixtures import make_lead

    dup, target = make_lead(), make_lead()
    login(client, "scjg_coord")
    page = client.get(f"/leads/{dup.id}").get_data(as_text=True)
    assert f'<option value="{target.number}">' in page  # the picker offers it by number
    resp = client.post(f"/leads/{dup.id}/merge", data={"csrf_token": csrf_token(client, f"/leads/{dup.id}"),
                                                       "into_id": target.number.lower()})
    assert resp.status_code == 303
    db.session.rollback()
    assert db.session.get(Lead, dup.id).merged_into_id == target.id


def test_favicon(client):
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
