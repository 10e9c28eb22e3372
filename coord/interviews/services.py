"""Every state change of an interview: rule check, change, audit entry, in one transaction.

State machine: draft -> scheduled (schedule) -> scheduled (reschedule) -> held (mark_held);
draft/scheduled -> cancelled (cancel). Rectification items and follow-up visits come after `held`.
Who may do what: the lead agency's coordinators (and the leading-group office) organise; the
co-organising agencies confirm or decline; anybody of an involved agency may read; everybody
else gets 404 (the interview's existence is not revealed).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import joinedload, selectinload

from coord import events
from coord.accounts.models import User
from coord.accounts.scoping import may_see
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import Conflict, DomainError, Errors, Forbidden, Invalid, NotFound, too_long
from coord.extensions import db
from coord.inputs import int32
from coord.interviews.models import (
    FOLLOW_UP_RESULTS,
    MEASURES,
    PROBLEM_KINDS,
    STATUSES,
    FollowUp,
    Interview,
    InterviewAgency,
    InterviewParticipant,
    PartyAttendee,
    RectificationItem,
)
from coord.interviews.validation import credit_code_error, id_number_error
from coord.lists import services as lists
from coord.parties.models import Party
from coord.referrals import services as referrals
from coord.scheduling import services as sched
from coord.scheduling.slots import check_slot, find_slots, nth_working_day_after
from coord.timeutil import fmt_local, isoformat_local, local_today, to_local
from coord.workdays.services import CalendarMissing, calendar_error

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_DURATION, MAX_DURATION = 15, 240


@dataclass(frozen=True)
class Invitee:
    """Someone to invite to an interview (officials of the agencies, the party's attendees)."""

    name: str
    email: str  # may be "" when unknown: the invites feature skips those and says so
    kind: str  # "official" | "party"
    user_id: int | None = None
    agency_id: int | None = None
    agency_name: str = ""
    is_lead: bool = False  # an official of the lead agency (organiser side)
    post: str = ""


def bump_sequence(interview: Interview) -> int:
    """Raise the iCalendar SEQUENCE: call on every change that is sent out to the invitees."""
    interview.sequence = (interview.sequence or 0) + 1
    interview.updated_at = utcnow()
    return interview.sequence


def participants_of(interview: Interview) -> list[Invitee]:
    """The people to invite: every attending official, then the party's attendees."""
    people = [
        Invitee(name=p.user.display_name, email=p.user.email or "", kind="official", user_id=p.user_id,
                agency_id=p.agency_id, agency_name=p.user.agency.name if p.user.agency else "",
                is_lead=p.agency_id == interview.lead_agency_id, post=p.user.post or "")
        for p in interview.participants
    ]
    people += [
        Invitee(name=a.name, email=a.email or "", kind="party", agency_name=interview.party.name, post=a.post)
        for a in interview.attendees
    ]
    return people


# --- reading, scoped ---------------------------------------------------------------------------

def can_see(user: Any, interview: Interview | None) -> bool:
    return interview is not None and may_see(user, *interview.agency_ids)


def get(actor: Any, interview_id: Any, *, for_update: bool = False) -> Interview:
    """The interview if the actor's agency takes part (or the office); else 404."""
    try:
        iid = int(interview_id)
    except (TypeError, ValueError):
        iid = 0
    if for_update:
        write_lock(db.session)
    stmt = sa.select(Interview).where(Interview.id == iid)
    if for_update and db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Interview)
    interview = db.session.execute(stmt).unique().scalar_one_or_none() if iid > 0 else None
    if not can_see(actor, interview):
        raise NotFound(_("约谈不存在或您无权查看。"))
    return interview


def is_organiser(actor: Any, interview: Interview) -> bool:
    return bool(actor.is_office or (actor.agency_id == interview.lead_agency_id
                                    and actor.role in ("coordinator", "admin")))


def _require_organiser(actor: Any, interview: Interview) -> None:
    if not is_organiser(actor, interview):
        raise Forbidden(_("只有牵头单位的联络员或领导小组办公室可以操作此约谈。"))


def visible_query(actor: Any) -> sa.Select:
    stmt = sa.select(Interview)
    if not actor.is_office:
        mine = sa.select(InterviewAgency.id).where(
            InterviewAgency.interview_id == Interview.id, InterviewAgency.agency_id == actor.agency_id
        )
        stmt = stmt.where(sa.exists(mine))
    return stmt


def list_interviews(
    actor: Any, *, status: str = "", agency_id: int | None = None, date_from: date | None = None,
    date_to: date | None = None, party: str = "", awaiting_me: bool = False, limit: int = 200, offset: int = 0,
    summary: bool = False,
) -> list[Interview]:
    """The interviews the actor may see, newest first. With `summary` (the list page) each row carries
    `co_total`, `co_confirmed` and `co_declined` (co-organisers' confirmations) counted in the same
    query, instead of its `agencies` loaded by a second one."""
    from coord.timeutil import local_datetime

    stmt = visible_query(actor)
    if status in STATUSES:
        stmt = stmt.where(Interview.status == status)
    if agency_id:
        stmt = stmt.where(sa.exists(sa.select(InterviewAgency.id).where(
            InterviewAgency.interview_id == Interview.id, InterviewAgency.agency_id == agency_id)))
    if date_from:
        stmt = stmt.where(Interview.start_at >= local_datetime(date_from, datetime.min.time()))
    if date_to:
        stmt = stmt.where(Interview.start_at < local_datetime(date_to + timedelta(days=1), datetime.min.time()))
    if party.strip():
        like = f"%{party.strip()}%"
        stmt = stmt.join(Party, Party.id == Interview.party_id).where(
            sa.or_(Party.name.ilike(like), Party.credit_code.ilike(like)))
    if awaiting_me:
        stmt = stmt.where(Interview.status == "scheduled", sa.exists(sa.select(InterviewAgency.id).where(
            InterviewAgency.interview_id == Interview.id, InterviewAgency.agency_id == actor.agency_id,
            InterviewAgency.confirmation == "pending", InterviewAgency.role == "co")))
    # Newest first, unscheduled last: the order of the index ix_interview_start_order (migration 0018).
    order = (Interview.start_at.desc().nulls_last(), Interview.id.desc())
    # The page's ids first, then its rows: joined to the party and organiser before the LIMIT, the database
    # read every visible interview's party and agency to keep 25 (30 ms for 2,000 on PostgreSQL).
    page = stmt.with_only_columns(Interview.id).order_by(*order).limit(limit).offset(offset).subquery()
    stmt = sa.select(Interview).join(page, page.c.id == Interview.id).order_by(*order)
    # Each row shows its party, organiser and confirmations: the first two in the same query, the
    # confirmations counted in it (summary) or loaded by one more query, never one per row.
    stmt = stmt.options(joinedload(Interview.lead_agency), joinedload(Interview.party))
    if not summary:
        stmt = stmt.options(selectinload(Interview.agencies))
        return list(db.session.execute(stmt).unique().scalars())
    co = (InterviewAgency.interview_id == Interview.id, InterviewAgency.role == "co")

    def counted(*extra):
        return (sa.select(sa.func.count(InterviewAgency.id)).where(*co, *extra)
                .correlate(Interview).scalar_subquery())

    rows = []
    for interview, total, confirmed, declined in db.session.execute(stmt.add_columns(
            counted(), counted(InterviewAgency.confirmation == "confirmed"),
            counted(InterviewAgency.confirmation == "declined"))):
        interview.co_total, interview.co_confirmed, interview.co_declined = total, confirmed, declined
        rows.append(interview)
    return rows


# --- validating input ------------------------------------------------------------------------

def _int(value: Any, field: str, message: str) -> int:
    try:
        return int32(value)
    except (TypeError, ValueError):
        raise DomainError(message, field=field) from None


def _ids(values: Any, field: str) -> list[int]:
    if values in (None, ""):
        return []
    if isinstance(values, str | int):
        values = [values]
    out = []
    for v in values:
        if v in (None, ""):
            continue
        out.append(_int(v, field, _("编号应为整数。")))
    return list(dict.fromkeys(out))


# Text limits (characters). Over a limit the input is refused beside its field, never cut.
LIMITS = {"title": 200, "sector": 120, "matter": 10000, "legal_basis": 10000, "party_name": 200,
          "party_address": 300, "party_phone": 40, "attendee_name": 60, "attendee_post": 60,
          "attendee_email": 254, "attendee_phone": 40, "reason": 2000, "requirement": 4000, "notes": 4000}


def _text(value: Any, field: str, label: str, *, required: str = "") -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        raise DomainError(required, field=field)
    if len(text) > LIMITS[field]:
        raise DomainError(too_long(label, LIMITS[field], len(text)), field=field)
    return text


def _agency(agency_id: Any, field: str, label: str) -> Agency:
    if agency_id in (None, ""):
        raise DomainError(_("请选择%(what)s。", what=label), field=field)
    agency = db.session.get(Agency, _int(agency_id, field, _("请选择%(what)s。", what=label)))
    if agency is None or not agency.active:
        raise DomainError(_("%(what)s不存在或已停用，请重新选择。", what=label), field=field)
    return agency


# What to do when a typed party's identifier matches a stored party whose details differ.
PARTY_CHOICES = {"stored": "使用已登记的当事人信息", "update": "用填写的信息更新登记"}


@dataclass
class PartyPick:
    """The party of a new interview and, when the user chose to update a stored one, what changed."""

    party: Party
    changes: dict[str, tuple[str, str]]


def _party(data: Any) -> PartyPick:
    if not isinstance(data, dict):
        raise DomainError(_("请填写行政相对人（当事人）信息。"), field="party")
    errors = Errors()
    with errors.check():
        name = _text(data.get("name"), "party_name", _("当事人名称"), required=_("请填写当事人名称或姓名。"))
    credit_code = str(data.get("credit_code") or "").strip().upper()
    id_number = str(data.get("id_number") or "").strip().upper()
    kind = data.get("kind") or ("organisation" if credit_code else "person")
    if kind not in ("organisation", "person"):
        errors.add("party_kind", _("当事人类型应为单位或个人。"))
    elif kind == "organisation":
        if not credit_code:
            errors.add("party_credit_code", _("单位当事人须填写统一社会信用代码。"))
        elif err := credit_code_error(credit_code):
            errors.add("party_credit_code", err)
        id_number = ""
    else:
        credit_code = ""
        if id_number and (err := id_number_error(id_number)):
            errors.add("party_id_number", err)
    fields = {}
    with errors.check():
        fields["address"] = _text(data.get("address"), "party_address", _("当事人地址"))
    with errors.check():
        fields["contact_phone"] = _text(data.get("contact_phone"), "party_phone", _("联系电话"))
    errors.raise_if_any()
    existing = None
    if credit_code:
        existing = db.session.execute(sa.select(Party).where(Party.credit_code == credit_code)).scalars().first()
    elif id_number:
        existing = db.session.execute(sa.select(Party).where(Party.id_number == id_number)).scalars().first()
    if existing is None:
        party = Party(kind=kind, name=name, credit_code=credit_code, id_number=id_number, **fields)
        db.session.add(party)
        return PartyPick(party, {})
    # Same identifier: the same party. What the user typed differently is never replaced silently:
    # the page shows the stored record and the user chooses to use it or to update it.
    typed = {"name": name, **fields}
    differ = {k: (getattr(existing, k), v) for k, v in typed.items() if v and v != getattr(existing, k)}
    choice = data.get("on_match") or ""
    if differ and choice not in PARTY_CHOICES:
        which = _("统一社会信用代码") if credit_code else _("身份证号码")
        differences = _("；").join(_("%(field)s登记为“%(old)s”，填写为“%(new)s”", field=_(PARTY_LABELS[k]),
                                     old=old or _("（空）"), new=new) for k, (old, new) in differ.items())
        raise Invalid({"party_choice": _("该%(which)s已登记为当事人“%(name)s”，与填写的信息不同：", which=which,
                                         name=existing.name)
                                       + differences + _("。请选择使用已登记的信息，或用填写的信息更新登记。")},
                      {"stored_party": {"id": existing.id, **existing.snapshot()}, "party_differences": {
                          k: {"stored": old, "typed": new} for k, (old, new) in differ.items()}})
    if choice == "update":
        for key, (_old, new) in differ.items():
            setattr(existing, key, new)
        return PartyPick(existing, differ)
    for key, value in fields.items():  # use the stored record; fill only what it lacks
        if value and not getattr(existing, key):
            setattr(existing, key, value)
    return PartyPick(existing, {})


PARTY_LABELS = {"name": "名称", "address": "地址", "contact_phone": _("联系电话")}


def party_record(data: Any) -> PartyPick:
    """The party directory's record for the party described by `data` (found by its credit code or ID
    number, else added, not committed), checked as for interviews (GB 32100), with what the user chose to
    update in a stored record (`changes`, for the caller's audit entry). Other features' forms (the register
    of measures) use it so there is one directory and one set of rules."""
    return _party(data)


def _attendees(rows: Any) -> list[PartyAttendee]:
    out = []
    errors = Errors()
    for n, row in enumerate(rows or [], start=1):
        if not isinstance(row, dict):
            raise DomainError(_("当事人参加人员格式不正确。"), field="attendees")
        name = str(row.get("name") or "").strip()
        email = str(row.get("email") or "").strip()
        if not name and not email:
            continue
        who = _("参加人员“%(name)s”", name=name) if name else _("第 %(n)s 位参加人员", n=n)
        if not name:
            errors.add("attendees", _("请填写当事人参加人员的姓名。"))
        if email and not EMAIL_RE.match(email):
            errors.add("attendees", _("%(who)s的电子邮箱格式不正确。", who=who))
        values = {}
        for key, label in (("name", _("姓名")), ("post", _("职务")), ("email", _("电子邮箱")), ("phone", _("电话"))):
            text = str(row.get(key) or "").strip()
            if len(text) > LIMITS[f"attendee_{key}"]:
                errors.add("attendees", too_long(_("%(who)s的%(what)s", who=who, what=label), LIMITS[f"attendee_{key}"],
                                                 len(text)))
            values[key] = text
        out.append(PartyAttendee(**values))
    errors.raise_if_any()
    return out


def _people(lead: Agency, agency_ids: list[int], participant_ids: list[int]) -> tuple[list[Agency], list[User]]:
    """The co-organising agencies and the attending officials; each official's agency must take part."""
    agencies = [_agency(a, "agency_ids", _("协办单位")) for a in agency_ids if a != lead.id]
    allowed = {lead.id} | {a.id for a in agencies}
    users = []
    for uid in participant_ids:
        user = db.session.get(User, uid)
        if user is None or not user.active:
            raise DomainError(_("参加人员（编号 %(n)s）不存在或已停用。", n=uid), field="participant_ids")
        if user.agency_id not in allowed:
            raise DomainError(
                _("%(name)s 所在单位“%(agency)s”不是本次约谈的牵头或协办单位，请先添加该单位或另选人员。",
                  name=user.display_name, agency=user.agency.name), field="participant_ids")
        users.append(user)
    if not users:
        raise DomainError(_("请至少选择一名参加约谈的执法人员。"), field="participant_ids")
    return agencies, users


def _clean(data: dict[str, Any], actor: Any, *, creating: bool, current_item_id: int | None = None,
           errors: Errors | None = None) -> dict[str, Any]:
    """The interview's fields, checked. Every broken rule is collected (shown together), not just the first."""
    own = errors is None
    errors = errors if errors is not None else Errors()
    clean: dict[str, Any] = {}
    with errors.check():
        clean["title"] = _text(data.get("title"), "title", _("约谈事由（标题）"),
                               required=_("请填写约谈事由（标题）。"))
    kind = data.get("problem_kind")
    if kind not in PROBLEM_KINDS:
        errors.add("problem_kind", _("请选择问题类型：区域性（镇街）或行业性。"))
    clean["problem_kind"] = kind
    if kind == "regional":
        with errors.check():
            region = _agency(data.get("region_agency_id"), "region_agency_id", _("问题所在镇街"))
            if not region.is_regional:
                raise DomainError(_("区域性问题须选择一个镇或街道。"), field="region_agency_id")
            clean["region_agency_id"], clean["sector"] = region.id, ""
    elif kind == "sector":
        with errors.check():
            clean["sector"] = _text(data.get("sector"), "sector", _("所属行业"),
                                    required=_("行业性问题须填写所属行业。"))
            clean["region_agency_id"] = None
    measure = data.get("measure") or "interview"
    if measure not in MEASURES:
        errors.add("measure", _("柔性执法方式无效。"))
    clean["measure"] = measure
    with errors.check():
        duration = _int(data.get("duration_minutes") or 90, "duration_minutes", _("约谈时长应为分钟数。"))
        if not MIN_DURATION <= duration <= MAX_DURATION:
            raise DomainError(_("约谈时长应在 %(a)s–%(b)s 分钟之间。", a=MIN_DURATION, b=MAX_DURATION),
                              field="duration_minutes")
        clean["duration_minutes"] = duration
    with errors.check():
        room_id = data.get("room_id")
        clean["room_id"] = sched.get_room(room_id).id if room_id not in (None, "", 0, "0") else None
    for key, label in (("matter", _("约谈事项")), ("legal_basis", _("法律依据"))):
        with errors.check():
            clean[key] = _text(data.get(key), key, label)
    lead = None
    with errors.check():
        lead = _agency(data.get("lead_agency_id") or getattr(actor, "agency_id", None), "lead_agency_id", _("牵头单位"))
        if creating and not actor.is_office and lead.id != actor.agency_id:
            raise DomainError(_("联络员只能以本单位为牵头单位发起约谈。"), field="lead_agency_id")
    clean["lead"] = lead
    if lead is not None:
        # The matter's item on the lead agency's published lists (kept as named even after a list revision).
        with errors.check():
            item = lists.published_item(lead, data.get("list_item_id"), keep=current_item_id)
            clean["list_item_id"] = item.id if item else None
        with errors.check():
            clean["agencies"], clean["users"] = _people(
                lead, _ids(data.get("agency_ids"), "agency_ids"), _ids(data.get("participant_ids"), "participant_ids"))
    if own:
        errors.raise_if_any()
    return clean


def resources_of(interview: Interview) -> list[str]:
    """What a slot must hold: every attending official, the room, the party. Sorted (lock order)."""
    res = [sched.user_resource(p.user_id) for p in interview.participants]
    if interview.room_id:
        res.append(sched.room_resource(interview.room_id))
    res.append(sched.party_resource(interview.party_id))
    return sorted(set(res))


def _apply_people(interview: Interview, lead: Agency, agencies: list[Agency], users: list[User]) -> None:
    wanted = {lead.id: "lead", **{a.id: "co" for a in agencies}}
    for row in list(interview.agencies):
        if row.agency_id not in wanted:
            interview.agencies.remove(row)
    have = {row.agency_id: row for row in interview.agencies}
    for agency_id, role in wanted.items():
        row = have.get(agency_id)
        if row is None:
            interview.agencies.append(InterviewAgency(
                agency_id=agency_id, role=role, confirmation="confirmed" if role == "lead" else "pending"))
        elif row.role != role:
            row.role, row.confirmation = role, ("confirmed" if role == "lead" else "pending")
    user_ids = {u.id: u for u in users}
    for row in list(interview.participants):
        if row.user_id not in user_ids:
            interview.participants.remove(row)
    present = {row.user_id for row in interview.participants}
    for user in users:
        if user.id not in present:
            interview.participants.append(InterviewParticipant(user_id=user.id, agency_id=user.agency_id))


# --- creating and scheduling ---------------------------------------------------------------------

def create(actor: Any, data: dict[str, Any], *, now: datetime | None = None) -> Interview:
    """A new interview (draft). With `start` in data it is scheduled in the same transaction:
    either both happen or, on a clash, nothing is saved (409 with the clashes and alternatives)."""
    if actor.role not in ("admin", "coordinator"):
        raise Forbidden(_("只有联络员或领导小组办公室可以发起约谈。"))
    start = data.get("start")
    write_lock(db.session)
    errors = Errors()
    clean = _clean(data, actor, creating=True, errors=errors)
    attendees: list[PartyAttendee] = []
    with errors.check():
        attendees = _attendees(data.get("attendees"))
    picked = None
    with errors.check():  # refused with the rest: the caller rolls back a party it may have added
        picked = _party(data.get("party"))
    errors.raise_if_any()
    lead, agencies, users = clean.pop("lead"), clean.pop("agencies"), clean.pop("users")
    interview = Interview(**clean, party=picked.party, lead_agency_id=lead.id, created_by_id=actor.id,
                          status="draft")
    interview.attendees = attendees
    _apply_people(interview, lead, agencies, users)
    db.session.add(interview)
    db.session.flush()
    if picked.changes:
        audit.record(actor, "interview.party_update", "interview", interview.id, agencies=interview.agency_ids,
                     summary="更新当事人登记：" + "；".join(f"{PARTY_LABELS[k]}“{old}”改为“{new}”"
                                                   for k, (old, new) in picked.changes.items()),
                     before={k: old for k, (old, _new) in picked.changes.items()} | {"party_id": picked.party.id},
                     after={k: new for k, (_old, new) in picked.changes.items()} | {"party_id": picked.party.id})
    if start is not None:
        _occupy(interview, start, now=now)  # books before any audit entry (lock order, see _occupy)
        interview.status = "scheduled"
        bump_sequence(interview)
    audit.record(actor, "interview.create", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"发起约谈：{interview.title}", after=interview.snapshot())
    if start is not None:
        audit.record(actor, "interview.schedule", "interview", interview.id, agencies=interview.agency_ids,
                     summary=f"排期：{fmt_local(interview.start_at)}–{fmt_local(interview.end_at, '%H:%M')}",
                     after={"start_at": interview.start_at.isoformat(), "end_at": interview.end_at.isoformat()})
    events.announce(events.interview_created, interview.id, actor=actor)
    if start is not None:
        events.announce(events.interview_scheduled, interview.id, actor=actor)
    db.session.commit()
    return interview


def _occupy(interview: Interview, start: datetime, *, now: datetime | None) -> None:
    """Check the slot's rules, repeat the clash check inside this transaction, then book.

    Bookings are written before any audit entry of the transaction: the audit chain takes a
    lock on PostgreSQL, and taking it before the booking rows could deadlock with a racing
    booking. If another transaction wins the race, the database refuses our rows; we roll back
    (nothing saved) and answer 409 naming the clash and offering fresh alternatives.
    """
    end = start + timedelta(minutes=interview.duration_minutes)
    check_slot(start, end, now=now)
    resources = resources_of(interview)
    found = sched.clashes(resources, start, end, exclude_interview_id=interview.id)
    if found:
        conflict = _conflict(resources, found, start, interview.duration_minutes, interview.id, now)
        db.session.rollback()  # nothing of this transaction is kept
        raise conflict
    iid, duration = interview.id, interview.duration_minutes  # still readable after a failed flush
    sched.release(iid)
    try:
        sched.book(iid, resources, start, end)
    except (sched.DoubleBooking, DBAPIError) as err:
        if isinstance(err, DBAPIError) and getattr(err.orig, "sqlstate", "") != "40P01":
            raise
        db.session.rollback()
        found = sched.clashes(resources, start, end, exclude_interview_id=iid)
        raise _conflict(resources, found, start, duration, iid, now) from err
    interview.start_at, interview.end_at = start, end


def _conflict(resources: list[str], found: list[sched.Clash], start: datetime, duration: int,
              interview_id: int | None, now: datetime | None) -> Conflict:
    names = _("；").join(dict.fromkeys(c.describe() for c in found)) or _("所选时段刚被他人预约")
    try:
        alternatives = find_slots(resources, duration, max(start - timedelta(days=1), now or utcnow()),
                                  start + timedelta(days=30), 5, now=now, exclude_interview_id=interview_id,
                                  explain=False).slots
    except DomainError:
        alternatives = []
    return Conflict(
        _("所选时段 %(when)s 无法预约：%(why)s。请从推荐的其他时段中选择。", when=fmt_local(start), why=names),
        field="start",
        details={"conflicts": [c.as_dict() for c in found],
                 "alternatives": [{"start": isoformat_local(s.start), "end": isoformat_local(s.end)}
                                  for s in alternatives]},
    )


def _reset_confirmations(interview: Interview) -> None:
    for row in interview.agencies:
        if row.role == "co":
            row.confirmation, row.reason, row.responded_at, row.responded_by_id = "pending", "", None, None


def schedule(actor: Any, interview_id: Any, start: datetime | None, *, now: datetime | None = None) -> Interview:
    interview = get(actor, interview_id, for_update=True)
    _require_organiser(actor, interview)
    if start is None:
        raise DomainError(_("请选择约谈时间。"), field="start")
    if interview.status != "draft":
        raise DomainError(_("该约谈当前状态为“%(s)s”，不能排期；如需改期请使用“改期”。", s=_(interview.status_label)))
    _occupy(interview, start, now=now)
    interview.status = "scheduled"
    _reset_confirmations(interview)
    bump_sequence(interview)
    audit.record(actor, "interview.schedule", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"排期：{fmt_local(interview.start_at)}–{fmt_local(interview.end_at, '%H:%M')}",
                 after={"start_at": interview.start_at.isoformat(), "end_at": interview.end_at.isoformat(),
                        "status": "scheduled"})
    events.announce(events.interview_scheduled, interview.id, actor=actor)
    db.session.commit()
    return interview


def reschedule(actor: Any, interview_id: Any, start: datetime | None, reason: str = "", *,
               now: datetime | None = None, commit: bool = True) -> Interview:
    """Move a scheduled interview (invites follow). `commit=False` leaves the transaction open for a
    caller that records more in the same change (the party portal answering a reschedule request)."""
    interview = get(actor, interview_id, for_update=True)
    _require_organiser(actor, interview)
    if start is None:
        raise DomainError(_("请选择新的约谈时间。"), field="start")
    if interview.status != "scheduled":
        raise DomainError(_("该约谈当前状态为“%(s)s”，不能改期。", s=_(interview.status_label)))
    before = {"start_at": interview.start_at.isoformat(), "end_at": interview.end_at.isoformat()}
    if start == interview.start_at:
        raise DomainError(_("新时间与原时间相同。"), field="start")
    _occupy(interview, start, now=now)
    interview.off_day, interview.off_day_note = None, ""  # the calendar's flag was about the old day
    _reset_confirmations(interview)
    bump_sequence(interview)
    why = f"（{reason.strip()[:200]}）" if reason.strip() else ""
    audit.record(actor, "interview.reschedule", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"改期至 {fmt_local(interview.start_at)}{why}",
                 before=before, after={"start_at": interview.start_at.isoformat(),
                                       "end_at": interview.end_at.isoformat(), "reason": reason.strip()})
    events.announce(events.interview_rescheduled, interview.id, actor=actor, before=before["start_at"])
    if commit:
        db.session.commit()
    return interview


def cancel(actor: Any, interview_id: Any, reason: str) -> Interview:
    interview = get(actor, interview_id, for_update=True)
    _require_organiser(actor, interview)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写取消原因。"), field="reason")
    if interview.status not in ("draft", "scheduled"):
        raise DomainError(_("该约谈当前状态为“%(s)s”，不能取消。", s=_(interview.status_label)))
    before = {"status": interview.status}
    sched.release(interview.id)
    _text(reason, "reason", _("取消原因"))
    interview.status, interview.cancel_reason = "cancelled", reason
    bump_sequence(interview)
    audit.record(actor, "interview.cancel", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"取消约谈：{reason}", before=before, after={"status": "cancelled", "reason": reason})
    events.announce(events.interview_cancelled, interview.id, actor=actor)
    db.session.commit()
    return interview


def mark_held(actor: Any, interview_id: Any, *, now: datetime | None = None) -> Interview:
    interview = get(actor, interview_id, for_update=True)
    _require_organiser(actor, interview)
    if interview.status != "scheduled":
        raise DomainError(_("该约谈当前状态为“%(s)s”，不能标记为已约谈。", s=_(interview.status_label)))
    if interview.start_at > (now or utcnow()):
        raise DomainError(_("约谈开始后才能标记为已约谈。"))
    interview.status = "held"
    audit.record(actor, "interview.held", "interview", interview.id, agencies=interview.agency_ids,
                 summary="约谈已举行", before={"status": "scheduled"}, after={"status": "held"})
    events.announce(events.interview_held, interview.id, actor=actor)
    db.session.commit()
    return interview


def respond(actor: Any, interview_id: Any, decision: str, reason: str = "") -> InterviewAgency:
    """A co-organising agency confirms or declines (with a reason)."""
    interview = get(actor, interview_id, for_update=True)
    if actor.role not in ("admin", "coordinator"):
        raise Forbidden(_("只有本单位联络员可以确认或拒绝协办。"))
    row = next((a for a in interview.agencies if a.agency_id == actor.agency_id and a.role == "co"), None)
    if row is None:
        raise Forbidden(_("您的单位不是本次约谈的协办单位。"))
    if interview.status != "scheduled":
        raise DomainError(_("约谈排期后才能确认或拒绝。"))
    if decision not in ("confirmed", "declined"):
        raise DomainError(_("请选择确认或拒绝。"), field="decision")
    reason = (reason or "").strip()
    if decision == "declined" and not reason:
        raise DomainError(_("拒绝时须填写原因。"), field="reason")
    before = {"confirmation": row.confirmation, "reason": row.reason}
    _text(reason, "reason", _("原因"))
    row.confirmation, row.reason = decision, reason
    row.responded_at, row.responded_by_id = utcnow(), actor.id
    label = "确认参加" if decision == "confirmed" else f"拒绝参加（{reason}）"
    audit.record(actor, f"interview.{decision}", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"{row.agency.name} {label}", before=before,
                 after={"confirmation": decision, "reason": row.reason})
    events.announce(events.interview_confirmation_answered, interview.id, actor=actor, agency_id=row.agency_id,
                    decision=decision)
    db.session.commit()
    return row


def update(actor: Any, interview_id: Any, data: dict[str, Any], *, now: datetime | None = None) -> Interview:
    """Change details, people or room of a draft or scheduled interview. A scheduled one keeps its
    time: the new people and room must be free then (checked and booked as when scheduling)."""
    interview = get(actor, interview_id, for_update=True)
    _require_organiser(actor, interview)
    if interview.status not in ("draft", "scheduled"):
        raise DomainError(_("该约谈当前状态为“%(s)s”，不能修改。", s=_(interview.status_label)))
    before = interview.snapshot()
    current_people = {"agency_ids": interview.agency_ids,
                      "participant_ids": [p.user_id for p in interview.participants]}
    merged = {**before, **current_people, **data}
    merged["lead_agency_id"] = interview.lead_agency_id  # the organiser does not change
    clean = _clean(merged, actor, creating=False, current_item_id=interview.list_item_id)
    lead, agencies, users = clean.pop("lead"), clean.pop("agencies"), clean.pop("users")
    for key, value in clean.items():
        setattr(interview, key, value)
    if "attendees" in data:
        interview.attendees = _attendees(data.get("attendees"))
    _apply_people(interview, lead, agencies, users)
    if interview.snapshot() == before and "attendees" not in data:
        db.session.rollback()
        raise DomainError(_("没有需要保存的修改。"))
    db.session.flush()
    if interview.status == "scheduled":
        _occupy(interview, interview.start_at, now=now)
    bump_sequence(interview)
    audit.record(actor, "interview.update", "interview", interview.id, agencies=sorted(set(interview.agency_ids)
                 | set(before["agencies"])), summary="修改约谈信息", before=before, after=interview.snapshot())
    # Who was in it before: agencies and people removed by this change are told, and their worklists refreshed.
    events.announce(events.interview_changed, interview.id, actor=actor, before_agencies=before["agencies"],
                    before_participants=before["participants"])
    db.session.commit()
    return interview


def suggest(actor: Any, participant_ids: list[int], room_id: Any, duration_minutes: Any, window_start: datetime,
            window_end: datetime, limit: int = 10, *, party_id: int | None = None,
            exclude_interview_id: int | None = None, now: datetime | None = None):
    """Slots for people and a room (the search the pages and the API share)."""
    ids = _ids(participant_ids, "participant_ids")
    if not ids:
        raise DomainError(_("请至少选择一名参加人员。"), field="participant_ids")
    resources = []
    for uid in ids:
        user = db.session.get(User, uid)
        if user is None or not user.active:
            raise DomainError(_("人员（编号 %(n)s）不存在或已停用。", n=uid), field="participant_ids")
        resources.append(sched.user_resource(uid))
    if room_id not in (None, "", 0, "0"):
        resources.append(sched.room_resource(sched.get_room(room_id).id))
    if party_id:
        resources.append(sched.party_resource(party_id))
    duration = _int(duration_minutes, "duration_minutes", _("约谈时长应为分钟数。"))
    result = find_slots(resources, duration, window_start, window_end, limit, now=now,
                        exclude_interview_id=exclude_interview_id)
    labels = sched.resource_labels(resources)
    return result, labels


# --- after the interview: rectification and follow-up visits -------------------------------------

def add_item(actor: Any, interview_id: Any, requirement: str, deadline: date | None, *, source: str = "interview",
             today: date | None = None) -> RectificationItem:
    interview = get(actor, interview_id, for_update=True)
    _require_organiser(actor, interview)
    if interview.status != "held":
        raise DomainError(_("约谈举行后才能登记整改要求。"))
    requirement = (requirement or "").strip()
    if not requirement:
        raise DomainError(_("请填写整改要求。"), field="requirement")
    if deadline is None:
        raise DomainError(_("请填写整改期限。"), field="deadline")
    if deadline < (today or local_today()):
        raise DomainError(_("整改期限不能早于今天。"), field="deadline")
    try:
        due = nth_working_day_after(deadline, 1)  # the visit: the first working day after the deadline
    except CalendarMissing as err:
        raise calendar_error(err, field="deadline") from err
    _text(requirement, "requirement", _("整改要求"))
    item = RectificationItem(interview_id=interview.id, requirement=requirement, deadline=deadline,
                             source=source if source in ("interview", "minutes") else "interview",
                             created_by_id=actor.id)
    db.session.add(item)
    db.session.flush()
    visit = FollowUp(item_id=item.id, interview_id=interview.id, agency_id=interview.lead_agency_id, due=due)
    db.session.add(visit)
    db.session.flush()
    audit.record(actor, "interview.item", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"整改要求：{requirement[:80]}（期限 {deadline.isoformat()}，{due.isoformat()} 回访）",
                 after={"item_id": item.id, "requirement": item.requirement, "deadline": deadline.isoformat(),
                        "follow_up_id": visit.id, "due": due.isoformat()})
    events.announce(events.rectification_added, interview.id, actor=actor, item_id=item.id, follow_up_id=visit.id)
    db.session.commit()
    return item


def can_see_follow_up(actor: Any, visit: FollowUp | None) -> bool:
    """A visit of an interview: as the interview; a visit of a measure's observation period: its agency."""
    if visit is None:
        return False
    return can_see(actor, visit.interview) if visit.interview_id else may_see(actor, visit.agency_id)


def get_follow_up(actor: Any, follow_up_id: Any) -> FollowUp:
    try:
        visit = db.session.get(FollowUp, int(follow_up_id))
    except (TypeError, ValueError):
        visit = None
    if not can_see_follow_up(actor, visit):
        raise NotFound(_("回访任务不存在或您无权查看。"))
    return visit


def follow_ups(actor: Any, *, status: str = "pending") -> list[FollowUp]:
    stmt = sa.select(FollowUp).order_by(FollowUp.due, FollowUp.id)
    if not actor.is_office:
        stmt = stmt.where(FollowUp.agency_id == actor.agency_id)
    if status in ("pending", "done"):
        stmt = stmt.where(FollowUp.status == status)
    return list(db.session.execute(stmt).scalars())


def record_visit(actor: Any, follow_up_id: Any, result: str, notes: str, *, now: datetime | None = None) -> FollowUp:
    write_lock(db.session)
    visit = apply_visit(actor, get_follow_up(actor, follow_up_id), result, notes, now=now)
    db.session.commit()
    return visit


def apply_visit(actor: Any, visit: FollowUp, result: str, notes: str, *, now: datetime | None = None) -> FollowUp:
    """Record a visit's result in the caller's transaction (checked, audited, announced; not committed):
    `record_visit` commits it alone, the register (coord.measures) with the 回访 entry it records."""
    if not (actor.is_office or (actor.agency_id == visit.agency_id and actor.role != "viewer")):
        raise Forbidden(_("回访由牵头单位登记。"))
    if visit.status == "done":
        raise DomainError(_("该回访已登记结果。"))
    if result not in FOLLOW_UP_RESULTS:
        raise DomainError(_("请选择回访结果：已整改或未整改。"), field="result")
    notes = (notes or "").strip()
    if result == "not_rectified" and not notes:
        raise DomainError(_("未整改时请填写情况说明。"), field="notes")
    _text(notes, "notes", _("情况说明"))
    visit.status, visit.result, visit.notes = "done", result, notes
    visit.visited_at, visit.visited_by_id = now or utcnow(), actor.id
    summary = f"回访：{FOLLOW_UP_RESULTS[result]}" + (f"（{notes[:80]}）" if notes else "")
    after = {"follow_up_id": visit.id, "result": result, "notes": visit.notes}
    if visit.interview_id:
        audit.record(actor, "followup.visit", "interview", visit.interview_id, agencies=visit.interview.agency_ids,
                     summary=summary, after=after)
    else:
        audit.record(actor, "followup.visit", "follow_up", visit.id, agencies=[visit.agency_id], summary=summary,
                     after=after)
    events.announce(events.follow_up_visited, visit.id, actor=actor, result=result)
    return visit


def escalation_defaults(visit: FollowUp) -> dict[str, Any]:
    """The lead form prefilled from the interview, the rectification item and the visit."""
    interview, item = visit.interview, visit.item
    held = fmt_local(interview.start_at, "%Y-%m-%d") if interview.start_at else ""
    visited = fmt_local(visit.visited_at, "%Y-%m-%d") if visit.visited_at else ""
    facts = (f"{held}{interview.lead_agency.name}就“{interview.title}”对当事人{interview.measure_label}，"
             f"提出整改要求：{item.requirement}（整改期限 {item.deadline.isoformat()}）。"
             f"{visited}回访核实：未整改。{visit.notes}").strip()
    place = interview.party.address or (interview.region_agency.name if interview.region_agency else "")
    return {
        "party_name": interview.party.name, "party_credit_code": interview.party.credit_code or "",
        "facts": facts[:10000], "matter": (interview.matter or interview.title)[:200],
        "legal_basis": interview.legal_basis or "", "place": place[:200],
        "occurred_on": to_local(visit.visited_at).date().isoformat() if visit.visited_at else "",
        "urgency": "normal",
    }


def _check_escalation(actor: Any, visit: FollowUp) -> None:
    if visit.interview_id is None:
        # A measure's observation period: the agency that applied it enforces the law itself.
        raise DomainError(_("纠错观察期届满未纠正的，由实施柔性执法措施的单位依法处理，不需移交线索。"))
    if not is_organiser(actor, visit.interview):
        raise Forbidden(_("只有牵头单位的联络员或领导小组办公室可以升级处理。"))
    if visit.result != "not_rectified":
        raise DomainError(_("只有回访结果为“未整改”的事项可以升级处理。"))
    # Visits escalated before referrals existed (escalated, no lead) may still get their lead now.
    if visit.lead_id:
        raise Conflict(_("该事项已升级处理，已生成线索 %(n)s，不能重复升级。", n=visit.lead.number),
                       details={"lead_id": visit.lead_id})


def escalation_target(actor: Any, follow_up_id: Any) -> FollowUp:
    """The visit if this actor may escalate it now (for the form page): 404, 403 or a rule message."""
    visit = get_follow_up(actor, follow_up_id)
    _check_escalation(actor, visit)
    return visit


def escalate(actor: Any, follow_up_id: Any, data: dict[str, Any] | None = None, uploads: Any = (), *,
             now: datetime | None = None) -> FollowUp:
    """A "not rectified" visit is escalated: a lead from the interview's lead agency to the chosen
    enforcement agency (through the referral services), linked to the visit, in one transaction.

    `data` overrides the prefilled lead fields (None = keep the prefill); `to_agency_id` is required.
    """
    write_lock(db.session)
    visit = get_follow_up(actor, follow_up_id)
    if db.session.get_bind().dialect.name == "postgresql":  # two escalations of one visit: one waits
        db.session.execute(sa.select(FollowUp.id).where(FollowUp.id == visit.id).with_for_update())
        db.session.refresh(visit)
    _check_escalation(actor, visit)
    data = {k: v for k, v in (data or {}).items() if v is not None}
    if data.get("to_agency_id") in (None, ""):
        raise DomainError(_("请选择接收线索的行政执法部门。"), field="to_agency_id")
    interview = visit.interview
    lead = referrals.new_lead(actor, interview.lead_agency_id, {**escalation_defaults(visit), **data}, uploads,
                              now=now)
    if not visit.escalated:
        visit.escalated, visit.escalated_at, visit.escalated_by_id = True, now or utcnow(), actor.id
    visit.lead_id = lead.id
    db.session.flush()
    audit.record(actor, "lead.escalate", "lead", lead.id, agencies=[lead.from_agency_id, lead.to_agency_id],
                 summary=f"{lead.number}：约谈“{interview.title}”整改回访未整改，升级移交线索至{lead.to_agency.name}"
                         f"（{lead.party_name}，{lead.matter}）",
                 after={**lead.snapshot(), "interview_id": interview.id, "follow_up_id": visit.id})
    audit.record(actor, "followup.escalate", "interview", visit.interview_id, agencies=interview.agency_ids,
                 summary=f"未整改事项升级处理：向{lead.to_agency.name}移交线索 {lead.number}",
                 after={"follow_up_id": visit.id, "escalated": True, "lead_id": lead.id, "lead_number": lead.number})
    events.announce(events.follow_up_escalated, visit.id, actor=actor, lead_id=lead.id)
    events.announce(events.lead_referred, lead.id, actor=actor)
    db.session.commit()
    return visit


def _audit_visible(user: Any, entity_id: str) -> bool:
    try:
        return can_see(user, db.session.get(Interview, int(entity_id)))
    except ValueError:
        return False


audit.register_entity("interview", "联合约谈", _audit_visible)


def _visit_visible(user: Any, entity_id: str) -> bool:
    return str(entity_id).isdigit() and can_see_follow_up(user, db.session.get(FollowUp, int(entity_id)))


audit.register_entity("follow_up", "回访", _visit_visible)


def _escalated_visit(lead: Any) -> FollowUp | None:
    return db.session.execute(sa.select(FollowUp).where(FollowUp.lead_id == lead.id)).scalar_one_or_none()


referrals.register_source("follow_up", _escalated_visit)
