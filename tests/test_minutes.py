"""约谈笔录: revisions, stale saves (409), finalising, corrections, PDFs, follow-up visits, mail."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.extensions import db
from coord.interviews.models import FollowUp, Interview, RectificationItem
from coord.minutes.models import Minutes, MinutesRevision
from tests import pdf_tools
from tests.conftest import csrf_token, login, user_by_name
from tests.minutes_fixtures import _pdf_cache, content, interview_fixture  # noqa: F401 (fixtures)
from tests.notify_fixtures import run_worker, smtp_fixture, wait_until  # noqa: F401 (fixtures)


def url(interview, suffix: str = "") -> str:
    return f"/api/v1/interviews/{interview.id}/minutes{suffix}"


def save(client, interview, revision: int, **fields):
    return client.put(url(interview), json={"revision": revision, **fields})


def saved_minutes(interview) -> Minutes | None:
    db.session.rollback()
    return db.session.execute(sa.select(Minutes).where(Minutes.interview_id == interview.id)).scalar_one_or_none()


def finalized(api, interview):
    """Save the complete content and finalise it; returns the API client."""
    coord = api("scjg_coord")
    assert save(coord, interview, 0, **content()).status_code == 200
    resp = coord.post(url(interview, "/finalize"), json={"revision": 1})
    assert resp.status_code == 200, resp.json
    return coord


# --- revisions and optimistic concurrency ------------------------------------------------------

def test_before_the_first_save_the_minutes_are_prefilled_from_the_interview(api, interview):
    body = api("scjg_coord").get(url(interview)).json
    assert body["revision"] == 0 and body["status"] == "draft"
    assert body["started_at"] == "2026-09-24T10:00:00+08:00"
    assert body["place"] == "区司法局第一会议室（沙坪坝区司法局 3 楼）"
    assert body["attendees"] == [{"name": "王某", "post": "法定代表人"}]
    assert set(body["interviewer_ids"]) == {user_by_name("scjg_coord").id, user_by_name("cgj_officer").id}


def test_every_save_is_a_revision(api, interview):
    coord = api("scjg_coord")
    first = save(coord, interview, 0, place="第二会议室", turns=[{"q": "问一", "a": "答一"}])
    assert first.status_code == 200, first.json
    assert first.json["revision"] == 1 and first.json["place"] == "第二会议室"
    second = save(coord, interview, 1, statement="陈述")
    assert second.json["revision"] == 2
    assert second.json["turns"] == [{"q": "问一", "a": "答一"}]  # fields left out keep their values
    assert [r["number"] for r in second.json["revisions"]] == [1, 2]
    # Saving the same content again writes no new revision.
    assert save(coord, interview, 2, statement="陈述").json["revision"] == 2
    assert len(saved_minutes(interview).revisions) == 2


def test_a_stale_revision_is_refused_with_409_and_what_changed(api, interview):
    coord, officer = api("scjg_coord"), api("cgj_officer")
    assert save(coord, interview, 0, place="第二会议室").json["revision"] == 1
    # Both start from revision 1; the coordinator saves first.
    assert save(coord, interview, 1, place="第三会议室", statement="对方的陈述").status_code == 200
    late = save(officer, interview, 1, place="我的会议室")
    assert late.status_code == 409
    body = late.json
    assert body["current_revision"] == 2 and body["your_revision"] == 1
    assert "第 2 版" in body["message"] and "未执行" in body["message"]
    changed = {c["label"]: c for c in body["changes"]}
    assert changed["地点"]["before"] == "第二会议室"
    assert changed["地点"]["after"] == "第三会议室"
    assert changed["地点"]["mine"] == "我的会议室"
    assert changed["被约谈方陈述"]["after"] == "对方的陈述"
    minutes = saved_minutes(interview)
    assert minutes.revision == 2 and minutes.latest.content["place"] == "第三会议室"  # nothing overwritten


def test_a_missing_or_bad_revision_is_refused(api, interview):
    coord = api("scjg_coord")
    resp = coord.put(url(interview), json={"place": "某地"})
    assert resp.status_code == 400 and "版本号" in resp.json["message"]
    assert save(coord, interview, 5, place="某地").status_code == 409
    assert saved_minutes(interview) is None


def test_a_deadline_before_the_interview_is_refused_and_nothing_saved(api, interview):
    coord = api("scjg_coord")
    resp = save(coord, interview, 0, rectifications=[{"requirement": "整改", "deadline": "2026-09-20"}])
    assert resp.status_code == 400
    assert "早于约谈日期 2026-09-24" in resp.json["message"]
    bad = save(coord, interview, 0, rectifications=[{"requirement": "整改", "deadline": "2026-02-30"}])
    assert bad.status_code == 400 and "不是有效日期" in bad.json["message"]
    assert saved_minutes(interview) is None


def test_end_before_start_is_refused(api, interview):
    resp = save(api("scjg_coord"), interview, 0, started_at="2026-09-24T11:00:00+08:00",
                ended_at="2026-09-24T10:00:00+08:00")
    assert resp.status_code == 400 and "结束时间应晚于开始时间" in resp.json["message"]


def test_strangers_cannot_be_named_interviewers(api, interview):
    resp = save(api("scjg_coord"), interview, 0, interviewer_ids=[user_by_name("gafj_officer").id])
    assert resp.status_code == 400 and "约谈人" in resp.json["message"]


def test_other_agencies_do_not_see_the_minutes(api, interview):
    for who in ("sthj_coord", "gafj_officer"):
        assert api(who).get(url(interview)).status_code == 404
        assert save(api(who), interview, 0, place="x").status_code == 404
        assert api(who).get(url(interview, ".pdf")).status_code == 404
    # An officer of the lead agency who did not take part may read but not write.
    officer = api("scjg_officer")
    assert officer.get(url(interview)).status_code == 200
    assert save(officer, interview, 0, place="x").status_code == 403
    assert saved_minutes(interview) is None


# --- finalising -------------------------------------------------------------------------------

def test_finalising_with_missing_fields_names_them_and_changes_nothing(api, interview):
    coord = api("scjg_coord")
    save(coord, interview, 0, place="区司法局第一会议室", rectifications=[{"requirement": "整改油烟", "deadline": None}])
    resp = coord.post(url(interview, "/finalize"), json={"revision": 1})
    assert resp.status_code == 400
    for expected in ("记录人", "问答记录", "第 1 条整改要求的期限"):
        assert expected in resp.json["message"], expected
    minutes = saved_minutes(interview)
    assert minutes.status == "draft" and minutes.revision == 1
    assert db.session.execute(sa.select(sa.func.count()).select_from(RectificationItem)).scalar() == 0


def test_finalising_locks_the_minutes_and_drives_follow_up_visits(api, interview):
    coord = finalized(api, interview)
    body = coord.get(url(interview)).json
    assert body["status"] == "final" and body["revision"] == 2
    assert [r["kind"] for r in body["revisions"]] == ["draft", "final"]
    items = db.session.execute(sa.select(RectificationItem).where(
        RectificationItem.interview_id == interview.id).order_by(RectificationItem.id)).scalars().all()
    assert [(i.requirement, i.deadline, i.source) for i in items] == [
        ("清洗并更换油烟净化设施", date(2026, 10, 15), "minutes"), ("停止门前占道经营", date(2026, 9, 30), "minutes")]
    visits = {v.item_id: v for v in db.session.execute(sa.select(FollowUp)).scalars()}
    # The visit is on the first working day after the deadline: 10-16 (Fri); after 09-30 the
    # National Day holiday runs 10-01..07, so 10-08.
    assert [visits[i.id].due for i in items] == [date(2026, 10, 16), date(2026, 10, 8)]
    assert all(visits[i.id].agency_id == interview.lead_agency_id for i in items)
    assert db.session.get(Interview, interview.id).status == "held"  # the interview took place
    actions = db.session.execute(sa.select(AuditEntry.action).where(
        AuditEntry.entity_type == "interview", AuditEntry.entity_id == str(interview.id))).scalars().all()
    assert {"minutes.save", "minutes.finalize", "interview.held", "interview.item"} <= set(actions)


def test_final_minutes_cannot_be_edited(api, interview):
    coord = finalized(api, interview)
    resp = save(coord, interview, 2, statement="改一下")
    assert resp.status_code == 400 and "已定稿" in resp.json["message"]
    assert coord.post(url(interview, "/finalize"), json={}).status_code == 400
    minutes = saved_minutes(interview)
    assert minutes.revision == 2 and minutes.latest.content["statement"] == "我们认识到问题，保证按期整改。"


def test_the_database_refuses_to_change_a_saved_revision(api, interview):
    finalized(api, interview)
    rev = saved_minutes(interview).latest
    try:
        db.session.execute(sa.update(MinutesRevision).where(MinutesRevision.id == rev.id).values(reason="篡改"))
        db.session.flush()
        raise AssertionError("the update went through")
    except sa.exc.DBAPIError as err:
        assert "不得修改" in str(err)
    db.session.rollback()


def test_a_character_no_font_covers_stops_finalising(api, interview):
    coord = api("scjg_coord")
    save(coord, interview, 0, **content(statement="当事人签名：\U00030000"))
    resp = coord.post(url(interview, "/finalize"), json={"revision": 1})
    assert resp.status_code == 422
    assert "U+30000" in resp.json["message"]
    assert saved_minutes(interview).status == "draft"
    assert db.session.execute(sa.select(sa.func.count()).select_from(RectificationItem)).scalar() == 0


# --- corrections -------------------------------------------------------------------------------

def test_a_correction_is_a_new_revision_with_a_reason_and_the_earlier_pdf_stays(api, interview):
    coord = finalized(api, interview)
    issued = coord.get(url(interview, ".pdf"))
    assert issued.status_code == 200 and issued.mimetype == "application/pdf"
    assert "被约谈方签署《保证承诺书》" in pdf_tools.compact(pdf_tools.text(issued.data))
    resp = coord.post(url(interview, "/corrections"), json={
        "revision": 2, "reason": "被约谈方陈述记录有误", "statement": "我们认识到问题，保证十日内整改。"})
    assert resp.status_code == 200, resp.json
    assert resp.json["revision"] == 3 and resp.json["status"] == "final"
    assert resp.json["revisions"][-1]["kind"] == "correction"
    assert resp.json["revisions"][-1]["reason"] == "被约谈方陈述记录有误"
    current = pdf_tools.compact(pdf_tools.text(coord.get(url(interview, ".pdf")).data))
    assert "更正原因：被约谈方陈述记录有误" in current and "保证十日内整改" in current
    earlier = coord.get(url(interview, ".pdf?revision=2"))
    assert earlier.data == issued.data  # exactly the PDF issued at finalising
    assert "保证按期整改" in pdf_tools.compact(pdf_tools.text(earlier.data))


def test_a_correction_needs_a_reason_a_change_and_the_current_revision(api, interview):
    coord = finalized(api, interview)
    no_reason = coord.post(url(interview, "/corrections"), json={"revision": 2, "statement": "新陈述"})
    assert no_reason.status_code == 400 and "更正原因" in no_reason.json["message"]
    same = coord.post(url(interview, "/corrections"), json={"revision": 2, "reason": "无"})
    assert same.status_code == 400 and "相同" in same.json["message"]
    stale = coord.post(url(interview, "/corrections"), json={"revision": 1, "reason": "x", "statement": "y"})
    assert stale.status_code == 409
    fewer = coord.post(url(interview, "/corrections"), json={
        "revision": 2, "reason": "删一项", "rectifications": content()["rectifications"][:1]})
    assert fewer.status_code == 400 and "不能删除" in fewer.json["message"]
    assert saved_minutes(interview).revision == 2


def test_a_corrected_deadline_moves_the_pending_visit(api, interview):
    coord = finalized(api, interview)
    rects = content()["rectifications"]
    rects[1] = {"requirement": "停止门前占道经营", "deadline": "2026-10-12"}
    rects.append({"requirement": "建立油烟设施清洗台账", "deadline": "2026-10-20"})
    resp = coord.post(url(interview, "/corrections"), json={"revision": 2, "reason": "期限记录错误",
                                                           "rectifications": rects})
    assert resp.status_code == 200, resp.json
    db.session.rollback()
    items = db.session.execute(sa.select(RectificationItem).order_by(RectificationItem.id)).scalars().all()
    assert [(i.requirement, i.deadline) for i in items] == [
        ("清洗并更换油烟净化设施", date(2026, 10, 15)), ("停止门前占道经营", date(2026, 10, 12)),
        ("建立油烟设施清洗台账", date(2026, 10, 20))]
    assert [i.follow_ups[0].due for i in items] == [date(2026, 10, 16), date(2026, 10, 13), date(2026, 10, 21)]


# --- PDFs --------------------------------------------------------------------------------------

def test_minutes_pdf_has_the_footer_on_every_page_and_the_confirmation_on_the_last(api, interview):
    coord = api("scjg_coord")
    turns = [{"q": f"第{i}问：油烟净化设施的清洗记录在哪里？", "a": "清洗记录由店长赵喆保管，最近一次清洗是在七月。" * 3}
             for i in range(1, 9)]
    save(coord, interview, 0, **content(turns=turns))
    coord.post(url(interview, "/finalize"), json={"revision": 1})
    data = coord.get(url(interview, ".pdf")).data
    pages = pdf_tools.page_count(data)
    assert pages >= 3
    for number in range(1, pages + 1):
        text = pdf_tools.compact(pdf_tools.text(data, number))
        assert f"第{number}页共{pages}页" in text
        assert "被约谈人签名：" in text and "约谈人签名：" in text and "记录人签名：" in text
        assert ("以上笔录我已看过，与我说的一致" in text) == (number == pages)
    text = pdf_tools.compact(pdf_tools.text(data))
    for expected in ("约谈笔录", "沙市监约〔2026〕1号", "张堃（重庆市沙坪坝区市场监督管理局，执法证号：50010621000101）",
                     "陈志强（重庆市沙坪坝区城市管理局",
                     "记录人：李喆（执法证号：50010621000102）", "重庆某某餐饮管理有限公司",
                     "赵喆（店长）", "2026年9月24日10时05分至11时20分", "整改期限：2026年10月15日前"):
        assert expected in text, expected
    for font in pdf_tools.fonts(data):
        assert font["emb"] == "yes" and font["sub"] == "yes"
    archive = coord.get(url(interview, ".pdf?archive=1")).data
    assert "pdfaid" in pdf_tools.metadata(archive)


def test_a_draft_pdf_is_marked_as_draft(api, interview):
    coord = api("scjg_coord")
    save(coord, interview, 0, **content())
    text = pdf_tools.compact(pdf_tools.text(coord.get(url(interview, ".pdf")).data))
    assert "草稿（未定稿，不作为正式笔录）" in text


def test_interview_notice_pdf(api, interview):
    resp = api("cgj_officer").get(f"/api/v1/interviews/{interview.id}/notice.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "attachment" in resp.headers["Content-Disposition"]
    text = pdf_tools.compact(pdf_tools.text(resp.data))
    for expected in ("约谈通知书", "沙市监约通〔2026〕1号", "重庆某某餐饮管理有限公司：",
                     "重庆市沙坪坝区市场监督管理局会同重庆市沙坪坝区城市管理局决定对你单位进行联合约谈",
                     "约谈时间：2026年9月24日10时00分至11时30分", "约谈地点：", "区司法局第一会议室",
                     "约谈事由：油烟扰民、占道经营", "请携带以下材料", "营业执照副本复印件", "请王某（法定代表人）准时参加",
                     "《重庆市市容环境卫生管理条例》", "联系人：张堃，联系电话：13800000002"):
        assert expected in text, expected
    # The same notice downloaded again keeps its 文号.
    again = pdf_tools.compact(pdf_tools.text(api("scjg_coord").get(f"/api/v1/interviews/{interview.id}/notice.pdf").data))
    assert "沙市监约通〔2026〕1号" in again
    assert api("sthj_coord").get(f"/api/v1/interviews/{interview.id}/notice.pdf").status_code == 404


def test_undertaking_pdf_lists_the_rectifications(api, interview):
    coord = api("scjg_coord")
    assert coord.get(f"/api/v1/interviews/{interview.id}/undertaking.pdf").status_code == 404
    save(coord, interview, 0, **content())
    resp = coord.get(f"/api/v1/interviews/{interview.id}/undertaking.pdf")
    text = pdf_tools.compact(pdf_tools.text(resp.data))
    assert "保证承诺书" in text and "1.清洗并更换油烟净化设施（2026年10月15日前完成）" in text
    save(coord, interview, 1, undertaking=False)
    refused = coord.get(f"/api/v1/interviews/{interview.id}/undertaking.pdf")
    assert refused.status_code == 400 and "保证承诺书" in refused.json["message"]


def test_the_api_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/interviews/{interview_id}/minutes", "/api/v1/interviews/{interview_id}/minutes/finalize",
                 "/api/v1/interviews/{interview_id}/minutes.pdf", "/api/v1/interviews/{interview_id}/notice.pdf"):
        assert path in paths, path
    assert {"get", "put"} <= set(paths["/api/v1/interviews/{interview_id}/minutes"])


# --- mail ----------------------------------------------------------------------------------------

def test_the_final_pdf_is_mailed_to_the_participants(api, app, client, interview, smtp):
    finalized(api, interview)
    login(client, "scjg_coord")
    page = f"/interviews/{interview.id}/minutes"
    resp = client.post(f"{page}/mail", data={"csrf_token": csrf_token(client, page)})
    assert resp.status_code == 302
    run_worker()
    # Calendar invitations for the interview may be in the outbox too: pick the minutes message.
    wait_until(lambda: (run_worker() or True) and any("约谈笔录" in r.message["Subject"] for r in smtp.received))
    received = [r for r in smtp.received if "约谈笔录" in r.message["Subject"]]
    assert len(received) == 1
    message = received[0].message
    assert set(received[0].rcpt_tos) == {"scjg_coord@spb.example.cn", "cgj_officer@spb.example.cn",
                                         "wang@example.com"}
    attachments = list(message.iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    assert attachments[0].get_content() == saved_minutes(interview).latest.pdf
    assert attachments[0].get_filename() == f"约谈笔录-{interview.id}-第2版.pdf"
    # The same revision is not sent twice.
    again = client.post(f"{page}/mail", data={"csrf_token": csrf_token(client, page)})
    assert again.status_code == 400 and "不再重复发送" in again.get_data(as_text=True)


def test_drafts_are_not_mailed(api, client, interview):
    save(api("scjg_coord"), interview, 0, **content())
    login(client, "scjg_coord")
    page = f"/interviews/{interview.id}/minutes"
    resp = client.post(f"{page}/mail", data={"csrf_token": csrf_token(client, page)})
    assert resp.status_code == 400 and "定稿后才能发送" in resp.get_data(as_text=True)


def test_simultaneous_saves_from_the_same_revision_exactly_one_wins(app, live_server, interview):
    """Eight clients over HTTP (threaded server, real transactions) save from revision 0 at once."""
    import json
    import threading
    import urllib.error
    import urllib.request

    from coord.accounts.services import create_token

    tokens = [create_token(None, user_by_name(name), "race")[1] for name in ("scjg_coord", "cgj_officer") * 4]
    interview_id = interview.id
    db.session.rollback()
    results: list[int] = []
    barrier = threading.Barrier(len(tokens))

    def put(i: int, token: str) -> None:
        body = json.dumps({"revision": 0, "place": f"会议室{i}"}).encode()
        req = urllib.request.Request(f"{live_server}/api/v1/interviews/{interview_id}/minutes", data=body,
                                     method="PUT", headers={"Authorization": f"Bearer {token}",
                                                            "Content-Type": "application/json"})
        barrier.wait()
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                results.append(resp.status)
        except urllib.error.HTTPError as err:
            results.append(err.code)

    threads = [threading.Thread(target=put, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * (len(tokens) - 1)
    minutes = saved_minutes(interview)
    assert minutes.revision == 1 and len(minutes.revisions) == 1
