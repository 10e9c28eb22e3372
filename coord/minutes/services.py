"""约谈笔录: every save is a revision; finalising locks; corrections are new revisions with a reason.

Concurrency: a save names the revision it was edited from (`revision`, 0 for the first save).
The interview row is locked (PostgreSQL: SELECT ... FOR UPDATE; SQLite: BEGIN IMMEDIATE) before
the check, and `(minutes_id, number)` is unique, so of two saves from the same revision exactly
one wins; the other gets `Conflict` (409) with what changed since the revision it started from.

Finalising renders the official PDFs (normal and PDF/A-2b) and keeps them with the revision, so
an earlier PDF is retrievable as issued even after a correction. The rectification requirements
become `RectificationItem`s with a `FollowUp` visit (issue 3's models), in the same transaction.
"""
from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from coord import events
from coord.accounts.models import User
from coord.audit import services as audit
from coord.dbtypes import utcnow
from coord.documents import DocumentError, document_language, numbering, render_pdf
from coord.errors import Conflict, DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.inputs import int32
from coord.interviews import services as interviews
from coord.interviews.models import FollowUp, Interview, RectificationItem
from coord.minutes.models import Minutes, MinutesRevision
from coord.party import links as party_links
from coord.scheduling.slots import nth_working_day_after
from coord.timeutil import fmt_local, isoformat_local, parse_iso, to_local
from coord.workdays.services import CalendarMissing, calendar_error

# The fields of a revision's content, in the order the pages and the conflict view show them.
FIELD_LABELS: dict[str, str] = {
    "started_at": "开始时间",
    "ended_at": "结束时间",
    "place": "地点",
    "matter": "约谈事由",
    "interviewer_ids": "约谈人",
    "recorder_id": "记录人",
    "attendees": "被约谈方到场人员",
    "turns": "问答记录",
    "statement": "被约谈方陈述",
    "rectifications": "整改要求",
    "undertaking": "签署保证承诺书",
    "refused_to_sign": "拒绝签名说明",
}
EDITABLE = tuple(FIELD_LABELS)
MAX_TEXT = 20000
MAX_ROWS = 200


# --- reading ------------------------------------------------------------------------------------

def minutes_of(interview: Interview) -> Minutes | None:
    return db.session.execute(sa.select(Minutes).where(Minutes.interview_id == interview.id)).scalar_one_or_none()


def get(actor: Any, interview_id: Any) -> tuple[Interview, Minutes | None]:
    """The interview (scoped: 404 outside the actor's agencies) and its minutes, if any."""
    interview = interviews.get(actor, interview_id)
    return interview, minutes_of(interview)


def may_edit(actor: Any, interview: Interview) -> bool:
    """The organiser side, or an official taking part (the recorder is usually one)."""
    if actor.role == "viewer":
        return False
    return interviews.is_organiser(actor, interview) or any(p.user_id == actor.id for p in interview.participants)


def default_content(interview: Interview) -> dict[str, Any]:
    """A first draft prefilled from the interview: time, room, matter, officials, attendees."""
    return {
        "started_at": isoformat_local(interview.start_at),
        "ended_at": isoformat_local(interview.end_at),
        "place": _room(interview),
        "matter": interview.matter or interview.title,
        "interviewer_ids": sorted((p.user_id for p in interview.participants),
                                  key=lambda uid: (_agency_of(interview, uid) != interview.lead_agency_id, uid)),
        "recorder_id": None,
        "attendees": [{"name": a.name, "post": a.post} for a in interview.attendees],
        "turns": [],
        "statement": "",
        "rectifications": [],
        "undertaking": False,
        "refused_to_sign": None,
    }


def _agency_of(interview: Interview, user_id: int) -> int | None:
    return next((p.agency_id for p in interview.participants if p.user_id == user_id), None)


def _room(interview: Interview) -> str:
    room = interview.room
    if room is None:
        return ""
    return f"{room.name}（{room.location}）" if room.location else room.name


def current_content(interview: Interview, minutes: Minutes | None) -> dict[str, Any]:
    if minutes is None or minutes.latest is None:
        return default_content(interview)
    return {key: minutes.latest.content.get(key) for key in EDITABLE}


def revision_content(interview: Interview, minutes: Minutes | None, number: int) -> dict[str, Any]:
    """The content as of revision `number` (0: the prefilled draft)."""
    if minutes is None or number <= 0:
        return default_content(interview)
    for rev in minutes.revisions:
        if rev.number == number:
            return {key: rev.content.get(key) for key in EDITABLE}
    return default_content(interview)


def revision_count(minutes: Minutes | None) -> int:
    return minutes.revision if minutes is not None else 0


# --- cleaning input -------------------------------------------------------------------------------

def _text(value: Any, field: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DomainError(_("“%(field)s”应为文字。", field=_(FIELD_LABELS.get(field, field))), field=field)
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise DomainError(_("“%(field)s”过长（最多 %(n)s 字）。", field=_(FIELD_LABELS.get(field, field)), n=limit),
                          field=field)
    return value


def _instant(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = parse_iso(str(value))
        except ValueError:
            raise DomainError(_("“%(field)s”的时间格式不正确（例如 2026-03-05T09:30）。", field=_(FIELD_LABELS[field])),
                              field=field) from None
    return isoformat_local(parsed)


def _rows(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DomainError(_("“%(field)s”应为列表。", field=_(FIELD_LABELS[field])), field=field)
    if len(value) > MAX_ROWS:
        raise DomainError(_("“%(field)s”最多 %(n)s 条。", field=_(FIELD_LABELS[field]), n=MAX_ROWS), field=field)
    return value


def _deadline(value: Any, index: int) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise DomainError(_("第 %(n)s 条整改要求的期限格式不正确，应为 YYYY-MM-DD。", n=index), field="rectifications")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise DomainError(_("第 %(n)s 条整改要求的期限不是有效日期。", n=index), field="rectifications") from None


def _user_ids(value: Any, field: str) -> list[int]:
    ids: list[int] = []
    for raw in _rows(value, field):
        try:
            uid = int32(raw)
        except (TypeError, ValueError):
            raise DomainError(_("“%(field)s”中的人员编号无效。", field=_(FIELD_LABELS[field])), field=field) from None
        if uid not in ids:
            ids.append(uid)
    return ids


def _official(interview: Interview, user_id: int, field: str) -> User:
    """An active user of one of the interview's agencies."""
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.agency_id not in interview.agency_ids:
        raise DomainError(f"“{FIELD_LABELS[field]}”须为参与本次约谈单位的在职人员（编号 {user_id} 不符合）。",
                          field=field)
    return user


def clean(interview: Interview, data: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise a full content dict. Incomplete is fine for a draft (see
    `missing_for_final`), wrong is not: bad times, a deadline before the interview, strangers."""
    out: dict[str, Any] = {
        "started_at": _instant(data.get("started_at"), "started_at"),
        "ended_at": _instant(data.get("ended_at"), "ended_at"),
        "place": _text(data.get("place"), "place", 300),
        "matter": _text(data.get("matter"), "matter", 2000),
        "statement": _text(data.get("statement"), "statement"),
        "undertaking": _bool(data.get("undertaking")),
    }
    if out["started_at"] and out["ended_at"] and parse_iso(out["ended_at"]) <= parse_iso(out["started_at"]):
        raise DomainError(_("结束时间应晚于开始时间。"), field="ended_at")
    refused = _text(data.get("refused_to_sign"), "refused_to_sign", 2000)
    out["refused_to_sign"] = refused or None
    officials = [_official(interview, uid, "interviewer_ids")
                 for uid in _user_ids(data.get("interviewer_ids"), "interviewer_ids")]
    # One order whatever the input's: the lead agency's officials first (as printed), then by id.
    officials.sort(key=lambda u: (u.agency_id != interview.lead_agency_id, u.id))
    out["interviewer_ids"] = [u.id for u in officials]
    recorder = data.get("recorder_id")
    if recorder in (None, "", 0, "0"):
        out["recorder_id"] = None
    else:
        try:
            out["recorder_id"] = _official(interview, int(recorder), "recorder_id").id
        except (TypeError, ValueError):
            raise DomainError(_("记录人编号无效。"), field="recorder_id") from None
    out["attendees"] = []
    for row in _rows(data.get("attendees"), "attendees"):
        row = row if isinstance(row, dict) else {}
        name, post = _text(row.get("name"), "attendees", 60), _text(row.get("post"), "attendees", 60)
        if name or post:
            if not name:
                raise DomainError(_("到场人员须填写姓名。"), field="attendees")
            out["attendees"].append({"name": name, "post": post})
    out["turns"] = []
    for row in _rows(data.get("turns"), "turns"):
        row = row if isinstance(row, dict) else {}
        q, a = _text(row.get("q"), "turns"), _text(row.get("a"), "turns")
        if q or a:
            out["turns"].append({"q": q, "a": a})
    out["rectifications"] = []
    day_of_interview = _interview_day(interview, out["started_at"])
    for index, row in enumerate(_rows(data.get("rectifications"), "rectifications"), start=1):
        row = row if isinstance(row, dict) else {}
        requirement = _text(row.get("requirement"), "rectifications", 4000)
        deadline = _deadline(row.get("deadline"), index)
        if not requirement and not deadline:
            continue
        if deadline and day_of_interview and date.fromisoformat(deadline) < day_of_interview:
            raise DomainError(
                f"第 {index} 条整改要求的期限 {deadline} 早于约谈日期 {day_of_interview.isoformat()}，请更正。",
                field="rectifications")
        out["rectifications"].append({"requirement": requirement, "deadline": deadline})
    return {key: out[key] for key in EDITABLE}


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "on", "yes", "是")
    return bool(value)


def _interview_day(interview: Interview, started_at: str | None) -> date | None:
    if started_at:
        return parse_iso(started_at).date()
    return to_local(interview.start_at).date() if interview.start_at else None


def missing_for_final(content: dict[str, Any]) -> list[str]:
    """The labels of what a final version must have and this one lacks."""
    missing = []
    for key in ("started_at", "ended_at", "place", "matter"):
        if not content.get(key):
            missing.append(FIELD_LABELS[key])
    if not content.get("interviewer_ids"):
        missing.append("约谈人（至少一名）")
    if not content.get("recorder_id"):
        missing.append(FIELD_LABELS["recorder_id"])
    if not content.get("attendees"):
        missing.append("被约谈方到场人员（至少一名）")
    turns = content.get("turns") or []
    if not turns:
        missing.append("问答记录（至少一问一答）")
    elif any(not t["q"] or not t["a"] for t in turns):
        missing.append("问答记录中每一问都应有答")
    for index, item in enumerate(content.get("rectifications") or [], start=1):
        if not item.get("requirement"):
            missing.append(f"第 {index} 条整改要求的内容")
        if not item.get("deadline"):
            missing.append(f"第 {index} 条整改要求的期限")
    return missing


def _check_certificates(content: dict[str, Any]) -> None:
    for uid in content.get("interviewer_ids") or []:
        user = db.session.get(User, uid)
        if user is not None and not user.cert_number:
            raise DomainError(f"约谈人 {user.display_name} 没有登记执法证号，不能定稿。请先在账号中补录执法证号。",
                              field="interviewer_ids")


# --- what changed (the conflict view) ----------------------------------------------------------

def display(field: str, value: Any) -> str:
    """A field's value as a person reads it."""
    if value in (None, "", []):
        return "（空）"
    if field in ("started_at", "ended_at"):
        return fmt_local(parse_iso(value))
    if field == "interviewer_ids":
        return "、".join(_person(uid) for uid in value)
    if field == "recorder_id":
        return _person(value)
    if field == "attendees":
        return "、".join(f"{a['name']}（{a['post']}）" if a.get("post") else a["name"] for a in value)
    if field == "turns":
        return "\n".join(f"问：{t['q']}\n答：{t['a']}" for t in value)
    if field == "rectifications":
        return "\n".join(f"{i}. {r['requirement']}（期限 {r['deadline'] or '未填'}）" for i, r in enumerate(value, 1))
    if field == "undertaking":
        return "是" if value else "否"
    return str(value)


def _person(user_id: Any) -> str:
    user = db.session.get(User, int(user_id)) if user_id else None
    return user.display_name if user else f"人员 {user_id}"


def changes(before: dict[str, Any], after: dict[str, Any], mine: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """Fields that differ between two contents, with readable values (and the refused input)."""
    out = []
    for key in EDITABLE:
        if before.get(key) != after.get(key):
            row = {"field": key, "label": FIELD_LABELS[key], "before": display(key, before.get(key)),
                   "after": display(key, after.get(key))}
            if mine is not None and key in mine:
                row["mine"] = display(key, mine.get(key))
            out.append(row)
    return out


def _stale(interview: Interview, minutes: Minutes | None, base: int, submitted: dict[str, Any]) -> Conflict:
    latest = minutes.latest if minutes is not None else None
    current = revision_count(minutes)
    before = revision_content(interview, minutes, base)
    after = current_content(interview, minutes)
    try:
        mine = clean(interview, {**before, **submitted})
    except DomainError:
        mine = None
    who = latest.author.display_name if latest is not None and latest.author else "他人"
    when = fmt_local(latest.created_at) if latest is not None else ""
    if base > current or base < 0:
        message = f"提交的版本号 {base} 无效：笔录当前为第 {current} 版。本次保存未执行。"
    else:
        message = (f"笔录已被{who}于 {when} 保存为第 {current} 版，您是在第 {base} 版上修改的。"
                   "为避免覆盖他人的修改，本次保存未执行。请查看对方改动的内容，载入最新版本后再修改。")
    return Conflict(message, field="revision", details={
        "current_revision": current, "your_revision": base, "saved_by": who,
        "saved_at": isoformat_local(latest.created_at) if latest is not None else None,
        "changes": changes(before, after, mine),
    })


def _base_revision(value: Any) -> int:
    try:
        return int32(value)
    except (TypeError, ValueError):
        raise DomainError(_("缺少或无效的版本号（revision）：请提交您所编辑的版本号，首次保存为 0。"),
                          field="revision") from None


# --- state changes ------------------------------------------------------------------------------

def _locked(actor: Any, interview_id: Any) -> tuple[Interview, Minutes | None]:
    interview = interviews.get(actor, interview_id, for_update=True)
    if not may_edit(actor, interview):
        raise Forbidden(_("只有参加本次约谈的执法人员或牵头单位联络员可以填写笔录。"))
    if interview.status not in ("scheduled", "held"):
        raise DomainError(_("该约谈当前状态为“%(s)s”，不能填写笔录（约谈排期后才能记录）。",
                            s=_(interview.status_label)))
    return interview, minutes_of(interview)


def _add_revision(interview: Interview, minutes: Minutes | None, actor: Any, content: dict[str, Any], kind: str,
                  *, reason: str = "", pdfs: tuple[bytes, bytes] | None = None) -> tuple[Minutes, MinutesRevision]:
    """Append a revision (rows are written once: the database refuses later changes)."""
    if minutes is None:
        minutes = Minutes(interview_id=interview.id, status="draft", revision=0)
        db.session.add(minutes)
        db.session.flush()
    number = minutes.revision + 1
    # The conditional UPDATE is the optimistic lock even if a caller skipped the row lock.
    bumped = db.session.execute(
        sa.update(Minutes).where(Minutes.id == minutes.id, Minutes.revision == minutes.revision)
        .values(revision=number, updated_at=utcnow()).execution_options(synchronize_session=False))
    if bumped.rowcount != 1:
        db.session.rollback()
        raise Conflict(_("笔录刚被他人保存，本次保存未执行。请载入最新版本后再修改。"), field="revision")
    revision = MinutesRevision(minutes_id=minutes.id, number=number, kind=kind, content=content, reason=reason,
                               author_id=actor.id)
    if pdfs is not None:
        revision.pdf, revision.pdf_archive = pdfs
        revision.pdf_sha256 = hashlib.sha256(pdfs[0]).hexdigest()
    db.session.add(revision)
    db.session.flush()
    db.session.refresh(minutes)
    return minutes, revision


def save(actor: Any, interview_id: Any, data: dict[str, Any], revision: Any) -> tuple[Minutes, bool]:
    """Save a draft from `revision`. Returns (minutes, whether a new revision was written):
    saving what is already saved writes nothing (autosave fires on every pause in typing)."""
    base = _base_revision(revision)
    interview, minutes = _locked(actor, interview_id)
    if minutes is not None and minutes.is_final:
        raise DomainError(_("笔录已定稿，不能再修改。如需更正，请使用“更正”并填写更正原因。"), field="revision")
    if base != revision_count(minutes):
        raise _stale(interview, minutes, base, _editable(data))
    content = clean(interview, {**current_content(interview, minutes), **_editable(data)})
    if minutes is not None and minutes.latest is not None and content == current_content(interview, minutes):
        db.session.rollback()
        return minutes, False
    if minutes is None and content == clean(interview, default_content(interview)):
        db.session.rollback()
        return _unsaved(interview), False
    before = current_content(interview, minutes) if minutes is not None else None
    minutes, rev = _add_revision(interview, minutes, actor, content, "draft")
    audit.record(actor, "minutes.save", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"保存约谈笔录草稿（第 {rev.number} 版）",
                 before={"revision": rev.number - 1, "changed": [c["field"] for c in changes(before, content)]}
                 if before else None,
                 after={"revision": rev.number})
    db.session.commit()
    return minutes, True


def _unsaved(interview: Interview) -> Minutes:
    """A transient Minutes standing for "nothing saved yet" (revision 0)."""
    return Minutes(interview_id=interview.id, status="draft", revision=0)


def _editable(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in EDITABLE if key in data}


def finalize(actor: Any, interview_id: Any, revision: Any = None, *, now: datetime | None = None) -> Minutes:
    """Lock the minutes: issue the official PDFs and create the rectification items and visits."""
    interview, minutes = _locked(actor, interview_id)
    if minutes is None or minutes.latest is None:
        raise DomainError(_("笔录尚未保存，不能定稿。"))
    if minutes.is_final:
        raise DomainError(_("笔录已定稿，不能重复定稿。"))
    if revision is not None and _base_revision(revision) != minutes.revision:
        raise _stale(interview, minutes, _base_revision(revision), {})
    content = current_content(interview, minutes)
    missing = missing_for_final(content)
    if missing:
        raise DomainError(_("定稿前请补全：%(what)s。", what=_("；").join(_(m) for m in missing)), field="finalize",
                          details={"missing": missing})
    _check_certificates(content)
    when = now or utcnow()
    if interview.start_at and interview.start_at > when:
        raise DomainError(_("约谈开始后才能定稿。"))
    was_scheduled = interview.status == "scheduled"
    number = minutes.revision + 1
    pdfs = _issue_pdfs(interview, content, number, None, actor)
    items = _items_for(interview, content)  # planned before any write: a calendar gap refuses cleanly
    minutes, rev = _add_revision(interview, minutes, actor, content, "final", pdfs=pdfs)
    minutes.status, minutes.finalized_at, minutes.finalized_by_id = "final", when, actor.id
    if was_scheduled:
        interview.status = "held"
        audit.record(actor, "interview.held", "interview", interview.id, agencies=interview.agency_ids,
                     summary="约谈已举行（笔录定稿）", before={"status": "scheduled"}, after={"status": "held"})
    _apply_items(interview, actor, items)
    audit.record(actor, "minutes.finalize", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"约谈笔录定稿（第 {rev.number} 版），整改要求 {len(content['rectifications'])} 项",
                 after={"revision": rev.number, "pdf_sha256": rev.pdf_sha256,
                        "rectifications": content["rectifications"]})
    if was_scheduled:
        events.announce(events.interview_held, interview.id, actor=actor)
    events.announce(events.minutes_finalised, interview.id, actor=actor, revision=rev.number)
    db.session.commit()
    return minutes


def correct(actor: Any, interview_id: Any, data: dict[str, Any], revision: Any, reason: str) -> Minutes:
    """A correction of final minutes: a new final revision with a reason; earlier PDFs stay."""
    base = _base_revision(revision)
    interview, minutes = _locked(actor, interview_id)
    if minutes is None or not minutes.is_final:
        raise DomainError(_("只有已定稿的笔录需要更正；草稿请直接修改。"))
    if not interviews.is_organiser(actor, interview):
        raise Forbidden(_("更正已定稿的笔录须由牵头单位联络员或领导小组办公室办理。"))
    reason = _text(reason, "reason", 2000)
    if not reason:
        raise DomainError(_("请填写更正原因。"), field="reason")
    if base != minutes.revision:
        raise _stale(interview, minutes, base, _editable(data))
    before = current_content(interview, minutes)
    content = clean(interview, {**before, **_editable(data)})
    if content == before:
        raise DomainError(_("更正内容与现行版本相同，没有需要更正的地方。"))
    missing = missing_for_final(content)
    if missing:
        raise DomainError(_("更正后的笔录仍须完整：%(what)s。", what=_("；").join(_(m) for m in missing)),
                          field="correct",
                          details={"missing": missing})
    _check_certificates(content)
    number = minutes.revision + 1
    pdfs = _issue_pdfs(interview, content, number, reason, actor)
    items = _items_for(interview, content)
    minutes, rev = _add_revision(interview, minutes, actor, content, "correction", reason=reason, pdfs=pdfs)
    _apply_items(interview, actor, items)
    audit.record(actor, "minutes.correct", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"更正约谈笔录（第 {rev.number} 版）：{reason[:100]}",
                 before={"revision": base}, after={"revision": rev.number, "reason": reason,
                                                    "changed": [c["field"] for c in changes(before, content)],
                                                    "pdf_sha256": rev.pdf_sha256})
    events.announce(events.minutes_corrected, interview.id, actor=actor, revision=rev.number)
    db.session.commit()
    return minutes


# --- rectification items and follow-up visits ---------------------------------------------------

def _minutes_items(interview: Interview) -> list[RectificationItem]:
    return [item for item in interview.items if item.source == "minutes"]


def _items_for(interview: Interview, content: dict[str, Any]) -> list[tuple[RectificationItem | None, dict, date]]:
    """Plan the items: the n-th requirement of the minutes is the n-th item created from them.
    New requirements get new items; edited ones update theirs (and the visit, while pending);
    removing one, or changing one already visited, is refused (the visit record stays true)."""
    existing = _minutes_items(interview)
    wanted = content.get("rectifications") or []
    if len(wanted) < len(existing):
        raise DomainError("更正不能删除已生成回访任务的整改要求；如某项不再需要整改，请在回访时登记说明。",
                          field="rectifications")
    plan = []
    for index, row in enumerate(wanted):
        deadline = date.fromisoformat(row["deadline"])
        try:
            due = nth_working_day_after(deadline, 1)  # the visit: first working day after the deadline
        except CalendarMissing as err:
            raise calendar_error(err, field="rectifications", prefix=f"第 {index + 1} 条整改要求：") from err
        item = existing[index] if index < len(existing) else None
        if item is not None and (item.requirement, item.deadline) != (row["requirement"], deadline):
            if any(v.status == "done" for v in item.follow_ups):
                raise DomainError(_("第 %(n)s 条整改要求已回访，不能再更正其内容或期限。", n=index + 1),
                                  field="rectifications")
        plan.append((item, row, due))
    return plan


def _apply_items(interview: Interview, actor: Any, plan: list[tuple[RectificationItem | None, dict, date]]) -> None:
    for item, row, due in plan:
        deadline = date.fromisoformat(row["deadline"])
        if item is None:
            item = RectificationItem(interview_id=interview.id, requirement=row["requirement"], deadline=deadline,
                                     source="minutes", created_by_id=actor.id)
            db.session.add(item)
            db.session.flush()
            db.session.add(FollowUp(item_id=item.id, interview_id=interview.id, agency_id=interview.lead_agency_id,
                                    due=due))
            db.session.flush()
            audit.record(actor, "interview.item", "interview", interview.id, agencies=interview.agency_ids,
                         summary=f"整改要求（笔录）：{row['requirement'][:80]}（期限 {deadline.isoformat()}，"
                                 f"{due.isoformat()} 回访）",
                         after={"item_id": item.id, "requirement": item.requirement,
                                "deadline": deadline.isoformat(), "due": due.isoformat()})
        elif (item.requirement, item.deadline) != (row["requirement"], deadline):
            before = {"requirement": item.requirement, "deadline": item.deadline.isoformat()}
            item.requirement, item.deadline = row["requirement"], deadline
            for visit in item.follow_ups:
                if visit.status == "pending":
                    visit.due = due
            audit.record(actor, "interview.item_update", "interview", interview.id, agencies=interview.agency_ids,
                         summary=f"整改要求更正：{row['requirement'][:80]}（期限 {deadline.isoformat()}）",
                         before=before, after={"requirement": item.requirement, "deadline": deadline.isoformat(),
                                               "due": due.isoformat()})


# --- PDFs ---------------------------------------------------------------------------------------

def _people(content: dict[str, Any]) -> tuple[list[dict[str, str]], dict[str, str]]:
    interviewers = []
    for uid in content.get("interviewer_ids") or []:
        user = db.session.get(User, uid)
        if user is not None:
            interviewers.append({"name": user.display_name, "agency": user.agency.official_name if user.agency else "",
                                 "cert_number": user.cert_number})
    recorder_user = db.session.get(User, content["recorder_id"]) if content.get("recorder_id") else None
    recorder = {"name": recorder_user.display_name if recorder_user else "",
                "cert_number": recorder_user.cert_number if recorder_user else ""}
    return interviewers, recorder


def _agency_names(interview: Interview) -> list[str]:
    """The agencies by their full official names (documents), the organiser first."""
    lead = [a.agency.official_name for a in interview.agencies if a.role == "lead"]
    co = [a.agency.official_name for a in interview.agencies if a.role != "lead"]
    return lead + co


def _document_year(interview: Interview, content: dict[str, Any] | None = None) -> int:
    started = parse_iso(content["started_at"]) if content and content.get("started_at") else interview.start_at
    return to_local(started or interview.created_at).year


def _party(interview: Interview) -> dict[str, Any]:
    party = interview.party
    return {"name": party.name, "credit_code": party.credit_code,
            "is_organisation": party.kind == "organisation"}


def minutes_context(interview: Interview, content: dict[str, Any], *, number: int, draft: bool,
                    correction_reason: str | None = None, doc_number: str | None = None) -> dict[str, Any]:
    """The template context of the minutes PDF for one revision's content (`number`: the revision;
    `doc_number`: the 文号, given when the minutes are finalised)."""
    interviewers, recorder = _people(content)
    started = parse_iso(content["started_at"]) if content.get("started_at") else None
    ended = parse_iso(content["ended_at"]) if content.get("ended_at") else None
    return {
        "document_title": f"约谈笔录（{interview.party.name}）",
        "document_date": started or interview.created_at,
        "number": doc_number,
        "draft": draft,
        "revision": number,
        "correction_reason": correction_reason,
        "started_at": started,
        "ended_at": ended,
        "place": content.get("place") or "",
        "agencies": _agency_names(interview),
        "interviewers": interviewers,
        "recorder": recorder,
        "party": _party(interview),
        "attendees": content.get("attendees") or [],
        "matter": content.get("matter") or "",
        "turns": content.get("turns") or [],
        "statement": content.get("statement") or "",
        "rectifications": [{"requirement": r["requirement"],
                            "deadline": date.fromisoformat(r["deadline"]) if r.get("deadline") else None}
                           for r in content.get("rectifications") or []],
        "undertaking": bool(content.get("undertaking")),
        "refused_to_sign": content.get("refused_to_sign"),
    }


def _issue_pdfs(interview: Interview, content: dict[str, Any], number: int, reason: str | None,
                actor: Any = None) -> tuple[bytes, bytes]:
    # The 文号 is given in this transaction: if the PDF fails, the number goes back with it.
    doc_number = numbering.number_for(interview.lead_agency, "minutes", "interview", interview.id,
                                      _document_year(interview, content), actor=actor)
    context = minutes_context(interview, content, number=number, draft=False, correction_reason=reason,
                              doc_number=doc_number)
    try:
        return render_pdf("minutes.html", context), render_pdf("minutes.html", context, pdfa=True)
    except DocumentError:
        db.session.rollback()
        raise


def minutes_pdf(actor: Any, interview_id: Any, number: Any = None, *, archive: bool = False) -> tuple[str, bytes]:
    """(file name, PDF) of a revision (default: the current one). Issued revisions return the
    PDF kept when they were issued; a draft is rendered now, marked 草稿."""
    interview, minutes = get(actor, interview_id)
    if minutes is None or minutes.latest is None:
        raise NotFound(_("该约谈尚未填写笔录。"))
    if number in (None, ""):
        rev = minutes.issued[-1] if minutes.is_final else minutes.latest
    else:
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            wanted = -1
        rev = next((r for r in minutes.revisions if r.number == wanted), None)
        if rev is None:
            raise NotFound(_("笔录没有第 %(n)s 版。", n=number))
    suffix = "（存档PDF-A）" if archive else ""
    name = f"约谈笔录-{interview.id}-第{rev.number}版{'（草稿）' if rev.kind == 'draft' else ''}{suffix}.pdf"
    # The kept PDF is the record; an English reader gets a reading copy made now (never the archive's).
    if rev.kind in ("final", "correction") and (archive or document_language() != "en"):
        data = rev.pdf_archive if archive else rev.pdf
        if data:
            return name, data
    context = minutes_context(interview, {k: rev.content.get(k) for k in EDITABLE}, number=rev.number,
                              draft=rev.kind == "draft", correction_reason=rev.reason or None,
                              doc_number=numbering.issued("minutes", "interview", interview.id))
    return name, render_pdf("minutes.html", context, pdfa=archive)


DEFAULT_MATERIALS = ["营业执照副本复印件（个人为身份证复印件）", "法定代表人身份证明书或授权委托书及受托人身份证件",
                     "与约谈事项有关的情况说明及证明材料"]


def notice_contact(interview: Interview) -> dict[str, str]:
    """The notice's contact person: who organised the interview, with a phone the party can call
    (theirs, else the lead agency's). A notice without a phone is refused, naming what to fill in."""
    lead, creator = interview.lead_agency, interview.created_by
    name = creator.display_name if creator else ""
    phone = (creator.phone if creator else "") or lead.phone
    if not phone:
        who = f"联系人{name}的账号或" if name else ""
        raise DomainError(f"约谈通知书须写明联系人的联系电话：请先在{who}单位名录（{lead.name}）中登记联系电话。",
                          field="phone")
    return {"name": name or lead.official_name, "phone": phone}


def notice_context(interview: Interview, number: str | None = None) -> dict[str, Any]:
    lead = interview.lead_agency
    co = [a.agency.official_name for a in interview.agencies if a.role != "lead"]
    attendance = "、".join(f"{a.name}（{a.post}）" if a.post else a.name for a in interview.attendees)
    issued = to_local(interview.created_at)
    return {
        "document_title": f"约谈通知书（{interview.party.name}）",
        "document_date": issued,
        "number": number,
        "party": _party(interview),
        "reason": f"经查，你{'单位' if interview.party.kind == 'organisation' else ''}涉及"
                  f"{interview.matter or interview.title}等问题。",
        "legal_basis": interview.legal_basis,
        "organiser": lead.official_name,
        "co_organisers": co,
        "starts_at": interview.start_at,
        "ends_at": interview.end_at,
        "place": _room(interview),
        "matter": interview.matter or interview.title,
        "attendance": (f"请{attendance}准时参加。" if attendance else
                       "请你单位法定代表人或主要负责人参加，可委托相关负责人（须持授权委托书）。"),
        "materials": DEFAULT_MATERIALS,
        "contact": notice_contact(interview),
        "issued_on": issued.date(),
        # The party's pages: QR code and access code of the notice's link (coord.party), if issued.
        "access": party_links.notice_access(interview),
    }


def notice_pdf(actor: Any, interview_id: Any) -> tuple[str, bytes]:
    """The interview notice, for someone who may see the interview."""
    return notice_document(interviews.get(actor, interview_id), actor)


def notice_document(interview: Interview, actor: Any = None) -> tuple[str, bytes]:
    """The interview notice (the organiser's copy and the party's are the same document). Its 文号 is
    given the first time it is produced, and kept."""
    if interview.status not in ("scheduled", "held") or interview.start_at is None:
        raise DomainError(_("约谈排期后才能生成约谈通知书。"))
    notice_contact(interview)  # refuse before a number is given
    number = numbering.number_for(interview.lead_agency, "notice", "interview", interview.id,
                                  to_local(interview.created_at).year, actor=actor)
    data = render_pdf("notice.html", notice_context(interview, number))
    db.session.commit()
    return f"约谈通知书-{interview.id}.pdf", data


def undertaking_pdf(actor: Any, interview_id: Any) -> tuple[str, bytes]:
    interview, minutes = get(actor, interview_id)
    data = render_pdf("undertaking.html", undertaking_context(interview, minutes, actor=actor))
    db.session.commit()  # the document's number, given on its first issue
    return f"保证承诺书-{interview.id}.pdf", data


def undertaking_context(interview: Interview, minutes: Minutes | None, *, actor: Any = None) -> dict[str, Any]:
    """The undertaking's template context from the current minutes (the party signs this document).
    Its 文号 is given in the caller's transaction on first issue and kept afterwards."""
    if minutes is None or minutes.latest is None:
        raise NotFound(_("该约谈尚未填写笔录。"))
    content = current_content(interview, minutes)
    if not content.get("undertaking"):
        raise DomainError(_("本次约谈的笔录未记录签署保证承诺书。"))
    items = [r for r in content.get("rectifications") or [] if r.get("requirement") and r.get("deadline")]
    if not items:
        raise DomainError(_("保证承诺书需要至少一条填写了期限的整改要求。"))
    started = parse_iso(content["started_at"]) if content.get("started_at") else interview.start_at
    number = numbering.number_for(interview.lead_agency, "undertaking", "interview", interview.id,
                                  _document_year(interview, content), actor=actor)
    context = {
        "document_title": f"保证承诺书（{interview.party.name}）",
        "number": number,
        "document_date": started,
        "party": _party(interview),
        "interviewed_at": started,
        "agencies": _agency_names(interview),
        "rectifications": [{"requirement": r["requirement"], "deadline": date.fromisoformat(r["deadline"])}
                           for r in items],
    }
    return context


# --- mailing the minutes ------------------------------------------------------------------------

def mail_minutes(actor: Any, interview_id: Any) -> tuple[int, list[str]]:
    """Queue the current issued minutes PDF to every participant with an address (the outbox
    sends it after the commit). Returns (how many addresses, names without an address)."""
    from coord.notify.models import OutboxMessage
    from coord.notify.services import language_key, queue_mail_in_languages

    interview, minutes = _locked(actor, interview_id)
    if minutes is None or not minutes.is_final:
        raise DomainError(_("笔录定稿后才能发送。"))
    rev = minutes.issued[-1]
    people = interviews.participants_of(interview)
    to = [f"{p.name} <{p.email}>" for p in people if p.email]
    skipped = [p.name for p in people if not p.email]
    if not to:
        raise DomainError(_("参加人员都没有登记邮箱，无法发送。"))
    key = f"minutes-{interview.id}-r{rev.number}"
    sent = db.session.execute(sa.select(OutboxMessage).where(OutboxMessage.key.in_([key, language_key(key, "en")]))
                              .order_by(OutboxMessage.id).limit(1)).scalar_one_or_none()
    if sent is not None:
        raise DomainError(f"第 {rev.number} 版笔录已于 {fmt_local(sent.created_at)} 发送给参加人员，不再重复发送。")
    name = f"约谈笔录-{interview.id}-第{rev.number}版.pdf"  # the document is Chinese, its name too

    def compose() -> tuple[str, str]:  # in each reader's language (officials with an account: their own)
        about = _("附件为 %(day)s 约谈（%(title)s）的约谈笔录（第 %(n)s 版）。", day=fmt_local(
            interview.start_at, "%Y年%m月%d日"), title=interview.title, n=rev.number) if not rev.reason else _(
            "附件为 %(day)s 约谈（%(title)s）的约谈笔录（第 %(n)s 版，更正原因：%(reason)s）。",
            day=fmt_local(interview.start_at, "%Y年%m月%d日"), title=interview.title, n=rev.number, reason=rev.reason)
        text = (_("%(agency)s：", agency=interview.party.name) + "\n\n" + about + "\n\n"
                + interview.lead_agency.name + "\n")
        return _("约谈笔录：%(title)s", title=interview.title), text

    messages = queue_mail_in_languages(to, compose, attachments=[(name, "application/pdf", rev.pdf)], key=key,
                                       about=("interview", interview.id))
    if not messages:
        raise DomainError(_("参加人员的邮箱地址均无效，无法发送。"))
    addresses = [a for m in messages for a in m.to_addrs]
    audit.record(actor, "minutes.mail", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"发送约谈笔录（第 {rev.number} 版）给 {len(addresses)} 人",
                 after={"revision": rev.number, "to": addresses})
    db.session.commit()
    return len(addresses), skipped


def list_for(actor: Any, *, limit: int = 200, offset: int = 0) -> list[tuple[Interview, Minutes | None]]:
    """Interviews the actor can see that have (or can have) minutes, newest first, each with its
    minutes (or None), in one query."""
    stmt = (interviews.visible_query(actor).add_columns(Minutes)
            .outerjoin(Minutes, Minutes.interview_id == Interview.id)
            .where(Interview.status.in_(("scheduled", "held")))
            .order_by(Interview.start_at.desc().nullslast(), Interview.id.desc()).limit(limit).offset(offset))
    return [(i, m) for i, m in db.session.execute(stmt).unique()]
