"""Referral of a suspected crime to the police (两法衔接, 国务院令第310号).

Art. 5: the agency head decides within 3 days of the written report whether to refer; if so the
case goes to the police within 24 hours. Art. 6: the materials. Art. 7: the police sign a receipt.
Art. 8: the police decide within 3 days whether to open a case; if not, they give reasons and
return the files. Art. 9: the agency may ask for reconsideration within 3 days of the notice; the
police decide within 3 days. These clocks are in calendar days and hours (the regulation says 日
and 小时), stored as instants (`due_at`, `warn_at`) so overdue is a SQL comparison with now.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext

from coord import events
from coord.accounts.scoping import may_see, require_role
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import Conflict, DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.referrals import services as leads
from coord.referrals.models import MATERIALS, REQUIRED_MATERIALS, PoliceReferral, ReferralFile
from coord.referrals.storage import Upload
from coord.timeutil import to_local

HANDOVER_HOURS = 24
DECIDE_DAYS = 3


def _end_of_day_after(start: datetime, days: int) -> datetime:
    """The end of the n-th calendar day after the local day of `start` (日 counted from the next day)."""
    return leads.end_of_day(to_local(start).date() + timedelta(days=days))


def _set_clock(item: PoliceReferral, clock: str, start: datetime, due: datetime) -> None:
    item.clock, item.due_at = clock, due
    item.warn_at = start + (due - start) * leads.warn_percent() / 100


def _stop_clock(item: PoliceReferral, now: datetime) -> None:
    if item.due_at is not None and now > item.due_at:
        item.late = True
    item.clock = item.due_at = item.warn_at = None


def can_see(user: Any, item: PoliceReferral) -> bool:
    return may_see(user, item.agency_id, item.police_agency_id)


def get_referral(user: Any, referral_id: int) -> PoliceReferral:
    item = db.session.get(PoliceReferral, referral_id) if 0 < referral_id < 2**31 else None
    if item is None or not can_see(user, item):
        raise NotFound("移送记录不存在或您无权查看。")
    return item


def _for_change(user: Any, referral_id: int) -> PoliceReferral:
    write_lock(db.session)
    item = get_referral(user, referral_id)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(PoliceReferral.id).where(PoliceReferral.id == item.id).with_for_update())
        db.session.refresh(item)
    return item


def _agency_side(user: Any, item: PoliceReferral, verb: str, roles: Sequence[str] = leads.ACTING_ROLES) -> None:
    require_role(user, *roles)
    if user.agency_id != item.agency_id:
        raise Forbidden(gettext("只有移送单位（%(agency_name)s）可以%(verb)s。",
                                agency_name=item.agency.name, verb=gettext(verb)))


def _police_side(user: Any, item: PoliceReferral, verb: str) -> None:
    require_role(user, *leads.ACTING_ROLES)
    if user.agency_id != item.police_agency_id:
        raise Forbidden(gettext("只有公安机关（%(police_agency_name)s）可以%(verb)s。",
                                police_agency_name=item.police_agency.name, verb=gettext(verb)))


def _state(item: PoliceReferral, *states: str, message: str) -> None:
    if item.state not in states:
        raise Conflict(message, details={"state": item.state})


def _record(actor: Any, action: str, item: PoliceReferral, summary: str, before: dict | None = None) -> None:
    audit.record(actor, action, "police_referral", item.id, agencies=[item.agency_id, item.police_agency_id],
                 summary=f"{item.number}：{summary}", before=before, after=item.snapshot())


def police_agencies() -> list[Agency]:
    stmt = sa.select(Agency).where(Agency.is_police.is_(True), Agency.active.is_(True)).order_by(Agency.id)
    return list(db.session.execute(stmt).scalars())


def files_of(item: PoliceReferral) -> list[ReferralFile]:
    stmt = sa.select(ReferralFile).where(ReferralFile.police_referral_id == item.id).order_by(ReferralFile.id)
    return list(db.session.execute(stmt).scalars())


def list_for(user: Any, now: datetime) -> list[tuple[PoliceReferral, bool, bool]]:
    """The user's agency's referrals (sent or received), with overdue and warning from SQL."""
    overdue = sa.and_(PoliceReferral.due_at.is_not(None), PoliceReferral.due_at < now)
    warning = sa.and_(PoliceReferral.warn_at.is_not(None), PoliceReferral.warn_at <= now,
                      PoliceReferral.due_at >= now)
    stmt = sa.select(PoliceReferral, overdue, warning).order_by(PoliceReferral.id.desc()).limit(200)
    if not user.is_office:
        stmt = stmt.where(sa.or_(PoliceReferral.agency_id == user.agency_id,
                                 PoliceReferral.police_agency_id == user.agency_id))
    return [(item, bool(o), bool(w)) for item, o, w in db.session.execute(stmt)]


def create(actor: Any, data: dict, now: datetime | None = None) -> PoliceReferral:
    """The case team's written report goes to the head (art. 5): the 3-day approval clock starts."""
    now = now or utcnow()
    require_role(actor, *leads.ACTING_ROLES)
    if not actor.agency.is_enforcement or actor.agency.is_police:
        raise Forbidden("只有行政执法部门可以向公安机关移送涉嫌犯罪案件。")
    write_lock(db.session)
    party = leads._text(data, "party_name", "当事人名称", 200, required=True)
    crime = leads._text(data, "suspected_crime", "涉嫌罪名", 200, required=True)
    facts = leads._text(data, "facts", "涉嫌犯罪的事实", 10000, required=True)
    lead_id = data.get("lead_id")
    lead = None
    if lead_id not in (None, ""):
        try:
            lead = leads.get_lead(actor, leads._int(lead_id, "关联线索", "lead_id"))
        except NotFound:
            raise DomainError("关联线索不存在或您无权查看。", field="lead_id") from None
        if lead.to_agency_id != actor.agency_id:
            raise DomainError("只能关联本单位接收的线索。", field="lead_id")
    police = police_agencies()
    if data.get("police_agency_id") not in (None, ""):
        wanted = leads._int(data["police_agency_id"], "公安机关", "police_agency_id")
        police = [a for a in police if a.id == wanted]
    if not police:
        raise DomainError("请选择有效的公安机关。", field="police_agency_id")
    item = PoliceReferral(agency_id=actor.agency_id, police_agency_id=police[0].id, created_by_id=actor.id,
                          party_name=party, suspected_crime=crime, facts=facts, state="reported",
                          reported_at=now, lead_id=lead.id if lead else None)
    _set_clock(item, "approve", now, _end_of_day_after(now, DECIDE_DAYS))
    db.session.add(item)
    db.session.flush()
    item.number = f"YS{to_local(now).year}{item.id:05d}"
    item.police_agency = police[0]
    _record(actor, "police.report", item, f"报请批准移送涉嫌{crime}案件（{party}）")
    events.announce(events.police_referral_changed, item.id, actor=actor, state=item.state)
    db.session.commit()
    return item


def approve(actor: Any, referral_id: int, approved: Any, note: str = "", now: datetime | None = None
            ) -> PoliceReferral:
    """The head approves (24-hour handover clock starts) or refuses the referral."""
    now = now or utcnow()
    item = _for_change(actor, referral_id)
    _agency_side(actor, item, "审批移送", roles=("admin", "coordinator"))
    _state(item, "reported", message="该移送已审批。")
    if not isinstance(approved, bool):
        raise DomainError("请选择批准或不批准。", field="approve")
    note = leads._text({"note": note}, "note", "审批意见", 2000, required=not approved)
    before = item.snapshot()
    _stop_clock(item, now)
    item.approved_at, item.approval_note = now, note
    if approved:
        item.state = "approved"
        _set_clock(item, "handover", now, now + timedelta(hours=HANDOVER_HOURS))
    else:
        item.state = "not_approved"
    _record(actor, "police.approve", item, "批准移送" if approved else f"不批准移送：{note}", before)
    events.announce(events.police_referral_changed, item.id, actor=actor, state=item.state)
    db.session.commit()
    return item


def add_materials(actor: Any, referral_id: int, uploads: Sequence[Upload]) -> list[ReferralFile]:
    """Art. 6 materials, each with its category; before the handover."""
    item = _for_change(actor, referral_id)
    _agency_side(actor, item, "上传移送材料")
    _state(item, "reported", "approved", message="移送后不能再补充材料。")
    if not uploads:
        raise DomainError("请选择要上传的材料。", field="files")
    for upload in uploads:
        if upload.category not in MATERIALS:
            raise DomainError("请为每份材料选择类别（移送书、调查报告、物品清单、检验鉴定、其他）。", field="category")
    rows = leads._attach(actor, leads._check_files(uploads), step="material", police_referral_id=item.id)
    db.session.flush()
    _record(actor, "police.materials", item, "上传移送材料：" + "、".join(
        f"{MATERIALS[u.category]}（{r.filename}）" for u, r in zip(uploads, rows, strict=True)))
    db.session.commit()
    return rows


def hand_over(actor: Any, referral_id: int, now: datetime | None = None) -> PoliceReferral:
    """移送: requires the referral letter and the investigation report; the police's 3-day clock starts."""
    now = now or utcnow()
    item = _for_change(actor, referral_id)
    _agency_side(actor, item, "移送")
    _state(item, "approved", message="只有经负责人批准的案件可以移送。")
    have = {f.category for f in files_of(item)}
    missing = [MATERIALS[c] for c in REQUIRED_MATERIALS if c not in have]
    if missing:
        raise DomainError("移送前须上传：" + "、".join(missing) + "（国务院令第310号第六条）。", field="files")
    before = item.snapshot()
    _stop_clock(item, now)
    item.state, item.handed_over_at = "handed_over", now
    _set_clock(item, "decide", now, _end_of_day_after(now, DECIDE_DAYS))
    _record(actor, "police.hand_over", item, f"移送{item.police_agency.name}" + ("（超过24小时）" if item.late else ""),
            before)
    events.announce(events.police_referral_changed, item.id, actor=actor, state=item.state)
    db.session.commit()
    return item


def receipt(actor: Any, referral_id: int, receipt_number: str, now: datetime | None = None) -> PoliceReferral:
    """The police sign the receipt (回执, art. 7)."""
    now = now or utcnow()
    item = _for_change(actor, referral_id)
    _police_side(actor, item, "签回执")
    _state(item, "handed_over", message="该移送已签回执或尚未移送。")
    number = leads._text({"receipt_number": receipt_number}, "receipt_number", "回执编号", 60, required=True)
    before = item.snapshot()
    item.state, item.receipt_number, item.received_at = "received", number, now
    _record(actor, "police.receipt", item, f"公安机关签收回执（{number}）", before)
    events.announce(events.police_referral_changed, item.id, actor=actor, state=item.state)
    db.session.commit()
    return item


def decide(actor: Any, referral_id: int, data: dict, now: datetime | None = None) -> PoliceReferral:
    """The police open a case, or not with reasons and the files returned (art. 8); also after reconsideration."""
    now = now or utcnow()
    item = _for_change(actor, referral_id)
    _police_side(actor, item, "作出立案决定")
    _state(item, "received", "reconsideration", message="请先签回执；已作出决定的不能重复决定。")
    decision = (data.get("decision") or "").strip()
    if decision not in ("case_opened", "not_opened"):
        raise DomainError("请选择立案或不予立案。", field="decision")
    reason = leads._text(data, "reason", "不予立案的理由", 4000, required=decision == "not_opened")
    case_number = leads._text(data, "police_case_number", "立案编号", 60, required=decision == "case_opened")
    before = item.snapshot()
    reconsidering = item.state == "reconsideration"
    _stop_clock(item, now)
    item.decided_at = now if not reconsidering else item.decided_at
    item.reconsidered_at = now if reconsidering else None
    item.decision, item.decision_reason, item.police_case_number = decision, reason, case_number
    if decision == "case_opened":
        item.state = "case_opened"
        summary = f"决定立案（{case_number}）"
    else:
        item.files_returned = True
        item.state = "final" if reconsidering else "not_opened"
        summary = ("复议维持" if reconsidering else "") + f"不予立案，退回案卷材料：{reason}"
    _record(actor, "police.decide", item, summary, before)
    events.announce(events.police_referral_changed, item.id, actor=actor, state=item.state)
    db.session.commit()
    return item


def request_reconsideration(actor: Any, referral_id: int, reason: str, now: datetime | None = None
                            ) -> PoliceReferral:
    """The agency asks the police to reconsider a refusal, within 3 days (art. 9)."""
    now = now or utcnow()
    item = _for_change(actor, referral_id)
    _agency_side(actor, item, "提请复议")
    _state(item, "not_opened", message="只有不予立案的案件可以提请复议，且只能提请一次。")
    if item.decided_at is not None and now > _end_of_day_after(item.decided_at, DECIDE_DAYS):
        raise DomainError("已超过提请复议的期限（收到不予立案通知书之日起3日内）。", field="reason")
    reason = leads._text({"reason": reason}, "reason", "提请复议的理由", 4000, required=True)
    before = item.snapshot()
    _stop_clock(item, now)
    item.state, item.reconsideration_reason, item.reconsideration_at = "reconsideration", reason, now
    _set_clock(item, "reconsider", now, _end_of_day_after(now, DECIDE_DAYS))
    _record(actor, "police.reconsider", item, f"提请复议：{reason}", before)
    events.announce(events.police_referral_changed, item.id, actor=actor, state=item.state)
    db.session.commit()
    return item


def _can_see_id(user: Any, entity_id: str) -> bool:
    try:
        get_referral(user, int(entity_id))
    except (NotFound, ValueError):
        return False
    return True


audit.register_entity("police_referral", "涉嫌犯罪案件移送", _can_see_id)
