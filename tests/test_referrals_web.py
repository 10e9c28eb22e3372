"""Lead pages: forms, files, scoping over every page and download, the office's figures and exports."""
from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook

from coord.extensions import db
from coord.referrals import services
from coord.referrals.models import Lead, ReferralFile
from coord.referrals.storage import Upload
from tests.conftest import csrf_token, login
from tests.referrals_fixtures import (
    JPG,
    PDF,
    PNG,
    TXT,
    agency,
    docx_bytes,
    lead_data,
    make_lead,
    plain_zip,
    user,
    xlsx_bytes,
)


def _form(client, path: str, **data):
    return {"csrf_token": csrf_token(client, path), **data}


def _count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def test_refer_with_files_through_the_form(client, app):
    login(client, "cgj_coord")
    data = _form(client, "/leads/new", **{k: str(v) for k, v in lead_data("scjgj").items()})
    data["files"] = [(io.BytesIO(PDF), "检查笔录.pdf"), (io.BytesIO(PNG), "现场照片.png"), (io.BytesIO(JPG), "照片2.jpg"),
                     (io.BytesIO(docx_bytes()), "说明.docx"), (io.BytesIO(xlsx_bytes()), "清单.xlsx"),
                     (io.BytesIO(TXT), "笔录.txt")]
    resp = client.post("/leads/new", data=data, content_type="multipart/form-data")
    assert resp.status_code == 303
    lead = db.session.execute(sa.select(Lead).order_by(Lead.id.desc()).limit(1)).scalar_one()
    files = services.files_of(lead)
    assert [f.filename for f in files] == ["检查笔录.pdf", "现场照片.png", "照片2.jpg", "说明.docx", "清单.xlsx", "笔录.txt"]
    pdf = files[0]
    assert pdf.sha256 == hashlib.sha256(PDF).hexdigest() and pdf.size == len(PDF)
    assert pdf.content_type == "application/pdf"
    stored = Path(app.instance_path) / "files" / pdf.sha256
    assert stored.read_bytes() == PDF
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "检查笔录.pdf" in page and lead.number in page and "待签收" in page
    download = client.get(f"/leads/files/{pdf.id}")
    assert download.status_code == 200 and download.data == PDF
    assert "attachment" in download.headers["Content-Disposition"]


def test_bad_files_are_refused_and_nothing_saved(client, app):
    login(client, "cgj_coord")
    app.config["REFERRAL_MAX_FILE_MB"] = 1
    before = (_count(Lead), _count(ReferralFile))
    cases = [
        ((io.BytesIO(b"%PDF-" + b"0" * (1024 * 1024)), "大文件.pdf"), "超过 1 MB"),
        ((io.BytesIO(b"MZ\x90\x00" + b"\x00" * 100), "程序.pdf"), "类型不允许"),  # an .exe renamed .pdf
        ((io.BytesIO(plain_zip()), "压缩包.docx"), "类型不允许"),  # a zip that is no Word document
        ((io.BytesIO(PNG), "照片.pdf"), "扩展名与其内容"),
        ((io.BytesIO(b""), "空.txt"), "空文件"),
    ]
    for upload, message in cases:
        data = _form(client, "/leads/new", **{k: str(v) for k, v in lead_data("scjgj").items()})
        data["files"] = [(io.BytesIO(PDF), "好文件.pdf"), upload]
        resp = client.post("/leads/new", data=data, content_type="multipart/form-data")
        assert resp.status_code == 400, message
        assert message in resp.get_data(as_text=True)
    assert (_count(Lead), _count(ReferralFile)) == before
    # The office can narrow the allowed types by configuration.
    app.config["REFERRAL_ALLOWED_TYPES"] = "pdf"
    data = _form(client, "/leads/new", **{k: str(v) for k, v in lead_data("scjgj").items()})
    data["files"] = [(io.BytesIO(TXT), "笔录.txt")]
    assert client.post("/leads/new", data=data, content_type="multipart/form-data").status_code == 400


def test_form_errors_keep_input_and_explain(client):
    login(client, "cgj_coord")
    data = _form(client, "/leads/new", to_agency_id=str(agency("scjgj").id), party_name="某公司", facts="", matter="x")
    resp = client.post("/leads/new", data=data)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "请填写线索事实" in html and 'value="某公司"' in html


def test_inbox_acknowledge_reply_accept_pages(client):
    lead = make_lead()
    login(client, "scjg_officer")
    inbox = client.get("/leads/?box=inbox").get_data(as_text=True)
    assert lead.number in inbox and "剩" in inbox
    assert 'class="badge" title="待办"' in client.get("/").get_data(as_text=True)  # nav count badge
    resp = client.post(f"/leads/{lead.id}/acknowledge", data=_form(client, f"/leads/{lead.id}"))
    assert resp.status_code == 303
    again = client.post(f"/leads/{lead.id}/acknowledge", data=_form(client, f"/leads/{lead.id}"))
    assert again.status_code == 409 and "不能重复签收" in again.get_data(as_text=True)
    bad = client.post(f"/leads/{lead.id}/reply", data=_form(client, f"/leads/{lead.id}", note="查了"))
    assert bad.status_code == 400 and "请选择处理结果" in bad.get_data(as_text=True)
    ok = client.post(f"/leads/{lead.id}/reply", data=_form(
        client, f"/leads/{lead.id}", outcome="flexible", measure="persuasion", note="已劝导整改。"))
    assert ok.status_code == 303
    login(client, "cgj_coord")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "已回复待确认" in page and "劝导示范" in page and "确认办结" in page
    client.post(f"/leads/{lead.id}/accept", data=_form(client, f"/leads/{lead.id}"))
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).state == "closed"


def _scoped_lead():
    """A lead 区城市管理局 → 区市场监管局 with a file, an extension request and a supervision."""
    lead = make_lead(uploads=[Upload("笔录.pdf", PDF)])
    services.acknowledge(user("scjg_officer"), lead.id)
    services.request_extension(user("scjg_officer"), lead.id, 2, "需检验")
    services.supervise(user("admin"), lead.id, "请加快")
    return lead, services.files_of(lead)[0]


def test_scoping_every_page_download_and_action(client):
    lead, file = _scoped_lead()
    lid = lead.id
    gets = [f"/leads/{lid}", f"/leads/files/{file.id}", f"/audit/lead/{lid}"]
    posts = ["acknowledge", "return", "redirect", "reply", "extension", "extension/decide", "accept", "send-back",
             "merge", "supervise", "supervision/answer", "files"]
    for outsider in ("sthj_coord", "viewer", "gafj_officer"):
        login(client, outsider)
        token = csrf_token(client, "/leads/")
        for path in gets:
            assert client.get(path).status_code == 404, (outsider, path)
        for action in posts:
            resp = client.post(f"/leads/{lid}/{action}", data={"csrf_token": token, "note": "x", "reason": "x"})
            # The viewer gets 403 for every write, existing record or not (read-only, issue 11).
            assert resp.status_code == (403 if outsider == "viewer" else 404), (outsider, action)
        assert lead.number not in client.get("/leads/?box=inbox").get_data(as_text=True)
        assert lead.number not in client.get("/leads/?box=outbox").get_data(as_text=True)
        assert client.get("/leads/?box=all").status_code == 400
        assert client.get("/leads/figures").status_code == 403
        assert client.get("/leads/figures.csv").status_code == 403
        assert client.get("/leads/figures.xlsx").status_code == 403
    for insider in ("cgj_coord", "scjg_officer", "admin"):
        login(client, insider)
        for path in gets:
            assert client.get(path).status_code == 200, (insider, path)
    login(client, "admin")
    assert lead.number in client.get(f"/leads/?box=inbox&agency_id={agency('scjgj').id}").get_data(as_text=True)
    assert lead.number in client.get(f"/leads/?box=outbox&agency_id={agency('cgj').id}").get_data(as_text=True)
    assert client.get("/leads/files/999999").status_code == 404


def test_figures_csv_and_xlsx(client):
    lead = make_lead()
    services.acknowledge(user("scjg_officer"), lead.id)
    services.reply(user("scjg_officer"), lead.id, {"outcome": "not_opened", "note": "不构成违法。"})
    login(client, "admin")
    page = client.get("/leads/figures").get_data(as_text=True)
    assert "区市场监管局" in page and "按时回复率" in page
    resp = client.get("/leads/figures.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "filename*=UTF-8''" in resp.headers["Content-Disposition"]
    text = resp.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["单位", "收到线索", "办理中", "当前超期"]
    by_name = {r[0]: r for r in rows[1:]}
    scjg = by_name["区市场监管局"]
    header = rows[0]
    assert int(scjg[header.index("已回复")]) >= 1 and int(scjg[header.index("按时回复")]) >= 1
    # The seeded lead 区生态环境局 → 区城市管理局, 12 days old and never acknowledged, is overdue now.
    assert int(by_name["区城市管理局"][header.index("当前超期")]) >= 1
    xlsx = client.get("/leads/figures.xlsx")
    assert xlsx.status_code == 200
    ws = load_workbook(io.BytesIO(xlsx.data)).active
    assert ws.title == "线索办理统计" and "截至" in ws["A1"].value
    values = list(ws.iter_rows(min_row=2, values_only=True))
    assert list(values[0][:2]) == ["单位", "收到线索"]
    sheet = {r[0]: r for r in values[1:]}
    assert sheet["区市场监管局"][header.index("已回复")] == int(scjg[header.index("已回复")])
    assert sheet["区城市管理局"][header.index("当前超期")] == int(by_name["区城市管理局"][header.index("当前超期")])


def test_overdue_filter_and_counts_on_inbox_page(client):
    login(client, "cgj_coord")
    html = client.get("/leads/?box=inbox&overdue=1").get_data(as_text=True)
    assert "某某建筑工地" in html and "已超期" in html
    assert "超期 1" in html or "超期 " in html
    assert client.get("/leads/?box=inbox&state=bogus").status_code == 400
    partial = client.get("/leads/?box=inbox", headers={"HX-Request": "true", "HX-Target": "lead-list"})
    assert "<html" not in partial.get_data(as_text=True) and "某某建筑工地" in partial.get_data(as_text=True)


def test_kinds_page_office_only(client):
    login(client, "cgj_coord")
    assert client.get("/leads/kinds").status_code == 403
    login(client, "admin")
    page = client.get("/leads/kinds").get_data(as_text=True)
    assert "一般线索" in page
    resp = client.post("/leads/kinds", data=_form(client, "/leads/kinds", kind_id="1", name="一般线索", ack_days="1",
                                                   reply_days="abc", extension_max_days="10", return_days="2"))
    assert resp.status_code == 400 and "回复时限应为整数" in resp.get_data(as_text=True)
