"""The register (柔性执法台账) through the API and the services: each kind with its fields and PDFs,
the refusals, the observation period's visit, attachments, scoping, and the automatic entries."""
from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import FollowUp
from coord.measures.models import Measure
from tests import pdf_tools
from tests.conftest import user_by_name
from tests.interview_fixtures import agency_id, at
from tests.measures_fixtures import (
    PARTY,
    flexible_lead,
    held_interview,
    item,
    measure_data,
    measures_of,
    scheduled_interview,
)
from tests.referrals_fixtures import PDF, TXT

API = "/api/v1/measures"


def post(api, user: str, data: dict):
    return api(user).post(API, json=data)


def count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def pdf_text(resp) -> str:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/pdf"
    for font in pdf_tools.fonts(resp.data):
        assert font["emb"] == "yes" and font["sub"] == "yes"
    return pdf_tools.compact(pdf_tools.text(resp.data))


# --- each kind over the API ---------------------------------------------------------------------

def test_persuasion_is_recorded_with_its_behaviour_and_result(api):
    resp = post(api, "scjg_officer", measure_data("persuasion"))
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["kind"] == "persuasion" and body["number"].startswith("TZ2026")
    assert body["behaviour"] == "营业执照未置于醒目位置" and body["result"] == "corrected"
    assert body["party"]["name"] == PARTY["name"] and body["party"]["credit_code"] == PARTY["credit_code"]
    assert body["officers"] == ["李喆"] and body["date"] == "2026-11-10" and body["documents"] == {}
    entry = db.session.get(Measure, body["id"])
    audit = db.session.execute(sa.select(AuditEntry).where(AuditEntry.entity_type == "measure",
                                                           AuditEntry.entity_id == str(entry.id))).scalar_one()
    assert audit.action == "measure.create" and "行政劝导" in audit.summary
    # The same party again: one directory record, found by its credit code.
    again = post(api, "scjg_officer", measure_data("persuasion", result="stopped")).json
    assert again["party"]["id"] == body["party"]["id"]


def test_notice_and_advice_has_its_channel_content_and_a_prompt_letter(api):
    body = post(api, "scjg_officer", measure_data("notice_advice")).json
    assert body["channel"] == "written" and "醒目位置" in body["content"]
    url = body["documents"]["prompt_letter"]
    text = pdf_text(api("scjg_coord").get(url))
    for expected in ("提示函", "沙市监提〔2026〕1号", "重庆磁器口某某商贸有限公司：", "请将营业执照置于经营场所醒目位置。",
                     "请定期自查公示信息。", "2026年11月20日前", "联系人：李喆，联系电话：13800000003",
                     "重庆市沙坪坝区市场监督管理局", "2026年11月10日"):
        assert expected in text, expected
    # Downloaded again: the same 文号; the next letter of the agency gets the next one.
    assert "沙市监提〔2026〕1号" in pdf_text(api("scjg_officer").get(url))
    second = post(api, "scjg_officer", measure_data("notice_advice", party={**PARTY, "name": "另一家商贸公司",
                                                                             "credit_code": "91500106MA60000009"})).json
    assert "沙市监提〔2026〕2号" in pdf_text(api("scjg_officer").get(second["documents"]["prompt_letter"]))


def test_mediation_has_its_parties_agreement_and_two_documents(api):
    body = post(api, "scjg_officer", measure_data("mediation")).json
    assert body["agreement_reached"] is True and body["other_parties"] == "消费者王某"
    assert set(body["documents"]) == {"mediation_agreement", "correction_order"}
    agreement = pdf_text(api("scjg_officer").get(body["documents"]["mediation_agreement"]))
    for expected in ("调解协议书", "沙市监调〔2026〕1号", "当事人：重庆磁器口某某商贸有限公司", "当事人：消费者王某",
                     "调解机关：重庆市沙坪坝区市场监督管理局", "1.商家退还货款200元", "2.商家向消费者赔礼道歉",
                     "本协议一式3份"):
        assert expected in agreement, expected
    order = pdf_text(api("scjg_officer").get(body["documents"]["correction_order"]))
    for expected in ("责令改正通知书", "沙市监责改〔2026〕1号", "于2026年11月25日前改正上述问题：规范明码标价",
                     "联系电话：13800000003", "可以依法申请行政复议或者提起行政诉讼"):
        assert expected in order, expected


def test_mediation_without_agreement_has_no_agreement_pdf(api):
    body = post(api, "scjg_officer", measure_data("mediation", agreement_reached=False, agreement_terms="",
                                                  correction_deadline=None, observation_requirement="")).json
    resp = api("scjg_officer").get(body["documents"]["mediation_agreement"])
    assert resp.status_code == 400 and "未达成调解协议" in resp.json["message"]
    resp = api("scjg_officer").get(body["documents"]["correction_order"])
    assert resp.status_code == 400 and "改正期限" in resp.json["message"]
    # No 文号 was used up by the refusals.
    ok = post(api, "scjg_officer", measure_data("mediation")).json
    assert "沙市监调〔2026〕1号" in pdf_text(api("scjg_officer").get(ok["documents"]["mediation_agreement"]))


def test_interview_kind_links_the_interview_and_takes_its_party(api, app):
    interview = scheduled_interview()
    resp = post(api, "scjg_coord", measure_data("interview", party=None, matter="", interview_id=interview.id,
                                                officer_ids=[user_by_name("scjg_coord").id]))
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["interview_id"] == interview.id and body["party"]["name"] == "重庆某某餐饮管理有限公司"
    assert body["matter"] == "油烟扰民、占道经营"
    # Once per interview: a second entry is a conflict, and holding it later adds none.
    again = post(api, "scjg_coord", measure_data("interview", party=None, interview_id=interview.id))
    assert again.status_code == 409 and again.json["measure_id"] == body["id"]
    interviews.mark_held(user_by_name("scjg_coord"), interview.id, now=at("2026-09-24", "16:30"))
    assert len(measures_of(interview_id=interview.id)) == 1
    # Another agency's interview, or none at all, is refused.
    other = post(api, "cgj_coord", measure_data("interview", party=None, agency_id=agency_id("cgj"),
                                                officer_ids=[user_by_name("cgj_officer").id],
                                                interview_id=scheduled_interview("10:00").id))
    assert other.status_code == 400 and other.json["field"] == "interview_id" and "牵头" in other.json["message"]
    assert post(api, "scjg_coord", measure_data("interview", party=None)).json["field"] == "interview_id"


def test_follow_up_kind_records_the_visit_of_an_observation_period(api, client):
    source = post(api, "scjg_officer", measure_data("notice_advice")).json
    visit_id = source["observation_visit"]["id"]
    assert source["observation_visit"]["due"] == "2026-11-23"  # the first working day after 2026-11-20
    resp = post(api, "scjg_officer", measure_data("follow_up", party=None, matter="", follow_up_id=visit_id,
                                                  outcome="营业执照已置于收银台上方"))
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["follow_up_id"] == visit_id and body["result"] == "rectified"
    assert body["party"]["name"] == PARTY["name"] and body["matter"] == "未按规定公示营业执照"
    visit = db.session.get(FollowUp, visit_id)
    assert visit.status == "done" and visit.result == "rectified" and visit.notes == "营业执照已置于收银台上方"
    assert len(measures_of(follow_up_id=visit_id)) == 1  # the visit listener found the entry and added none
    # Not rectified needs the outcome (the visit's notes); a visit done is not recorded twice.
    other = post(api, "scjg_officer", measure_data("notice_advice", party={**PARTY, "name": "丙商贸",
                                                                          "credit_code": "91500106MA60000009"})).json
    refused = post(api, "scjg_officer", measure_data("follow_up", party=None, result="not_rectified", outcome="",
                                                     follow_up_id=other["observation_visit"]["id"]))
    assert refused.status_code == 400 and refused.json["field"] == "outcome"
    assert db.session.get(FollowUp, other["observation_visit"]["id"]).status == "pending"
    twice = post(api, "scjg_officer", measure_data("follow_up", party=None, follow_up_id=visit_id))
    assert twice.status_code == 409


# --- refusals -----------------------------------------------------------------------------------

def test_a_negative_list_matter_is_refused_with_the_reason(api):
    negative = item("scjgj", "negative", "虚假广告")
    before = count(Measure)
    resp = post(api, "scjg_officer", measure_data("persuasion", matter="发布虚假广告", list_item_id=negative.id))
    assert resp.status_code == 400 and resp.json["field"] == "matter"
    assert "不适用柔性执法" in resp.json["message"] and "负面清单" in resp.json["message"]
    assert any("负面清单" in r for r in resp.json["reasons"])
    assert count(Measure) == before


def test_a_matter_in_an_excluded_field_is_refused(api):
    resp = post(api, "scjg_officer", measure_data("notice_advice", matter="销售过期食品"))
    assert resp.status_code == 400 and resp.json["field"] == "matter" and "食品药品安全" in resp.json["message"]


def test_an_interview_on_an_excluded_matter_is_not_refused(api):
    interview = scheduled_interview(matter="食品贮存不规范")
    resp = post(api, "scjg_coord", measure_data("interview", party=None, matter="", interview_id=interview.id))
    assert resp.status_code == 201


@pytest.mark.parametrize("overrides, field, words", [
    ({"officer_ids": ["cgj_officer"]}, "officer_ids", "不是实施单位"),
    ({"officer_ids": []}, "officer_ids", "至少选择一名"),
    ({"correction_deadline": "2026-11-01", "observation_requirement": "改正"}, "correction_deadline", "不能早于实施日期"),
    ({"date": "2999-01-01"}, "date", "不能晚于今天"),
    ({"date": "11/10/2026"}, "date", "YYYY-MM-DD"),
    ({"kind": "fine"}, "kind", "柔性执法方式"),
    ({"result": "maybe"}, "result", "劝导结果"),
    ({"party": {"kind": "organisation", "name": "某公司", "credit_code": "91500106MA5U7X8Y9K"}},
     "party_credit_code", "校验"),
    ({"matter": "x" * 301}, "matter", "300"),
    ({"correction_deadline": "2026-11-20", "observation_requirement": ""}, "observation_requirement", "纠错"),
    ({"list_item_id": 999999}, "list_item_id", "清单事项"),
])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(api, overrides, field, words):
    if overrides.get("officer_ids"):
        overrides = {**overrides, "officer_ids": [user_by_name(u).id for u in overrides["officer_ids"]]}
    officer = api("scjg_officer")  # its token is made (and audited) before counting
    before = (count(Measure), count(FollowUp), count(AuditEntry))
    resp = officer.post(API, json={**measure_data("persuasion"), **overrides})
    assert resp.status_code == 400, resp.json
    assert resp.json["field"] == field and words in resp.json["message"], resp.json
    assert (count(Measure), count(FollowUp), count(AuditEntry)) == before


def test_another_agency_or_a_viewer_may_not_record(api):
    resp = post(api, "cgj_officer", measure_data("persuasion"))  # agency_id is 区市场监管局's
    assert resp.status_code == 403
    assert post(api, "viewer", measure_data("persuasion", agency_id=None)).status_code == 403
    # The office records for any agency, with that agency's officers.
    assert post(api, "admin", measure_data("persuasion")).status_code == 201


def test_a_calendar_gap_for_the_visit_is_refused(api):
    resp = post(api, "scjg_officer", measure_data("notice_advice", date="2026-11-10", correction_deadline="2031-06-30"))
    assert resp.status_code == 400 and resp.json["field"] == "correction_deadline" and "2031" in resp.json["message"]


# --- the observation period's visit, attachments, listing, scoping -------------------------------

def test_the_observation_period_creates_a_visit_in_the_one_follow_up_list(api, client):
    from tests.conftest import login

    body = post(api, "scjg_officer", measure_data("mediation")).json
    visit = db.session.get(FollowUp, body["observation_visit"]["id"])
    assert visit.agency_id == agency_id("scjgj") and visit.interview_id is None and visit.item_id is None
    assert visit.due == date(2026, 11, 26) and visit.observed_measure.id == body["id"]
    login(client, "scjg_officer")
    page = client.get("/interviews/follow-ups").get_data(as_text=True)
    assert f'id="follow-up-{visit.id}"' in page and "纠错观察期" in page and "规范明码标价" in page
    # Recording it on the follow-up page puts a 回访 entry in the register.
    from tests.conftest import csrf_token

    resp = client.post(f"/interviews/follow-ups/{visit.id}/visit",
                       data={"result": "not_rectified", "notes": "仍未明码标价", "csrf_token": csrf_token(client)})
    assert resp.status_code == 303
    [entry] = measures_of(follow_up_id=visit.id)
    assert entry.kind == "follow_up" and entry.source == "visit" and entry.result == "not_rectified"
    assert entry.party.name == PARTY["name"] and entry.officer_names == ["李喆"]
    # Escalation into a lead is for interviews: the agency enforces its own measures.
    refused = api("scjg_coord").post(f"/api/v1/interviews/follow-ups/{visit.id}/escalate",
                                     json={"to_agency_id": agency_id("cgj")})
    assert refused.status_code == 400 and "依法处理" in refused.json["message"]
    # Outsiders do not see the visit.
    assert api("cgj_officer").post(f"/api/v1/interviews/follow-ups/{visit.id}/visit",
                                   json={"result": "rectified"}).status_code == 404


def test_attachments_are_checked_by_content_and_scoped(api):
    body = post(api, "scjg_officer", measure_data("persuasion")).json
    officer = api("scjg_officer")
    resp = officer.post(f"{API}/{body['id']}/files", data={"files": [(io.BytesIO(PDF), "现场照片.pdf"),
                                                                     (io.BytesIO(TXT), "笔录.txt")]},
                        content_type="multipart/form-data")
    assert resp.status_code == 200, resp.json
    files = resp.json["files"]
    assert [f["filename"] for f in files] == ["现场照片.pdf", "笔录.txt"]
    assert officer.get(files[0]["url"]).data == PDF
    assert api("cgj_officer").get(files[0]["url"]).status_code == 404
    bad = officer.post(f"{API}/{body['id']}/files", data={"files": [(io.BytesIO(PDF), "x.png")]},
                       content_type="multipart/form-data")
    assert bad.status_code == 400 and "扩展名" in bad.json["message"]


def test_the_register_lists_filters_and_counts_scoped(api):
    office = api("admin")
    # The demo data has entries already (demo leads replied with a flexible measure).
    base = int(office.get(API).headers["X-Total-Count"])
    base_cgj = int(office.get(f"{API}?agency_id={agency_id('cgj')}").headers["X-Total-Count"])
    for kind in ("persuasion", "notice_advice", "mediation"):
        assert post(api, "scjg_officer", measure_data(kind)).status_code == 201
    cgj = measure_data("persuasion", agency_id=agency_id("cgj"), officer_ids=[user_by_name("cgj_officer").id],
                       matter="占道经营", date="2026-10-05")
    assert post(api, "cgj_officer", cgj).status_code == 201
    scjg = api("scjg_officer").get(f"{API}?per_page=2")
    assert scjg.headers["X-Total-Count"] == "3" and len(scjg.json) == 2
    assert {m["agency_id"] for m in scjg.json} == {agency_id("scjgj")}
    # The office sees every agency, filters by agency, kind, period and party.
    assert office.get(API).headers["X-Total-Count"] == str(base + 4)
    assert office.get(f"{API}?agency_id={agency_id('cgj')}").headers["X-Total-Count"] == str(base_cgj + 1)
    assert office.get(f"{API}?kind=mediation").headers["X-Total-Count"] == "1"
    assert office.get(f"{API}?from=2026-10-01&to=2026-10-31").headers["X-Total-Count"] == "1"
    party_id = scjg.json[0]["party"]["id"]
    assert office.get(f"{API}?party_id={party_id}").headers["X-Total-Count"] == "4"
    # Another agency asking for 区市场监管局's entries sees only its own; one entry of it is 404.
    assert api("cgj_officer").get(f"{API}?agency_id={agency_id('scjgj')}").headers["X-Total-Count"] == "0"
    assert api("cgj_officer").get(f"{API}/{scjg.json[0]['id']}").status_code == 404
    assert api("cgj_officer").get(f"{API}/{scjg.json[0]['id']}/prompt-letter.pdf").status_code == 404


# --- automatic entries --------------------------------------------------------------------------

def test_a_flexible_reply_creates_its_entry(app):
    lead = flexible_lead("notice_advice")
    [entry] = measures_of(lead_id=lead.id)
    assert entry.kind == "notice_advice" and entry.source == "lead" and entry.agency_id == lead.to_agency_id
    assert entry.party.name == lead.party_name and entry.matter == lead.matter and entry.outcome == "经劝导，当事人已整改"
    assert entry.officer_names == ["李喆"]  # the officer who replied
    # Another outcome creates nothing.
    from coord.referrals import services as referrals
    from tests.referrals_fixtures import lead_data

    other = referrals.refer(user_by_name("cgj_coord"), lead_data("scjgj", party_name="张三"))
    referrals.acknowledge(user_by_name("scjg_officer"), other.id)
    referrals.reply(user_by_name("scjg_officer"), other.id, {"outcome": "case_opened", "case_number": "沙市监立〔2026〕9号",
                                                              "note": "已立案"})
    assert measures_of(lead_id=other.id) == []


def test_a_held_interview_creates_its_entry(app):
    interview = held_interview()
    [entry] = measures_of(interview_id=interview.id)
    assert entry.kind == "interview" and entry.source == "interview" and entry.agency_id == interview.lead_agency_id
    assert entry.party_id == interview.party_id and entry.measure_on == date(2026, 9, 24)
    assert entry.officer_names == ["张堃"]  # the lead agency's officials who attended
    assert entry.place == "区司法局第一会议室"


def test_the_lead_party_is_found_or_added_in_the_directory(app):
    coded = flexible_lead(party_name="重庆磁器口某某商贸有限公司", party_credit_code=PARTY["credit_code"])
    by_code = measures_of(lead_id=coded.id)[0].party
    assert by_code.credit_code == PARTY["credit_code"] and by_code.kind == "organisation"
    person = flexible_lead(party_name="李四")
    assert measures_of(lead_id=person.id)[0].party.kind == "person"
    shop = flexible_lead(party_name="沙坪坝某某五金店")
    assert measures_of(lead_id=shop.id)[0].party.kind == "organisation"
