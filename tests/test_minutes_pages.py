"""约谈笔录 pages: the editor with htmx autosave, the conflict view, finalising, history, downloads;
and the same in headless Chromium with two people editing at once."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from coord.extensions import db
from coord.minutes.models import Minutes
from tests import pdf_tools
from tests.conftest import browser_login, csrf_token, login, user_by_name
from tests.minutes_fixtures import _pdf_cache, content, interview_fixture  # noqa: F401 (fixtures)

HX = {"HX-Request": "true"}


def editor(interview) -> str:
    return f"/interviews/{interview.id}/minutes"


def form(interview, client, revision: int, **overrides) -> dict:
    """The editor's form fields for the complete content."""
    data = content(**overrides)
    fields = {
        "csrf_token": csrf_token(client, editor(interview)), "revision": str(revision),
        "started_at": data["started_at"][:16], "ended_at": data["ended_at"][:16], "place": data["place"],
        "matter": data["matter"], "interviewer_ids": [str(i) for i in data["interviewer_ids"]],
        "recorder_id": str(data["recorder_id"]),
        "attendee_name": [a["name"] for a in data["attendees"]], "attendee_post": [a["post"] for a in data["attendees"]],
        "turn_q": [t["q"] for t in data["turns"]], "turn_a": [t["a"] for t in data["turns"]],
        "statement": data["statement"],
        "rect_requirement": [r["requirement"] for r in data["rectifications"]],
        "rect_deadline": [r["deadline"] for r in data["rectifications"]],
        "refused_to_sign": "",
    }
    if data["undertaking"]:
        fields["undertaking"] = "on"
    return fields


def current(interview) -> Minutes | None:
    db.session.rollback()
    return db.session.execute(sa.select(Minutes).where(Minutes.interview_id == interview.id)).scalar_one_or_none()


def test_the_editor_is_prefilled_and_offers_the_notice(client, interview):
    login(client, "scjg_coord")
    html = client.get(editor(interview)).get_data(as_text=True)
    assert "约谈笔录" in html and "重庆某某餐饮管理有限公司" in html
    assert "下载约谈通知书（PDF）" in html
    assert 'value="王某"' in html  # the party's attendee from the interview
    assert "张堃（区市场监管局，执法证号 50010621000101）" in html
    resp = client.get(f"/interviews/{interview.id}/notice.pdf")
    assert resp.mimetype == "application/pdf" and "约谈通知书" in pdf_tools.compact(pdf_tools.text(resp.data))
    assert "约谈笔录" in client.get("/minutes/").get_data(as_text=True)


def test_htmx_autosave_answers_with_the_new_revision(client, interview):
    login(client, "scjg_coord")
    resp = client.post(editor(interview), data=form(interview, client, 0), headers=HX)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "已自动保存为第 1 版" in html
    assert re.search(r'id="minutes-revision" value="1" hx-swap-oob="true"', html)
    assert current(interview).latest.content["turns"][0]["q"] == "你单位油烟净化设施是否正常运行？"
    again = client.post(editor(interview), data=form(interview, client, 1), headers=HX)
    assert "没有新的修改" in again.get_data(as_text=True) and current(interview).revision == 1


def test_a_stale_autosave_shows_what_the_other_person_changed(app, interview):
    first, second = app.test_client(), app.test_client()
    login(first, "scjg_coord")
    login(second, "cgj_officer")
    assert first.post(editor(interview), data=form(interview, first, 0, statement="甲的陈述"), headers=HX).status_code == 200
    resp = second.post(editor(interview), data=form(interview, second, 0, statement="乙的陈述"), headers=HX)
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "未执行" in html and "他人保存后（第 1 版）" in html
    assert "被约谈方陈述" in html and "甲的陈述" in html and "乙的陈述" in html
    assert "载入最新版本" in html
    assert "<td>约谈人</td>" not in html  # only what really changed is listed
    assert current(interview).latest.content["statement"] == "甲的陈述"


def test_finalising_from_the_page(client, interview):
    login(client, "scjg_coord")
    client.post(editor(interview), data=form(interview, client, 0, turns=[]), headers=HX)
    refused = client.post(f"{editor(interview)}/finalize",
                          data={"csrf_token": csrf_token(client, editor(interview)), "revision": "1"})
    assert refused.status_code == 400 and "定稿前请补全" in refused.get_data(as_text=True)
    client.post(editor(interview), data=form(interview, client, 1), headers=HX)
    done = client.post(f"{editor(interview)}/finalize",
                       data={"csrf_token": csrf_token(client, editor(interview)), "revision": "2"})
    assert done.status_code == 302
    page = client.get(editor(interview)).get_data(as_text=True)
    assert "已定稿" in page and "存档版（PDF/A-2b）" in page and "下载保证承诺书（PDF）" in page
    assert "清洗并更换油烟净化设施" in page and "待回访" in page
    assert 'name="turn_q"' not in page  # no editor once final
    pdf = client.get(f"/interviews/{interview.id}/minutes.pdf")
    assert pdf.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in pdf.headers["Content-Disposition"]
    # Editing through the page after finalising changes nothing.
    late = client.post(editor(interview), data=form(interview, client, 3, statement="改"), headers=HX)
    assert late.status_code == 400 and "已定稿" in late.get_data(as_text=True)
    assert current(interview).revision == 3


def test_correcting_from_the_page_keeps_the_history(client, interview):
    login(client, "scjg_coord")
    client.post(editor(interview), data=form(interview, client, 0), headers=HX)
    client.post(f"{editor(interview)}/finalize", data={"csrf_token": csrf_token(client, editor(interview)),
                                                        "revision": "1"})
    page = f"{editor(interview)}/correct"
    assert "更正原因（必填）" in client.get(page).get_data(as_text=True)
    no_reason = client.post(page, data={**form(interview, client, 2, place="第二会议室"), "reason": ""})
    assert no_reason.status_code == 400 and "请填写更正原因" in no_reason.get_data(as_text=True)
    ok = client.post(page, data={**form(interview, client, 2, place="第二会议室"), "reason": "地点记录错误"})
    assert ok.status_code == 302
    history = client.get(f"{editor(interview)}/history").get_data(as_text=True)
    assert "第 3 版" in history and "地点记录错误" in history and "更正" in history and "定稿" in history
    changes = client.get(f"{editor(interview)}/revisions/3/changes", headers=HX).get_data(as_text=True)
    assert "地点" in changes and "第二会议室" in changes
    assert client.get(f"/interviews/{interview.id}/minutes.pdf?revision=2").mimetype == "application/pdf"


def test_people_outside_the_interview_get_404(client, interview):
    login(client, "sthj_coord")
    assert client.get(editor(interview)).status_code == 404
    assert client.get(f"/interviews/{interview.id}/notice.pdf").status_code == 404


# --- in a real browser ---------------------------------------------------------------------------

@pytest.mark.browser
def test_two_people_editing_at_once_in_the_browser(page, chromium, live_server, interview):
    interview_id = interview.id
    db.session.rollback()
    browser_login(page, "scjg_coord")
    other_context = chromium.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    other = other_context.new_page()
    other.set_default_timeout(10_000)
    try:
        browser_login(other, "cgj_officer")
        page.goto(f"/interviews/{interview_id}/minutes")
        other.goto(f"/interviews/{interview_id}/minutes")
        # The first person types; the draft saves itself.
        page.get_by_label("被约谈方陈述").fill("我们认识到问题。")
        expect(page.locator("#save-status")).to_contain_text("已自动保存为第 1 版")
        # The second person, still on revision 0, types too: refused, with what changed.
        other.get_by_label("地点").fill("我改的地点")
        conflict = other.locator(".conflict")
        expect(conflict).to_contain_text("为避免覆盖他人的修改，本次保存未执行")
        expect(conflict.locator("tr.changed").filter(has_text="被约谈方陈述")).to_contain_text("我们认识到问题。")
        expect(other.get_by_label("地点")).to_have_value("我改的地点")  # their input is kept on screen
        other.get_by_role("link", name="载入最新版本").click()
        expect(other.get_by_label("被约谈方陈述")).to_have_value("我们认识到问题。")
    finally:
        other_context.close()
    db.session.rollback()
    minutes = db.session.execute(sa.select(Minutes).where(Minutes.interview_id == interview_id)).scalar_one()
    assert minutes.revision == 1 and minutes.latest.content["place"] != "我改的地点"


@pytest.mark.browser
def test_writing_and_finalising_minutes_in_the_browser(page, interview, tmp_path):
    interview_id, recorder = interview.id, user_by_name("scjg_officer").display_name
    db.session.rollback()
    browser_login(page, "scjg_coord")
    page.goto(f"/interviews/{interview_id}/minutes")
    page.get_by_label("记录人").select_option(label=f"{recorder}（区市场监管局）")
    page.get_by_role("button", name="添加问答").click()
    page.get_by_label("问", exact=True).fill("门前占道经营持续多久？")
    page.get_by_label("答", exact=True).fill("约一个月，已经停止。")
    page.get_by_role("button", name="添加整改要求").click()
    page.get_by_label("整改要求", exact=True).fill("停止门前占道经营")
    page.get_by_label("整改期限", exact=True).fill("2026-09-30")
    expect(page.locator("#save-status")).to_contain_text(re.compile(r"已自动保存为第 \d+ 版"))
    # Wait until the last keystrokes are saved (the revision stops moving), then finalise.
    expect(page.locator("#save-status")).to_contain_text("已自动保存", timeout=10_000)
    page.wait_for_timeout(1500)
    page.get_by_role("button", name=re.compile("定稿")).click()
    expect(page.get_by_text("笔录已定稿")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载约谈笔录（PDF）").click()
    path = tmp_path / "minutes.pdf"
    download.value.save_as(path)
    text = pdf_tools.compact(pdf_tools.text(path.read_bytes()))
    assert "门前占道经营持续多久？" in text and "约一个月，已经停止。" in text
    assert "停止门前占道经营（整改期限：2026年9月30日前）" in text
    assert "以上笔录我已看过，与我说的一致" in text

