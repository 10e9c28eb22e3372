"""The leads API, routes exactly as the issue spells them, with JSON errors in Chinese."""
from __future__ import annotations

import re

import sqlalchemy as sa

from coord.extensions import db
from coord.referrals.models import Lead
from tests.referrals_fixtures import agency

ISO_LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")


def _new(api_client, **extra):
    body = {"to_agency_id": agency("scjgj").id, "party_name": "某某超市", "facts": "销售过期食品的举报。",
            "matter": "涉嫌销售过期食品", "urgency": "urgent", **extra}
    return api_client.post("/api/v1/leads", json=body)


def test_refer_acknowledge_reply_accept(api):
    cgj, scjg = api("cgj_coord"), api("scjg_officer")
    # A matter flexible handling may apply to (selling expired food would be refused it: food safety).
    resp = _new(cgj, party_credit_code="91110000600037341L", matter="经营者未按规定明码标价",
                facts="超市货架商品未标价的举报。")
    assert resp.status_code == 201, resp.json
    lead = resp.json
    assert lead["state"] == "referred" and lead["urgency"] == "urgent"
    assert lead["to_agency"]["name"] == "区市场监管局" and lead["from_agency"]["name"] == "区城市管理局"
    assert ISO_LOCAL.match(lead["referred_at"]) and ISO_LOCAL.match(lead["ack_due"])
    assert lead["ack_due"].endswith("T23:59:59+08:00")
    assert lead["deadline"]["clock"] == "ack" and lead["deadline"]["overdue"] is False
    lead_id = lead["id"]

    inbox = scjg.get("/api/v1/leads?box=inbox&state=referred")
    assert inbox.status_code == 200 and lead_id in [x["id"] for x in inbox.json]
    assert int(inbox.headers["X-Total-Count"]) >= 1
    assert lead_id in [x["id"] for x in cgj.get("/api/v1/leads?box=outbox").json]
    assert lead_id not in [x["id"] for x in cgj.get("/api/v1/leads?box=inbox").json]

    acked = scjg.post(f"/api/v1/leads/{lead_id}/acknowledge")
    assert acked.status_code == 200 and acked.json["state"] == "acknowledged"
    assert ISO_LOCAL.match(acked.json["reply_due"]) and acked.json["deadline"]["clock"] == "reply"
    again = scjg.post(f"/api/v1/leads/{lead_id}/acknowledge")
    assert again.status_code == 409 and "不能重复签收" in again.json["message"]

    no_outcome = scjg.post(f"/api/v1/leads/{lead_id}/reply", json={"note": "查了"})
    assert no_outcome.status_code == 400 and "处理结果" in no_outcome.json["message"]
    assert no_outcome.json["field"] == "outcome"
    not_mine = cgj.post(f"/api/v1/leads/{lead_id}/reply", json={"outcome": "not_opened", "note": "x"})
    assert not_mine.status_code == 403 and "只有接收单位" in not_mine.json["message"]
    assert scjg.get(f"/api/v1/leads/{lead_id}").json["state"] == "acknowledged"  # nothing changed

    ext = scjg.post(f"/api/v1/leads/{lead_id}/extension", json={"days": 2, "reason": "需抽样检验"})
    assert ext.status_code == 200 and ext.json["pending_extension"]["days"] == 2
    due_before = ext.json["reply_due"]
    decided = cgj.post(f"/api/v1/leads/{lead_id}/extension/decide", json={"approve": True, "note": "同意"})
    assert decided.status_code == 200 and decided.json["extended_days"] == 2
    assert decided.json["reply_due"] > due_before and decided.json["pending_extension"] is None

    replied = scjg.post(f"/api/v1/leads/{lead_id}/reply", json={
        "outcome": "flexible", "measure": "interview", "note": "已约谈告诫，责令下架。"})
    assert replied.status_code == 200 and replied.json["state"] == "replied"
    assert replied.json["measure"] == "interview" and replied.json["deadline"] is None
    back = cgj.post(f"/api/v1/leads/{lead_id}/send-back", json={"note": "请补充下架凭证"})
    assert back.status_code == 200 and back.json["state"] == "acknowledged"
    scjg.post(f"/api/v1/leads/{lead_id}/reply", json={"outcome": "case_opened", "case_number": "沙市监立〔2026〕9号",
                                                     "note": "已立案。"})
    done = cgj.post(f"/api/v1/leads/{lead_id}/accept", json={})
    assert done.status_code == 200 and done.json["state"] == "closed"
    assert done.json["case_number"] == "沙市监立〔2026〕9号" and done.json["outcome"] == "case_opened"


def test_return_and_merge_routes(api):
    cgj, scjg = api("cgj_coord"), api("scjg_officer")
    a = _new(cgj).json["id"]
    b = _new(cgj, party_name="某某超市（重复举报）").json["id"]
    r = scjg.post(f"/api/v1/leads/{a}/return", json={"reason": ""})
    assert r.status_code == 400 and "退回理由" in r.json["message"]
    merged = scjg.post(f"/api/v1/leads/{b}/merge", json={"into_id": a})
    assert merged.status_code == 200 and merged.json["state"] == "merged" and merged.json["merged_into_id"] == a
    bad = scjg.post(f"/api/v1/leads/{a}/merge", json={"into_id": "abc"})
    assert bad.status_code == 400 and bad.json["message"]
    r = scjg.post(f"/api/v1/leads/{a}/return", json={"reason": "属于区城市管理局职责"})
    assert r.status_code == 200 and r.json["state"] == "returned" and r.json["return_reason"]
    redirected = cgj.post(f"/api/v1/leads/{a}/redirect", json={"to_agency_id": agency("sthjj").id})
    assert redirected.status_code == 200 and redirected.json["to_agency"]["name"] == "区生态环境局"


def test_bad_input_and_scoping(api):
    cgj = api("cgj_coord")
    count = db.session.execute(sa.select(sa.func.count()).select_from(Lead)).scalar_one()
    missing = cgj.post("/api/v1/leads", json={"party_name": "x"})
    assert missing.status_code == 422 and "errors" in missing.json
    not_enforcement = _new(cgj, to_agency_id=999999)
    assert not_enforcement.status_code == 400 and "接收单位" in not_enforcement.json["message"]
    bad_code = _new(cgj, party_credit_code="123")
    assert bad_code.status_code == 400 and bad_code.json["field"] == "party_credit_code"
    bad_urgency = _new(cgj, urgency="very")
    assert bad_urgency.status_code == 400
    assert db.session.execute(sa.select(sa.func.count()).select_from(Lead)).scalar_one() == count
    lead_id = _new(cgj).json["id"]
    outsider = api("sthj_coord")
    for method, path in [("get", ""), ("post", "/acknowledge"), ("post", "/return"), ("post", "/reply"),
                         ("post", "/extension"), ("post", "/extension/decide"), ("post", "/accept"),
                         ("post", "/send-back"), ("post", "/merge"), ("post", "/redirect"), ("post", "/supervise"),
                         ("post", "/supervision/answer")]:
        resp = getattr(outsider, method)(f"/api/v1/leads/{lead_id}{path}", json={} if method == "post" else None)
        assert resp.status_code == 404, (path, resp.status_code)
        assert "不存在" in resp.json["message"]
    assert lead_id not in [x["id"] for x in outsider.get("/api/v1/leads?box=inbox").json]
    assert lead_id not in [x["id"] for x in outsider.get("/api/v1/leads?box=outbox").json]
    assert outsider.get("/api/v1/leads?box=all").status_code == 400  # only the office lists all
    admin = api("admin")
    assert admin.get(f"/api/v1/leads/{lead_id}").status_code == 200
    assert lead_id in [x["id"] for x in admin.get("/api/v1/leads?box=all&per_page=200").json]
    assert lead_id in [x["id"] for x in admin.get(f"/api/v1/leads?box=inbox&agency_id={agency('scjgj').id}").json]
    assert api("viewer").get(f"/api/v1/leads/{lead_id}").status_code == 404
    assert outsider.get("/api/v1/leads/0").status_code == 404
    assert cgj.get("/api/v1/leads").status_code == 200
    assert cgj.get("/api/v1/leads?state=nonsense").status_code == 400


def test_overdue_filter_and_openapi(api, client):
    cgj = api("cgj_coord")
    resp = cgj.get("/api/v1/leads?box=inbox&overdue=1")
    assert resp.status_code == 200
    assert all(x["deadline"] and x["deadline"]["overdue"] for x in resp.json)
    # The demo seed holds a lead sent to 区城市管理局 12 days ago and never acknowledged: overdue.
    assert any(x["party_name"] == "某某建筑工地" for x in resp.json)
    spec = client.get("/api/v1/openapi.json").json
    for path in ["/api/v1/leads", "/api/v1/leads/{lead_id}", "/api/v1/leads/{lead_id}/acknowledge",
                 "/api/v1/leads/{lead_id}/return", "/api/v1/leads/{lead_id}/reply",
                 "/api/v1/leads/{lead_id}/extension", "/api/v1/leads/{lead_id}/extension/decide",
                 "/api/v1/leads/{lead_id}/accept", "/api/v1/leads/{lead_id}/send-back",
                 "/api/v1/leads/{lead_id}/merge"]:
        assert path in spec["paths"], path


def test_no_calendar_data_for_the_deadline_is_a_clear_error(api):
    """With the calendar not yet entered past today, a referral is refused and nothing is saved."""
    from coord.timeutil import local_today
    from coord.workdays.models import WorkDay

    today = local_today()
    db.session.execute(sa.delete(WorkDay).where(WorkDay.day > today))
    db.session.commit()
    before = db.session.execute(sa.select(sa.func.count()).select_from(Lead)).scalar_one()
    resp = _new(api("cgj_coord"))
    assert resp.status_code == 400
    assert "工作日历尚未录入" in resp.json["message"] and resp.json["field"] == "deadline"
    assert db.session.execute(sa.select(sa.func.count()).select_from(Lead)).scalar_one() == before


def test_files_through_the_api_scoped(api):
    import hashlib
    import io

    from tests.referrals_fixtures import PDF, TXT

    cgj, scjg, outsider = api("cgj_coord"), api("scjg_officer"), api("sthj_coord")
    lead_id = _new(cgj).json["id"]
    resp = cgj.post(f"/api/v1/leads/{lead_id}/files", data={"files": [(io.BytesIO(PDF), "检查笔录.pdf")]},
                    content_type="multipart/form-data")
    assert resp.status_code == 200, resp.json
    [f] = resp.json["files"]
    assert f["sha256"] == hashlib.sha256(PDF).hexdigest() and f["size"] == len(PDF) and f["step"] == "referral"
    assert scjg.get(f["url"]).data == PDF
    assert outsider.get(f["url"]).status_code == 404
    assert outsider.post(f"/api/v1/leads/{lead_id}/files", data={"files": [(io.BytesIO(TXT), "a.txt")]},
                         content_type="multipart/form-data").status_code == 404
    bad = cgj.post(f"/api/v1/leads/{lead_id}/files", data={"files": [(io.BytesIO(b"MZ\x90\x00"), "a.pdf")]},
                   content_type="multipart/form-data")
    assert bad.status_code == 400 and "类型不允许" in bad.json["message"]
    # The receiver adds its files once it has acknowledged; before that it is told why not.
    early = scjg.post(f"/api/v1/leads/{lead_id}/files", data={"files": [(io.BytesIO(TXT), "核查记录.txt")]},
                      content_type="multipart/form-data")
    assert early.status_code == 409 and "不能添加附件" in early.json["message"]
    scjg.post(f"/api/v1/leads/{lead_id}/acknowledge")
    ok = scjg.post(f"/api/v1/leads/{lead_id}/files", data={"files": [(io.BytesIO(TXT), "核查记录.txt")]},
                   content_type="multipart/form-data")
    assert ok.status_code == 200 and [x["step"] for x in ok.json["files"]] == ["referral", "reply"]
    assert len(cgj.get(f"/api/v1/leads/{lead_id}").json["files"]) == 2
