"""English second (#13 point 4) where the party and the documents are: the party portal, walked in English
with a party's own link, shows no Chinese but the data and offers its own language switch; a document
downloaded in English (the interview notice, the undertaking, a measure's documents, the assessment report)
has English headings and labels, while the Chinese official format stays the default and is never served
from the cache for an English request."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from coord.documents.models import DocumentNumber
from coord.extensions import db
from coord.measures import services as measures
from tests import pdf_tools
from tests.conftest import login, user_by_name
from tests.english_walk import HAN, chinese_left, stored_texts, walk
from tests.measures_fixtures import measure_data
from tests.party_fixtures import (  # noqa: F401 (autouse fixture)
    _party_app,
    future_interview,
    held_interview,
    token_of,
)


def _chinese_in_pdf(data: bytes) -> list[str]:
    """Han runs of a PDF's text once every stored text (names, matters, 文号, ...) is taken out."""
    text = pdf_tools.text(data)
    # pdftotext breaks long lines: join them so a stored text split over two lines is still found.
    joined = re.sub(r"\s*\n\s*", "", text)
    for value in stored_texts():
        joined = joined.replace(value, " ")
    return HAN.findall(joined)


def _english(client) -> None:
    client.set_cookie("lang", "en")


# --- the portal ---------------------------------------------------------------------------------

def test_the_portal_of_a_held_interview_in_english_shows_no_chinese_but_the_data(app, client):
    interview = held_interview()  # rectification items, an undertaking to sign, feedback open
    token = token_of(interview)
    found = walk(client, [f"/p/{token}", "/p/", "/p/not-a-token"], within=("/p/",))
    assert not found, "Chinese left in English:\n" + "\n".join(f"{k}: {v}" for k, v in found.items())
    html = client.get(f"/p/{token}").get_data(as_text=True)
    assert '<html lang="en">' in html and "Rectification items" in html and "Undertaking" in html


def test_the_portal_error_pages_in_english(app, client):
    """What a party sees with a wrong link or code (the walk follows only pages that answer 200)."""
    _english(client)
    data = stored_texts()
    wrong_link = client.get("/p/not-a-token")
    html = client.get("/p/").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    wrong_code = client.post("/p/", data={"csrf_token": csrf, "code": "ABCD-EFGH"})
    no_csrf = client.post("/p/", data={"code": "ABCD-EFGH"})
    assert (wrong_link.status_code, wrong_code.status_code, no_csrf.status_code) == (404, 404, 400)
    for resp in (wrong_link, wrong_code, no_csrf):
        left, _links = chinese_left(resp.get_data(as_text=True), data)
        assert not left, (resp.status_code, left)
    assert "This link is not valid" in wrong_link.get_data(as_text=True)
    assert "The access code is not correct" in wrong_code.get_data(as_text=True)


def test_the_portal_before_the_interview_in_english_offers_confirm_and_another_time(app, client):
    token = token_of(future_interview())
    found = walk(client, [f"/p/{token}"], within=("/p/",))
    assert not found, found
    html = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Confirm attendance" in html and "Ask for another time" in html


def test_a_refused_answer_comes_back_in_english(app, client):
    token = token_of(future_interview())
    _english(client)
    html = client.get(f"/p/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    resp = client.post(f"/p/{token}/reschedule", data={"csrf_token": csrf, "reason": "", "starts": []})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    left, _links = chinese_left(page, stored_texts())
    assert not left, left
    assert "Please give the reason for asking for another time." in page or "Please choose at least one" in page


def test_the_party_switches_the_language_on_the_portal_itself(app, client):
    token = token_of(held_interview())
    page = client.get(f"/p/{token}").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "整改事项" in page  # Chinese is the default
    switch = re.search(r'href="([^"]*/p/lang/en[^"]*)"', page)
    assert switch, "no English link on the party's page"
    resp = client.get(switch.group(1).replace("&amp;", "&"))
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/p/{token}")
    english = client.get(f"/p/{token}").get_data(as_text=True)
    assert '<html lang="en">' in english and "Rectification items" in english and "整改事项" not in english
    back = re.search(r'href="([^"]*/p/lang/zh_CN[^"]*)"', english).group(1).replace("&amp;", "&")
    client.get(back)
    assert "整改事项" in client.get(f"/p/{token}").get_data(as_text=True)
    # The switch only ever returns to a portal page.
    for target in ("https://evil.example/", "//evil.example/p/", "/admin/"):
        resp = client.get("/p/lang/en", query_string={"next": target})
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/p/")


# --- documents ----------------------------------------------------------------------------------

def test_the_interview_notice_in_english_has_english_labels_and_the_chinese_stays_the_default(app, client):
    token = token_of(held_interview())
    chinese = client.get(f"/p/{token}/notice.pdf")
    assert chinese.status_code == 200
    assert "约谈通知书" in pdf_tools.compact(pdf_tools.text(chinese.data))
    _english(client)
    english = client.get(f"/p/{token}/notice.pdf")  # the Chinese one is in the cache now
    assert english.status_code == 200 and english.data != chinese.data
    text = pdf_tools.text(english.data)
    assert "Interview Notice" in text and "Please bring" in text and "Contact" in text
    assert not _chinese_in_pdf(english.data)
    # Same 文号 in both: the number is the document's, given once, and stays as issued.
    number = db.session.execute(sa.select(DocumentNumber.number).where(DocumentNumber.kind == "notice")).scalar_one()
    assert number in pdf_tools.compact(pdf_tools.text(chinese.data)) and number in pdf_tools.compact(text)
    # And Chinese again for a Chinese reader, from the cache.
    client.set_cookie("lang", "zh_CN")
    assert client.get(f"/p/{token}/notice.pdf").data == chinese.data


def test_the_undertaking_reads_in_english_but_what_is_signed_is_the_chinese_document(app, client):
    token = token_of(held_interview())
    _english(client)
    english = client.get(f"/p/{token}/undertaking.pdf")
    assert english.status_code == 200
    assert "Undertaking" in pdf_tools.text(english.data) and not _chinese_in_pdf(english.data)
    client.set_cookie("lang", "zh_CN")
    assert "保证承诺书" in pdf_tools.compact(pdf_tools.text(client.get(f"/p/{token}/undertaking.pdf").data))


@pytest.mark.parametrize(("kind", "slug", "title"), [
    ("notice_advice", "prompt-letter", "Prompt Letter"),
    ("mediation", "mediation-agreement", "Mediation Agreement"),
    ("mediation", "correction-order", "Order to Correct"),
])
def test_a_measure_document_in_english_has_english_labels(app, client, kind, slug, title):
    measure_id = measures.create(user_by_name("scjg_officer"), measure_data(kind)).id
    db.session.remove()
    login(client, "scjg_officer")
    chinese = client.get(f"/measures/{measure_id}/{slug}.pdf")
    assert chinese.status_code == 200, chinese.get_data(as_text=True)[:300]
    assert title not in pdf_tools.text(chinese.data)
    english = client.get(f"/measures/{measure_id}/{slug}.pdf?lang=en")
    assert english.status_code == 200 and english.data != chinese.data
    assert title in pdf_tools.text(english.data)
    assert not _chinese_in_pdf(english.data)


def test_the_assessment_report_and_export_in_english(app, client):
    login(client, "admin")
    _english(client)
    report = client.get("/oversight/assessment.pdf?period=2026")
    assert report.status_code == 200
    assert "Report on Flexible Law Enforcement" in pdf_tools.text(report.data)
    assert not _chinese_in_pdf(report.data)
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(client.get("/oversight/assessment.xlsx?period=2026").data)).active
    header = [c.value for c in sheet[2]]
    assert header[:3] == ["Rank", "Agency", "Score"]
    assert not any(HAN.search(str(c)) for c in header), header
    client.set_cookie("lang", "zh_CN")
    sheet = load_workbook(io.BytesIO(client.get("/oversight/assessment.xlsx?period=2026").data)).active
    assert [c.value for c in sheet[2]][:3] == ["名次", "单位", "得分"]


# --- forms and messages -------------------------------------------------------------------------

def test_a_refused_measure_form_and_the_flash_after_saving_are_in_english(app, client):
    from tests.conftest import csrf_token

    login(client, "scjg_officer")
    _english(client)
    token = csrf_token(client, "/measures/new?kind=persuasion")
    form = {"csrf_token": token, "kind": "persuasion", "date": "2026-11-10", "matter": "未按规定公示营业执照",
            "officer_ids": str(user_by_name("scjg_officer").id), "party_kind": "organisation",
            "party_name": "重庆磁器口某某商贸有限公司", "party_credit_code": "91500106MA5U7X8Y9Q", "behaviour": ""}
    refused = client.post("/measures/new", data=form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Please fill in: Conduct the party was persuaded to stop." in page
    # The page's own part (the navigation around it is base.html's, checked by the English walk).
    own = page[page.index("<h1>"):page.index("</form>")]
    left, _links = chinese_left(own, [*stored_texts(), *(v for v in form.values() if v)])
    assert not left, left
    saved = client.post("/measures/new", data={**form, "behaviour": "营业执照未置于醒目位置", "result": "corrected"})
    assert saved.status_code == 303
    shown = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert re.search(r"Entered TZ\d{10} \(Persuasion\)\.", shown), shown[:2000]
    # What was stored stays Chinese: the audit entry names the measure in Chinese.
    from coord.audit.models import AuditEntry

    db.session.remove()
    summary = db.session.execute(sa.select(AuditEntry.summary).where(AuditEntry.action == "measure.create")
                                 .order_by(AuditEntry.id.desc())).scalars().first()
    assert "登记行政劝导" in summary


# --- the staff's documents: minutes, notice, the two lists ---------------------------------------

def test_the_minutes_in_english_are_a_reading_copy_and_the_kept_chinese_pdf_stays_the_record(app, client):
    from coord.minutes.models import Minutes

    interview = held_interview()
    login(client, "scjg_coord")
    kept = db.session.execute(sa.select(Minutes).where(Minutes.interview_id == interview.id)).scalar_one().issued[-1]
    chinese = client.get(f"/interviews/{interview.id}/minutes.pdf")
    assert chinese.status_code == 200 and chinese.data == kept.pdf  # the record, as issued
    _english(client)
    english = client.get(f"/interviews/{interview.id}/minutes.pdf")
    text = pdf_tools.text(english.data)
    assert english.status_code == 200 and english.data != kept.pdf
    assert "Interview Minutes" in text and "Rectification required" in text
    assert not _chinese_in_pdf(english.data)
    archive = client.get(f"/interviews/{interview.id}/minutes.pdf?archive=1")
    assert archive.data == kept.pdf_archive  # the archive is always the record
    notice = client.get(f"/interviews/{interview.id}/notice.pdf")  # the organiser's copy, in English too
    assert "Interview Notice" in pdf_tools.text(notice.data) and not _chinese_in_pdf(notice.data)


def test_a_published_list_in_english_has_english_headings_and_the_agencys_entries_as_entered(app, client):
    from coord.lists.models import KIND_TITLES, ListVersion
    from coord.lists.rules import COLUMNS
    from coord.lists.sheets import NOTES

    version = db.session.execute(sa.select(ListVersion).where(ListVersion.state == "published")
                                 .order_by(ListVersion.id)).scalars().first()
    path = f"/public/lists/{version.agency_id}/{version.kind}.pdf"
    chinese = pdf_tools.compact(pdf_tools.text(client.get(path).data))
    assert "单位：" in chinese and "柔性执法事项" in chinese
    _english(client)
    english = client.get(path)
    text = pdf_tools.text(english.data)
    assert english.status_code == 200 and "Agency:" in text and "Notes:" in text
    # The table's cells wrap line by line across columns in the text, so the labels are checked by name:
    # none of the Chinese title, unit line, column headers or notes is left; the entries are as entered.
    compact = pdf_tools.compact(text)
    labels = [KIND_TITLES[version.kind], "单位：", *(h for _, h in COLUMNS[version.kind]), NOTES[version.kind][:12]]
    assert [label for label in labels if label in compact] == []
    assert version.items[0].matter[:6] in compact
    login(client, "admin")
    staff = client.get(f"/lists/versions/{version.id}/download.pdf")
    assert staff.status_code == 200 and "Agency:" in pdf_tools.text(staff.data)
