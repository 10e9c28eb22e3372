"""From domain events to notifications: who is told what. Each listener runs after the change was
committed, reads the record, chooses the users from the record's own agencies (so nobody is told of
a record they may not see), calls `services.notify` and commits.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coord import events
from coord.extensions import db
from coord.interviews.models import FollowUp, Interview
from coord.lists.models import KINDS as LIST_KINDS
from coord.lists.models import ListVersion
from coord.notifications.services import Note, agency_users, notify, office_users, path
from coord.referrals.models import CLOCKS, POLICE_CLOCKS, POLICE_STATES, ExtensionRequest, Lead, PoliceReferral
from coord.timeutil import fmt_local, local_today

RECEIVERS = ("admin", "coordinator", "officer")  # a lead's receiving agency: who acknowledges and replies
SENDERS = ("admin", "coordinator")  # a lead's sending agency: who accepts, sends back, decides extensions
COORDINATORS = ("admin", "coordinator")


def _on(*signals: Any) -> Callable[[Callable], Callable]:
    def connect(fn: Callable) -> Callable:
        for signal in signals:
            signal.connect(_run(signal.name.replace("-", "_"), fn), weak=False)
        return fn
    return connect


def _run(kind: str, fn: Callable) -> Callable:
    def receiver(record_id: Any, **data: Any) -> None:
        fn(kind, record_id, data)
        db.session.commit()
    return receiver


# --- leads ---------------------------------------------------------------------------------------------

def _lead(lead_id: Any) -> Lead | None:
    return db.session.get(Lead, lead_id)


def _lead_note(kind: str, lead: Lead, text: str, key: str | None = None) -> Note:
    return Note(kind, f"线索 {lead.number}（{lead.party_name}）{text}", path("referrals.show", lead_id=lead.id),
                "lead", lead.id, key)


def _receivers(lead: Lead) -> list[int]:
    return agency_users([lead.to_agency_id], RECEIVERS)


def _senders(lead: Lead) -> list[int]:
    return agency_users([lead.from_agency_id], SENDERS)


LEAD_TEXT: dict[str, tuple[str, str]] = {
    # event: (who: "to" receivers | "from" senders, what)
    "lead_referred": ("to", "已移交本单位，请签收"),
    "lead_redirected": ("to", "已改派本单位，请签收"),
    "lead_returned": ("from", "被接收单位退回，请改派"),
    "lead_replied": ("from", "已回复处理情况，请确认办结或退回补充"),
    "lead_sent_back": ("to", "的回复被退回补充核查"),
    "lead_accepted": ("to", "已确认办结"),
    "lead_supervised": ("to", "被领导小组办公室督办，请答复"),
    "lead_extension_requested": ("from", "的接收单位申请延期，请审批"),
}


@_on(events.lead_referred, events.lead_redirected, events.lead_returned, events.lead_replied,
     events.lead_sent_back, events.lead_accepted, events.lead_supervised, events.lead_extension_requested)
def lead_changed(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is None:
        return
    side, text = LEAD_TEXT[kind]
    if kind == "lead_extension_requested" and data.get("extension_id"):
        ext = db.session.get(ExtensionRequest, data["extension_id"])
        text = f"的接收单位申请延期 {ext.days} 个工作日，请审批" if ext else text
    users = _receivers(lead) if side == "to" else _senders(lead)
    notify(users, _lead_note(kind, lead, text), actor_id=data.get("actor_id"))


@_on(events.lead_extension_decided)
def extension_decided(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is None:
        return
    verdict = "已同意" if data.get("approved") else "未同意"
    due = f"，回复期限 {lead.due_on.isoformat()}" if data.get("approved") and lead.due_on else ""
    notify(_receivers(lead), _lead_note(kind, lead, f"的延期申请{verdict}{due}"), actor_id=data.get("actor_id"))


@_on(events.lead_supervision_answered)
def supervision_answered(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is not None:
        notify(office_users(), _lead_note(kind, lead, f"：{lead.to_agency.name}已答复督办"),
               actor_id=data.get("actor_id"))


@_on(events.lead_clock_warning, events.lead_clock_overdue)
def lead_clock(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is None:
        return
    due = data.get("due_on")
    what = CLOCKS.get(data.get("clock") or "", "办理")
    overdue = kind == "lead_clock_overdue"
    text = f"已超过{what}期限（{due}）" if overdue else f"即将到期：须于 {due} 前{what}"
    users = _receivers(lead) + (_senders(lead) if overdue else [])
    notify(users, _lead_note(kind, lead, text, key=f"{kind}:{lead.id}:{data.get('clock')}:{due}"))


@_on(events.lead_deadline_moved)
def lead_deadline_moved(kind: str, lead_id: Any, data: dict) -> None:
    lead = _lead(lead_id)
    if lead is not None:
        text = f"的期限因工作日历调整由 {data.get('before')} 改为 {data.get('after')}"
        notify(_receivers(lead) + _senders(lead), _lead_note(kind, lead, text), actor_id=data.get("actor_id"))


# --- police referrals --------------------------------------------------------------------------------

def _police_note(kind: str, item: PoliceReferral, text: str, key: str | None = None) -> Note:
    return Note(kind, f"移送 {item.number}（{item.party_name}，涉嫌{item.suspected_crime}）{text}",
                path("referrals.police_show", referral_id=item.id), "police_referral", item.id, key)


@_on(events.police_referral_changed)
def police_changed(kind: str, referral_id: Any, data: dict) -> None:
    """The side that must act next is told (the police on hand-over and reconsideration; the agency otherwise)."""
    item = db.session.get(PoliceReferral, referral_id)
    if item is None:
        return
    police_side = item.state in ("handed_over", "reconsideration")
    users = agency_users([item.police_agency_id if police_side else item.agency_id], RECEIVERS)
    notify(users, _police_note(kind, item, f"：{POLICE_STATES.get(item.state, item.state)}"),
           actor_id=data.get("actor_id"))


@_on(events.police_clock_warning, events.police_clock_overdue)
def police_clock(kind: str, referral_id: Any, data: dict) -> None:
    item = db.session.get(PoliceReferral, referral_id)
    if item is None:
        return
    what = POLICE_CLOCKS.get(data.get("clock") or "", "办理")
    due = fmt_local(data["due_at"]) if data.get("due_at") else ""
    text = f"：{what}已超时（{due}）" if kind == "police_clock_overdue" else f"：{what}即将到期（{due}）"
    acting = data.get("agency_id") if data.get("agency_id") in (item.agency_id, item.police_agency_id) \
        else item.agency_id
    notify(agency_users([acting], RECEIVERS),
           _police_note(kind, item, text, key=f"{kind}:{item.id}:{data.get('clock')}:{due}"))


# --- interviews, minutes, follow-up visits -----------------------------------------------------------

def _interview_note(kind: str, interview: Interview, text: str, endpoint: str = "interviews.show",
                    key: str | None = None, anchor: str = "") -> Note:
    when = fmt_local(interview.start_at, "%m月%d日 %H:%M") if interview.start_at else "未排期"
    return Note(kind, f"约谈“{interview.title}”（{when}）{text}", path(endpoint, interview_id=interview.id) + anchor,
                "interview", interview.id, key)


def _participants(interview: Interview) -> list[int]:
    return [p.user_id for p in interview.participants]


def _co_coordinators(interview: Interview, *, pending_only: bool = False) -> list[int]:
    agencies = [a.agency_id for a in interview.agencies if a.role == "co"
                and (not pending_only or a.confirmation == "pending")]
    return agency_users(agencies, COORDINATORS)


def _organisers(interview: Interview) -> list[int]:
    return agency_users([interview.lead_agency_id], COORDINATORS)


INTERVIEW_TEXT = {
    "interview_created": "已发起，您是参加人员",
    "interview_scheduled": "已排期，您是参加人员",
    "interview_rescheduled": "已改期，请留意新的时间",
    "interview_changed": "的人员、地点或内容有变更",
    "interview_cancelled": "已取消",
}


@_on(events.interview_created, events.interview_scheduled, events.interview_rescheduled, events.interview_changed,
     events.interview_cancelled)
def interview_changed(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is None:
        return
    actor = data.get("actor_id")
    # Created and scheduled in one go announce twice: the key (per SEQUENCE) tells each person once.
    key = f"interview:{interview.id}:{interview.sequence}:{'cancel' if kind == 'interview_cancelled' else 'info'}"
    text = INTERVIEW_TEXT[kind]
    if kind == "interview_cancelled" and interview.cancel_reason:
        text += f"：{interview.cancel_reason[:80]}"
    people = _participants(interview)
    if kind == "interview_changed":
        removed = set(data.get("before_participants") or ()) - set(people)
        removed_users = [u for u in removed if u is not None]
        # Only people of agencies still in the interview may see it: the others are told without a link.
        notify(removed_users, Note(kind, f"您已不再参加约谈“{interview.title}”", "", "interview", interview.id,
                                   key=f"{key}:removed"), actor_id=actor)
    notify(people, _interview_note(kind, interview, text, key=key), actor_id=actor)
    if kind in ("interview_scheduled", "interview_rescheduled") and interview.status == "scheduled":
        notify(_co_coordinators(interview, pending_only=True),
               _interview_note("interview_confirmation_requested", interview, "请确认本单位是否协办参加",
                               key=f"interview:{interview.id}:{interview.sequence}:confirm"), actor_id=actor)


@_on(events.interview_confirmation_answered)
def confirmation_answered(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is None:
        return
    row = next((a for a in interview.agencies if a.agency_id == data.get("agency_id")), None)
    if row is None:
        return
    verdict = "确认参加" if data.get("decision") == "confirmed" else f"拒绝参加（{row.reason[:80]}）"
    notify(_organisers(interview), _interview_note(kind, interview, f"：{row.agency.name}{verdict}"),
           actor_id=data.get("actor_id"))


@_on(events.interview_flagged)
def interview_flagged(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is not None:
        notify(_organisers(interview) + _participants(interview),
               _interview_note(kind, interview, "所在日期因工作日历调整已不是工作日，请改期"),
               actor_id=data.get("actor_id"))


@_on(events.minutes_finalised)
def minutes_finalised(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is not None:
        notify(_organisers(interview) + _participants(interview),
               _interview_note(kind, interview, "的约谈笔录已定稿", endpoint="minutes.edit"),
               actor_id=data.get("actor_id"))


def _visit_note(kind: str, visit: FollowUp, text: str, key: str | None = None) -> Note:
    interview = visit.interview
    return Note(kind, f"回访：约谈“{interview.title}”（{interview.party.name}）{text}",
                path("interviews.follow_up_list") + f"#follow-up-{visit.id}", "follow_up", visit.id, key)


@_on(events.follow_up_due)
def follow_up_due(kind: str, visit_id: Any, data: dict) -> None:
    visit = db.session.get(FollowUp, visit_id)
    if visit is None or visit.status != "pending":
        return
    notify(agency_users([visit.agency_id], RECEIVERS),
           _visit_note(kind, visit, f"已到回访日期（{visit.due.isoformat()}），请登记整改情况",
                       key=f"follow_up_due:{visit.id}:{visit.due.isoformat()}"))


@_on(events.follow_up_due_moved)
def follow_up_due_moved(kind: str, visit_id: Any, data: dict) -> None:
    visit = db.session.get(FollowUp, visit_id)
    if visit is not None and visit.status == "pending":
        text = f"的回访日期因工作日历调整由 {data.get('before')} 改为 {data.get('after')}"
        notify(agency_users([visit.agency_id], RECEIVERS), _visit_note(kind, visit, text),
               actor_id=data.get("actor_id"))


# --- the two lists -------------------------------------------------------------------------------------

def _list_note(kind: str, version: ListVersion, text: str) -> Note:
    label = f"{version.agency.name}{LIST_KINDS.get(version.kind, version.kind)}第 {version.number} 版"
    return Note(kind, f"{label}{text}", path("lists.version", version_id=version.id), "list_version", version.id)


@_on(events.list_submitted, events.list_returned, events.list_published)
def list_changed(kind: str, version_id: Any, data: dict) -> None:
    version = db.session.get(ListVersion, version_id)
    if version is None:
        return
    if kind == "list_submitted":
        users, text = office_users(), "已提交审核"
    elif kind == "list_returned":
        users, text = agency_users([version.agency_id], COORDINATORS), f"被退回修改：{version.review_comment[:80]}"
    else:
        users, text = agency_users([version.agency_id], COORDINATORS), "已审核通过并发布"
    notify(users, _list_note(kind, version, text), actor_id=data.get("actor_id"))


# --- what the party does (coord.party) -----------------------------------------------------------------

PARTY_TEXT = {
    "party_confirmed": "：当事人已确认参加",
    "party_reschedule_requested": "：当事人申请改期，请同意其提出的时间或说明理由不同意",
    "party_undertaking_signed": "：当事人已在线签署保证承诺书",
}


@_on(events.party_confirmed, events.party_reschedule_requested, events.party_undertaking_signed)
def party_answered(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is not None:
        anchor = "#party-undertaking" if kind == "party_undertaking_signed" else "#party-answer"
        notify(_organisers(interview), _interview_note(kind, interview, PARTY_TEXT[kind], anchor=anchor,
                                                       key=f"{kind}:{data.get('response_id') or interview.id}"))


@_on(events.party_proof_uploaded)
def party_proof_uploaded(kind: str, interview_id: Any, data: dict) -> None:
    visit = db.session.get(FollowUp, data.get("follow_up_id")) if data.get("follow_up_id") else None
    if visit is not None and visit.status == "pending":
        notify(agency_users([visit.agency_id], RECEIVERS),
               _visit_note(kind, visit, "：当事人提交了整改材料，请审核", key=f"{kind}:{data.get('proof_id')}"))


@_on(events.party_integrity_reported)
def party_integrity_reported(kind: str, report_id: Any, data: dict) -> None:
    """Only the office learns of an integrity report (the agencies named in it do not)."""
    notify(office_users(), Note(kind, "收到当事人的廉洁监督反映，请及时核查", path("party.feedback_page"),
                                "integrity_report", report_id, key=f"{kind}:{report_id}"))


# --- invitees' answers and inbound mail (coord.mailin) ---------------------------------------------------

@_on(events.invitation_replied)
def invitation_declined(kind: str, interview_id: Any, data: dict) -> None:
    """A decline that needs the organiser: by a required official or the room, for the current invitation."""
    if data.get("partstat") != "DECLINED" or not data.get("required") or data.get("stale"):
        return
    interview = db.session.get(Interview, interview_id)
    if interview is None or interview.status != "scheduled":
        return
    who = "会议室" if data.get("kind") == "room" else "参加人员"
    text = f"：{who} {data.get('email', '')} 拒绝参加，请改期或调整人员"
    notify(_organisers(interview), _interview_note("invitation_declined", interview, text, anchor="#responses",
                                                   key=f"invitation_declined:{data.get('reply_id')}"))


@_on(events.invitation_countered)
def invitation_countered(kind: str, interview_id: Any, data: dict) -> None:
    interview = db.session.get(Interview, interview_id)
    if interview is None or interview.status != "scheduled":
        return
    text = f"：{data.get('email', '')} 提议改到其他时间，请决定是否采纳"
    notify(_organisers(interview), _interview_note(kind, interview, text, anchor="#counters",
                                                   key=f"{kind}:{data.get('counter_id')}"))


@_on(events.mail_quarantined)
def mail_quarantined(kind: str, inbound_id: Any, data: dict) -> None:
    """Once a day at most (a flood of forged mail must not flood the bell): the first one names its reason,
    the quarantine page lists them all."""
    notify(office_users(), Note(kind, f"回复邮箱有邮件被隔离，请查看（{str(data.get('reason') or '')[:100]}）",
                                path("mailin.quarantine"), "inbound_message", inbound_id,
                                key=f"{kind}:{local_today().isoformat()}"))
