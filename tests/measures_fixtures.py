"""Helpers for the register, timeline and oversight tests."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from coord.extensions import db
from coord.interviews import services as interviews
from coord.lists import services as lists
from coord.lists.models import ListItem
from coord.measures.models import Measure
from coord.referrals import services as referrals
from tests.conftest import user_by_name
from tests.interview_fixtures import NOW, agency_id, at, interview_data
from tests.referrals_fixtures import lead_data

PARTY = {"kind": "organisation", "name": "重庆磁器口某某商贸有限公司", "credit_code": "91500106MA5U7X8Y9Q"}
# A second valid code (GB 32100 check digit) for another party.
OTHER_CODE = "91500106MA60000009"


def item(code: str, kind: str, matter: str) -> ListItem:
    """A published item of an agency's list, by (part of) its matter."""
    version = lists.published_version(agency_id(code), kind)
    return next(i for i in version.items if matter in i.matter)


def measure_data(kind: str = "persuasion", **overrides) -> dict:
    """A valid entry of 区市场监管局 for each kind (the interview and follow-up kinds need their origin)."""
    data = {
        "kind": kind, "party": dict(PARTY), "agency_id": agency_id("scjgj"),
        "officer_ids": [user_by_name("scjg_officer").id], "date": "2026-11-10", "place": "磁器口正街 8 号",
        "matter": "未按规定公示营业执照", "legal_basis": "《中华人民共和国市场主体登记管理条例》第三十六条",
        "circumstances": "巡查发现营业执照未置于经营场所醒目位置", "outcome": "当事人当场整改",
    }
    data.update({
        "persuasion": {"behaviour": "营业执照未置于醒目位置", "result": "corrected"},
        "notice_advice": {"channel": "written", "content": "请将营业执照置于经营场所醒目位置。\n请定期自查公示信息。",
                          "correction_deadline": "2026-11-20", "observation_requirement": "将营业执照置于醒目位置"},
        "mediation": {"other_parties": "消费者王某", "agreement_reached": True,
                      "agreement_terms": "商家退还货款 200 元\n商家向消费者赔礼道歉",
                      "correction_deadline": "2026-11-25", "observation_requirement": "规范明码标价"},
        "interview": {}, "follow_up": {"result": "rectified"},
    }[kind])
    data.update(overrides)
    return data


def held_interview(hhmm: str = "09:00", **overrides):
    """An interview of 区市场监管局 (lead) with 区城市管理局, held on 2026-09-24."""
    coord = user_by_name("scjg_coord")
    interview = interviews.create(coord, interview_data(**overrides), now=NOW)
    interviews.schedule(coord, interview.id, at("2026-09-24", hhmm), now=NOW)
    return interviews.mark_held(coord, interview.id, now=at("2026-09-24", "16:30"))


def scheduled_interview(hhmm: str = "14:00", **overrides):
    coord = user_by_name("scjg_coord")
    interview = interviews.create(coord, interview_data(**overrides), now=NOW)
    return interviews.schedule(coord, interview.id, at("2026-09-24", hhmm), now=NOW)


def flexible_lead(measure: str = "persuasion", **extra):
    """A lead from 区城市管理局 to 区市场监管局 replied with a flexible measure."""
    lead = referrals.refer(user_by_name("cgj_coord"), lead_data("scjgj", **extra))
    referrals.acknowledge(user_by_name("scjg_officer"), lead.id)
    return referrals.reply(user_by_name("scjg_officer"), lead.id, {"outcome": "flexible", "measure": measure,
                                                                  "note": "经劝导，当事人已整改"})


def measures_of(**where) -> list[Measure]:
    stmt = sa.select(Measure).filter_by(**where).order_by(Measure.id)
    return list(db.session.execute(stmt).scalars())


def day(text: str) -> date:
    return date.fromisoformat(text)
