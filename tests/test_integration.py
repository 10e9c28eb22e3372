"""Cross-feature wiring (issues 3, 6, 7): leads and interviews name a list item; the reply form follows
the receiver's lists; a "not rectified" follow-up visit escalates into a lead."""
from __future__ import annotations

import json
import re
import threading
from datetime import date

import pytest
import sqlalchemy as sa

from coord.audit.models import AuditEntry
from coord.errors import Conflict, DomainError
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import FollowUp, Interview
from coord.lists import services as lists
from coord.lists.models import ListItem, ListVersion
from coord.referrals import services as referrals
from coord.referrals.models import Lead
from coord.timeutil import local_today
from tests.conftest import csrf_token, login, user_by_name
from tests.interview_fixtures import NOW, agency_id, at, ensure_calendar, interview_data
from tests.referrals_fixtures import lead_data

HX = {"HX-Request": "true"}


# --- helpers -------------------------------------------------------------------------------------

def item(code: str, kind: str, matter: str) -> ListItem:
    """A published item of an agency's list, by (part of) its matter."""
    version = lists.published_version(agency_id(code), kind)
    return next(i for i in version.items if matter in i.matter)


def draft_item(username: str = "scjg_coord", code: str = "scjgj") -> ListItem:
    """An item that exists only in a draft (never published)."""
    version = lists.start_draft(user_by_name(username), agency_id(code), "positive")
    return lists.add_item(user_by_name(username), version.id, {
        "matter": "草稿中的新事项", "circumstances": "首次发现的。", "legal_basis": "《条例》第一条。",
        "measures": "劝导"})


def revise(code: str, username: str, kind: str, matter: str, **changes) -> ListVersion:
    """Publish a new version of a list in which the item `matter` is changed."""
    user = user_by_name(username)
    draft = lists.start_draft(user, agency_id(code), kind)
    row = next(i for i in draft.items if matter in i.matter)
    lists.update_item(user, row.id, {**row.content(), **changes})
    lists.submit(user, draft.id)
    return lists.review(user_by_name("admin"), draft.id, "approve")


def count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


def audit_actions(entity_type: str, entity_id: int) -> list[str]:
    return list(db.session.execute(sa.select(AuditEntry.action).where(
        AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id)).order_by(AuditEntry.id)
    ).scalars())


def acknowledged_lead(**extra) -> Lead:
    """A lead from 区城市管理局 to 区市场监管局, acknowledged (the reply form is open)."""
    lead = referrals.refer(user_by_name("cgj_coord"), lead_data("scjgj", **extra))
    return referrals.acknowledge(user_by_name("scjg_officer"), lead.id)


def not_rectified_visit(result: str = "not_rectified", hhmm: str = "09:00") -> FollowUp:
    """A held interview of 区市场监管局 (lead) and 区城市管理局, a rectification item and its visit."""
    coord = user_by_name("scjg_coord")
    interview = interviews.create(coord, interview_data(), now=NOW)
    interviews.schedule(coord, interview.id, at("2026-09-24", hhmm), now=NOW)
    interviews.mark_held(coord, interview.id, now=at("2026-09-24", "16:30"))
    rect = interviews.add_item(coord, interview.id, "清理占道物品并安装油烟净化设施", date(2026, 9, 30),
                               today=date(2026, 9, 24))
    visit = rect.follow_ups[0]
    interviews.record_visit(user_by_name("scjg_officer"), visit.id, result,
                            "占道物品仍未清理，油烟净化设施未安装" if result == "not_rectified" else "",
                            now=at("2026-10-08", "15:00"))
    return visit


ESCALATED_AT = at("2026-10-09", "10:00")


# --- leads name a list item ----------------------------------------------------------------------

def test_lead_names_a_list_item_of_the_receiver_over_the_api(api):
    cgj, scjg = api("cgj_coord"), api("scjg_officer")
    ads = item("scjgj", "positive", "绝对化用语")
    resp = cgj.post("/api/v1/leads", json={**lead_data("scjgj", matter="广告使用“最佳”用语"), "list_item_id": ads.id})
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["list_item_id"] == ads.id and body["list_item"]["uid"] == ads.uid
    assert body["list_item"]["kind"] == "positive" and body["list_item"]["current_id"] == ads.id
    assert body["eligibility"]["eligible"] is True and body["eligibility"]["flag"] is None
    assert body["eligibility"]["measures"] == ["interview", "follow_up"]  # as the positive list names them
    fetched = scjg.get(f"/api/v1/leads/{body['id']}").json
    assert fetched["list_item_id"] == ads.id and fetched["eligibility"]["eligible"] is True
    inbox = scjg.get("/api/v1/leads?box=inbox").json
    assert next(x for x in inbox if x["id"] == body["id"])["eligibility"]["measures"] == ["interview", "follow_up"]
    # The sender's audit entry records the item named.
    entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.entity_type == "lead",
                                                           AuditEntry.entity_id == str(body["id"]))).scalar_one()
    assert json.loads(entry.after)["list_item_id"] == ads.id


def test_a_lead_refuses_items_that_are_not_the_receivers_published_ones(api):
    cgj = api("cgj_coord")
    before = count(Lead)
    other = item("cgj", "positive", "占道经营")  # 区城市管理局's own list, not the receiver's
    resp = cgj.post("/api/v1/leads", json={**lead_data("scjgj"), "list_item_id": other.id})
    assert resp.status_code == 400 and resp.json["field"] == "list_item_id"
    assert "属于区城市管理局，不是区市场监管局的清单事项" in resp.json["message"]
    unpublished = draft_item()
    resp = cgj.post("/api/v1/leads", json={**lead_data("scjgj"), "list_item_id": unpublished.id})
    assert resp.status_code == 400 and "不在现行发布的清单中" in resp.json["message"]
    # Another agency's draft is not revealed: the same message as an id that does not exist.
    unknown = cgj.post("/api/v1/leads", json={**lead_data("scjgj"), "list_item_id": 999999})
    assert unknown.status_code == 400 and unknown.json["message"] == resp.json["message"]
    not_a_number = cgj.post("/api/v1/leads", json={**lead_data("scjgj"), "list_item_id": "第一项"})
    assert not_a_number.status_code in (400, 422) and not_a_number.json["message"]
    assert count(Lead) == before  # nothing saved


def test_a_superseded_item_is_refused_for_a_new_lead_and_followed_by_uid_for_an_old_one(app):
    ads = item("scjgj", "positive", "绝对化用语")
    lead = acknowledged_lead(matter="广告使用绝对化用语", list_item_id=ads.id)
    # The list is revised: the item keeps its uid, its row in the new version lists other measures.
    v2 = revise("scjgj", "scjg_coord", "positive", "绝对化用语", measures=["notice_advice"])
    assert v2.state == "published" and v2.number == 2
    with pytest.raises(DomainError, match="不在现行发布的清单中"):
        referrals.refer(user_by_name("cgj_coord"), lead_data("scjgj", list_item_id=ads.id))
    current = lists.current_item(ads)
    assert current.id != ads.id and current.uid == ads.uid and current.version_id == v2.id
    verdict = referrals.eligibility(lead)
    assert verdict["eligible"] and verdict["measures"] == ["notice_advice"]  # the list in force
    assert "以下按现行清单判断" in verdict["reasons"][0]
    assert lead.list_item_id == ads.id  # the lead keeps the row it named


def test_reply_proposes_the_listed_measures(app, client):
    ads = item("scjgj", "positive", "绝对化用语")
    lead = acknowledged_lead(matter="广告使用绝对化用语", list_item_id=ads.id)
    login(client, "scjg_officer")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "可适用柔性执法" in page and "清单所列柔性执法方式：约谈告诫、回访" in page
    assert '<option value="interview" selected>约谈告诫（清单所列）</option>' in page  # proposed first
    assert "[正面清单] 广告中使用绝对化用语" in page
    ok = referrals.reply(user_by_name("scjg_officer"), lead.id, {"outcome": "flexible", "measure": "interview",
                                                                  "note": "已约谈告诫，当事人已删除用语。"})
    assert ok.state == "replied" and ok.measure == "interview"


def test_a_negative_list_item_is_flagged_and_a_flexible_reply_refused(api, client):
    fake = item("scjgj", "negative", "虚假广告")
    lead = acknowledged_lead(matter="发布虚假广告", list_item_id=fake.id)
    scjg = api("scjg_officer")
    body = scjg.get(f"/api/v1/leads/{lead.id}").json
    assert body["eligibility"]["eligible"] is False and body["eligibility"]["flag"] == "不适用柔性执法"
    assert any("负面清单" in r for r in body["eligibility"]["reasons"])
    entries = len(audit_actions("lead", lead.id))
    refused = scjg.post(f"/api/v1/leads/{lead.id}/reply", json={"outcome": "flexible", "measure": "persuasion",
                                                                 "note": "拟劝导。"})
    assert refused.status_code == 400 and refused.json["field"] == "outcome"
    assert "不适用柔性执法" in refused.json["message"] and "负面清单" in refused.json["message"]
    db.session.rollback()
    assert scjg.get(f"/api/v1/leads/{lead.id}").json["state"] == "acknowledged"  # nothing changed
    assert len(audit_actions("lead", lead.id)) == entries
    login(client, "scjg_officer")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'id="reply-not-eligible"' in page and "不适用柔性执法" in page
    assert re.search(r'<option value="flexible"\s+disabled>采取柔性执法方式处理（不适用柔性执法）</option>', page)
    opened = scjg.post(f"/api/v1/leads/{lead.id}/reply", json={"outcome": "case_opened", "note": "已立案调查。",
                                                                "case_number": "沙市监立〔2026〕12号"})
    assert opened.status_code == 200 and opened.json["state"] == "replied"
    # The sender sees the flag on the lead page too.
    login(client, "cgj_coord")
    assert "不适用柔性执法" in client.get(f"/leads/{lead.id}").get_data(as_text=True)


def test_an_excluded_field_is_flagged_without_any_list_item(app, client):
    lead = acknowledged_lead(matter="涉嫌销售过期食品", facts="群众举报超市销售过期食品。")
    verdict = referrals.eligibility(lead)
    assert verdict["eligible"] is False and any("食品药品安全" in r for r in verdict["reasons"])
    with pytest.raises(DomainError, match="不适用柔性执法"):
        referrals.reply(user_by_name("scjg_officer"), lead.id, {"outcome": "flexible", "measure": "persuasion",
                                                                 "note": "拟劝导。"})
    db.session.rollback()
    assert db.session.get(Lead, lead.id).state == "acknowledged"
    login(client, "scjg_officer")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "食品药品安全" in page and "未关联清单事项" in page


def test_a_positive_item_in_an_excluded_field_is_still_not_eligible(app):
    """A positive list item does not override the policy's excluded fields (§五(三))."""
    ads = item("scjgj", "positive", "绝对化用语")
    lead = acknowledged_lead(matter="保健食品广告使用绝对化用语", list_item_id=ads.id)
    verdict = referrals.eligibility(lead)
    assert verdict["eligible"] is False and verdict["measures"] == []
    assert any("食品药品安全" in r for r in verdict["reasons"])


def test_redirect_drops_the_old_receivers_item_or_takes_the_new_ones(api):
    cgj, scjg = api("cgj_coord"), api("scjg_officer")
    ads = item("scjgj", "positive", "绝对化用语")
    lead_id = cgj.post("/api/v1/leads", json={**lead_data("scjgj"), "list_item_id": ads.id}).json["id"]
    assert scjg.post(f"/api/v1/leads/{lead_id}/return", json={"reason": "不属于本单位职责"}).status_code == 200
    wrong = cgj.post(f"/api/v1/leads/{lead_id}/redirect", json={"to_agency_id": agency_id("sthjj"),
                                                                 "list_item_id": ads.id})
    assert wrong.status_code == 400 and "不是区生态环境局的清单事项" in wrong.json["message"]
    moved = cgj.post(f"/api/v1/leads/{lead_id}/redirect", json={"to_agency_id": agency_id("sthjj")})
    assert moved.status_code == 200 and moved.json["list_item_id"] is None and moved.json["list_item"] is None


def test_lead_form_picker_and_hint_use_the_receiver_field(app, client):
    login(client, "cgj_coord")
    scjg = agency_id("scjgj")
    form = client.get("/leads/new").get_data(as_text=True)
    assert 'id="list_item_id"' in form and "/lists/item-choices" in form and 'id="eligibility-hint"' in form
    options = client.get(f"/lists/item-choices?to_agency_id={scjg}", headers=HX)
    html = options.get_data(as_text=True)
    assert "[正面] 广告中使用绝对化用语" in html and "[负面] 发布虚假广告" in html and "占道经营" not in html
    assert options.headers["HX-Trigger-After-Settle"] == "list-items-loaded"
    fake = item("scjgj", "negative", "虚假广告")
    hint = client.get(f"/lists/eligibility?to_agency_id={scjg}&list_item_id={fake.id}&matter=", headers=HX)
    assert "不适用柔性执法" in hint.get_data(as_text=True)
    # Through the form: the item is saved with the lead.
    data = {"csrf_token": csrf_token(client, "/leads/new"), **{k: str(v) for k, v in lead_data("scjgj").items()},
            "list_item_id": str(fake.id)}
    resp = client.post("/leads/new", data=data)
    assert resp.status_code == 303
    lead = db.session.execute(sa.select(Lead).order_by(Lead.id.desc()).limit(1)).scalar_one()
    assert lead.list_item_id == fake.id
    bad = {**data, "csrf_token": csrf_token(client, "/leads/new"), "list_item_id": str(item("cgj", "positive",
                                                                                            "占道经营").id)}
    before = count(Lead)
    page = client.post("/leads/new", data=bad)
    assert page.status_code == 400 and "不是区市场监管局的清单事项" in page.get_data(as_text=True)
    assert count(Lead) == before


# --- interviews name a list item -----------------------------------------------------------------

def test_interview_names_an_item_of_the_lead_agency_over_the_api(api):
    scjg = api("scjg_coord")
    ads = item("scjgj", "positive", "绝对化用语")
    data = interview_data(list_item_id=ads.id)
    data.pop("attendees")
    resp = scjg.post("/api/v1/interviews", json=data)
    assert resp.status_code == 201, resp.json
    assert resp.json["list_item_id"] == ads.id and resp.json["list_item"]["matter"] == "广告中使用绝对化用语"
    assert resp.json["eligibility"]["eligible"] is True
    fetched = api("cgj_officer").get(f"/api/v1/interviews/{resp.json['id']}").json  # a co-organiser sees it
    assert fetched["list_item_id"] == ads.id
    assert api("sthj_coord").get(f"/api/v1/interviews/{resp.json['id']}").status_code == 404


def test_an_interview_on_a_negative_item_is_flagged_not_refused(api, client):
    """An interview is itself a flexible measure, used also for safety risks (§四(三)): flag, not refuse."""
    fake = item("scjgj", "negative", "虚假广告")
    data = interview_data(list_item_id=fake.id, matter="发布虚假广告")
    data.pop("attendees")
    resp = api("scjg_coord").post("/api/v1/interviews", json=data)
    assert resp.status_code == 201 and resp.json["eligibility"]["flag"] == "不适用柔性执法"
    login(client, "scjg_coord")
    page = client.get(f"/interviews/{resp.json['id']}").get_data(as_text=True)
    assert "[负面清单] 发布虚假广告" in page and "不适用柔性执法" in page


def test_interview_refuses_other_agencies_and_unpublished_items(api):
    scjg = api("scjg_coord")
    before = count(Interview)
    cases = [(item("cgj", "positive", "占道经营").id, "不是区市场监管局的清单事项"),
             (draft_item("cgj_coord", "cgj").id, "不在现行发布的清单中"),
             (999999, "不在现行发布的清单中")]
    for item_id, message in cases:
        data = interview_data(list_item_id=item_id)
        data.pop("attendees")
        resp = scjg.post("/api/v1/interviews", json=data)
        assert resp.status_code == 400 and message in resp.json["message"], resp.json
        assert resp.json["field"] == "list_item_id"
    assert count(Interview) == before


def test_an_interview_keeps_its_item_through_edits_after_a_list_revision(api):
    scjg = api("scjg_coord")
    ads = item("scjgj", "positive", "绝对化用语")
    data = interview_data(list_item_id=ads.id)
    data.pop("attendees")
    interview_id = scjg.post("/api/v1/interviews", json=data).json["id"]
    revise("scjgj", "scjg_coord", "positive", "绝对化用语", measures=["notice_advice"])
    kept = scjg.patch(f"/api/v1/interviews/{interview_id}", json={"title": "改名后的约谈"})
    assert kept.status_code == 200 and kept.json["list_item_id"] == ads.id
    assert kept.json["list_item"]["current_id"] == lists.current_item(ads).id != ads.id
    # Naming another superseded row now is refused; the row in force is accepted.
    other = next(i for i in ads.version.items if i.id != ads.id)
    stale = scjg.patch(f"/api/v1/interviews/{interview_id}", json={"list_item_id": other.id})
    assert stale.status_code == 400 and "不在现行发布的清单中" in stale.json["message"]
    fresh = scjg.patch(f"/api/v1/interviews/{interview_id}", json={"list_item_id": lists.current_item(other).id})
    assert fresh.status_code == 200 and fresh.json["list_item_id"] == lists.current_item(other).id


def test_interview_form_offers_the_lead_agencys_items(app, client):
    ensure_calendar(local_today(), 150)
    login(client, "scjg_coord")
    page = client.get("/interviews/new").get_data(as_text=True)
    assert 'id="list_item_id"' in page and 'hx-include="#lead_agency_id,#list_item_q"' in page
    options = client.get(f"/lists/item-choices?lead_agency_id={agency_id('scjgj')}", headers=HX)
    assert "[正面] 未按规定公示营业执照" in options.get_data(as_text=True)
    ads = item("scjgj", "positive", "绝对化用语")
    form = {"csrf_token": csrf_token(client, "/interviews/new"), "title": "广告用语约谈", "problem_kind": "sector",
            "sector": "广告", "party_kind": "person", "party_name": "某个体户", "lead_agency_id": agency_id("scjgj"),
            "participant_ids": [user_by_name("scjg_coord").id], "duration_minutes": "60", "matter": "广告用语",
            "measure": "interview", "list_item_id": str(ads.id), "action": "draft"}
    resp = client.post("/interviews/new", data=form)
    assert resp.status_code == 303
    shown = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "[正面清单] 广告中使用绝对化用语" in shown and "可适用柔性执法" in shown
    bad = {**form, "csrf_token": csrf_token(client, "/interviews/new"),
           "list_item_id": str(item("cgj", "positive", "占道经营").id)}
    before = count(Interview)
    refused = client.post("/interviews/new", data=bad)
    assert refused.status_code == 400 and "不是区市场监管局的清单事项" in refused.get_data(as_text=True)
    assert count(Interview) == before


# --- escalation of a "not rectified" visit into a lead -------------------------------------------

def test_escalation_creates_a_linked_lead_in_one_transaction(app):
    visit = not_rectified_visit()
    interview = visit.interview
    roadside = item("cgj", "positive", "超出门窗")
    coord = user_by_name("scjg_coord")
    interviews.escalate(coord, visit.id, {"to_agency_id": agency_id("cgj"), "list_item_id": roadside.id},
                        now=ESCALATED_AT)
    db.session.expire_all()
    visit = db.session.get(FollowUp, visit.id)
    lead = visit.lead
    assert visit.escalated and visit.escalated_by_id == coord.id and visit.lead_id == lead.id
    assert (lead.from_agency_id, lead.to_agency_id, lead.state) == (agency_id("scjgj"), agency_id("cgj"), "referred")
    assert lead.created_by_id == coord.id and lead.number.startswith("XS2026")
    # Prefilled from the interview, the rectification item and the visit.
    assert lead.party_name == interview.party.name and lead.party_credit_code == interview.party.credit_code
    assert lead.matter == "油烟扰民、占道经营" and lead.legal_basis == interview.legal_basis
    assert "清理占道物品并安装油烟净化设施" in lead.facts and "占道物品仍未清理" in lead.facts
    assert interview.title in lead.facts and lead.occurred_on == date(2026, 10, 8)
    assert lead.list_item_id == roadside.id
    assert lead.ack_due == date(2026, 10, 10)  # the next working day: a make-up Saturday
    # Linked both ways, each side audited.
    assert referrals.source_of(lead).id == visit.id
    assert audit_actions("lead", lead.id) == ["lead.escalate"]
    assert audit_actions("interview", interview.id)[-1] == "followup.escalate"


def test_escalation_fields_given_override_the_prefill(api):
    visit = not_rectified_visit()
    resp = api("scjg_coord").post(f"/api/v1/interviews/follow-ups/{visit.id}/escalate", json={
        "to_agency_id": agency_id("cgj"), "matter": "超出门窗和外墙经营", "urgency": "urgent",
        "occurred_on": "2026-10-08"})
    assert resp.status_code == 200, resp.json
    assert resp.json["escalated"] is True and resp.json["lead"]["number"].startswith("XS")
    lead = api("cgj_coord").get(f"/api/v1/leads/{resp.json['lead_id']}").json
    assert lead["matter"] == "超出门窗和外墙经营" and lead["urgency"] == "urgent"
    assert lead["source"]["follow_up_id"] == visit.id and lead["source"]["interview_id"] == visit.interview_id
    assert lead["eligibility"]["eligible"] is True  # matched on 区城市管理局's positive list by its text


def test_escalation_bad_input_changes_nothing(app):
    coord = user_by_name("scjg_coord")
    rectified = not_rectified_visit("rectified", hhmm="14:00")
    visit = not_rectified_visit()
    leads, entries = count(Lead), count(AuditEntry)
    cases = [
        (lambda: interviews.escalate(coord, rectified.id, {"to_agency_id": agency_id("cgj")}), "未整改"),
        (lambda: interviews.escalate(coord, visit.id, {}), "接收线索的行政执法部门"),
        (lambda: interviews.escalate(coord, visit.id, {"to_agency_id": agency_id("scjgj")}), "本单位"),
        (lambda: interviews.escalate(coord, visit.id, {"to_agency_id": 999999}), "接收单位"),
        (lambda: interviews.escalate(coord, visit.id, {"to_agency_id": agency_id("cgj"),
                                                       "list_item_id": item("scjgj", "positive", "营业执照").id}),
         "不是区城市管理局的清单事项"),
        (lambda: interviews.escalate(coord, visit.id, {"to_agency_id": agency_id("cgj"), "party_name": " "}),
         "当事人名称"),
    ]
    for call, message in cases:
        with pytest.raises(DomainError, match=message):
            call()
        db.session.rollback()
    assert (count(Lead), count(AuditEntry)) == (leads, entries)
    fresh = db.session.get(FollowUp, visit.id)
    assert not fresh.escalated and fresh.lead_id is None  # never half-saved
    # A visit not yet recorded cannot be escalated either.
    pending = interviews.add_item(coord, visit.interview_id, "补办手续", date(2026, 10, 30), today=date(2026, 10, 9))
    with pytest.raises(DomainError, match="未整改"):
        interviews.escalate(coord, pending.follow_ups[0].id, {"to_agency_id": agency_id("cgj")})


def test_escalating_twice_is_refused(api):
    visit = not_rectified_visit()
    scjg = api("scjg_coord")
    first = scjg.post(f"/api/v1/interviews/follow-ups/{visit.id}/escalate", json={"to_agency_id": agency_id("cgj")})
    assert first.status_code == 200
    leads = count(Lead)
    again = scjg.post(f"/api/v1/interviews/follow-ups/{visit.id}/escalate", json={"to_agency_id": agency_id("sthjj")})
    assert again.status_code == 409 and "不能重复升级" in again.json["message"]
    assert first.json["lead"]["number"] in again.json["message"] and again.json["lead_id"] == first.json["lead_id"]
    assert count(Lead) == leads


def test_a_visit_escalated_before_referrals_existed_gets_its_lead(app):
    visit = not_rectified_visit()
    earlier = at("2026-10-08", "16:00")
    visit.escalated, visit.escalated_at, visit.escalated_by_id = True, earlier, user_by_name("scjg_coord").id
    db.session.commit()  # as the first version of escalation left it: escalated, no lead
    interviews.escalate(user_by_name("scjg_coord"), visit.id, {"to_agency_id": agency_id("cgj")}, now=ESCALATED_AT)
    db.session.expire_all()
    visit = db.session.get(FollowUp, visit.id)
    assert visit.lead is not None and visit.escalated_at == earlier  # when it was decided stays recorded
    with pytest.raises(Conflict, match="不能重复升级"):
        interviews.escalate(user_by_name("scjg_coord"), visit.id, {"to_agency_id": agency_id("cgj")})


def test_escalation_scoping(api, client):
    visit = not_rectified_visit()
    body = {"to_agency_id": agency_id("sthjj")}
    # An agency outside the interview: 404 (the visit is not revealed); a co-organiser: 403.
    assert api("sthj_coord").post(f"/api/v1/interviews/follow-ups/{visit.id}/escalate", json=body).status_code == 404
    assert api("cgj_coord").post(f"/api/v1/interviews/follow-ups/{visit.id}/escalate", json=body).status_code == 403
    assert api("scjg_officer").post(f"/api/v1/interviews/follow-ups/{visit.id}/escalate",
                                    json=body).status_code == 403  # officers do not refer leads
    login(client, "sthj_coord")
    assert client.get(f"/interviews/follow-ups/{visit.id}/escalate").status_code == 404
    # The office escalates on behalf of the lead agency: the lead comes from 区市场监管局.
    resp = api("admin").post(f"/api/v1/interviews/follow-ups/{visit.id}/escalate", json=body)
    assert resp.status_code == 200
    lead = db.session.get(Lead, resp.json["lead_id"])
    assert (lead.from_agency.name, lead.to_agency.name) == ("区市场监管局", "区生态环境局")
    # The receiver sees the lead and where it came from, but not the interview it is not part of.
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "整改回访未整改，升级移交" in page and interview_link(visit) not in page
    assert client.get(interview_link(visit)).status_code == 404
    # An agency neither sending nor receiving: the lead is 404.
    assert api("cgj_coord").get(f"/api/v1/leads/{lead.id}").status_code == 404
    login(client, "scjg_coord")
    shown = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert interview_link(visit) in shown  # the sender sees the link back


def interview_link(visit: FollowUp) -> str:
    return f"/interviews/{visit.interview_id}"


def test_escalation_through_the_pages(app, client):
    visit = not_rectified_visit()
    login(client, "scjg_coord")
    listing = client.get("/interviews/follow-ups?status=done").get_data(as_text=True)
    assert f"/interviews/follow-ups/{visit.id}/escalate" in listing
    form = client.get(f"/interviews/follow-ups/{visit.id}/escalate")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "升级并移交线索" in html
    assert "清理占道物品并安装油烟净化设施" in html and "重庆某某餐饮管理有限公司" in html  # prefilled
    assert f'<option value="{agency_id("scjgj")}"' not in html  # not to itself
    data = {"csrf_token": csrf_token(client, f"/interviews/follow-ups/{visit.id}/escalate"),
            **{k: v for k, v in interviews.escalation_defaults(visit).items()},
            "to_agency_id": str(agency_id("cgj")), "occurred_on": "2026-10-08"}
    resp = client.post(f"/interviews/follow-ups/{visit.id}/escalate", data=data)
    assert resp.status_code == 303 and "/leads/" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "整改回访未整改，升级移交" in page and interview_link(visit) in page and "区城市管理局" in page
    lead_id = db.session.get(FollowUp, visit.id).lead_id
    listing = client.get("/interviews/follow-ups?status=done").get_data(as_text=True)
    assert f"/leads/{lead_id}" in listing and "已移交线索" in listing
    shown = client.get(interview_link(visit)).get_data(as_text=True)
    assert f"/leads/{lead_id}" in shown
    # The co-organiser sees the lead number on the interview but cannot open the lead.
    login(client, "cgj_coord")
    assert "已升级处理" in client.get(interview_link(visit)).get_data(as_text=True)
    # Again: refused with the lead's number, on the form page too.
    login(client, "scjg_coord")
    again = client.get(f"/interviews/follow-ups/{visit.id}/escalate")
    assert again.status_code == 409 and "不能重复升级" in again.get_data(as_text=True)


def test_concurrent_escalations_create_one_lead(app):
    visit_id = not_rectified_visit().id
    db.session.commit()
    threads_n = 6
    barrier = threading.Barrier(threads_n)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(to_code: str) -> None:
        with app.app_context():
            actor = user_by_name("scjg_coord")
            to_id = agency_id(to_code)
            db.session.rollback()
            barrier.wait()
            try:
                interviews.escalate(actor, visit_id, {"to_agency_id": to_id}, now=ESCALATED_AT)
                outcome = "ok"
            except Conflict:
                outcome = "conflict"
            except Exception as err:  # noqa: BLE001 - any other failure is what this test looks for
                outcome = f"error: {err!r}"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(code,)) for code in ["cgj", "sthjj"] * (threads_n // 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == ["conflict"] * (threads_n - 1) + ["ok"], results
    db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count()).select_from(Lead).where(
        Lead.party_name == "重庆某某餐饮管理有限公司")).scalar_one() == 1
