"""Official documents as an office files them (issue 13, point 6): full agency names, a 文号 per agency,
kind and year (gapless, never twice, also under concurrency), dates that never break across lines."""
from __future__ import annotations

import threading
from datetime import date

import sqlalchemy as sa

from coord.agencies.models import Agency
from coord.documents import numbering, render_pdf, samples
from coord.documents.models import DocumentNumber
from coord.extensions import db
from tests import pdf_tools
from tests.conftest import csrf_token, login, user_by_name

THREADS = 16


def agency(code: str) -> Agency:
    return db.session.execute(sa.select(Agency).where(Agency.code == code)).scalar_one()


def give(code: str, kind: str, entity: str, year: int = 2026) -> str:
    number = numbering.number_for(agency(code), kind, "test", entity, year)
    db.session.commit()
    return number


def test_numbers_count_per_agency_kind_and_year_and_stay_with_their_document(app):
    assert give("scjgj", "notice", "a") == "沙市监约通〔2026〕1号"
    assert give("scjgj", "notice", "b") == "沙市监约通〔2026〕2号"
    assert give("scjgj", "notice", "a") == "沙市监约通〔2026〕1号"  # the same document keeps its number
    assert give("scjgj", "minutes", "a") == "沙市监约〔2026〕1号"  # another kind counts on its own
    assert give("cgj", "notice", "c") == "沙城管约通〔2026〕1号"  # another agency, its own prefix
    assert give("scjgj", "notice", "d", 2027) == "沙市监约通〔2027〕1号"  # a new year starts at 1
    assert give("xlk", "correction_order", "e") == "小龙坎街责改〔2026〕1号"
    assert numbering.issued("notice", "test", "b") == "沙市监约通〔2026〕2号"
    assert numbering.issued("notice", "test", "zzz") is None


def test_an_agency_without_prefix_uses_its_short_name(app):
    row = agency("whzd")
    row.doc_prefix = ""
    db.session.commit()
    assert give("whzd", "prompt_letter", "x") == "区文化市场综合行政执法支队提〔2026〕1号"


def test_a_number_given_in_a_transaction_that_rolls_back_is_given_again(app):
    numbering.number_for(agency("scjgj"), "prompt_letter", "test", "lost", 2026)
    db.session.rollback()  # e.g. the PDF failed
    assert give("scjgj", "prompt_letter", "kept") == "沙市监提〔2026〕1号"


def _race(app, entities: list[str]) -> list[str]:
    barrier = threading.Barrier(len(entities))
    results: list[str] = []
    lock = threading.Lock()

    def attempt(entity: str) -> None:
        with app.app_context():
            try:
                target = db.session.execute(sa.select(Agency).where(Agency.code == "scjgj")).scalar_one()
                db.session.rollback()  # begin the race from a clean transaction
                barrier.wait()
                number = numbering.number_for(target, "notice", "race", entity, 2026)
                db.session.commit()
                outcome = number
            except Exception as err:  # noqa: BLE001 - any failure is what this test looks for
                db.session.rollback()
                outcome = f"error: {err!r}"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(e,)) for e in entities]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_concurrent_documents_get_distinct_gapless_numbers(app):
    results = _race(app, [f"doc{i}" for i in range(THREADS)])
    assert not [r for r in results if r.startswith("error")], results
    assert sorted(results, key=lambda n: int(n.split("〕")[1][:-1])) == [
        f"沙市监约通〔2026〕{i}号" for i in range(1, THREADS + 1)]
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(DocumentNumber).where(
        DocumentNumber.entity_type == "race")).scalar_one() == THREADS


def test_concurrent_requests_for_one_document_get_one_number(app):
    results = _race(app, ["same"] * 8 + [f"other{i}" for i in range(4)])
    assert not [r for r in results if r.startswith("error")], results
    db.session.rollback()
    seqs = db.session.execute(sa.select(DocumentNumber.seq).where(DocumentNumber.entity_type == "race")
                              .order_by(DocumentNumber.seq)).scalars().all()
    assert seqs == [1, 2, 3, 4, 5]  # one for "same", four others: no gap, nothing twice
    assert results.count(numbering.issued("notice", "race", "same")) == 8


def test_the_directory_keeps_full_names_and_prefixes(client):
    scjg = agency("scjgj")
    assert (scjg.name, scjg.full_name, scjg.doc_prefix) == ("区市场监管局", "重庆市沙坪坝区市场监督管理局", "沙市监")
    login(client, "admin")
    path = f"/agencies/{scjg.id}/edit"
    page = client.get(path).get_data(as_text=True)
    assert 'value="重庆市沙坪坝区市场监督管理局"' in page and 'value="沙市监"' in page
    data = {"csrf_token": csrf_token(client, path), "name": "区市场监管局", "kind": scjg.kind,
            "full_name": "重庆市沙坪坝区市场监督管理局（测试）", "doc_prefix": "沙市监管", "is_enforcement": "y",
            "is_sector_authority": "y", "email": scjg.email, "active": "y"}
    assert client.post(path, data=data).status_code == 302
    db.session.expire_all()
    assert agency("scjgj").doc_prefix == "沙市监管" and "（测试）" in client.get(f"/agencies/{scjg.id}").get_data(as_text=True)
    assert give("scjgj", "notice", "after-edit") == "沙市监管约通〔2026〕1号"
    bad = client.post(path, data={**data, "doc_prefix": "沙市监〔2026〕"})
    assert bad.status_code == 400 and "不含括号" in bad.get_data(as_text=True)
    assert api_agency(client, scjg.id)["full_name"] == "重庆市沙坪坝区市场监督管理局（测试）"


def api_agency(client, agency_id: int) -> dict:
    from coord.accounts.services import create_token

    _, token = create_token(None, user_by_name("scjg_officer"), "t")
    return client.get(f"/api/v1/agencies/{agency_id}", headers={"Authorization": f"Bearer {token}"}).json


def test_a_date_never_breaks_across_lines():
    """Push the date along a line one character at a time: wherever it falls, it stays on one line."""
    deadline = date(2026, 11, 25)
    for pad in range(28):
        context = {
            "document_title": "t", "document_date": samples.notice_context()["document_date"], "number": "沙市监提〔2026〕1号",
            "party": {"name": "某公司", "credit_code": "", "address": "", "is_organisation": True}, "agency": "某局",
            "issued_on": deadline, "matter": "某事项", "circumstances": "", "legal_basis": "", "content": "",
            "deadline": deadline, "requirement": "改" * pad, "contact": {"name": "张三", "phone": "023-65000000"},
        }
        text = pdf_tools.text(render_pdf("prompt_letter.html", context, use_cache=False))
        lines = [line.replace(" ", "") for line in text.splitlines()]
        assert any("2026年11月25日" in line for line in lines), (pad, [line for line in lines if "日" in line])
        assert not any(line.endswith(("2026年", "2026年11月", "2026年11")) for line in lines), pad
