"""Every change of the register: rule check, change, audit entry, one commit (or nothing at all).

Who: officers and coordinators record their own agency's measures; the office may record for any
agency. Who sees: the agency and the office; anyone else gets 404.

Eligibility (policy §三, §五(三)): a matter on the agency's negative list or in an excluded field
is refused for persuasion, notice and advice, and mediation, with the reasons the lists give. An
interview is only flagged (the policy uses interviews for safety risks too, §四(三), and the
interviews feature flags rather than refuses); a follow-up visit checks an earlier measure.

Automatic entries (see `coord.measures.listeners`): a lead replied with outcome `flexible`, an
interview held, and a follow-up visit recorded on the 回访任务 page each make their entry.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from coord import events
from coord.accounts.models import User
from coord.accounts.scoping import may_see
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import Conflict, DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import FollowUp, Interview
from coord.lang import _
from coord.lists import services as lists
from coord.measures.models import (
    CHANNELS,
    KIND_TITLES,
    KINDS,
    PERSUASION_RESULTS,
    VISIT_RESULTS,
    Measure,
    MeasureFile,
    MeasureOfficer,
)
from coord.parties.models import Party
from coord.referrals import storage
from coord.referrals.models import Lead
from coord.referrals.storage import Upload
from coord.timeutil import local_today, to_local
from coord.workdays.services import CalendarMissing, add_working_days

ACTING_ROLES = ("admin", "coordinator", "officer")
# Kinds refused on a matter the lists or the policy exclude from flexible enforcement.
ELIGIBILITY_CHECKED = ("persuasion", "notice_advice", "mediation")
PAGE_SIZE = 50
TEXT_LIMIT = 4000
LONG_TEXT_LIMIT = 10000


# --- reading, scoped ---------------------------------------------------------------------------

def can_see(user: Any, measure: Measure | None) -> bool:
    return measure is not None and may_see(user, measure.agency_id)


def get(actor: Any, measure_id: Any) -> Measure:
    try:
        mid = int(measure_id)
    except (TypeError, ValueError):
        mid = 0
    measure = db.session.get(Measure, mid) if 0 < mid < 2**31 else None
    if not can_see(actor, measure):
        raise NotFound(_("台账记录不存在或您无权查看。"))
    return measure


@dataclass
class Filters:
    agency_id: int | None = None
    kind: str = ""
    date_from: date | None = None
    date_to: date | None = None
    party_id: int | None = None
    source: str = ""
    agency_kind: str = ""

    def where(self, actor: Any) -> list[Any]:
        clauses: list[Any] = []
        if not actor.is_office:
            clauses.append(Measure.agency_id == actor.agency_id)
        if self.agency_id:
            clauses.append(Measure.agency_id == self.agency_id)
        if self.agency_kind:
            clauses.append(Measure.agency_id.in_(sa.select(Agency.id).where(Agency.kind == self.agency_kind)))
        if self.kind:
            if self.kind not in KINDS:
                raise DomainError(_("柔性执法方式无效。"), field="kind")
            clauses.append(Measure.kind == self.kind)
        if self.date_from:
            clauses.append(Measure.measure_on >= self.date_from)
        if self.date_to:
            clauses.append(Measure.measure_on <= self.date_to)
        if self.party_id:
            clauses.append(Measure.party_id == self.party_id)
        if self.source:
            clauses.append(Measure.source == self.source)
        return clauses


def list_measures(actor: Any, filters: Filters, *, page: int = 1, per_page: int = PAGE_SIZE
                  ) -> tuple[list[Measure], int]:
    """One page of the register, newest first, and the total the filters select."""
    where = filters.where(actor)
    per_page = max(1, min(per_page, 500))
    # The total comes with the page (a window count), not from a second query; only a page past the end,
    # which has no row to carry it, counts apart.
    stmt = (sa.select(Measure, sa.func.count().over().label("total")).where(*where)
            .order_by(Measure.measure_on.desc(), Measure.id.desc())
            .limit(per_page).offset((max(page, 1) - 1) * per_page)
            .options(selectinload(Measure.officers)))
    found = db.session.execute(stmt).unique().all()
    rows = [m for m, _total in found]
    if found or page <= 1:
        return rows, found[0].total if found else 0
    total = db.session.execute(sa.select(sa.func.count()).select_from(Measure).where(*where)).scalar_one()
    return rows, total


def pending_visits(actor: Any, agency_id: int) -> list[FollowUp]:
    """Visits the agency still has to make (for a 回访 entry)."""
    if not may_see(actor, agency_id):
        return []
    stmt = sa.select(FollowUp).where(FollowUp.agency_id == agency_id, FollowUp.status == "pending").order_by(
        FollowUp.due, FollowUp.id)
    return list(db.session.execute(stmt).scalars())


def open_interviews(actor: Any, agency_id: int) -> list[Interview]:
    """The agency's scheduled or held interviews not yet in the register (for a 约谈告诫 entry)."""
    if not may_see(actor, agency_id):
        return []
    registered = sa.select(Measure.id).where(Measure.interview_id == Interview.id)
    stmt = (sa.select(Interview).where(Interview.lead_agency_id == agency_id,
                                       Interview.status.in_(("scheduled", "held")), ~sa.exists(registered))
            .order_by(Interview.start_at.desc()).limit(200))
    return list(db.session.execute(stmt).unique().scalars())


def officers_of(agency_id: int) -> list[User]:
    return list(db.session.execute(sa.select(User).where(
        User.agency_id == agency_id, User.active.is_(True), User.role != "viewer").order_by(User.id)).scalars())


# --- validating input --------------------------------------------------------------------------

def _text(data: dict, key: str, label: str, limit: int, *, required: bool = False) -> str:
    value = data.get(key)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise DomainError(_("请填写%(label)s。", label=_(label)), field=key)
    if len(value) > limit:
        raise DomainError(_("%(label)s不能超过 %(limit)s 个字符（现有 %(n)s 个）。", label=_(label), limit=limit,
                            n=len(value)), field=key)
    return value


def _date(value: Any, field: str, label: str, *, required: bool = False) -> date | None:
    if isinstance(value, datetime):
        return to_local(value).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise DomainError(_("请填写%(label)s。", label=_(label)), field=field)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(_("%(label)s格式应为 YYYY-MM-DD。", label=_(label)), field=field) from None


def _id(value: Any, field: str, label: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise DomainError(_("请选择有效的%(label)s。", label=_(label)), field=field) from None
    if not 0 < number < 2**31:
        raise DomainError(_("请选择有效的%(label)s。", label=_(label)), field=field)
    return number


def _agency(actor: Any, value: Any) -> Agency:
    agency_id = _id(value, "agency_id", "实施单位") or actor.agency_id
    agency = db.session.get(Agency, agency_id)
    if agency is None or not agency.active:
        raise DomainError(_("实施单位不存在或已停用。"), field="agency_id")
    if not actor.is_office and agency.id != actor.agency_id:
        raise Forbidden(_("只能登记本单位实施的柔性执法措施。"))
    return agency


def _officers(agency: Agency, values: Any, *, required: bool = True) -> list[User]:
    if values in (None, ""):
        values = []
    if isinstance(values, str | int):
        values = [values]
    users: list[User] = []
    for value in values:
        uid = _id(value, "officer_ids", "执法人员")
        if uid is None:
            continue
        user = db.session.get(User, uid)
        if user is None or not user.active:
            raise DomainError(_("执法人员（编号 %(uid)s）不存在或已停用。", uid=uid), field="officer_ids")
        if user.agency_id != agency.id:
            raise DomainError(_("%(display_name)s 是%(name)s的人员，不是实施单位%(name2)s的执法人员。",
                                display_name=user.display_name,
                                name=user.agency.name, name2=agency.name),
                              field="officer_ids")
        if user.role == "viewer":
            raise DomainError(_("%(display_name)s 是只读用户，不能作为执法人员。", display_name=user.display_name),
                              field="officer_ids")
        if user not in users:
            users.append(user)
    if required and not users:
        raise DomainError(_("请至少选择一名实施措施的执法人员。"), field="officer_ids")
    return users


def _choice(data: dict, key: str, options: dict[str, str], message: str) -> str:
    value = str(data.get(key) or "").strip()
    if value not in options:
        raise DomainError(message, field=key)
    return value


def _bool(value: Any, field: str, message: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("1", "true", "yes", "on", "是"):
        return True
    if text in ("0", "false", "no", "off", "否"):
        return False
    raise DomainError(message, field=field)


def _eligibility(kind: str, agency: Agency, matter: str, list_item_id: int | None) -> None:
    if kind not in ELIGIBILITY_CHECKED:
        return
    verdict = lists.eligibility(agency.id, matter_text=matter, list_item_id=list_item_id)
    if not verdict["eligible"]:
        raise DomainError(_("该事项%(flag)s，不能采取%(kind)s措施：%(reasons)s请依法立案查处。",
                            flag=_(verdict["flag"]),
                            kind=_(KINDS[kind]), reasons="".join(verdict["reasons"])),
                          field="matter", details={"reasons": verdict["reasons"]})


def _visit_party(visit: FollowUp) -> Party:
    return visit.interview.party if visit.interview_id else visit.observed_measure.party


def _origin(actor: Any, kind: str, agency: Agency, data: dict) -> dict[str, Any]:
    """The interview (约谈告诫) or the visit (回访) an entry records, checked; with its party."""
    if kind == "interview":
        interview_id = _id(data.get("interview_id"), "interview_id", "约谈")
        if interview_id is None:
            raise DomainError(_("约谈告诫须关联本单位牵头的约谈。"), field="interview_id")
        try:
            interview = interviews.get(actor, interview_id)
        except NotFound:
            raise DomainError(_("所选约谈不存在或您无权查看。"), field="interview_id") from None
        if interview.lead_agency_id != agency.id:
            raise DomainError(_("所选约谈由%(name)s牵头，应由牵头单位登记。", name=interview.lead_agency.name),
                              field="interview_id")
        if interview.status not in ("scheduled", "held"):
            raise DomainError(_("所选约谈当前状态为“%(status_label)s”，不能登记为约谈告诫。",
                                status_label=interview.status_label),
                              field="interview_id")
        existing = db.session.execute(
            sa.select(Measure).where(Measure.interview_id == interview.id)).scalar_one_or_none()
        if existing is not None:
            raise Conflict(_("该约谈已登记在台账中（%(number)s）。", number=existing.number),
                           details={"measure_id": existing.id})
        return {"interview": interview, "party": interview.party}
    if kind == "follow_up":
        visit_id = _id(data.get("follow_up_id"), "follow_up_id", "回访任务")
        if visit_id is None:
            raise DomainError(_("回访须选择一项回访任务（来自约谈整改或纠错观察期）。"), field="follow_up_id")
        try:
            visit = interviews.get_follow_up(actor, visit_id)
        except NotFound:
            raise DomainError(_("所选回访任务不存在或您无权查看。"), field="follow_up_id") from None
        if visit.agency_id != agency.id:
            raise DomainError(_("所选回访任务由%(name)s负责，不是%(name2)s的回访任务。",
                                name=visit.agency.name, name2=agency.name),
                              field="follow_up_id")
        if visit.status == "done":
            raise Conflict(_("该回访任务已登记结果。"), details={"follow_up_id": visit.id})
        return {"visit": visit, "party": _visit_party(visit)}
    return {}


def _kind_fields(kind: str, data: dict) -> dict[str, Any]:
    """The fields of one kind of measure, required as that kind needs them."""
    if kind == "persuasion":
        return {"behaviour": _text(data, "behaviour", "劝导的违法行为", TEXT_LIMIT, required=True),
                "result": _choice(data, "result", PERSUASION_RESULTS, "请选择劝导结果：已停止、已改正或拒不改正。")}
    if kind == "notice_advice":
        return {"channel": _choice(data, "channel", CHANNELS, "请选择告知方式。"),
                "content": _text(data, "content", "告知建议内容", LONG_TEXT_LIMIT, required=True)}
    if kind == "mediation":
        reached = _bool(data.get("agreement_reached"), "agreement_reached", "请选择是否达成调解协议。")
        return {"other_parties": _text(data, "other_parties", "调解的其他当事人", TEXT_LIMIT),
                "agreement_reached": reached,
                "agreement_terms": _text(data, "agreement_terms", "调解协议内容", LONG_TEXT_LIMIT, required=reached)}
    if kind == "follow_up":
        return {"result": _choice(data, "result", VISIT_RESULTS, "请选择回访结果：已整改或未整改。")}
    return {}


def _observation_due(deadline: date) -> date:
    try:
        return add_working_days(deadline, 1)  # the visit: the first working day after the deadline
    except CalendarMissing as err:
        raise DomainError(str(err), field="correction_deadline") from err


def clean(actor: Any, data: dict, *, today: date | None = None) -> dict[str, Any]:
    """Everything checked before the first write; raises DomainError naming the field."""
    kind = str(data.get("kind") or "").strip()
    if kind not in KINDS:
        raise DomainError(_("请选择柔性执法方式：劝导、告知建议、约谈告诫、调解纠错或回访。"), field="kind")
    if actor.role not in ACTING_ROLES:
        raise Forbidden(_("只读用户不能登记柔性执法措施。"))
    agency = _agency(actor, data.get("agency_id"))
    origin = _origin(actor, kind, agency, data)
    party = origin.get("party")
    party_changes: dict[str, tuple[str, str]] = {}
    if party is None:
        picked = interviews.party_record(data.get("party"))
        party, party_changes = picked.party, picked.changes
    on = _date(data.get("date"), "date", "实施日期", required=True)
    if on > (today or local_today()):
        raise DomainError(_("实施日期不能晚于今天。"), field="date")
    matter = _text(data, "matter", "事项", 300, required=not origin)
    if not matter and "interview" in origin:
        matter = (origin["interview"].matter or origin["interview"].title)[:300]
    if not matter and "visit" in origin:
        visit = origin["visit"]
        matter = (visit.item.requirement if visit.item_id else visit.observed_measure.matter)[:300]
    item = lists.published_item(agency, data.get("list_item_id"))
    _eligibility(kind, agency, matter, item.id if item else None)
    deadline = _date(data.get("correction_deadline"), "correction_deadline", "纠错期限")
    if deadline is not None and deadline < on:
        raise DomainError(_("纠错期限不能早于实施日期。"), field="correction_deadline")
    clean_data: dict[str, Any] = {
        "kind": kind, "agency": agency, "party": party, "party_changes": party_changes, "origin": origin,
        "measure_on": on,
        "officers": _officers(agency, data.get("officer_ids")),
        "place": _text(data, "place", "实施地点", 200),
        "matter": matter, "list_item_id": item.id if item else None,
        "circumstances": _text(data, "circumstances", "基本情况", LONG_TEXT_LIMIT),
        "legal_basis": _text(data, "legal_basis", "法律依据", TEXT_LIMIT),
        "outcome": _text(data, "outcome", "措施结果", LONG_TEXT_LIMIT),
        "correction_deadline": deadline,
        "observation_requirement": _text(data, "observation_requirement", "纠错（整改）要求", TEXT_LIMIT,
                                         required=deadline is not None and kind != "follow_up"),
        "undertaking": _text(data, "undertaking", "当事人承诺", LONG_TEXT_LIMIT),
        **_kind_fields(kind, data),
    }
    if deadline is not None:
        clean_data["visit_due"] = _observation_due(deadline)
    return clean_data


# --- changing the register ----------------------------------------------------------------------

def _number(measure: Measure) -> None:
    measure.number = f"TZ{measure.measure_on.year}{measure.id:06d}"


def _audit(actor: Any, action: str, measure: Measure, summary: str, before: dict | None = None) -> None:
    audit.record(actor, action, "measure", measure.id, agencies=[measure.agency_id],
                 summary=f"{measure.number}：{summary}", before=before, after=measure.snapshot())


def _open_observation(measure: Measure, due: date) -> FollowUp:
    visit = FollowUp(agency_id=measure.agency_id, due=due)
    db.session.add(visit)
    db.session.flush()
    measure.observation_visit_id = visit.id
    return visit


def _check_files(uploads: Sequence[Upload]) -> list[tuple[Upload, str, str, str]]:
    return [(u, *storage.check(u)) for u in uploads]


def _attach(actor: Any, measure: Measure, checked: list[tuple[Upload, str, str, str]]) -> list[MeasureFile]:
    rows = []
    for upload, name, mime, digest in checked:
        storage.save(upload.data, digest)
        row = MeasureFile(measure_id=measure.id, filename=name, content_type=mime, size=len(upload.data),
                          sha256=digest, uploaded_by_id=getattr(actor, "id", None))
        db.session.add(row)
        rows.append(row)
    return rows


def create(actor: Any, data: dict, uploads: Sequence[Upload] = (), *, today: date | None = None,
           now: datetime | None = None) -> Measure:
    """Enter one application of a measure in the register (with its visit and attachments)."""
    write_lock(db.session)
    values = clean(actor, data, today=today)
    checked = _check_files(uploads)
    origin = values.pop("origin")
    agency, party, officers = values.pop("agency"), values.pop("party"), values.pop("officers")
    party_changes = values.pop("party_changes")
    visit_due = values.pop("visit_due", None)
    if "visit" in origin:
        # 回访: the visit's result is recorded with this entry, in the same transaction.
        try:
            interviews.apply_visit(actor, origin["visit"], values["result"], values["outcome"], now=now)
        except DomainError as err:
            if err.field == "notes":  # the visit's notes are this entry's outcome
                raise DomainError(err.message, field="outcome") from err
            raise
    measure = Measure(**values, agency_id=agency.id, party=party, source="manual", created_by_id=actor.id,
                      interview_id=origin["interview"].id if "interview" in origin else None,
                      follow_up_id=origin["visit"].id if "visit" in origin else None)
    measure.officers = [MeasureOfficer(user_id=u.id) for u in officers]
    db.session.add(measure)
    db.session.flush()
    _number(measure)
    if visit_due is not None:
        _open_observation(measure, visit_due)
    _attach(actor, measure, checked)
    db.session.flush()
    summary = f"登记{KIND_TITLES[measure.kind]}（{party.name}，{measure.matter[:60]}）"
    if visit_due is not None:
        summary += f"，纠错观察期至 {measure.correction_deadline.isoformat()}，{visit_due.isoformat()} 回访"
    _audit(actor, "measure.create", measure, summary)
    if party_changes:  # the user chose to update the stored party with what was typed
        audit.record(actor, "measure.party_update", "measure", measure.id, agencies=[measure.agency_id],
                     summary=f"{measure.number}：更新当事人登记信息：" + "；".join(
                         f"{k}“{old}”改为“{new}”" for k, (old, new) in party_changes.items()),
                     before={k: old for k, (old, _new) in party_changes.items()} | {"party_id": party.id},
                     after={k: new for k, (_old, new) in party_changes.items()} | {"party_id": party.id})
    events.announce(events.measure_recorded, measure.id, actor=actor, kind=measure.kind, agency_id=measure.agency_id,
                    source="manual")
    db.session.commit()
    return measure


def add_files(actor: Any, measure_id: Any, uploads: Sequence[Upload]) -> list[MeasureFile]:
    write_lock(db.session)
    measure = get(actor, measure_id)
    if actor.role not in ACTING_ROLES:
        raise Forbidden(_("只读用户不能上传附件。"))
    if not uploads:
        raise DomainError(_("请选择要上传的文件。"), field="files")
    rows = _attach(actor, measure, _check_files(uploads))
    db.session.flush()
    _audit(actor, "measure.files", measure, "上传附件：" + "、".join(r.filename for r in rows))
    events.announce(events.measure_files_added, measure.id, actor=actor, count=len(rows))
    db.session.commit()
    return rows


def file_for(actor: Any, file_id: Any) -> MeasureFile:
    fid = _id(file_id, "file_id", "附件") or 0
    row = db.session.get(MeasureFile, fid) if fid else None
    if row is None or not can_see(actor, row.measure):
        raise NotFound(_("附件不存在或您无权查看。"))
    return row


# --- automatic entries (called by the listeners, after the change they follow was committed) -----

ORGANISATION_WORDS = ("公司", "厂", "店", "中心", "合作社", "部", "馆", "所", "院", "行", "社", "站", "场", "会")


def _lead_party(lead: Lead) -> Party:
    """A lead names its party by name and credit code only: find the directory's record, or add one."""
    code = lead.party_credit_code
    if code:
        found = db.session.execute(sa.select(Party).where(Party.credit_code == code)).scalars().first()
        if found is not None:
            return found
        party = Party(kind="organisation", name=lead.party_name, credit_code=code)
    else:
        found = db.session.execute(sa.select(Party).where(
            Party.name == lead.party_name, Party.credit_code == "", Party.id_number == "")).scalars().first()
        if found is not None:
            return found
        # No identifier to tell: a name like 某某商贸有限公司 is an organisation, else a person.
        kind = "organisation" if lead.party_name.endswith(ORGANISATION_WORDS) else "person"
        party = Party(kind=kind, name=lead.party_name)
    db.session.add(party)
    db.session.flush()
    return party


def _automatic(actor: Any, measure: Measure, officers: list[int], summary: str, source: str) -> Measure:
    measure.source = source
    measure.created_by_id = getattr(actor, "id", None)
    measure.officers = [MeasureOfficer(user_id=uid) for uid in dict.fromkeys(officers)]
    db.session.add(measure)
    db.session.flush()
    _number(measure)
    _audit(actor, "measure.create", measure, summary)
    events.announce(events.measure_recorded, measure.id, actor=actor, kind=measure.kind, agency_id=measure.agency_id,
                    source=source)
    db.session.commit()
    return measure


def _exists(*where: Any) -> bool:
    return db.session.execute(sa.select(Measure.id).where(*where)).first() is not None


def _officers_in(agency_id: int, *users: User | None) -> list[int]:
    return [u.id for u in users if u is not None and u.agency_id == agency_id and u.role != "viewer"]


def record_from_lead(lead_id: int, actor: Any) -> Measure | None:
    """The entry of a lead replied with outcome `flexible` (once per lead)."""
    write_lock(db.session)
    lead = db.session.get(Lead, lead_id)
    if lead is None or lead.outcome != "flexible" or lead.measure not in KINDS or _exists(Measure.lead_id == lead.id):
        return None
    replied = to_local(lead.replied_at).date() if lead.replied_at else local_today()
    measure = Measure(kind=lead.measure, agency_id=lead.to_agency_id, party=_lead_party(lead), measure_on=replied,
                      place=lead.place, matter=lead.matter[:300], list_item_id=lead.list_item_id,
                      circumstances=lead.facts, legal_basis=lead.legal_basis, outcome=lead.reply_note,
                      behaviour=lead.matter if lead.measure == "persuasion" else "", lead_id=lead.id)
    return _automatic(actor, measure, _officers_in(lead.to_agency_id, actor),
                      f"线索 {lead.number} 以{KINDS[lead.measure]}方式处理，自动登记", "lead")


def record_from_interview(interview_id: int, actor: Any) -> Measure | None:
    """The 约谈告诫 entry of an interview that was held (once per interview)."""
    write_lock(db.session)
    interview = db.session.get(Interview, interview_id)
    if interview is None or interview.status != "held" or _exists(Measure.interview_id == interview.id):
        return None
    held = interview.start_at or interview.created_at
    officials = [p.user for p in interview.participants if p.agency_id == interview.lead_agency_id]
    measure = Measure(kind="interview", agency_id=interview.lead_agency_id, party=interview.party,
                      measure_on=to_local(held).date(), place=interview.room.name if interview.room else "",
                      matter=(interview.matter or interview.title)[:300], list_item_id=interview.list_item_id,
                      circumstances=interview.title, legal_basis=interview.legal_basis,
                      outcome="约谈已举行。", interview_id=interview.id)
    return _automatic(actor, measure, _officers_in(interview.lead_agency_id, *officials),
                      f"约谈“{interview.title}”已举行，自动登记", "interview")


def record_from_visit(follow_up_id: int, actor: Any) -> Measure | None:
    """The 回访 entry of a visit recorded on the follow-up page (once per visit)."""
    write_lock(db.session)
    visit = db.session.get(FollowUp, follow_up_id)
    if visit is None or visit.status != "done" or _exists(Measure.follow_up_id == visit.id):
        return None
    if visit.interview_id:
        matter, item_id = visit.item.requirement, visit.interview.list_item_id
    else:
        matter, item_id = visit.observed_measure.matter, visit.observed_measure.list_item_id
    measure = Measure(kind="follow_up", agency_id=visit.agency_id, party=_visit_party(visit),
                      measure_on=to_local(visit.visited_at or utcnow()).date(), matter=matter[:300],
                      list_item_id=item_id, outcome=visit.notes or VISIT_RESULTS.get(visit.result or "", ""),
                      result=visit.result or "", follow_up_id=visit.id)
    visitor = db.session.get(User, visit.visited_by_id) if visit.visited_by_id else None
    return _automatic(actor, measure, _officers_in(visit.agency_id, visitor),
                      f"回访任务登记结果（{VISIT_RESULTS.get(visit.result or '', '')}），自动登记", "visit")


# --- audit visibility -------------------------------------------------------------------------

def _audit_visible(user: Any, entity_id: str) -> bool:
    return str(entity_id).isdigit() and can_see(user, db.session.get(Measure, int(entity_id)))


audit.register_entity("measure", "柔性执法台账", _audit_visible)


from coord.measures import listeners  # noqa: E402,F401  (connect the listeners with the feature)
