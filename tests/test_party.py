"""The party takes part (issue 16): personal links, the answer before the interview, proof, the signed
undertaking, feedback — through the party's own pages (/p/) and the staff's pages and API."""
from __future__ import annotations

import base64
import hashlib
import io
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from coord import events
from coord.audit.models import AuditEntry
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import FollowUp, Interview
from coord.notify.models import OutboxMessage
from coord.party import links, queries
from coord.party.models import (
    IntegrityReport,
    PartyFeedback,
    PartyLink,
    PartyProof,
    PartyProofFile,
    PartyResponse,
    PartyUndertaking,
)
from coord.referrals import storage
from coord.timeutil import local_today, to_local
from tests import pdf_tools
from tests.conftest import csrf_token, login, user_by_name
from tests.party_fixtures import (  # noqa: F401 (autouse fixture)
    _party_app,
    future_interview,
    held_interview,
    link_of,
    page_csrf,
    photo_with_gps,
    signature_data_url,
    tiny_pdf,
    token_of,
)
from tests.worklist_fixtures import notes, tasks_of


def _outbox(**where) -> list[OutboxMessage]:
    db.session.rollback()
    stmt = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, key) == value)
    return list(db.session.execute(stmt).scalars())


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- links --------------------------------------------------------------------------------------

def test_scheduling_issues_a_link_per_reachable_attendee_stored_hashed(app):
    app.config["PARTY_LINKS_AUTO_SEND"] = True
    interview = future_interview()
    rows = db.session.execute(sa.select(PartyLink).where(PartyLink.interview_id == interview.id)
                              .order_by(PartyLink.id)).scalars().all()
    # 王某 (e-mail and mobile) and 赵喆 (mobile) get one each; 钱某 has neither; the notice has its own.
    assert sorted((r.kind, r.attendee_name) for r in rows) == [("notice", ""), ("personal", "王某"),
                                                               ("personal", "赵喆")]
    for row in rows:
        token = links.token_for(row)
        assert len(token) == 32 and len(base64.urlsafe_b64decode(token)) * 8 >= 128
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        stored = " ".join(str(getattr(row, c.key)) for c in PartyLink.__table__.columns)
        assert token not in stored and links.code_for(row) not in stored  # neither secret is in the row
        assert links.resolve(token).link.id == row.id
    mails = _outbox(channel="email")
    texts = _outbox(channel="sms")
    wang = link_of(interview, "王某")
    [mail] = [m for m in mails if m.subject.startswith("【约谈通知】")]
    assert mail.to_addrs == ["王某 <wang@example.com>"] and links.url_for_link(wang) in mail.text
    assert links.format_code(links.code_for(wang)) in mail.text
    assert sorted(m.to_addrs[0] for m in texts) == ["13800001234", "13900005678"]
    assert all(m.text.startswith(interview.party.name) and "/p/" in m.text for m in texts)


def test_without_auto_send_the_organiser_sends_the_links(app, client):
    interview = future_interview()
    assert _outbox(channel="sms") == [] and link_of(interview).sent_at is None
    login(client, "scjg_coord")
    page = f"/interviews/{interview.id}"
    resp = client.post(f"{page}/party/links", data={"csrf_token": csrf_token(client, page)})
    assert resp.status_code == 303
    assert len(_outbox(channel="sms")) == 2 and link_of(interview).sent_at is not None
    # Sent once: a second click sends nothing and says so.
    client.post(f"{page}/party/links", data={"csrf_token": csrf_token(client, page)})
    assert len(_outbox(channel="sms")) == 2
    assert "均已发送" in client.get(page).get_data(as_text=True)


def test_the_api_lists_links_and_revoking_issues_a_new_one(app, api):
    app.config["PARTY_LINKS_AUTO_SEND"] = True
    interview = future_interview()
    coord = api("scjg_coord")
    body = coord.get(f"/api/v1/interviews/{interview.id}/party-links").json
    by_name = {row["attendee"]: row for row in body["links"]}
    assert set(by_name) == {None, "王某", "赵喆"}
    wang = by_name["王某"]
    assert set(wang) >= {"id", "attendee", "url", "code", "expires_at", "revoked"}
    assert wang["url"].startswith("https://coord.spb.example.cn/p/") and re.match(r"^[2-9A-Z]{4}-[2-9A-Z]{4}$",
                                                                                  wang["code"])
    assert wang["expires_at"] is None and wang["revoked"] is False  # the case is open
    old_token = wang["url"].rsplit("/", 1)[1]

    resp = coord.post(f"/api/v1/interviews/{interview.id}/party-links/{wang['id']}/revoke", json={"reason": "手机丢失"})
    assert resp.status_code == 201
    new = resp.json
    assert new["attendee"] == "王某" and new["id"] != wang["id"] and new["url"] != wang["url"]
    listed = {row["id"]: row for row in coord.get(f"/api/v1/interviews/{interview.id}/party-links").json["links"]}
    assert listed[wang["id"]]["revoked"] is True and listed[wang["id"]]["url"] is None
    # The old link answers 410 with a page that names no case; the new one works and was sent again.
    page = api("scjg_coord").client.get(f"/p/{old_token}")
    assert page.status_code == 410
    html = page.get_data(as_text=True)
    assert "链接已失效" in html and interview.party.name not in html and interview.title not in html
    assert api("scjg_coord").client.get(new["url"].replace("https://coord.spb.example.cn", "")).status_code == 200
    assert any(new["url"] in m.text for m in _outbox(channel="email"))
    # Only the organiser side sees the secrets; another agency's people get 403 or 404.
    assert api("cgj_officer").get(f"/api/v1/interviews/{interview.id}/party-links").status_code == 403
    assert api("sthj_coord").get(f"/api/v1/interviews/{interview.id}/party-links").status_code == 404


def test_links_follow_the_attendees_when_they_are_edited(app, api):
    interview = future_interview()
    wang, zhao = link_of(interview, "王某"), link_of(interview, "赵喆")
    attendees = [{"name": "王某", "post": "法定代表人", "email": "wang@example.com", "phone": "138 0000 1234"},
                 {"name": "赵喆", "post": "店长", "phone": "13700007777"},
                 {"name": "孙某", "post": "会计", "email": "sun@example.com"}]
    resp = api("scjg_coord").patch(f"/api/v1/interviews/{interview.id}", json={"attendees": attendees})
    assert resp.status_code == 200, resp.json
    assert link_of(interview, "王某").id == wang.id  # the same person keeps the link
    new_zhao = link_of(interview, "赵喆")
    assert new_zhao.id != zhao.id and new_zhao.phone == "13700007777"
    assert db.session.get(PartyLink, zhao.id).revoked and link_of(interview, "孙某").email == "sun@example.com"
    resp = api("scjg_coord").patch(f"/api/v1/interviews/{interview.id}", json={"attendees": attendees[:1]})
    assert resp.status_code == 200
    assert {lk.attendee_name for lk in links.live_links(interview.id)} == {"", "王某"}


def test_links_expire_90_days_after_the_case_closes(app, client):
    interview = held_interview()
    token = token_of(interview)
    assert client.get(f"/p/{token}").status_code == 200
    assert links.expires_at(interview) is None  # visits pending: open
    visits = db.session.execute(sa.select(FollowUp).where(FollowUp.interview_id == interview.id)).scalars().all()
    coord = user_by_name("scjg_coord")
    last = None
    for visit in visits:
        last = interviews.record_visit(coord, visit.id, "rectified", "").visited_at
    interview = db.session.get(Interview, interview.id)
    assert links.expires_at(interview) == last + timedelta(days=90)
    assert links.resolve(token, now=last + timedelta(days=89)).link is not None
    with pytest.raises(links.LinkGone):
        links.resolve(token, now=last + timedelta(days=90))
    assert client.get(f"/p/{token}").status_code == 200
    app.config["PARTY_LINK_DAYS_AFTER_CLOSE"] = 0  # configurable: the case closed just now
    resp = client.get(f"/p/{token}")
    assert resp.status_code == 410 and interview.party.name not in resp.get_data(as_text=True)


def test_unknown_token_gives_a_chinese_page_with_whom_to_contact(client):
    resp = client.get("/p/" + "A" * 32)
    assert resp.status_code == 404
    html = resp.get_data(as_text=True)
    assert "链接无效" in html and "领导小组办公室" in html
    assert client.get("/p/short").status_code == 404
    assert resp.headers["Referrer-Policy"] == "no-referrer"


def test_the_access_code_on_the_notice_opens_the_notice_link(app, client):
    interview = future_interview()
    notice = link_of(interview, None)
    code = links.format_code(links.code_for(notice)).lower().replace("-", " ")
    page = client.get("/p/")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post("/p/", data={"csrf_token": token, "code": code})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/p/{links.token_for(notice)}")
    wrong = client.post("/p/", data={"csrf_token": token, "code": "ABCD-EFGH"})
    assert wrong.status_code == 404 and "访问码不正确" in wrong.get_data(as_text=True)


def test_the_notice_pdf_prints_the_qr_code_and_the_access_code(app, api):
    import zxingcpp

    interview = future_interview()
    notice = link_of(interview, None)
    resp = api("scjg_coord").get(f"/api/v1/interviews/{interview.id}/notice.pdf")
    assert resp.status_code == 200
    text = pdf_tools.compact(pdf_tools.text(resp.data))
    assert links.format_code(links.code_for(notice)) in text and "https://coord.spb.example.cn/p/" in text
    [qr] = [Image.open(io.BytesIO(png)) for png in pdf_tools.extract_images(resp.data)]
    assert [r.text for r in zxingcpp.read_barcodes(qr)] == [links.url_for_link(notice)]
    # The party's copy (from its own page) is the same document.
    party = api("scjg_coord").client.get(f"/p/{links.token_for(notice)}/notice.pdf")
    assert party.status_code == 200 and party.data == resp.data


# --- before the interview -------------------------------------------------------------------------

def test_confirm_counts_once_and_the_organiser_sees_it(app, client, api):
    interview = future_interview()
    token = token_of(interview)
    csrf = page_csrf(client, token)
    with events.recorded() as seen:
        for _ in range(2):  # a double submit
            resp = client.post(f"/p/{token}/confirm", data={"csrf_token": csrf})
            assert resp.status_code == 303
    assert [e.name for e in seen] == ["party-confirmed"]
    assert _count(PartyResponse) == 1
    body = api("scjg_coord").get(f"/api/v1/interviews/{interview.id}").json
    assert body["party_response"]["status"] == "confirmed" and body["party_response"]["by"] == "王某"
    assert "您已确认参加" in client.get(f"/p/{token}").get_data(as_text=True)
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "party.confirm")).scalar_one()
    assert entry.entity_id == str(interview.id) and '"ip":"127.0.0.1"' in entry.after and "王某" in entry.actor_name
    staff = api("scjg_coord").client
    login(staff, "scjg_coord")
    board = staff.get(f"/interviews/{interview.id}").get_data(as_text=True)
    assert "已确认参加" in board[board.index('id="party-answer"'):]
    [note] = notes("scjg_coord", "party_confirmed")  # the organiser is told once, not the co-organiser
    assert note.url.endswith("#party-answer") and notes("cgj_coord", "party_confirmed") == []


def _offered(client, token: str) -> list[str]:
    html = client.get(f"/p/{token}").get_data(as_text=True)
    return re.findall(r'name="starts" value="([^"]+)"', html)


def test_reschedule_request_accepted_moves_the_interview_with_invites(app, client, api):
    interview = future_interview()
    token = token_of(interview)
    offered = _offered(client, token)
    assert 3 <= len(offered) <= 12
    csrf = page_csrf(client, token)
    data = {"csrf_token": csrf, "reason": "法定代表人当天出差", "starts": offered[:2]}
    assert client.post(f"/p/{token}/reschedule", data=data).status_code == 303
    assert client.post(f"/p/{token}/reschedule", data=data).status_code == 303  # twice: once
    [request] = db.session.execute(sa.select(PartyResponse)).scalars().all()
    assert request.status == "open" and len(request.starts) == 2
    body = api("scjg_coord").get(f"/api/v1/interviews/{interview.id}").json["party_response"]
    assert body["status"] == "reschedule_requested" and body["reason"] == "法定代表人当天出差"
    assert body["starts"] == offered[:2] and body["outcome"] == "open"
    assert tasks_of("scjg_coord")["party_reschedule"] == {request.id}
    assert len(notes("scjg_coord", "party_reschedule_requested")) == 1
    assert "party_reschedule" not in tasks_of("cgj_coord")

    staff = api("scjg_coord").client
    login(staff, "scjg_coord")
    page = f"/interviews/{interview.id}"
    html = staff.get(page).get_data(as_text=True)
    assert "法定代表人当天出差" in html
    sequence = interview.sequence
    resp = staff.post(f"{page}/party/responses/{request.id}",
                      data={"csrf_token": csrf_token(staff, page), "decision": "accept", "start": offered[1]})
    assert resp.status_code == 303
    db.session.rollback()
    moved = db.session.get(Interview, interview.id)
    assert moved.start_at == datetime.fromisoformat(offered[1])
    assert moved.sequence == sequence + 1  # through the reschedule service: invites go out again
    invites = [m for m in _outbox(channel="email") if m.subject.startswith("【约谈改期】")]
    assert invites and invites[0].calendar_method == "REQUEST"
    assert db.session.get(PartyResponse, request.id).status == "accepted"
    assert "已同意您的改期申请" in client.get(f"/p/{token}").get_data(as_text=True)
    assert api("scjg_coord").get(f"/api/v1/interviews/{interview.id}").json["party_response"]["outcome"] == "accepted"


def test_reschedule_declined_with_a_reason_the_party_sees(app, client, api):
    interview = future_interview()
    token = token_of(interview)
    offered = _offered(client, token)
    client.post(f"/p/{token}/reschedule", data={"csrf_token": page_csrf(client, token), "reason": "家中有事",
                                                 "starts": offered[:1]})
    request = db.session.execute(sa.select(PartyResponse)).scalar_one()
    coord = user_by_name("scjg_coord")
    from coord.party import answers

    with pytest.raises(answers.DomainError):
        answers.answer_reschedule(coord, interview.id, request.id, "decline", reason="")
    db.session.rollback()
    with pytest.raises(answers.Forbidden):
        answers.answer_reschedule(user_by_name("cgj_coord"), interview.id, request.id, "decline", reason="不行")
    db.session.rollback()
    answers.answer_reschedule(coord, interview.id, request.id, "decline", reason="多部门已协调一致，时间不宜变动")
    html = client.get(f"/p/{token}").get_data(as_text=True)
    assert "约谈单位不同意改期" in html and "多部门已协调一致" in html
    db.session.rollback()
    assert db.session.get(Interview, interview.id).start_at == interview.start_at


def test_times_outside_the_offered_slots_are_refused_and_nothing_saved(app, client):
    interview = future_interview()
    token = token_of(interview)
    offered = _offered(client, token)
    csrf = page_csrf(client, token)
    start = datetime.fromisoformat(offered[0])
    bad = [
        (start + timedelta(minutes=10)).isoformat(),  # off the grid
        start.replace(hour=20).isoformat(),  # outside working hours
        (start + timedelta(days=400)).isoformat(),  # beyond the window
        interview.start_at.isoformat(),  # the current time itself
        "下周一上午",  # not a time
    ]
    for value in bad:
        resp = client.post(f"/p/{token}/reschedule", data={"csrf_token": csrf, "reason": "出差", "starts": [value]})
        assert resp.status_code == 400, value
    too_many = client.post(f"/p/{token}/reschedule", data={"csrf_token": csrf, "reason": "出差", "starts": offered[:4]})
    assert too_many.status_code == 400 and "最多" in too_many.get_data(as_text=True)
    no_reason = client.post(f"/p/{token}/reschedule", data={"csrf_token": csrf, "reason": " ", "starts": offered[:1]})
    assert no_reason.status_code == 400
    # A time someone else booked since the page was shown is no longer offered.
    from tests.interview_fixtures import busy

    busy("scjg_coord", start, start + timedelta(minutes=90))
    taken = client.post(f"/p/{token}/reschedule", data={"csrf_token": csrf, "reason": "出差", "starts": offered[:1]})
    assert taken.status_code == 400 and "不在可选时段内" in taken.get_data(as_text=True)
    assert _count(PartyResponse) == 0


def test_every_post_needs_the_csrf_token(client):
    interview = future_interview()
    token = token_of(interview)
    resp = client.post(f"/p/{token}/confirm", data={})
    assert resp.status_code == 400 and "安全校验失败" in resp.get_data(as_text=True)
    assert _count(PartyResponse) == 0


# --- after the interview: proof -------------------------------------------------------------------

def test_proof_upload_strips_location_and_the_visit_officer_accepts_it(app, client):
    interview = held_interview()
    token = token_of(interview)
    item = interview.items[0]
    csrf = page_csrf(client, token)
    jpeg, png = photo_with_gps("JPEG"), photo_with_gps("PNG")
    assert Image.open(io.BytesIO(jpeg)).getexif().get_ifd(0x8825)
    data = {"csrf_token": csrf, "note": "已更换净化设施",
            "files": [(io.BytesIO(jpeg), "现场.jpg"), (io.BytesIO(png), "清单.png"), (io.BytesIO(tiny_pdf()), "发票.pdf")]}
    resp = client.post(f"/p/{token}/items/{item.id}/proof", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    proof = db.session.execute(sa.select(PartyProof)).scalar_one()
    files = {f.filename: f for f in proof.files}
    assert set(files) == {"现场.jpg", "清单.png", "发票.pdf"}
    for name, f in files.items():
        kept = storage.path_for(f.sha256).read_bytes()
        assert hashlib.sha256(kept).hexdigest() == f.sha256
        if name != "发票.pdf":
            image = Image.open(io.BytesIO(kept))
            assert not image.getexif().get_ifd(0x8825) and "Location" not in image.info
            assert f.sha256 != f.original_sha256 and "GPS" in f.stripped
    jpeg_kept = Image.open(io.BytesIO(storage.path_for(files["现场.jpg"].sha256).read_bytes()))
    assert jpeg_kept.getexif().get(0x0112) == 6 and jpeg_kept.size == (64, 48)  # still upright, same pixels
    assert files["发票.pdf"].sha256 == files["发票.pdf"].original_sha256

    # The same submission again counts once.
    data["files"] = [(io.BytesIO(jpeg), "现场.jpg"), (io.BytesIO(png), "清单.png"), (io.BytesIO(tiny_pdf()), "发票.pdf")]
    client.post(f"/p/{token}/items/{item.id}/proof", data=data, content_type="multipart/form-data")
    assert _count(PartyProof) == 1

    officer = user_by_name("scjg_officer")
    assert tasks_of("scjg_officer")["party_proof_review"] == {proof.id}
    assert notes("scjg_officer", "party_proof_uploaded")[0].url.endswith(f"#follow-up-{proof.follow_up_id}")
    assert "party_proof_review" not in tasks_of("cgj_officer")  # another agency's visit
    from coord.party import proofs

    with pytest.raises(proofs.Forbidden):
        proofs.review(user_by_name("cgj_officer"), proof.id, "accept")
    db.session.rollback()
    proofs.review(officer, proof.id, "accept", "现场照片与发票相符")
    visit = db.session.get(FollowUp, proof.follow_up_id)
    assert visit.status == "done" and visit.result == "rectified"
    assert "party_proof_review" not in tasks_of("scjg_officer")
    html = client.get(f"/p/{token}").get_data(as_text=True)
    assert "已通过（已整改）" in html and "现场照片与发票相符" in html


def test_asking_for_more_proof_shows_the_reason_to_the_party(app, client):
    interview = held_interview()
    token = token_of(interview)
    item = interview.items[1]
    client.post(f"/p/{token}/items/{item.id}/proof", content_type="multipart/form-data",
                data={"csrf_token": page_csrf(client, token), "note": "", "files": [(io.BytesIO(photo_with_gps()), "a.jpg")]})
    proof = db.session.execute(sa.select(PartyProof)).scalar_one()
    login(client, "scjg_officer")
    page = "/interviews/follow-ups"
    html = client.get(page).get_data(as_text=True)
    assert f'id="proof-{proof.id}"' in html and "a.jpg" in html
    resp = client.post(f"/party/proofs/{proof.id}/review", data={"csrf_token": csrf_token(client, page),
                                                                "decision": "more", "reason": "请补拍门前全景"})
    assert resp.status_code == 303
    db.session.rollback()
    assert db.session.get(PartyProof, proof.id).status == "more_requested"
    assert "请补拍门前全景" in client.get(f"/p/{token}").get_data(as_text=True)
    assert any("请补拍门前全景" in m.text for m in _outbox(channel="sms"))


@pytest.mark.parametrize("name,data,message", [
    ("big.jpg", b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024), "大小限制"),
    ("report.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "扩展名"),
    ("notes.txt", "整改说明".encode(), "仅限照片"),
    ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 50, "已损坏"),
])
def test_bad_files_are_refused_and_nothing_is_saved(app, client, name, data, message):
    app.config["REFERRAL_MAX_FILE_MB"] = 1
    interview = held_interview()
    token = token_of(interview)
    item = interview.items[0]
    before = set(storage.folder().iterdir()) if storage.folder().exists() else set()
    files = [(io.BytesIO(photo_with_gps()), "good.jpg"), (io.BytesIO(data), name)]
    resp = client.post(f"/p/{token}/items/{item.id}/proof", content_type="multipart/form-data",
                       data={"csrf_token": page_csrf(client, token), "note": "x", "files": files})
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert _count(PartyProof) == 0 and _count(PartyProofFile) == 0
    assert set(storage.folder().iterdir()) == before  # not even the good file was written


def test_a_token_never_reaches_another_interviews_items_or_files(app, client):
    first = held_interview()
    second = held_interview("2026-09-28", matter="另一场约谈")  # another interview (new rows)
    token_a, token_b = token_of(first), token_of(second)
    item_b = second.items[0]
    resp = client.post(f"/p/{token_b}/items/{item_b.id}/proof", content_type="multipart/form-data",
                       data={"csrf_token": page_csrf(client, token_b), "files": [(io.BytesIO(photo_with_gps()), "b.jpg")]})
    assert resp.status_code == 303
    file_b = db.session.execute(sa.select(PartyProofFile)).scalar_one()
    assert client.get(f"/p/{token_b}/files/{file_b.id}").status_code == 200
    # Through the first interview's link: 404 for the other's item and file, and nothing saved.
    wrong = client.post(f"/p/{token_a}/items/{item_b.id}/proof", content_type="multipart/form-data",
                        data={"csrf_token": page_csrf(client, token_a), "files": [(io.BytesIO(photo_with_gps()), "a.jpg")]})
    assert wrong.status_code == 404 and second.party.name not in wrong.get_data(as_text=True)
    assert client.get(f"/p/{token_a}/files/{file_b.id}").status_code == 404
    assert _count(PartyProof) == 1
    page_a = client.get(f"/p/{token_a}").get_data(as_text=True)
    assert f"/items/{item_b.id}/" not in page_a and "b.jpg" not in page_a


# --- the undertaking ------------------------------------------------------------------------------

def test_the_signed_undertaking_embeds_signature_signer_time_and_hash(app, client, api):
    interview = held_interview()
    token = token_of(interview)
    unsigned = client.get(f"/p/{token}/undertaking.pdf")
    assert unsigned.status_code == 200
    assert tasks_of("scjg_coord")["undertaking_unsigned"] == {interview.id}
    assert "undertaking_unsigned" not in tasks_of("cgj_coord")
    csrf = page_csrf(client, token)
    form = {"csrf_token": csrf, "consent": "on", "signer_name": "王 某", "signature": signature_data_url()}
    with events.recorded() as seen:
        assert client.post(f"/p/{token}/undertaking/sign", data=form).status_code == 303
        assert client.post(f"/p/{token}/undertaking/sign", data=form).status_code == 303  # counts once
    assert [e.name for e in seen] == ["party-undertaking-signed"]
    record = db.session.execute(sa.select(PartyUndertaking)).scalar_one()
    assert "undertaking_unsigned" not in tasks_of("scjg_coord")
    assert record.signer_name == "王 某" and record.unsigned_sha256 == hashlib.sha256(unsigned.data).hexdigest()
    signed = client.get(f"/p/{token}/undertaking.pdf").data
    assert hashlib.sha256(signed).hexdigest() == record.pdf_sha256
    text = pdf_tools.compact(pdf_tools.text(signed))
    local = to_local(record.signed_at)
    assert "签署人：王某" in text and f"{local.year}年{local.month}月{local.day}日{local.hour}时{local.minute:02d}分" in text
    assert record.unsigned_sha256 in text
    images = [row for row in pdf_tools.images(signed) if row["type"] == "image"]
    assert len(images) == 1 and (images[0]["width"], images[0]["height"]) == ("300", "120")
    [png] = pdf_tools.extract_images(signed)[:1]
    drawn = Image.open(io.BytesIO(png)).convert("L")
    assert drawn.getextrema()[0] < 64  # the dark stroke is in the PDF's image
    # Kept unchanged: the database refuses to alter it.
    with pytest.raises(sa.exc.DBAPIError):
        db.session.execute(sa.update(PartyUndertaking).values(signer_name="别人"))
        db.session.flush()
    db.session.rollback()
    # The organiser is told and can download the same bytes.
    assert any(m.subject.startswith("【保证承诺书已签署】") and m.attachments for m in _outbox(channel="email"))
    staff = api("scjg_coord").client
    login(staff, "scjg_coord")
    assert staff.get(f"/interviews/{interview.id}/party/undertaking.pdf").data == signed
    assert "undertaking_unsigned" not in tasks_of("scjg_coord")


@pytest.mark.parametrize("change,message", [
    ({"signer_name": "  "}, "签署人姓名"),
    ({"consent": ""}, "勾选"),
    ({"signature": ""}, "JavaScript"),
    ({"signature": "data:image/jpeg;base64,/9j/4AAQ"}, "PNG"),
    ({"signature": "data:image/png;base64,iVBORw0KGgo-not-base64"}, "无效"),
    ({"signature": "blank"}, "空白"),
])
def test_a_bad_signature_or_name_is_refused_and_nothing_saved(app, client, change, message):
    interview = held_interview()
    token = token_of(interview)
    form = {"csrf_token": page_csrf(client, token), "consent": "on", "signer_name": "王某",
            "signature": signature_data_url(), **change}
    if form["signature"] == "blank":
        form["signature"] = signature_data_url(blank=True)
    resp = client.post(f"/p/{token}/undertaking/sign", data=form)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    assert _count(PartyUndertaking) == 0


def test_the_organiser_records_a_refusal_to_sign(app, client):
    interview = held_interview()
    login(client, "scjg_coord")
    page = f"/interviews/{interview.id}"
    resp = client.post(f"{page}/party/undertaking/refusal", data={"csrf_token": csrf_token(client, page),
                                                                 "reason": "当事人对第二项整改要求有异议"})
    assert resp.status_code == 303
    record = db.session.execute(sa.select(PartyUndertaking)).scalar_one()
    assert record.status == "refused" and "异议" in record.refusal_reason
    assert "undertaking_unsigned" not in tasks_of("scjg_coord")
    assert "拒绝签署" in client.get(page).get_data(as_text=True)
    token = token_of(interview)
    signing = client.post(f"/p/{token}/undertaking/sign", data={"csrf_token": page_csrf(client, token),
                                                                "consent": "on", "signer_name": "王某",
                                                                "signature": signature_data_url()})
    assert signing.status_code == 400 and _count(PartyUndertaking) == 1


# --- feedback --------------------------------------------------------------------------------------

def test_feedback_once_per_stage_and_integrity_reports_for_the_office_only(app, client, api):
    interview = held_interview()
    token = token_of(interview)
    csrf = page_csrf(client, token)
    form = {"csrf_token": csrf, "stage": "interview", "rating": "4", "conduct_rating": "5", "comment": "流程清楚",
            "integrity_report": "某工作人员暗示请吃饭"}
    assert client.post(f"/p/{token}/feedback", data=form).status_code == 303
    assert client.post(f"/p/{token}/feedback", data=form).status_code == 303  # the same again: once
    again = client.post(f"/p/{token}/feedback", data={**form, "rating": "1"})
    assert again.status_code == 400 and "只能评价一次" in again.get_data(as_text=True)
    follow_up = client.post(f"/p/{token}/feedback", data={**form, "stage": "follow_up"})
    assert follow_up.status_code == 400  # no visit recorded yet
    for bad in ({"rating": "6"}, {"conduct_rating": "0"}, {"stage": "other"}):
        assert client.post(f"/p/{token}/feedback", data={**form, "stage": "interview", **bad}).status_code == 400
    assert _count(PartyFeedback) == 1 and _count(IntegrityReport) == 1
    feedback = db.session.execute(sa.select(PartyFeedback)).scalar_one()
    assert {c.key for c in PartyFeedback.__table__.columns}.isdisjoint({"link_id", "attendee_id", "ip"})

    # The office sees ratings per agency (both agencies of the joint interview) and the report.
    body = api("admin").get("/api/v1/feedback", query_string={"from": feedback.created_at.date().isoformat()}).json
    by_agency = {row["agency"]: row for row in body["agencies"]}
    assert set(by_agency) == {"区市场监管局", "区城市管理局"}
    row = by_agency["区市场监管局"]
    assert (row["count"], row["process_avg"], row["conduct_avg"], row["integrity_reports"]) == (1, 4.0, 5.0, 1)
    assert row["stages"]["interview"]["count"] == 1
    assert api("admin").get("/api/v1/feedback", query_string={"to": "2026-01-01"}).json["agencies"] == []
    assert queries.ratings(row["agency_id"])[0]["count"] == 1
    office = api("admin").client
    login(office, "admin")
    html = office.get("/party/feedback").get_data(as_text=True)
    assert "某工作人员暗示请吃饭" in html and "流程清楚" in html
    # The officials concerned see neither ratings, nor reports, nor who gave them.
    assert api("scjg_coord").get("/api/v1/feedback").status_code == 403
    staff = api("scjg_coord").client
    login(staff, "scjg_coord")
    assert staff.get("/party/feedback").status_code == 403
    for path in (f"/interviews/{interview.id}", "/audit/"):
        html = staff.get(path).get_data(as_text=True)
        assert "暗示请吃饭" not in html and "流程清楚" not in html and "提交约谈后评价" not in html
    timeline = staff.get(f"/audit/interview/{interview.id}").get_data(as_text=True)
    assert "评价" not in timeline and "廉洁" not in timeline


def test_ratings_reach_the_oversight_figures_and_the_satisfaction_indicator(app, client, api):
    """满意 is both marks at 4 or 5: one interview rated 5/3 (not satisfied), another 4/5 (satisfied)."""
    for day, marks in (("2026-09-24", ("5", "3")), ("2026-09-28", ("4", "5"))):
        token = token_of(held_interview(day))
        form = {"csrf_token": page_csrf(client, token), "stage": "interview", "rating": marks[0],
                "conduct_rating": marks[1]}
        assert client.post(f"/p/{token}/feedback", data=form).status_code == 303
    today = local_today().isoformat()
    scjg = user_by_name("scjg_coord").agency_id
    figures = api("admin").get("/api/v1/oversight/figures", query_string={"from": today, "to": today}).json
    [row] = [r for r in figures["agencies"] if r["agency_id"] == scjg]
    assert row["party"] == {"rated": 2, "satisfied": 1}
    body = api("admin").get("/api/v1/oversight/assessment", query_string={"from": today, "to": today}).json
    [mine] = [r for r in body["rows"] if r["agency_id"] == scjg]
    indicator = mine["indicators"]["party_satisfaction"]
    assert (indicator["numerator"], indicator["denominator"], indicator["value"]) == (1, 2, 0.5)
    assert indicator["score"] == 10.0  # the demo rules weigh it 20
    office = api("admin").client
    login(office, "admin")
    page = office.get(f"/oversight/?from={today}&to={today}").get_data(as_text=True)
    table = page[page.index('id="table-followups"'):page.index('id="h-lists"')]
    assert "满意" in table and "50%" in table
    drill = office.get(f"/oversight/records?metric=party.satisfied&agency_id={scjg}&from={today}&to={today}")
    assert drill.status_code == 200 and "工作人员作风 5 分" in drill.get_data(as_text=True)
    assert "工作人员作风 3 分" not in drill.get_data(as_text=True)


# --- GET changes nothing; rate limits ----------------------------------------------------------------

BUSINESS_TABLES = ["interview", "party_link", "party_response", "party_proof", "party_proof_file",
                   "party_undertaking", "party_feedback", "party_integrity_report", "outbox_message", "follow_up",
                   "rectification_item", "booking", "minutes", "minutes_revision"]


def _snapshot() -> dict:
    db.session.rollback()
    out = {}
    for table in BUSINESS_TABLES:
        rows = db.session.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all()
        out[table] = [tuple(str(v) for v in row) for row in rows]
    return out


def test_a_get_of_every_party_url_changes_nothing(app, client):
    held = held_interview()
    token = token_of(held)
    item = held.items[0]
    client.post(f"/p/{token}/items/{item.id}/proof", content_type="multipart/form-data",
                data={"csrf_token": page_csrf(client, token), "files": [(io.BytesIO(photo_with_gps()), "a.jpg")]})
    file_id = db.session.execute(sa.select(PartyProofFile.id)).scalar_one()
    future = future_interview()
    future_token = token_of(future)
    before = _snapshot()
    audit_before = _count(AuditEntry)
    urls = ["/p/", f"/p/{token}", f"/p/{token}/notice.pdf", f"/p/{token}/undertaking.pdf",
            f"/p/{token}/files/{file_id}", f"/p/{future_token}", f"/p/{future_token}/notice.pdf",
            # the action URLs answer GET with 405 and do nothing
            f"/p/{future_token}/confirm", f"/p/{future_token}/reschedule", f"/p/{token}/items/{item.id}/proof",
            f"/p/{token}/undertaking/sign", f"/p/{token}/feedback"]
    for url in urls:
        resp = client.get(url)
        assert resp.status_code in (200, 405), (url, resp.status_code)
    assert _snapshot() == before
    # Only the uses are written down: one audit entry per page or file opened, nothing else.
    views = db.session.execute(sa.select(AuditEntry).where(AuditEntry.id > 0).order_by(AuditEntry.id.desc())
                               .limit(_count(AuditEntry) - audit_before)).scalars().all()
    assert {v.action for v in views} == {"party.view"} and len(views) == 6
    assert all('"ip":"127.0.0.1"' in v.after for v in views)


def test_wrong_tokens_from_one_address_are_blocked_for_a_while(app, client):
    app.config["PARTY_WRONG_CODE_LIMIT"] = "3 per 15 minutes"
    interview = future_interview()
    good = token_of(interview)
    for _ in range(3):
        assert client.get("/p/" + "B" * 32).status_code == 404
    blocked = client.get(f"/p/{good}")
    assert blocked.status_code == 429 and "稍后再试" in blocked.get_data(as_text=True)
    # Another address is not affected.
    other = client.get(f"/p/{good}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def test_wrong_access_codes_count_in_the_same_bucket(app, client):
    app.config["PARTY_WRONG_CODE_LIMIT"] = "2 per 15 minutes"
    page = client.get("/p/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/p/", data={"csrf_token": csrf, "code": "2222-2222"}).status_code == 404
    assert client.post("/p/", data={"csrf_token": csrf, "code": "3333-3333"}).status_code == 404
    assert client.post("/p/", data={"csrf_token": csrf, "code": "4444-4444"}).status_code == 429


def test_the_party_pages_have_their_own_overall_limit(app, client):
    app.config["PARTY_RATE_LIMIT"] = "5 per minute"
    interview = future_interview()
    token = token_of(interview)
    codes = [client.get(f"/p/{token}").status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    assert client.get("/login").status_code == 200  # the rest of the site is not limited by it
