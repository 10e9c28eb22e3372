"""Referral of a suspected crime to the police (国务院令第310号): clocks, materials, receipt, decision."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest

from coord.errors import Conflict, DomainError, Forbidden, NotFound
from coord.referrals import police, services
from coord.referrals.storage import Upload
from tests.conftest import csrf_token, login
from tests.referrals_fixtures import PDF, TXT, at, make_lead, user


def _report(now=None, **extra):
    data = {"party_name": "某某食品厂", "suspected_crime": "生产、销售不符合安全标准的食品罪",
            "facts": "抽检发现产品致病菌严重超标，涉案货值逾五万元。", **extra}
    return police.create(user("scjg_officer"), data, now=now or at(2026, 10, 12, 9))


def test_full_flow_with_clocks_and_reconsideration(app):
    lead = make_lead(now=at(2026, 10, 8))
    services.acknowledge(user("scjg_officer"), lead.id, now=at(2026, 10, 8, 11))
    item = _report(lead_id=str(lead.id))
    assert item.state == "reported" and item.clock == "approve" and item.lead_id == lead.id
    assert item.due_at == at(2026, 10, 15, 23, 59) + timedelta(seconds=59)  # 3 days from the report (art. 5)
    assert item.police_agency.name == "区公安分局"
    with pytest.raises(Forbidden):
        police.approve(user("scjg_officer"), item.id, True)  # the head (coordinator) decides, not an officer
    item = police.approve(user("scjg_coord"), item.id, True, "同意移送", now=at(2026, 10, 13, 9))
    assert item.state == "approved" and item.clock == "handover"
    assert item.due_at == at(2026, 10, 14, 9)  # 24 hours
    with pytest.raises(DomainError, match="涉嫌犯罪案件移送书、涉嫌犯罪案件调查报告"):
        police.hand_over(user("scjg_officer"), item.id, now=at(2026, 10, 13, 10))
    with pytest.raises(DomainError, match="类别"):
        police.add_materials(user("scjg_officer"), item.id, [Upload("a.pdf", PDF, "")])
    police.add_materials(user("scjg_officer"), item.id, [Upload("移送书.pdf", PDF, "letter"),
                                                         Upload("调查报告.pdf", PDF, "report"),
                                                         Upload("物品清单.txt", TXT, "items")])
    item = police.hand_over(user("scjg_officer"), item.id, now=at(2026, 10, 13, 15))
    assert item.state == "handed_over" and item.clock == "decide" and item.late is False
    assert item.due_at == at(2026, 10, 16, 23, 59) + timedelta(seconds=59)  # art. 8: 3 days
    with pytest.raises(Forbidden):
        police.receipt(user("scjg_officer"), item.id, "R1")
    with pytest.raises(DomainError, match="回执编号"):
        police.receipt(user("gafj_officer"), item.id, "")
    item = police.receipt(user("gafj_officer"), item.id, "沙公（刑）受字〔2026〕101号", now=at(2026, 10, 13, 16))
    assert item.state == "received"
    with pytest.raises(DomainError, match="理由"):
        police.decide(user("gafj_officer"), item.id, {"decision": "not_opened", "reason": ""})
    item = police.decide(user("gafj_officer"), item.id, {"decision": "not_opened", "reason": "涉案金额未达立案标准"},
                         now=at(2026, 10, 15, 10))
    assert item.state == "not_opened" and item.files_returned is True and item.due_at is None
    with pytest.raises(DomainError, match="期限"):
        police.request_reconsideration(user("scjg_officer"), item.id, "金额已达标准", now=at(2026, 10, 19, 10))
    item = police.request_reconsideration(user("scjg_officer"), item.id, "补充检验报告显示货值已达标准",
                                          now=at(2026, 10, 16, 10))
    assert item.state == "reconsideration" and item.clock == "reconsider"
    with pytest.raises(Conflict):
        police.request_reconsideration(user("scjg_officer"), item.id, "再来一次")
    item = police.decide(user("gafj_officer"), item.id, {"decision": "case_opened",
                                                         "police_case_number": "沙公刑立〔2026〕55号"},
                         now=at(2026, 10, 17, 10))
    assert item.state == "case_opened" and item.police_case_number == "沙公刑立〔2026〕55号"


def test_late_handover_is_marked_and_refusal_needs_a_reason(app):
    item = _report()
    with pytest.raises(DomainError, match="审批意见"):
        police.approve(user("scjg_coord"), item.id, False, "")
    police.approve(user("scjg_coord"), item.id, True, now=at(2026, 10, 12, 10))
    police.add_materials(user("scjg_officer"), item.id, [Upload("移送书.pdf", PDF, "letter"),
                                                         Upload("调查报告.pdf", PDF, "report")])
    item = police.hand_over(user("scjg_officer"), item.id, now=at(2026, 10, 13, 11))  # 25 hours later
    assert item.late is True
    other = _report(party_name="另一家")
    other = police.approve(user("scjg_coord"), other.id, False, "证据不足，不批准移送")
    assert other.state == "not_approved" and other.due_at is None


def test_police_referral_scoping_and_pages(client, app):
    item = _report()
    police.add_materials(user("scjg_officer"), item.id, [Upload("移送书.pdf", PDF, "letter")])
    file_id = police.files_of(item)[0].id
    for outsider in ("cgj_coord", "sthj_coord", "viewer"):
        with pytest.raises(NotFound):
            police.get_referral(user(outsider), item.id)
        login(client, outsider)
        token = csrf_token(client, "/leads/police/")
        for path in (f"/leads/police/{item.id}", f"/leads/files/{file_id}", f"/audit/police_referral/{item.id}"):
            assert client.get(path).status_code == 404, (outsider, path)
        for action in ("approve", "materials", "hand-over", "receipt", "decide", "reconsider"):
            # The read-only viewer is refused every write with 403 whatever the record (issue 11), which
            # says nothing about whether this one exists.
            expected = 403 if outsider == "viewer" else 404
            assert client.post(f"/leads/police/{item.id}/{action}", data={"csrf_token": token}).status_code == expected
        assert item.number not in client.get("/leads/police/").get_data(as_text=True)
    for insider in ("scjg_officer", "gafj_officer", "admin"):
        login(client, insider)
        assert client.get(f"/leads/police/{item.id}").status_code == 200
        assert client.get(f"/leads/files/{file_id}").data == PDF
        assert item.number in client.get("/leads/police/").get_data(as_text=True)
    # Through the pages: the head approves, the materials are uploaded, the case handed over.
    login(client, "scjg_coord")
    path = f"/leads/police/{item.id}"
    assert client.post(f"{path}/approve", data={"csrf_token": csrf_token(client, path), "approve": "1"}).status_code == 303
    resp = client.post(f"{path}/hand-over", data={"csrf_token": csrf_token(client, path)})
    assert resp.status_code == 400 and "涉嫌犯罪案件调查报告" in resp.get_data(as_text=True)
    resp = client.post(f"{path}/materials", data={"csrf_token": csrf_token(client, path), "category": "report",
                                                  "files": [(io.BytesIO(PDF), "调查报告.pdf")]},
                       content_type="multipart/form-data")
    assert resp.status_code == 303
    assert client.post(f"{path}/hand-over", data={"csrf_token": csrf_token(client, path)}).status_code == 303
    login(client, "gafj_officer")
    assert "签收回执" in client.get(path).get_data(as_text=True)


def test_only_enforcement_agencies_refer_to_police(app):
    with pytest.raises(Forbidden):
        police.create(user("gafj_officer"), {"party_name": "x", "suspected_crime": "y", "facts": "z"})
    with pytest.raises(DomainError, match="涉嫌罪名"):
        police.create(user("scjg_officer"), {"party_name": "x", "suspected_crime": "", "facts": "z"})
    other = make_lead(sender="scjg_coord", to="cgj")
    with pytest.raises(DomainError, match="本单位接收"):
        police.create(user("scjg_officer"), {"party_name": "x", "suspected_crime": "y", "facts": "z",
                                             "lead_id": str(other.id)})


def test_referral_letter_pdf(client, app):
    from tests import pdf_tools

    item = _report()
    police.add_materials(user("scjg_officer"), item.id, [Upload("调查报告.pdf", PDF, "report")])
    login(client, "scjg_officer")
    resp = client.get(f"/leads/police/{item.id}/letter.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_tools.compact(pdf_tools.text(resp.data))
    assert "涉嫌犯罪案件移送书" in text and "重庆市公安局沙坪坝区分局：" in text
    assert "某某食品厂涉嫌生产、销售不符合安全标准的食品罪一案" in text and "沙市监移〔2026〕1号" in text
    assert "涉嫌犯罪案件调查报告（调查报告.pdf）" in text and "重庆市沙坪坝区市场监督管理局" in text
    assert pdf_tools.page_count(resp.data) == 1
    # Kept as the art. 6 referral letter among the materials.
    path = f"/leads/police/{item.id}"
    assert client.post(f"{path}/letter", data={"csrf_token": csrf_token(client, path)}).status_code == 303
    letter = [f for f in police.files_of(item) if f.category == "letter"]
    assert len(letter) == 1 and letter[0].content_type == "application/pdf"
    login(client, "cgj_coord")
    assert client.get(f"/leads/police/{item.id}/letter.pdf").status_code == 404
