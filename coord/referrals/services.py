"""Every state change of a lead: rule check, clock, audit entry, one commit (or nothing at all).

Clocks run on the working-day calendar. A lead's running clock is stored as `due_on` (the last day
to act) and `warn_on` (the first day of the 80% warning), so lists compute overdue and warning in
SQL. A deadline that falls in a year without calendar data is refused with a Chinese message.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from coord import events
from coord.accounts.scoping import may_see, require_role
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.credit_code import is_valid_credit_code as valid_credit_code
from coord.dbtypes import utcnow, write_lock
from coord.errors import Conflict, DomainError, Errors, Forbidden, NotFound, too_long
from coord.extensions import db
from coord.inputs import int32
from coord.lists import services as lists
from coord.referrals import storage
from coord.referrals.models import (
    MEASURES,
    OPEN_STATES,
    OUTCOMES,
    URGENCY,
    ExtensionRequest,
    Lead,
    LeadKind,
    ReferralFile,
    Supervision,
)
from coord.referrals.storage import Upload
from coord.timeutil import local_tz, to_local
from coord.workdays.services import CalendarMissing, add_working_days, calendar_error, workday_map

ACTING_ROLES = ("admin", "coordinator", "officer")
SENDING_ROLES = ("admin", "coordinator")


# --- small helpers ------------------------------------------------------------------------------

def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def local_day(now: datetime) -> date:
    return to_local(now).date()


def warn_percent() -> int:
    return int(current_app.config.get("REFERRAL_WARN_PERCENT", 80))


def end_of_day(day: date) -> datetime:
    """A deadline day as the instant the API shows (23:59:59 local, +08:00)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=local_tz())


def working_clock(start: date, days: int) -> tuple[date, date]:
    """(due_on, warn_on) for a clock of `days` working days counted from `start` (not counted)."""
    warn_after = max(1, (days * warn_percent() + 99) // 100)  # integer ceil: 80% of 15 is 12, not 13
    try:
        return add_working_days(start, days), add_working_days(start, min(warn_after, days))
    except CalendarMissing as err:
        raise calendar_error(err, field="deadline", prefix="无法计算期限：") from err


def _set_clock(lead: Lead, clock: str, start: date, days: int) -> None:
    due, warn = working_clock(start, days)
    lead.clock, lead.clock_start, lead.due_on, lead.warn_on = clock, start, due, warn


def _stop_clock(lead: Lead) -> None:
    lead.clock = lead.clock_start = lead.due_on = lead.warn_on = None


def _text(data: dict, key: str, label: str, limit: int, *, required: bool = False) -> str:
    value = data.get(key)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise DomainError(gettext("请填写%(label)s。", label=gettext(label)), field=key)
    if len(value) > limit:
        raise DomainError(too_long(label, limit, len(value)), field=key)
    return value


def _int(value: Any, label: str, field: str) -> int:
    try:
        return int32(value)
    except (TypeError, ValueError):
        raise DomainError(gettext("请选择有效的%(label)s。", label=gettext(label)), field=field) from None


def _agencies(lead: Lead) -> list[int]:
    return [lead.from_agency_id, lead.to_agency_id]


def _record(actor: Any, action: str, lead: Lead, summary: str, before: dict | None = None) -> None:
    audit.record(actor, action, "lead", lead.id, agencies=_agencies(lead), summary=f"{lead.number}：{summary}",
                 before=before, after=lead.snapshot())


# --- reading ------------------------------------------------------------------------------------

def can_see(user: Any, lead: Lead) -> bool:
    return may_see(user, lead.from_agency_id, lead.to_agency_id)


def get_lead(user: Any, lead_id: int) -> Lead:
    """The lead if the user may see it; otherwise NotFound (existence is not revealed)."""
    lead = db.session.get(Lead, lead_id) if isinstance(lead_id, int) and 0 < lead_id < 2**31 else None
    if lead is None or not can_see(user, lead):
        raise NotFound("线索不存在或您无权查看。")
    return lead


def _lead_for_change(user: Any, lead_id: int) -> Lead:
    write_lock(db.session)  # SQLite: serialise the read-check-write
    lead = get_lead(user, lead_id)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(Lead.id).where(Lead.id == lead.id).with_for_update())
        db.session.refresh(lead)
    return lead


def _receiver(user: Any, lead: Lead, verb: str) -> None:
    require_role(user, *ACTING_ROLES)
    if user.agency_id != lead.to_agency_id:
        raise Forbidden(gettext("只有接收单位（%(to_agency_name)s）可以%(verb)s该线索。",
                                to_agency_name=lead.to_agency.name, verb=gettext(verb)))


def _sender(user: Any, lead: Lead, verb: str) -> None:
    require_role(user, *SENDING_ROLES)
    if user.agency_id != lead.from_agency_id:
        raise Forbidden(gettext("只有移交单位（%(from_agency_name)s）的联络员可以%(verb)s该线索。",
                                from_agency_name=lead.from_agency.name, verb=gettext(verb)))


def _state(lead: Lead, *states: str, message: str) -> None:
    if lead.state not in states:
        raise Conflict(message, details={"state": lead.state})


def files_of(lead: Lead) -> list[ReferralFile]:
    stmt = sa.select(ReferralFile).where(ReferralFile.lead_id == lead.id).order_by(ReferralFile.id)
    return list(db.session.execute(stmt).scalars())


def extensions_of(lead: Lead) -> list[ExtensionRequest]:
    stmt = sa.select(ExtensionRequest).where(ExtensionRequest.lead_id == lead.id).order_by(ExtensionRequest.id)
    return list(db.session.execute(stmt).scalars())


def pending_extension(lead: Lead) -> ExtensionRequest | None:
    return next((e for e in extensions_of(lead) if e.state == "pending"), None)


def supervisions_of(lead: Lead) -> list[Supervision]:
    stmt = sa.select(Supervision).where(Supervision.lead_id == lead.id).order_by(Supervision.id)
    return list(db.session.execute(stmt).scalars())


def eligibility(lead: Lead) -> dict[str, Any]:
    """May the receiver handle this lead flexibly? By the named list item (followed to the list in force)
    or, without one, by the matter's text matched against the receiver's published lists."""
    return lists.eligibility(lead.to_agency_id, matter_text=lead.matter, list_item_id=lead.list_item_id)


# Leads sit below the features that make one by escalation (a not-rectified follow-up visit, in
# coord.interviews): such a feature registers, when it loads, how to find its record for a lead.
_source_finders: dict[str, Callable[[Lead], Any]] = {}


def register_source(kind: str, find: Callable[[Lead], Any]) -> None:
    """`find(lead)` returns the record of this kind whose escalation created the lead, or None."""
    _source_finders[kind] = find


def source_of(lead: Lead) -> Any:
    """The record whose escalation created this lead (the follow-up visit), if any."""
    for find in _source_finders.values():
        found = find(lead)
        if found is not None:
            return found
    return None


def merged_from(lead: Lead) -> list[Lead]:
    stmt = sa.select(Lead).where(Lead.merged_into_id == lead.id).order_by(Lead.id)
    return list(db.session.execute(stmt).scalars())


def kinds(active_only: bool = True) -> list[LeadKind]:
    stmt = sa.select(LeadKind).order_by(LeadKind.sort_order, LeadKind.id)
    if active_only:
        stmt = stmt.where(LeadKind.active.is_(True))
    return list(db.session.execute(stmt).scalars())


def receivers() -> list[Agency]:
    """Enforcement agencies a lead can go to."""
    stmt = sa.select(Agency).where(Agency.active.is_(True), Agency.is_enforcement.is_(True)).order_by(
        Agency.sort_order, Agency.id)
    return list(db.session.execute(stmt).scalars())


@dataclass
class Signal:
    """How a lead's running clock looks today: overdue (red), warning (yellow), working days left."""

    overdue: bool
    warning: bool
    days_left: int | None


def signal(lead: Lead, today: date, days: dict[date, bool] | None = None) -> Signal:
    if lead.due_on is None:
        return Signal(False, False, None)
    overdue = lead.due_on < today
    warning = not overdue and lead.warn_on is not None and lead.warn_on <= today
    return Signal(overdue, warning, days_left(today, lead.due_on, days))


def days_left(today: date, due: date, days: dict[date, bool] | None = None) -> int | None:
    """Working days from today to the deadline (negative when past it); None without calendar data."""
    lo, hi = min(today, due), max(today, due)
    if lo == hi:
        return 0
    try:
        days = days if days is not None and lo in days and hi in days else workday_map(lo, hi)
    except CalendarMissing:
        return None
    count = sum(1 for d, w in days.items() if lo < d <= hi and w)
    return count if due >= today else -count


def calendar_for(leads: Iterable[Any], today: date) -> dict[date, bool]:
    """One calendar read covering every deadline on a page (for working days left)."""
    dues = [lead.due_on for lead in leads if lead.due_on is not None]
    if not dues:
        return {}
    try:
        return workday_map(min(dues + [today]), max(dues + [today]))
    except CalendarMissing:
        return {}


# --- the state machine --------------------------------------------------------------------------

def _check_files(uploads: Sequence[Upload]) -> list[tuple[Upload, str, str, str]]:
    return [(u, *storage.check(u)) for u in uploads]


def _attach(actor: Any, checked: list[tuple[Upload, str, str, str]], *, step: str, lead: Lead | None = None,
            police_referral_id: int | None = None) -> list[ReferralFile]:
    rows = []
    for upload, name, mime, digest in checked:
        storage.save(upload.data, digest)
        row = ReferralFile(lead_id=lead.id if lead else None, police_referral_id=police_referral_id, step=step,
                           category=upload.category or "", filename=name, content_type=mime,
                           size=len(upload.data), sha256=digest, uploaded_by_id=getattr(actor, "id", None))
        db.session.add(row)
        rows.append(row)
    return rows


def _receiving_agency(value: Any, sender_id: int) -> Agency:
    agency_id = _int(value, "接收单位", "to_agency_id")
    agency = db.session.get(Agency, agency_id) if 0 < agency_id < 2**31 else None
    if agency is None or not agency.active:
        raise DomainError("请选择有效的接收单位。", field="to_agency_id")
    if not agency.is_enforcement:
        raise DomainError(gettext("%(agency_name)s不是行政执法部门，不能接收线索。",
                                  agency_name=agency.name), field="to_agency_id")
    if agency.id == sender_id:
        raise DomainError("不能将线索移交给本单位。", field="to_agency_id")
    return agency


def _clean_lead(data: dict, sender_id: int) -> dict:
    """The lead's fields, checked; every broken rule is reported at once (Invalid), not just the first."""
    errors = Errors()
    clean: dict[str, Any] = {}
    receiver = None
    with errors.check():
        receiver = _receiving_agency(data.get("to_agency_id"), sender_id)
        clean["to_agency_id"] = receiver.id
    if receiver is not None:
        with errors.check():
            item = lists.published_item(receiver, data.get("list_item_id"))
            clean["list_item_id"] = item.id if item else None
    for key, label, limit, required in (("party_name", "当事人名称", 200, True), ("facts", "线索事实", 10000, True),
                                        ("matter", "涉嫌违法事项", 200, True), ("place", "发生地点", 200, False),
                                        ("legal_basis", "法律依据", 4000, False)):
        with errors.check():
            clean[key] = _text(data, key, label, limit, required=required)
    with errors.check():
        code = _text(data, "party_credit_code", "统一社会信用代码", 18).upper()
        if code and not valid_credit_code(code):
            raise DomainError("统一社会信用代码格式或校验位不正确（应为 18 位，符合 GB 32100）。",
                              field="party_credit_code")
        clean["party_credit_code"] = code
    urgency = (data.get("urgency") or "normal").strip()
    if urgency not in URGENCY:
        errors.add("urgency", "紧急程度只能是“一般”或“紧急”。")
    clean["urgency"] = urgency
    occurred = data.get("occurred_on")
    if isinstance(occurred, str):
        try:
            occurred = date.fromisoformat(occurred.strip()) if occurred.strip() else None
        except ValueError:
            errors.add("occurred_on", "发生日期格式应为 YYYY-MM-DD。")
            occurred = None
    clean["occurred_on"] = occurred
    with errors.check():
        kind_value = data.get("kind_id")
        if kind_value in (None, ""):
            kind = db.session.execute(sa.select(LeadKind).where(LeadKind.code == "general")).scalar_one_or_none()
        else:
            kind_id = _int(kind_value, "线索类别", "kind_id")
            kind = db.session.get(LeadKind, kind_id) if 0 < kind_id < 2**31 else None
        if kind is None or not kind.active:
            raise DomainError("请选择有效的线索类别。", field="kind_id")
        clean["kind"] = kind
    errors.raise_if_any()
    return clean


def refer(actor: Any, data: dict, uploads: Sequence[Upload] = (), now: datetime | None = None) -> Lead:
    """A sector authority's coordinator refers a lead to an enforcement agency (移交)."""
    require_role(actor, *SENDING_ROLES)
    if not actor.agency.is_sector_authority:
        raise Forbidden("只有行业主管部门可以移交线索。")
    write_lock(db.session)
    lead = new_lead(actor, actor.agency_id, data, uploads, now=now)
    _record(actor, "lead.refer", lead, f"移交线索至{lead.to_agency.name}（{lead.party_name}，{lead.matter}）")
    events.announce(events.lead_referred, lead.id, actor=actor)
    db.session.commit()
    return lead


def new_lead(actor: Any, from_agency_id: int, data: dict, uploads: Sequence[Upload] = (),
             now: datetime | None = None) -> Lead:
    """A lead from `from_agency_id`, checked, numbered, clocks running; flushed, not committed and not
    yet audited: the caller records why it exists (a referral, an escalated follow-up) and commits."""
    now = _now(now)
    clean = _clean_lead(data, from_agency_id)
    if clean["occurred_on"] and clean["occurred_on"] > local_day(now):
        raise DomainError("发生日期不能晚于今天。", field="occurred_on")
    checked = _check_files(uploads)
    kind: LeadKind = clean.pop("kind")
    today = local_day(now)
    ack_due, ack_warn = working_clock(today, kind.ack_days)
    return_due, _ = working_clock(today, kind.return_days)
    lead = Lead(**clean, kind_id=kind.id, from_agency_id=from_agency_id, created_by_id=actor.id,
                state="referred", referred_at=now, clock="ack", clock_start=today, due_on=ack_due,
                warn_on=ack_warn, ack_due=ack_due, return_due=return_due)
    db.session.add(lead)
    db.session.flush()
    lead.number = f"XS{today.year}{lead.id:06d}"
    _attach(actor, checked, step="referral", lead=lead)
    db.session.flush()
    return lead


def acknowledge(actor: Any, lead_id: int, now: datetime | None = None) -> Lead:
    """签收: stops the acknowledgement clock and starts the reply clock."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    _receiver(actor, lead, "签收")
    if lead.state != "referred" and lead.acknowledged_at is not None:
        raise Conflict("该线索已签收，不能重复签收。", details={"state": lead.state})
    _state(lead, "referred", message=gettext("该线索当前状态为“%(state_label)s”，不能签收。",
                                             state_label=gettext(lead.state_label)))
    before = lead.snapshot()
    today = local_day(now)
    on_time = today <= lead.due_on if lead.due_on else True
    _set_clock(lead, "reply", today, lead.kind.reply_days)
    lead.reply_due = lead.due_on
    lead.extended_days = 0
    lead.state, lead.acknowledged_at, lead.ack_on_time = "acknowledged", now, on_time
    lead.late = lead.late or not on_time
    _record(actor, "lead.acknowledge", lead, "签收" + ("" if on_time else "（超期）"), before)
    events.announce(events.lead_acknowledged, lead.id, actor=actor)
    db.session.commit()
    return lead


def return_lead(actor: Any, lead_id: int, reason: str, now: datetime | None = None) -> Lead:
    """退回 with a reason (e.g. not this agency's duty), within the return clock."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    _receiver(actor, lead, "退回")
    _state(lead, *OPEN_STATES, message=gettext("该线索当前状态为“%(state_label)s”，不能退回。",
                                               state_label=gettext(lead.state_label)))
    reason = _text({"reason": reason}, "reason", "退回理由", 2000, required=True)
    today = local_day(now)
    if lead.return_due and today > lead.return_due:
        raise DomainError(gettext("已超过退回期限（%(return_due)s），请核查后回复处理情况。",
                                  return_due=lead.return_due.isoformat()), field="reason")
    before = lead.snapshot()
    _stop_clock(lead)
    lead.state, lead.returned_at, lead.return_reason = "returned", now, reason
    _record(actor, "lead.return", lead, f"退回：{reason}", before)
    events.announce(events.lead_returned, lead.id, actor=actor)
    db.session.commit()
    return lead


def redirect(actor: Any, lead_id: int, to_agency_id: Any, now: datetime | None = None,
             list_item_id: Any = None) -> Lead:
    """After a return, the sender sends the lead to another agency; the clocks start anew. A list item
    named for the old receiver does not carry over: the new receiver's item may be named instead."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    _sender(actor, lead, "改派")
    _state(lead, "returned", message="只有被退回的线索可以改派。")
    agency = _receiving_agency(to_agency_id, lead.from_agency_id)
    if agency.id == lead.to_agency_id:
        raise DomainError("请选择另一个接收单位。", field="to_agency_id")
    item = lists.published_item(agency, list_item_id)
    today = local_day(now)
    ack_due, ack_warn = working_clock(today, lead.kind.ack_days)
    return_due, _ = working_clock(today, lead.kind.return_days)
    before = lead.snapshot()
    old = lead.to_agency.name
    lead.to_agency_id = agency.id
    lead.to_agency = agency
    lead.list_item_id = item.id if item else None
    lead.state, lead.referred_at = "referred", now
    lead.clock, lead.clock_start, lead.due_on, lead.warn_on = "ack", today, ack_due, ack_warn
    lead.ack_due, lead.return_due, lead.reply_due = ack_due, return_due, None
    lead.acknowledged_at = lead.ack_on_time = None
    _record(actor, "lead.redirect", lead, f"由{old}改派至{agency.name}", before)
    events.announce(events.lead_redirected, lead.id, actor=actor)
    db.session.commit()
    return lead


def reply(actor: Any, lead_id: int, data: dict, uploads: Sequence[Upload] = (),
          now: datetime | None = None) -> Lead:
    """回复处理情况 with an outcome; stops the reply clock."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    _receiver(actor, lead, "回复")
    if lead.state == "referred":
        raise Conflict("请先签收该线索，再回复处理情况。", details={"state": lead.state})
    _state(lead, "acknowledged", message=gettext("该线索当前状态为“%(state_label)s”，不能回复。",
                                                 state_label=gettext(lead.state_label)))
    outcome = (data.get("outcome") or "").strip()
    if outcome not in OUTCOMES:
        raise DomainError("请选择处理结果（已立案、不予立案、柔性执法方式处理或移送公安机关）。", field="outcome")
    note = _text(data, "note", "处理情况说明", 10000, required=True)
    case_number = _text(data, "case_number", "立案号", 60)
    measure = (data.get("measure") or "").strip()
    if outcome == "case_opened" and not case_number:
        raise DomainError("处理结果为“已立案”时须填写立案号。", field="case_number")
    if outcome == "flexible" and measure not in MEASURES:
        raise DomainError("请选择所采取的柔性执法方式。", field="measure")
    if outcome == "flexible":
        verdict = eligibility(lead)
        if not verdict["eligible"]:  # policy §三, §五(三): these matters are enforced, not softened
            raise DomainError(f"该线索事项{verdict['flag']}，不能以柔性执法方式处理：{''.join(verdict['reasons'])}"
                              "请依法选择立案、不予立案或移送公安机关。", field="outcome")
    checked = _check_files(uploads)
    before = lead.snapshot()
    today = local_day(now)
    on_time = today <= lead.due_on if lead.due_on else True
    _stop_clock(lead)
    lead.state, lead.replied_at, lead.reply_on_time = "replied", now, on_time
    lead.late = lead.late or not on_time
    lead.outcome, lead.reply_note = outcome, note
    lead.case_number = case_number if outcome == "case_opened" else ""
    lead.measure = measure if outcome == "flexible" else ""
    _attach(actor, checked, step="reply", lead=lead)
    _record(actor, "lead.reply", lead, f"回复处理情况：{OUTCOMES[outcome]}" + ("" if on_time else "（超期）"), before)
    events.announce(events.lead_replied, lead.id, actor=actor, outcome=outcome, measure=lead.measure)
    db.session.commit()
    return lead


def request_extension(actor: Any, lead_id: int, days: Any, reason: str, now: datetime | None = None
                      ) -> ExtensionRequest:
    """延期申请: before the reply deadline, within the kind's extension budget."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    _receiver(actor, lead, "申请延期")
    _state(lead, "acknowledged", message="只有已签收、正在核查的线索可以申请延期。")
    today = local_day(now)
    if lead.due_on is None or today > lead.due_on:
        raise DomainError(gettext("已超过回复期限（%(due_on)s），不能再申请延期。", due_on=lead.due_on), field="days")
    if pending_extension(lead):
        raise Conflict("已有一份延期申请待审批。")
    budget = lead.kind.extension_max_days - lead.extended_days
    try:
        n = int(days)
    except (TypeError, ValueError):
        n = 0
    if budget <= 0:
        raise DomainError(gettext("延期已达上限（%(extension_max_days)s 个工作日）。",
                                  extension_max_days=lead.kind.extension_max_days), field="days")
    if not 1 <= n <= budget:
        raise DomainError(gettext("延期天数应在 1–%(budget)s 个工作日之间。", budget=budget), field="days")
    reason = _text({"reason": reason}, "reason", "延期理由", 2000, required=True)
    working_clock(lead.clock_start, lead.kind.reply_days + lead.extended_days + n)  # fails now, not on approval
    ext = ExtensionRequest(lead_id=lead.id, days=n, reason=reason, requested_by_id=actor.id, requested_at=now)
    db.session.add(ext)
    db.session.flush()
    audit.record(actor, "lead.extension.request", "lead", lead.id, agencies=_agencies(lead),
                 summary=f"{lead.number}：申请延期 {n} 个工作日：{reason}", after={"days": n, "reason": reason})
    events.announce(events.lead_extension_requested, lead.id, actor=actor, extension_id=ext.id)
    db.session.commit()
    return ext


def decide_extension(actor: Any, lead_id: int, approve: Any, note: str = "", now: datetime | None = None) -> Lead:
    """The sender or the leading-group office approves or refuses the pending extension."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    if not actor.is_office:
        _sender(actor, lead, "审批延期申请")
    if not isinstance(approve, bool):
        raise DomainError("请选择同意或不同意。", field="approve")
    ext = pending_extension(lead)
    if ext is None:
        raise Conflict("没有待审批的延期申请。")
    note = _text({"note": note}, "note", "审批意见", 2000)
    before = lead.snapshot()
    if approve and lead.state == "acknowledged":
        total = lead.kind.reply_days + lead.extended_days + ext.days
        _set_clock(lead, "reply", lead.clock_start, total)
        lead.extended_days += ext.days
        lead.reply_due = lead.due_on
    ext.state = "approved" if approve and lead.state == "acknowledged" else "refused"
    ext.decided_by_id, ext.decided_at, ext.decision_note = actor.id, now, note
    verdict = "同意" if ext.state == "approved" else "不同意"
    _record(actor, "lead.extension.decide", lead, f"{verdict}延期 {ext.days} 个工作日" + (f"：{note}" if note else ""),
            before)
    events.announce(events.lead_extension_decided, lead.id, actor=actor, extension_id=ext.id,
                    approved=ext.state == "approved")
    db.session.commit()
    return lead


def accept(actor: Any, lead_id: int, note: str = "", now: datetime | None = None) -> Lead:
    """The sender accepts the reply; the lead is closed (办结)."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    _sender(actor, lead, "确认办结")
    _state(lead, "replied", message="只有已回复的线索可以确认办结。")
    note = _text({"note": note}, "note", "意见", 2000)
    before = lead.snapshot()
    lead.state, lead.closed_at = "closed", now
    _record(actor, "lead.accept", lead, "确认回复，线索办结" + (f"：{note}" if note else ""), before)
    events.announce(events.lead_accepted, lead.id, actor=actor)
    db.session.commit()
    return lead


def send_back(actor: Any, lead_id: int, note: str, now: datetime | None = None) -> Lead:
    """The sender sends the reply back for more work; a new reply clock starts."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    _sender(actor, lead, "退回补充")
    _state(lead, "replied", message="只有已回复的线索可以退回补充。")
    note = _text({"note": note}, "note", "退回补充的理由", 2000, required=True)
    before = lead.snapshot()
    _set_clock(lead, "reply", local_day(now), lead.kind.reply_days)
    lead.reply_due, lead.extended_days = lead.due_on, 0
    lead.state, lead.send_back_note = "acknowledged", note
    lead.send_back_count += 1
    lead.replied_at = lead.reply_on_time = None
    _record(actor, "lead.send_back", lead, f"退回补充核查：{note}", before)
    events.announce(events.lead_sent_back, lead.id, actor=actor)
    db.session.commit()
    return lead


def merge(actor: Any, lead_id: int, into_id: Any, now: datetime | None = None) -> Lead:
    """Merge a duplicate into another lead of the same receiver; both keep their history."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    target = merge_target(actor, into_id)
    if target.id == lead.id:
        raise DomainError("不能将线索合并到其自身。", field="into_id")
    if not actor.is_office:
        _receiver(actor, lead, "合并")
    if target.to_agency_id != lead.to_agency_id:
        raise DomainError("只能合并同一接收单位的线索。", field="into_id")
    for item in (lead, target):
        if item.state in ("closed", "merged"):
            raise Conflict(gettext("线索 %(number)s 已%(state_label)s，不能合并。",
                                   number=item.number, state_label=gettext(item.state_label)))
    before = lead.snapshot()
    _stop_clock(lead)
    lead.state, lead.merged_into_id, lead.closed_at = "merged", target.id, now
    _record(actor, "lead.merge", lead, f"作为重复线索并入 {target.number}", before)
    audit.record(actor, "lead.merge_into", "lead", target.id, agencies=_agencies(target) + [lead.from_agency_id],
                 summary=f"{target.number}：并入重复线索 {lead.number}", after={"merged": lead.number})
    events.announce(events.lead_merged, lead.id, actor=actor, into_id=target.id)
    db.session.commit()
    return lead


def merge_target(actor: Any, value: Any) -> Lead:
    """The lead to merge into, by its number (XS2026000008, as people know it) or its id."""
    text = str(value if value is not None else "").strip().upper()
    if not text:
        raise DomainError("请填写要并入的线索编号（如 XS2026000001）。", field="into_id")
    if text.isdigit() and not text.startswith("XS"):
        target_id = int(text)
        lead = db.session.get(Lead, target_id) if 0 < target_id < 2**31 else None
    else:
        lead = db.session.execute(sa.select(Lead).where(Lead.number == text[:30])).scalar_one_or_none()
    if lead is None or not can_see(actor, lead):
        raise DomainError(gettext("线索 %(text)s 不存在或您无权查看。", text=text[:30]), field="into_id")
    return lead


def merge_candidates(actor: Any, lead: Lead, limit: int = 100) -> list[Lead]:
    """Open leads of the same receiver that `lead` could be merged into (newest first), for the picker."""
    stmt = (sa.select(Lead).where(Lead.to_agency_id == lead.to_agency_id, Lead.id != lead.id,
                                  Lead.state.not_in(("closed", "merged")))
            .order_by(Lead.id.desc()).limit(limit))
    return [c for c in db.session.execute(stmt).scalars() if can_see(actor, c)]


def supervise(actor: Any, lead_id: int, note: str, now: datetime | None = None) -> Supervision:
    """督办 by the leading-group office; the receiver must answer."""
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    if not actor.is_office:
        raise Forbidden("仅领导小组办公室可以督办线索。")
    if lead.state in ("closed", "merged"):
        raise Conflict(gettext("该线索已%(state_label)s，无需督办。", state_label=gettext(lead.state_label)))
    note = _text({"note": note}, "note", "督办意见", 2000, required=True)
    item = Supervision(lead_id=lead.id, note=note, created_by_id=actor.id, created_at=now)
    db.session.add(item)
    lead.supervised = True
    db.session.flush()
    _record(actor, "lead.supervise", lead, f"督办：{note}")
    events.announce(events.lead_supervised, lead.id, actor=actor, supervision_id=item.id)
    db.session.commit()
    return item


def answer_supervision(actor: Any, lead_id: int, answer: str, now: datetime | None = None) -> Supervision:
    now = _now(now)
    lead = _lead_for_change(actor, lead_id)
    _receiver(actor, lead, "答复督办")
    open_items = [s for s in supervisions_of(lead) if s.answered_at is None]
    if not open_items:
        raise Conflict("该线索没有待答复的督办。")
    answer = _text({"answer": answer}, "answer", "督办答复", 4000, required=True)
    item = open_items[0]
    item.answer, item.answered_by_id, item.answered_at = answer, actor.id, now
    lead.supervised = len(open_items) > 1
    _record(actor, "lead.supervision.answer", lead, f"答复督办：{answer}")
    events.announce(events.lead_supervision_answered, lead.id, actor=actor, supervision_id=item.id)
    db.session.commit()
    return item


def add_files(actor: Any, lead_id: int, uploads: Sequence[Upload], now: datetime | None = None
              ) -> list[ReferralFile]:
    """More files: the sender's while the lead waits for acknowledgement (or was returned), the
    receiver's while it verifies (they go with the reply)."""
    lead = _lead_for_change(actor, lead_id)
    require_role(actor, *ACTING_ROLES)
    if actor.agency_id == lead.from_agency_id and lead.state in ("referred", "returned"):
        _sender(actor, lead, "补充附件")
        step = "referral"
    elif actor.agency_id == lead.to_agency_id and lead.state == "acknowledged":
        step = "reply"
    else:
        raise Conflict(gettext("该线索当前状态为“%(state_label)s”，您不能添加附件。",
                               state_label=gettext(lead.state_label)), details={"state": lead.state})
    if not uploads:
        raise DomainError("请选择要上传的文件。", field="files")
    rows = _attach(actor, _check_files(uploads), step=step, lead=lead)
    db.session.flush()
    _record(actor, "lead.files", lead, "添加附件：" + "、".join(r.filename for r in rows))
    db.session.commit()
    return rows


def update_kind(actor: Any, kind_id: int, data: dict) -> LeadKind:
    """The office sets the clocks of a kind of lead (working days)."""
    if not actor.is_office:
        raise Forbidden("仅领导小组办公室可以设置办理时限。")
    kind = db.session.get(LeadKind, kind_id)
    if kind is None:
        raise NotFound("线索类别不存在。")
    before = kind.snapshot()
    limits = {"ack_days": (1, 10, "签收时限"), "reply_days": (1, 60, "回复时限"),
              "extension_max_days": (0, 60, "延期上限"), "return_days": (1, 10, "退回时限")}
    values = {}
    for key, (lo, hi, label) in limits.items():
        try:
            values[key] = int(data.get(key))
        except (TypeError, ValueError):
            raise DomainError(gettext("%(label)s应为整数。", label=gettext(label)), field=key) from None
        if not lo <= values[key] <= hi:
            raise DomainError(gettext("%(label)s应在 %(lo)s–%(hi)s 个工作日之间。",
                                      label=gettext(label), lo=lo, hi=hi), field=key)
    name = _text(data, "name", "类别名称", 60, required=True)
    for key, value in values.items():
        setattr(kind, key, value)
    kind.name = name
    audit.record(actor, "lead_kind.update", "lead_kind", kind.id, summary=f"设置“{kind.name}”办理时限",
                 before=before, after=kind.snapshot())
    db.session.commit()
    return kind


def file_for(user: Any, file_id: int) -> ReferralFile:
    """A file if the user may see the lead or police referral it belongs to; else NotFound."""
    from coord.referrals import police

    row = db.session.get(ReferralFile, file_id) if 0 < file_id < 2**31 else None
    if row is None:
        raise NotFound("文件不存在或您无权查看。")
    if row.lead_id is not None:
        get_lead(user, row.lead_id)
    else:
        police.get_referral(user, row.police_referral_id or 0)
    return row


def _can_see_id(user: Any, entity_id: str) -> bool:
    try:
        get_lead(user, int(entity_id))
    except (NotFound, ValueError):
        return False
    return True


audit.register_entity("lead", "线索", _can_see_id)
audit.register_entity("lead_kind", "线索类别", lambda user, _id: True)


def _register_demo() -> None:
    from coord.demo import register_seeder
    from coord.referrals.demo import seed_demo_leads

    register_seeder("leads", seed_demo_leads)


_register_demo()
