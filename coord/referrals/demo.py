"""Demo leads between 区城市管理局, 区市场监管局 and 区生态环境局 (idempotent; never authoritative)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from coord.accounts.models import User
from coord.agencies.models import Agency
from coord.dbtypes import utcnow
from coord.errors import DomainError
from coord.extensions import db
from coord.referrals import services
from coord.referrals.models import Lead

# (sender username, receiver code, party, credit code, matter, facts, place, days ago, steps)
DEMO_LEADS = [
    ("cgj_coord", "scjgj", "沙坪坝区某某餐饮店", "", "涉嫌无证经营食品",
     "巡查发现该店占道经营并疑似未取得食品经营许可证。",
     "小龙坎正街", 0, []),
    ("scjg_coord", "cgj", "重庆某某广告有限公司", "", "擅自设置大型户外广告",
     "市场巡查中发现楼顶新设广告牌，未见审批手续。",
     "三峡广场", 2, ["ack"]),
    ("sthj_coord", "cgj", "某某建筑工地", "", "夜间施工噪声扰民", "群众多次投诉夜间 22 时后仍在施工。",
     "西永大道", 12, []),
    ("cgj_coord", "sthjj", "某某汽修厂", "", "露天喷漆废气排放",
     "城管巡查发现露天喷漆作业，疑未配套废气处理设施。",
     "井口工业园", 9, ["ack", "reply"]),
    ("scjg_coord", "cgj", "某某水果摊", "", "占道经营", "市场外占用人行道摆摊。", "磁器口", 7,
     ["ack", "reply", "accept"]),
]


def seed_demo_leads() -> int:
    users = {u.username: u for u in db.session.execute(sa.select(User)).scalars()}
    codes = {a.code: a.id for a in db.session.execute(sa.select(Agency)).scalars()}
    existing = set(db.session.execute(sa.select(Lead.party_name)).scalars())
    added = 0
    for sender, code, party, credit, matter, facts, place, ago, steps in DEMO_LEADS:
        if party in existing or sender not in users or code not in codes:
            continue
        now = utcnow() - timedelta(days=ago)
        receiver = next((u for u in users.values() if u.agency_id == codes[code] and u.role != "viewer"), None)
        try:
            lead = services.refer(users[sender], {"to_agency_id": codes[code], "party_name": party,
                                                  "party_credit_code": credit, "matter": matter, "facts": facts,
                                                  "place": place}, now=now)
            if receiver and "ack" in steps:
                services.acknowledge(receiver, lead.id, now=now + timedelta(hours=3))
            if receiver and "reply" in steps:
                services.reply(receiver, lead.id, {"outcome": "flexible", "measure": "notice_advice",
                                                   "note": "经核查属实，已书面告知整改建议，当事人承诺限期整改。"},
                               now=now + timedelta(days=2))
            if "accept" in steps:
                services.accept(users[sender], lead.id, "同意办结。", now=now + timedelta(days=3))
        except DomainError:
            db.session.rollback()  # e.g. no calendar data yet for a deadline: skip this demo lead
            continue
        added += 1
    return added
