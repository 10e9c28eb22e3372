"""A demo district that is alive: interviews, minutes, follow-up visits, leads in every state, a police
referral and lists under review, dated relative to today on the working-day calendar.

Everything is made through the features' own services (so the audit trail, the events, the
notifications and the invitations are real), as the demo accounts would make it, with `now`
moved back where a step happened in the past. Each story (`scenario`) is made once: the records it
made are listed in `demo_record`, and a later `seed-demo` skips a story that is already there.
`seed-demo --reset` deletes the records the stories made (only those) and makes them again for
today; the demo lists are kept and only put back under review. A date the calendar does not hold
stops the seed with a message naming the day: demo dates are never guessed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from io import BytesIO
from typing import Any

import sqlalchemy as sa
from flask import current_app
from PIL import Image

from coord.accounts.models import User
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.credit_code import check_digit
from coord.dbtypes import utcnow, write_lock
from coord.district.models import DemoRecord
from coord.errors import Conflict, DomainError
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import FollowUp, Interview
from coord.lists import services as lists
from coord.lists.models import ListVersion
from coord.mailin import services as mailin
from coord.mailin.queries import invitees_of
from coord.minutes import services as minutes
from coord.notifications.services import forget_records
from coord.party import answers, feedback, links, proofs
from coord.referrals import police
from coord.referrals import services as referrals
from coord.referrals.letter import attach_letter
from coord.referrals.storage import Upload
from coord.scheduling import services as scheduling
from coord.scheduling.models import Room
from coord.timeutil import isoformat_local, local_datetime, to_local
from coord.workdays.services import CalendarMissing, known_days


class DistrictError(RuntimeError):
    """The demo district cannot be made (a missing calendar year, missing demo accounts, production)."""


# --- dates on the working-day calendar ---------------------------------------------------------------

@dataclass
class Calendar:
    """Working days around today, read once; asking for a day outside it is a clear error."""

    today: date
    days: dict[date, bool]

    @classmethod
    def around(cls, today: date, back: int = 60, ahead: int = 21) -> Calendar:
        start, end = today - timedelta(days=back), today + timedelta(days=ahead)
        days = known_days(start, end)
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            if day not in days:
                raise DistrictError(
                    f"演示数据需要 {start.isoformat()} 至 {end.isoformat()} 的工作日历，"
                    f"但缺少 {day.isoformat()}：{CalendarMissing(day)}（演示日期不会按周一至周五猜测。）")
        return cls(today, days)

    def shift(self, n: int) -> date:
        """The n-th working day after today (n > 0) or before it (n < 0); n = 0 is today."""
        day, step, left = self.today, (1 if n > 0 else -1), abs(n)
        while left:
            day += timedelta(days=step)
            if day not in self.days:
                raise DistrictError(f"演示数据需要 {day.isoformat()} 的工作日历：{CalendarMissing(day)}")
            if self.days[day]:
                left -= 1
        return day

    def is_workday(self, day: date) -> bool:
        return self.days.get(day, False)


def at(day: date, hhmm: str) -> datetime:
    return local_datetime(day, time.fromisoformat(hhmm))


def credit_code(body: str) -> str:
    """A valid 统一社会信用代码 from its first 17 characters (demo parties)."""
    return body + check_digit(body)


# --- recording what a story made ---------------------------------------------------------------------

@dataclass
class Story:
    name: str
    made: list[tuple[str, int]] = field(default_factory=list)

    def keep(self, entity: str, entity_id: int) -> None:
        self.made.append((entity, entity_id))
        known = db.session.execute(sa.select(DemoRecord.id).where(
            DemoRecord.entity == entity, DemoRecord.entity_id == entity_id)).first()
        if known is None:
            db.session.add(DemoRecord(scenario=self.name, entity=entity, entity_id=entity_id))
            db.session.commit()


@dataclass
class Cast:
    """The demo accounts and the places the stories use."""

    users: dict[str, User]
    agencies: dict[str, Agency]
    rooms: dict[str, Room]

    def __getitem__(self, username: str) -> User:
        return db.session.get(User, self.users[username].id)  # fresh: services commit and expire

    def agency(self, code: str) -> int:
        return self.agencies[code].id

    def room(self, name: str) -> int | None:
        room = self.rooms.get(name)
        return room.id if room else None


USERNAMES = ("admin", "scjg_coord", "scjg_officer", "cgj_coord", "cgj_officer", "gafj_officer", "sthj_coord",
             "viewer")


def _cast() -> Cast:
    users = {u.username: u for u in db.session.execute(sa.select(User).where(User.username.in_(USERNAMES))).scalars()}
    missing = [name for name in USERNAMES if name not in users]
    if missing:
        raise DistrictError("演示账号缺失：" + "、".join(missing) + "。请先运行 seed-demo（不带参数）或恢复这些账号。")
    agencies = {a.code: a for a in db.session.execute(sa.select(Agency)).scalars()}
    rooms = {r.name: r for r in db.session.execute(sa.select(Room)).scalars()}
    return Cast(users, agencies, rooms)


# --- interviews ---------------------------------------------------------------------------------------

ROOM_SFJ, ROOM_SCJG, ROOM_CGJ = "区司法局第一会议室", "区市场监管局约谈室", "区城市管理局会议室"
TIMES = ("09:30", "10:30", "14:30", "15:30", "09:00", "14:00", "16:00")


def _interview(cast: Cast, cal: Calendar, organiser: str, day: date, data: dict[str, Any], *,
               now: datetime | None = None, not_before: datetime | None = None) -> Interview:
    """Create and schedule an interview on `day` (the first free of a few times): at `now`, or as if
    created five working days before it (the notice rule), when it lies in the past or too soon."""
    user = cast[organiser]
    created = now
    if created is None:
        back, left = day, 5
        while left:
            back -= timedelta(days=1)
            if back not in cal.days:
                raise DistrictError(f"演示数据需要 {back.isoformat()} 的工作日历：{CalendarMissing(back)}")
            left -= cal.days[back]
        created = at(back, "09:00")
    last: DomainError | None = None
    for hhmm in TIMES:
        start = at(day, hhmm)
        if not_before is not None and start <= not_before:
            continue
        try:
            return interviews.create(user, {**data, "start": start}, now=created)
        except Conflict as err:  # someone (or an earlier story) holds that time: try the next one
            db.session.rollback()
            last = err
    raise DistrictError(f"演示约谈“{data['title']}”在 {day.isoformat()} 找不到空闲时段：{last.message if last else ''}")


def _minutes_content(cast: Cast, interview: Interview, recorder: str, rectifications: list[tuple[str, date]],
                     turns: list[tuple[str, str]], statement: str) -> dict[str, Any]:
    start = to_local(interview.start_at)
    return {
        "started_at": (start + timedelta(minutes=5)).isoformat(),
        "ended_at": (start + timedelta(minutes=70)).isoformat(),
        "place": interview.room.name if interview.room else "约谈室",
        "matter": interview.matter or interview.title,
        "interviewer_ids": [p.user_id for p in interview.participants if p.user.cert_number],
        "recorder_id": cast[recorder].id,
        "attendees": [{"name": a.name, "post": a.post} for a in interview.attendees],
        "turns": [{"q": q, "a": a} for q, a in turns],
        "statement": statement,
        "rectifications": [{"requirement": r, "deadline": d.isoformat()} for r, d in rectifications],
        "undertaking": True,
        "refused_to_sign": None,
    }


def story_held_scjg(cast: Cast, cal: Calendar, story: Story) -> None:
    """区市场监管局 and 区城市管理局 held an interview 12 working days ago; final minutes; four visits:
    one overdue, one rectified, one not rectified and escalated into a lead, one due next week."""
    day = cal.shift(-12)
    interview = _interview(cast, cal, "scjg_coord", day, {
        "title": "某连锁餐饮企业食品安全与占道经营问题联合约谈",
        "problem_kind": "regional", "region_agency_id": cast.agency("xlk"),
        "party": {"name": "重庆某味餐饮管理有限公司", "credit_code": credit_code("91500106MA5UD2E8K"),
                  "address": "沙坪坝区小龙坎正街 88 号"},
        "attendees": [{"name": "黄某", "post": "法定代表人", "email": "huang@example.com"},
                      {"name": "罗某", "post": "门店经理"}],
        "lead_agency_id": cast.agency("scjgj"), "agency_ids": [cast.agency("cgj")],
        "participant_ids": [cast["scjg_coord"].id, cast["scjg_officer"].id, cast["cgj_officer"].id],
        "room_id": cast.room(ROOM_SCJG), "duration_minutes": 90,
        "matter": "后厨卫生不达标、门前占道经营",
        "legal_basis": "《中华人民共和国食品安全法》；《重庆市市容环境卫生管理条例》",
    })
    story.keep("interview", interview.id)
    interviews.respond(cast["cgj_coord"], interview.id, "confirmed")
    overdue, rectified, escalated, upcoming = cal.shift(-4), cal.shift(-8), cal.shift(-6), cal.shift(1)
    content = _minutes_content(cast, interview, "scjg_officer", [
        ("后厨按规范分区并完成清洁消毒", overdue),
        ("更换过期的食品经营许可证公示牌", rectified),
        ("停止门前占道摆放桌椅", escalated),
        ("建立每日食品安全自查台账", upcoming),
    ], [("你单位后厨为何生熟不分？", "操作间面积小，员工图方便，我们马上整改。"),
        ("门前占道经营持续多久？", "约两个月，晚间高峰时段摆放桌椅。")],
        "我公司认识到问题，保证按期完成整改并接受回访。")
    minutes.save(cast["scjg_officer"], interview.id, content, 0)
    finished = interview.start_at + timedelta(hours=2)
    minutes.finalize(cast["scjg_coord"], interview.id, now=finished)
    visits = {v.item.requirement[:4]: v for v in db.session.execute(
        sa.select(FollowUp).where(FollowUp.interview_id == interview.id)).scalars()}
    good = visits["更换过期"]
    interviews.record_visit(cast["scjg_officer"], good.id, "rectified", "已更换公示牌，现场核实。",
                            now=at(good.due, "10:00"))
    bad = visits["停止门前"]
    visit_time = at(bad.due, "10:30")
    interviews.record_visit(cast["scjg_officer"], bad.id, "not_rectified", "晚间仍在门前摆放桌椅，劝导无效。",
                            now=visit_time)
    visit = interviews.escalate(cast["scjg_coord"], bad.id, {"to_agency_id": cast.agency("cgj")},
                                now=visit_time + timedelta(hours=2))
    story.keep("lead", visit.lead_id)
    # 区城市管理局 took the escalated lead the next working day: it is being verified.
    next_day = bad.due + timedelta(days=1)
    while not cal.is_workday(next_day):
        next_day += timedelta(days=1)
    referrals.acknowledge(cast["cgj_officer"], visit.lead_id, now=at(next_day, "09:30"))


def story_held_cgj(cast: Cast, cal: Calendar, story: Story) -> None:
    """区城市管理局 (with 区生态环境局) held an interview 15 working days ago; final minutes; the visit is due today."""
    day = cal.shift(-15)
    interview = _interview(cast, cal, "cgj_coord", day, {
        "title": "某建筑工地夜间施工噪声及扬尘问题联合约谈",
        "problem_kind": "sector", "sector": "建筑施工",
        "party": {"name": "重庆某建设工程有限公司", "credit_code": credit_code("91500106MA60B3X7N"),
                  "address": "沙坪坝区西永大道 16 号"},
        "attendees": [{"name": "邓某", "post": "项目经理", "email": "deng@example.com"}],
        "lead_agency_id": cast.agency("cgj"), "agency_ids": [cast.agency("sthjj")],
        "participant_ids": [cast["cgj_coord"].id, cast["cgj_officer"].id, cast["sthj_coord"].id],
        "room_id": cast.room(ROOM_CGJ), "duration_minutes": 60,
        "matter": "夜间超时施工、渣土运输扬尘", "legal_basis": "《中华人民共和国噪声污染防治法》",
    })
    story.keep("interview", interview.id)
    interviews.respond(cast["sthj_coord"], interview.id, "confirmed")
    due_today = cal.shift(-1)  # deadline yesterday: the visit falls due today
    content = _minutes_content(cast, interview, "cgj_officer",
                               [("22 时后停止高噪声作业，渣土车辆覆盖后出场", due_today)],
                               [("夜间施工是否办理了许可？", "没有办理，赶工期。")], "保证整改，按规定时段施工。")
    minutes.save(cast["cgj_officer"], interview.id, content, 0)
    minutes.finalize(cast["cgj_coord"], interview.id, now=interview.start_at + timedelta(hours=2))


def story_held_draft(cast: Cast, cal: Calendar, story: Story) -> None:
    """区生态环境局 held an interview two working days ago; the minutes are a draft, not yet final."""
    day = cal.shift(-2)
    interview = _interview(cast, cal, "sthj_coord", day, {
        "title": "某汽修厂露天喷漆废气排放问题约谈",
        "problem_kind": "regional", "region_agency_id": cast.agency("jk"),
        "party": {"name": "重庆某达汽车维修有限公司", "credit_code": credit_code("91500106MA61C4Y8P")},
        "attendees": [{"name": "钟某", "post": "负责人"}],
        "lead_agency_id": cast.agency("sthjj"), "agency_ids": [cast.agency("cgj")],
        "participant_ids": [cast["sthj_coord"].id, cast["cgj_officer"].id],
        "room_id": cast.room(ROOM_SFJ), "duration_minutes": 60,
        "matter": "露天喷漆，未配套废气处理设施", "legal_basis": "《中华人民共和国大气污染防治法》",
    })
    story.keep("interview", interview.id)
    interviews.respond(cast["cgj_coord"], interview.id, "confirmed")
    interviews.mark_held(cast["sthj_coord"], interview.id, now=interview.start_at + timedelta(hours=1))
    content = _minutes_content(cast, interview, "sthj_coord", [("停止露天喷漆，建设密闭喷漆房", cal.shift(8))],
                               [("喷漆作业在哪里进行？", "在院坝里。")], "")
    content["turns"].append({"q": "废气如何处理？", "a": ""})  # the recorder has not finished: still a draft
    minutes.save(cast["sthj_coord"], interview.id, content, 0)


def story_tomorrow(cast: Cast, cal: Calendar, story: Story, now: datetime) -> None:
    """Tomorrow (or later today, or the next working day): 区市场监管局 with 区城市管理局 (confirmed) and
    the office's agency (not yet confirmed); an observer of the office attends."""
    tomorrow = cal.today + timedelta(days=1)
    if cal.is_workday(tomorrow):
        day = tomorrow
    elif cal.is_workday(cal.today) and now < at(cal.today, "15:00"):
        day = cal.today
    else:
        day = cal.shift(1)
    interview = _interview(cast, cal, "scjg_coord", day, {
        "title": "某商场广告使用绝对化用语问题约谈",
        "problem_kind": "sector", "sector": "广告发布",
        "party": {"name": "重庆某汇商业管理有限公司", "credit_code": credit_code("91500106MA5YF5W9Q")},
        "attendees": [{"name": "唐某", "post": "运营总监", "email": "tang@example.com"}],
        "lead_agency_id": cast.agency("scjgj"), "agency_ids": [cast.agency("cgj"), cast.agency("sfj")],
        "participant_ids": [cast["scjg_coord"].id, cast["cgj_officer"].id, cast["viewer"].id],
        "room_id": cast.room(ROOM_SFJ), "duration_minutes": 60,
        "matter": "商场户外广告使用“最高级”等绝对化用语", "legal_basis": "《中华人民共和国广告法》第九条",
    }, not_before=now)
    story.keep("interview", interview.id)
    interviews.respond(cast["cgj_coord"], interview.id, "confirmed")


def story_upcoming(cast: Cast, cal: Calendar, story: Story, now: datetime) -> None:
    """Next week: 区城市管理局 invites 区市场监管局 and 区生态环境局, who have not confirmed yet."""
    interview = _interview(cast, cal, "cgj_coord", cal.shift(4), {
        "title": "磁器口景区周边商户占道经营及消费纠纷联合约谈",
        "problem_kind": "regional", "region_agency_id": cast.agency("cqk"),
        "party": {"name": "重庆某古镇旅游开发有限公司", "credit_code": credit_code("91500106MA5XG6A1R")},
        "attendees": [{"name": "彭某", "post": "总经理", "email": "peng@example.com"}],
        "lead_agency_id": cast.agency("cgj"), "agency_ids": [cast.agency("scjgj"), cast.agency("sthjj")],
        "participant_ids": [cast["cgj_coord"].id, cast["cgj_officer"].id, cast["scjg_officer"].id,
                            cast["sthj_coord"].id],
        "room_id": cast.room(ROOM_CGJ), "duration_minutes": 90,
        "matter": "商户占道经营、价格标示不规范",
        "legal_basis": "《重庆市市容环境卫生管理条例》；《中华人民共和国价格法》",
    }, now=now)
    story.keep("interview", interview.id)
    later = _interview(cast, cal, "scjg_coord", cal.shift(5), {
        "title": "某网吧接纳未成年人问题约谈",
        "problem_kind": "sector", "sector": "互联网上网服务",
        "party": {"name": "沙坪坝区某速网吧", "credit_code": credit_code("92500106MA5WH7B2T")},
        "attendees": [{"name": "冯某", "post": "经营者"}],
        "lead_agency_id": cast.agency("scjgj"), "agency_ids": [cast.agency("gafj")],
        "participant_ids": [cast["scjg_officer"].id, cast["gafj_officer"].id],
        "room_id": cast.room(ROOM_SCJG), "duration_minutes": 60,
        "matter": "接纳未成年人、未核验身份证件", "legal_basis": "《互联网上网服务营业场所管理条例》",
    }, now=now)
    story.keep("interview", later.id)


# --- leads ----------------------------------------------------------------------------------------------

@dataclass
class LeadPlan:
    sender: str
    to: str
    party: str
    matter: str
    facts: str
    referred: int  # working days ago
    steps: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)  # (step, working days ago, args)
    urgency: str = "normal"


LEADS: list[LeadPlan] = [
    LeadPlan("scjg_coord", "sthjj", "重庆某洁洗涤有限公司", "涉嫌超标排放洗涤废水",
             "群众举报该公司夜间向雨水管网排放洗涤废水，市场巡查时发现排口有泡沫。", 0, urgency="urgent"),
    LeadPlan("cgj_coord", "gafj", "沙坪坝区某某茶楼", "涉嫌容留赌博",
             "城管巡查中接群众反映，该茶楼深夜聚集人员疑似赌博。", 0),
    LeadPlan("scjg_coord", "cgj", "某某烧烤夜市摊群", "占道经营、油烟扰民",
             "市场巡查发现夜市摊群占用人行道经营，油烟直排居民楼。", 3, [("supervise", 1, {})]),
    LeadPlan("cgj_coord", "scjgj", "重庆某鲜超市有限公司", "涉嫌销售过期食品",
             "城管巡查时接顾客投诉，称购买的熟食已过保质期。", 5, [("ack", 4, {})]),
    LeadPlan("cgj_coord", "scjgj", "重庆某家装饰材料经营部", "涉嫌无照经营",
             "巡查发现该经营部未悬挂营业执照，经营者称尚未办理。", 4, [("ack", 3, {}), ("extension", 1, {})]),
    LeadPlan("scjg_coord", "cgj", "某某建材临时堆场", "随意堆放建筑垃圾",
             "市场巡查发现堆场外人行道堆放建筑垃圾，影响通行。", 6,
             [("ack", 5, {}), ("reply", 2, {"outcome": "case_opened", "case_number": "沙城管罚〔2026〕118号"})]),
    LeadPlan("sthj_coord", "scjgj", "重庆某驰汽车销售有限公司", "涉嫌虚假宣传",
             "执法检查中发现其宣传册标注“零排放”，与实际不符。", 10,
             [("ack", 9, {}), ("reply", 6, {"outcome": "case_opened", "case_number": "沙市监罚〔2026〕256号"}),
              ("accept", 5, {})]),
    LeadPlan("scjg_coord", "sthjj", "沙坪坝区某某干洗店", "涉嫌未按规定公示营业执照",
             "该事项属市场监管职责，误移交测试用。", 2, [("return", 1, {})]),
    LeadPlan("cgj_coord", "scjgj", "重庆某记火锅店", "涉嫌未按规定明码标价",
             "巡查发现菜单未标示价格，顾客结账时发生纠纷。", 7,
             [("ack", 6, {}), ("reply", 3, {}), ("send_back", 1, {})]),
    LeadPlan("sthj_coord", "cgj", "某某洗车场", "污水直排市政道路",
             "执法检查中发现洗车污水直接排入路面，影响市容。", 12, [("ack", 11, {})], urgency="urgent"),
]


def _lead_step(cast: Cast, cal: Calendar, lead_id: int, plan: LeadPlan, step: str, ago: int,
               args: dict[str, Any]) -> None:
    when = at(cal.shift(-ago), "10:00") if ago else min(utcnow(), at(cal.today, "10:00"))
    receiver = {"sthjj": "sthj_coord", "gafj": "gafj_officer", "cgj": "cgj_officer", "scjgj": "scjg_officer"}[plan.to]
    if step == "ack":
        referrals.acknowledge(cast[receiver], lead_id, now=when)
    elif step == "reply":
        note = "经核查属实，已书面告知整改建议，当事人承诺限期整改。"
        reply = {"outcome": "flexible", "measure": "notice_advice", "note": note, **args}
        referrals.reply(cast[receiver], lead_id, reply, now=when)
    elif step == "accept":
        referrals.accept(cast[plan.sender], lead_id, "同意办结。", now=when)
    elif step == "send_back":
        referrals.send_back(cast[plan.sender], lead_id, "请补充现场照片和当事人整改承诺。", now=when)
    elif step == "return":
        referrals.return_lead(cast[receiver], lead_id, "该事项属市场监管部门职责，不属于本单位管辖。", now=when)
    elif step == "extension":
        referrals.request_extension(cast[receiver], lead_id, 5, "需调取近三个月的经营记录，核查时间不足。", now=when)
    elif step == "supervise":
        referrals.supervise(cast["admin"], lead_id, "该线索已超过签收期限，请于今日内签收并报告进展。", now=when)


def story_leads(cast: Cast, cal: Calendar, story: Story) -> None:
    for plan in LEADS:
        referred = at(cal.shift(-plan.referred), "09:00") if plan.referred else min(utcnow(), at(cal.today, "09:00"))
        lead = referrals.refer(cast[plan.sender], {
            "to_agency_id": cast.agency(plan.to), "party_name": plan.party, "matter": plan.matter,
            "facts": plan.facts, "urgency": plan.urgency, "place": "沙坪坝区",
        }, now=referred)
        story.keep("lead", lead.id)
        for step, ago, args in plan.steps:
            _lead_step(cast, cal, lead.id, plan, step, ago, args)


def story_police(cast: Cast, cal: Calendar, story: Story, now: datetime) -> None:
    """区城市管理局 hands a suspected crime to the police: waiting for the receipt (art. 7)."""
    started = now - timedelta(hours=20)
    officer, coord = cast["cgj_officer"], cast["cgj_coord"]
    item = police.create(officer, {"party_name": "某某渣土运输车队", "suspected_crime": "污染环境罪",
                                   "facts": "车队多次在嘉陵江岸非法倾倒建筑垃圾，经检测含危险废物，数量巨大。",
                                   "police_agency_id": cast.agency("gafj")}, now=started)
    story.keep("police_referral", item.id)
    police.approve(coord, item.id, True, "同意移送。", now=started + timedelta(hours=2))
    attach_letter(officer, item.id)
    report = "涉嫌犯罪案件调查报告\n\n经调查，该车队多次非法倾倒建筑垃圾，现场检测含危险废物。\n".encode()
    police.add_materials(officer, item.id, [Upload("调查报告.txt", report, "report")])
    police.hand_over(officer, item.id, now=started + timedelta(hours=4))


def story_busy(cast: Cast, cal: Calendar, story: Story) -> None:
    """A few busy times, so the schedule and the slot finder have something to avoid."""
    for username, day, start, end, reason in [
        ("scjg_officer", cal.shift(2), "14:00", "17:30", "全市市场监管培训"),
        ("cgj_officer", cal.shift(3), "09:00", "12:00", "专项整治行动"),
        ("sthj_coord", cal.shift(1), "09:00", "17:30", "外出执法检查"),
    ]:
        block = scheduling.add_busy(cast[username], cast[username].id, at(day, start), at(day, end), reason)
        story.keep("busy_block", block.id)


# --- the two lists (kept on reset; only put back under review) ------------------------------------------

SFJ_POSITIVE = [
    {"matter": "律师事务所未按规定办理变更备案", "matter_code": "330265001000",
     "circumstances": "首次被发现，未造成危害后果，在责令期限内办理备案的。",
     "legal_basis": "《律师事务所管理办法》第二十六条；《中华人民共和国行政处罚法》第三十三条第一款。",
     "measures": "告知建议、回访", "remarks": ""},
    {"matter": "基层法律服务所未按规定公示执业信息", "matter_code": "330265004000",
     "circumstances": "首次被发现，经告知后立即改正的。",
     "legal_basis": "《基层法律服务所管理办法》第二十条。", "measures": "劝导、告知建议", "remarks": ""},
]
SFJ_NEGATIVE = [
    {"matter": "律师以不正当手段承揽业务", "matter_code": "330265010000",
     "circumstances": "一般：首次被发现的\n较重：一年内两次以上的\n严重：造成当事人重大损失的",
     "legal_basis": "《中华人民共和国律师法》第四十八条。", "remarks": "从重处罚"},
]
STHJ_NEGATIVE = [
    {"matter": "通过暗管、渗井等逃避监管的方式排放水污染物", "matter_code": "330290005000",
     "circumstances": "较重：排放量较小，未造成明显污染的\n严重：造成水体污染或者一年内再次违法的",
     "legal_basis": "《中华人民共和国水污染防治法》第三十九条、第八十三条。",
     "remarks": "依法从重处罚，涉嫌犯罪的移送公安机关"},
    {"matter": "未批先建、未验先投", "matter_code": "330290011000",
     "circumstances": "一般：主动停止建设并补办手续的\n较重：责令停止建设后拒不停止的",
     "legal_basis": "《中华人民共和国环境影响评价法》第三十一条。", "remarks": ""},
]
CGJ_EXTRA = {"matter": "店外晾晒、吊挂影响市容", "matter_code": "330112009000",
             "circumstances": "首次被发现，经劝导立即整改的。",
             "legal_basis": "《重庆市市容环境卫生管理条例》第二十六条。", "measures": "劝导", "remarks": ""}


def _open(agency_id: int, kind: str) -> ListVersion | None:
    return lists.open_version(agency_id, kind)


def _fill(user: User, agency_id: int, kind: str, rows: list[dict[str, Any]]) -> ListVersion:
    version = lists.start_draft(user, agency_id, kind)
    have = {i.matter for i in version.items}
    for row in rows:
        if row["matter"] not in have:
            lists.add_item(user, version.id, row)
    return db.session.get(ListVersion, version.id)


def story_lists(cast: Cast, cal: Calendar, story: Story, *, ensure: bool = False) -> None:
    """The office's own agency publishes both lists; 区生态环境局's negative list waits for review; 区城市管理局's
    revised positive list was returned for changes. With `ensure`, only what is no longer so is redone."""
    admin, sfj = cast["admin"], cast.agency("sfj")
    for kind, rows in (("positive", SFJ_POSITIVE), ("negative", SFJ_NEGATIVE)):
        if lists.published_version(sfj, kind) is None:
            version = _fill(admin, sfj, kind, rows)
            if version.state in ("draft", "returned"):
                lists.submit(admin, version.id)
            lists.review(admin, version.id, "approve", "")
            story.keep("list_version", version.id)
    sthj, coord = cast.agency("sthjj"), cast["sthj_coord"]
    current = _open(sthj, "negative")
    if current is None or current.state != "submitted":
        version = _fill(coord, sthj, "negative", STHJ_NEGATIVE)
        lists.submit(coord, version.id)
        story.keep("list_version", version.id)
    cgj, cgj_coord = cast.agency("cgj"), cast["cgj_coord"]
    current = _open(cgj, "positive")
    if current is None or current.state != "returned":
        if current is not None and current.state == "submitted":
            version = current
        else:
            version = _fill(cgj_coord, cgj, "positive", [CGJ_EXTRA])
            lists.submit(cgj_coord, version.id)
        lists.review(admin, version.id, "return", "新增事项“店外晾晒”的依据条款有误，请核对《条例》条文后重新提交。")
        story.keep("list_version", version.id)


# --- the party and the invitees answer (#15, #16) -------------------------------------------------------

PORTAL_IP = "127.0.0.1"  # what the audit trail records as the party's address for the demo's answers


def _demo_interview(scenario: str, title: str) -> Interview:
    """The story's interview; the newest of that title (a reset makes the new ones before removing the old)."""
    interview = db.session.execute(sa.select(Interview).join(DemoRecord, sa.and_(
        DemoRecord.entity == "interview", DemoRecord.entity_id == Interview.id)).where(
        DemoRecord.scenario == scenario, Interview.title == title)
        .order_by(Interview.id.desc()).limit(1)).scalar_one_or_none()
    if interview is None:
        raise DistrictError(f"演示约谈“{title}”缺失（{scenario}）：请运行 seed-demo --reset 重新生成。")
    return interview


def _party_token(interview: Interview) -> str:
    link = next(iter(links.live_links(interview.id)), None)
    if link is None:
        raise DistrictError(f"演示约谈“{interview.title}”没有当事人链接。")
    return links.token_for(link)


def story_party(cast: Cast, cal: Calendar, story: Story, now: datetime) -> None:
    """The party confirms tomorrow's interview; the party of next week's 磁器口 interview asks for another
    time and 区生态环境局's coordinator declines it from the answer link; the party of the interview held
    12 working days ago sends proof for the item due next week and rates the interview."""
    tomorrow = _demo_interview("tomorrow", "某商场广告使用绝对化用语问题约谈")
    answers.confirm(_party_token(tomorrow), PORTAL_IP, now=now)

    upcoming = _demo_interview("upcoming", "磁器口景区周边商户占道经营及消费纠纷联合约谈")
    offered, why = answers.offered_slots(upcoming, now=now)
    if not offered:
        raise DistrictError(f"演示约谈“{upcoming.title}”没有可供当事人选择的时段：{why}")
    request = answers.request_reschedule(_party_token(upcoming), PORTAL_IP, "法定代表人当天在外地参加展会",
                                         [isoformat_local(s.start) for s in offered[:2]], now=now)
    story.keep("party_response", request.id)
    sthj = invitees_of(upcoming).get(cast["sthj_coord"].email.lower())
    if sthj is not None:
        mailin.record_answer(upcoming, sthj, "DECLINED", "当天有环保督察迎检任务，建议改期", upcoming.sequence,
                             now, source="link", now=now)
        db.session.commit()

    held = _demo_interview("held-scjg", "某连锁餐饮企业食品安全与占道经营问题联合约谈")
    token = _party_token(held)
    item = next(i for i in held.items if i.requirement.startswith("建立每日食品安全自查台账"))
    proof = proofs.upload(token, PORTAL_IP, item.id, [Upload("自查台账（第一周）.pdf", _demo_pdf())],
                          "已建立每日自查台账，附第一周记录。")
    story.keep("party_proof", proof.id)
    feedback.give(token, PORTAL_IP, "interview", 5, 5, "约谈流程清楚，工作人员讲解耐心。")


def _demo_pdf() -> bytes:
    """A one-page PDF for the demo's proof (the upload checks the type from the content)."""
    out = BytesIO()
    Image.new("RGB", (200, 120), "white").save(out, "PDF")
    return out.getvalue()


# --- running the stories --------------------------------------------------------------------------------

Runner = Callable[[Cast, Calendar, Story, datetime], None]


def _stories() -> list[tuple[str, Runner]]:
    return [
        ("held-scjg", lambda c, cal, s, now: story_held_scjg(c, cal, s)),
        ("held-cgj", lambda c, cal, s, now: story_held_cgj(c, cal, s)),
        ("held-draft", lambda c, cal, s, now: story_held_draft(c, cal, s)),
        ("tomorrow", story_tomorrow),
        ("upcoming", story_upcoming),
        ("leads", lambda c, cal, s, now: story_leads(c, cal, s)),
        ("police", story_police),
        ("busy", lambda c, cal, s, now: story_busy(c, cal, s)),
        ("lists", lambda c, cal, s, now: story_lists(c, cal, s)),
        ("party", story_party),
    ]


def seed(*, reset: bool = False, now: datetime | None = None) -> dict[str, int]:
    """Make the stories that are missing; with `reset`, make them all anew and then delete the earlier
    ones (made first, so no id of a deleted record is ever given to a new one). Returns records per story."""
    if reset and current_app.config.get("COORD_ENV") == "production":
        raise DistrictError("生产环境（COORD_ENV=production）不能重置演示数据。")
    now = now or utcnow()
    cal = Calendar.around(to_local(now).date())
    cast = _cast()
    earlier = db.session.execute(sa.select(DemoRecord.entity, DemoRecord.entity_id).where(
        DemoRecord.entity != "list_version")).all() if reset else []
    have = set() if reset else set(db.session.execute(sa.select(DemoRecord.scenario).distinct()).scalars())
    made: dict[str, int] = {}
    for name, run in _stories():
        if name in have:
            continue
        story = Story(name)
        try:
            if name == "lists":
                story_lists(cast, cal, story, ensure=reset)
            else:
                run(cast, cal, story, now)
        except DomainError as err:
            db.session.rollback()
            raise DistrictError(f"演示数据“{name}”未能生成：{err.message}"
                                "（修正后运行 seed-demo --reset 重新生成）") from err
        made[name] = len(story.made)
    if reset:
        removed = remove(earlier)
        made["removed"] = sum(removed.values())
    return made


# --- removing what the stories made (reset) -------------------------------------------------------------

def remove(records: list[tuple[str, int]]) -> dict[str, int]:
    """Delete these demo records (never the lists) and what hangs on them, in one transaction; their
    audit history stays and ends with an entry saying the demo record was deleted."""
    write_lock(db.session)
    ids: dict[str, list[int]] = {}
    for entity, entity_id in records:
        ids.setdefault(entity, []).append(entity_id)
    interview_ids, lead_ids = ids.get("interview", []), ids.get("lead", [])
    police_ids = ids.get("police_referral", [])
    with _immutable_rows_deletable():
        for table in ("interview", "police_referral", "lead", "busy_block"):
            if ids.get(table):
                _delete_with_dependents(table, ids[table])
    for entity, record_ids in (("interview", interview_ids), ("lead", lead_ids), ("police_referral", police_ids)):
        forget_records(entity, record_ids)
        for record_id in record_ids:
            audit.record(None, "demo.delete", entity, record_id,
                         summary="演示数据重置：该演示记录已删除，由新生成的演示记录代替")
    if records:
        db.session.execute(sa.delete(DemoRecord).where(sa.tuple_(DemoRecord.entity, DemoRecord.entity_id).in_(
            records)).execution_options(synchronize_session=False))
    audit.record(None, "demo.reset", "demo_record", "district",
                 summary=f"重置演示数据：删除此前生成的 {len(records)} 条演示记录",
                 after={k: len(v) for k, v in ids.items()})
    db.session.commit()
    return {entity: len(values) for entity, values in ids.items()}


def _in(sql: str, values: list[int]) -> None:
    db.session.execute(sa.text(sql).bindparams(sa.bindparam("ids", expanding=True)), {"ids": values})


# Rows that hang on a demo record go with it, whichever feature made them (party links, calendar answers,
# measures, bookings, ...): found through the foreign keys, so a new feature's tables need no entry here.
# A nullable key from another record only loses the link, except where the row belongs to the record.
_OWNED_BY_PARENT = {("follow_up", "interview_id"), ("follow_up", "item_id"), ("measure", "interview_id"),
                    ("measure", "lead_id"), ("measure", "follow_up_id")}


def _delete_with_dependents(table_name: str, ids: list[int]) -> None:
    if not ids:
        return
    parent = db.metadata.tables[table_name]
    for child in db.metadata.sorted_tables:
        for fk in child.foreign_keys:
            if fk.column.table is not parent or fk.column.name != "id":
                continue
            col = fk.parent
            if child is parent:  # a lead merged into another: only the link goes
                _in(f"UPDATE {child.name} SET {col.name} = NULL WHERE {col.name} IN :ids", ids)
            elif col.nullable and (child.name, col.name) not in _OWNED_BY_PARENT:
                _in(f"UPDATE {child.name} SET {col.name} = NULL WHERE {col.name} IN :ids", ids)
            elif "id" in child.c:
                rows = list(db.session.execute(sa.select(child.c.id).where(col.in_(ids))).scalars())
                _delete_with_dependents(child.name, rows)
            else:
                db.session.execute(sa.delete(child).where(col.in_(ids)))
    _in(f"DELETE FROM {table_name} WHERE id IN :ids", ids)


# Tables whose rows are immutable by trigger (minutes revisions, signed undertakings).
_IMMUTABLE = ("minutes_revision", "party_undertaking")


class _immutable_rows_deletable:  # noqa: N801 - used as a context manager
    """The demo reset alone lifts the no-delete triggers, inside its own transaction (so a failure
    restores them with everything else)."""

    def __enter__(self) -> None:
        self.sqlite: list[str] = []
        if db.session.get_bind().dialect.name == "postgresql":
            for table in _IMMUTABLE:
                db.session.execute(sa.text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_change"))
            return
        for table in _IMMUTABLE:
            sql = db.session.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
                                     {"n": f"{table}_no_delete"}).scalar()
            if sql:
                db.session.execute(sa.text(f"DROP TRIGGER {table}_no_delete"))
                self.sqlite.append(sql)

    def __exit__(self, *exc: Any) -> None:
        if db.session.get_bind().dialect.name == "postgresql":
            for table in _IMMUTABLE:
                db.session.execute(sa.text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_change"))
        for sql in self.sqlite:
            db.session.execute(sa.text(sql))
