"""The register's pages: a form per kind (POST, redirect, the entry page, its PDFs), refusals shown
beside their field with the form as it was sent, filters, scoping."""
from __future__ import annotations

import re

import pytest

from coord.extensions import db
from coord.interviews.models import FollowUp
from coord.measures.models import Measure
from tests import pdf_tools
from tests.conftest import csrf_token, login, user_by_name
from tests.interview_fixtures import agency_id
from tests.measures_fixtures import PARTY, item, measures_of, scheduled_interview


def form(kind: str, **extra) -> dict:
    data = {
        "kind": kind, "date": "2026-11-10", "place": "磁器口正街 8 号", "officer_ids": [str(user_by_name("scjg_officer").id)],
        "party_kind": "organisation", "party_name": PARTY["name"], "party_credit_code": PARTY["credit_code"],
        "matter": "未按规定公示营业执照", "circumstances": "巡查发现", "legal_basis": "《市场主体登记管理条例》第三十六条",
        "outcome": "当场整改",
    }
    data.update(extra)
    return data


KIND_FIELDS = {
    "persuasion": {"behaviour": "营业执照未置于醒目位置", "result": "stopped"},
    "notice_advice": {"channel": "sms", "content": "请将营业执照置于醒目位置。"},
    "mediation": {"other_parties": "消费者王某", "agreement_reached": "1", "agreement_terms": "退还货款 200 元",
                  "correction_deadline": "2026-11-25", "observation_requirement": "规范明码标价"},
}


def submit(client, data: dict, files=None):
    path = f"/measures/new?kind={data['kind']}"
    body = {**data, "csrf_token": csrf_token(client, path)}
    if files:
        body["files"] = files
    return client.post("/measures/new", data=body, content_type="multipart/form-data")


@pytest.mark.parametrize("kind", ["persuasion", "notice_advice", "mediation"])
def test_each_kind_through_its_form(client, kind):
    login(client, "scjg_officer")
    page = client.get(f"/measures/new?kind={kind}").get_data(as_text=True)
    assert f'name="kind" value="{kind}"' in page and 'aria-current="page"' in page
    resp = submit(client, form(kind, **KIND_FIELDS[kind]))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    entry = db.session.get(Measure, int(resp.headers["Location"].rsplit("/", 1)[1]))
    assert entry.kind == kind and entry.party.name == PARTY["name"] and entry.officer_names == ["李喆"]
    show = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert entry.number in show and entry.kind_title in show
    links = re.findall(r'href="(/measures/\d+/[a-z-]+\.pdf)"', show)
    assert len(links) == len(entry.documents)
    for link in links:
        pdf = client.get(link)
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        assert PARTY["name"] in pdf_tools.compact(pdf_tools.text(pdf.data))
    # After a document was made, its 文号 shows on the entry's page.
    if links:
        assert re.search(r"沙市监(提|调|责改)〔2026〕1号", client.get(resp.headers["Location"]).get_data(as_text=True))


def test_interview_and_follow_up_through_their_forms(client):
    interview = scheduled_interview()
    login(client, "scjg_coord")
    page = client.get("/measures/new?kind=interview").get_data(as_text=True)
    assert f'<option value="{interview.id}"' in page
    resp = submit(client, {"kind": "interview", "date": "2026-09-24", "interview_id": str(interview.id),
                           "officer_ids": [str(user_by_name("scjg_coord").id)], "outcome": "约谈已举行"})
    assert resp.status_code == 303
    assert measures_of(interview_id=interview.id)[0].party.name == "重庆某某餐饮管理有限公司"
    # A measure with an observation period, then its visit recorded as a 回访 entry.
    assert submit(client, form("mediation", **KIND_FIELDS["mediation"])).status_code == 303
    visit = db.session.query(FollowUp).filter(FollowUp.interview_id.is_(None)).one()
    page = client.get("/measures/new?kind=follow_up").get_data(as_text=True)
    assert f'<option value="{visit.id}"' in page and "纠错观察期" in page
    resp = submit(client, {"kind": "follow_up", "date": "2026-11-26", "follow_up_id": str(visit.id), "result": "rectified",
                           "officer_ids": [str(user_by_name("scjg_officer").id)], "outcome": "已规范明码标价"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(FollowUp, visit.id).result == "rectified"


def test_a_refused_form_comes_back_as_sent_with_the_reason_beside_the_field(client):
    login(client, "scjg_officer")
    negative = item("scjgj", "negative", "虚假广告")
    data = form("persuasion", matter="发布虚假广告", list_item_id=str(negative.id), behaviour="发布虚假广告",
                result="refused", place="沙坪坝正街 1 号")
    resp = submit(client, data)
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert 'id="error-matter"' in page and "不适用柔性执法" in page and 'id="eligibility-reasons"' in page
    for value in ("沙坪坝正街 1 号", PARTY["credit_code"], "发布虚假广告"):
        assert value in page
    assert re.search(r'value="refused"\s+checked', page)
    assert measures_of(matter="发布虚假广告") == []


def test_officers_of_another_agency_are_refused_on_the_form(client):
    login(client, "scjg_officer")
    resp = submit(client, form("persuasion", officer_ids=[str(user_by_name("cgj_officer").id)], **KIND_FIELDS["persuasion"]))
    assert resp.status_code == 400 and 'id="error-officer_ids"' in resp.get_data(as_text=True)


def test_the_office_picks_the_agency_and_its_officers(client):
    login(client, "admin")
    page = client.get("/measures/new?kind=persuasion").get_data(as_text=True)
    assert 'id="agency_id" name="agency_id"' in page
    fragment = client.get(f"/measures/agency-fields?kind=persuasion&agency_id={agency_id('cgj')}",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "陈志强" in fragment and "李喆" not in fragment
    resp = submit(client, form("persuasion", agency_id=str(agency_id("cgj")), matter="占道经营",
                               officer_ids=[str(user_by_name("cgj_officer").id)], **KIND_FIELDS["persuasion"]))
    assert resp.status_code == 303


def test_the_list_page_filters_and_is_scoped(client, api):
    for kind in ("persuasion", "notice_advice"):
        api("scjg_officer").post("/api/v1/measures", json={
            "kind": kind, "party": PARTY, "officer_ids": [user_by_name("scjg_officer").id], "date": "2026-11-10",
            "matter": "未按规定公示营业执照", **{k: v for k, v in KIND_FIELDS[kind].items()}})
    login(client, "scjg_officer")
    page = client.get("/measures/?kind=notice_advice").get_data(as_text=True)
    assert "共 1 条" in page and "告知建议" in page
    rows = client.get("/measures/?kind=persuasion", headers={"HX-Request": "true", "HX-Target": "measure-rows"})
    assert "<html" not in rows.get_data(as_text=True) and "共 1 条" in rows.get_data(as_text=True)
    entry = measures_of(kind="persuasion", agency_id=agency_id("scjgj"))[0]
    login(client, "cgj_officer")
    assert client.get(f"/measures/{entry.id}").status_code == 404
    assert PARTY["name"] not in client.get("/measures/").get_data(as_text=True)
    login(client, "viewer")
    assert client.get("/measures/new?kind=persuasion").status_code == 403
