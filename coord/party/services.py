"""Links and the party's answer before the interview: issue, send, revoke; confirm or ask for another
time; the organiser accepts a proposed time (a reschedule through the interview services) or declines.

Party actions take the link's token and the caller's address; staff actions take the user (`actor`).
Every action: rule check first, then the change, its audit entry (time, address, action), its domain
event and one commit. A repeated identical submission changes nothing (a double submit counts once).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from coord import events
from coord.accounts.models import User
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import Interview, PartyAttendee
from coord.notify.services import queue_mail, queue_sms, valid_address
from coord.notify.sms import normalise_mobile
from coord.party import links
from coord.party.models import PartyLink, PartyResponse
from coord.party.queries import current_response
from coord.scheduling.slots import Slot, find_slots
from coord.timeutil import fmt_local, parse_iso, to_local

log = logging.getLogger(__name__)
# Bookkeeping the listeners do on their own (links following the interview) is audited under this
# entity, visible like the interview, so the interview's own timeline keeps the people's actions.
AUTO_ENTITY = "interview_party"
MAX_STARTS = 3
SLOTS_PER_DAY = 2
SLOTS_SHOWN = 12


def _setting(key: str, env: str, default: str) -> str:
    value = current_app.config.get(key)
    return str(value) if value is not None else os.environ.get(env, default)


def auto_send() -> bool:
    """Send each new link by e-mail/SMS as soon as the interview is scheduled (default on)."""
    return _setting("PARTY_LINKS_AUTO_SEND", "COORD_PARTY_LINKS_AUTO_SEND", "1").lower() in ("1", "true", "yes", "on")


def reschedule_window_days() -> int:
    return int(_setting("PARTY_RESCHEDULE_WINDOW_DAYS", "COORD_PARTY_RESCHEDULE_DAYS", "30"))


# --- who acts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PartyActor:
    """The party acting through a link, as the audit trail names it (no user account)."""

    link_id: int | None
    name: str
    ip: str
    anonymous: bool = False
    id: None = None

    @property
    def display_name(self) -> str:
        if self.anonymous or not self.name:
            return "当事人（经访问链接）"
        return f"当事人 {self.name}（经个人链接）"


def party_actor(access: links.Access, ip: str, *, anonymous: bool = False) -> PartyActor:
    return PartyActor(access.link.id, access.link.attendee_name, ip or "", anonymous)


def open_link(token: str, *, for_update: bool = False, now: datetime | None = None) -> links.Access:
    """The token's link and interview (404 unknown, 410 revoked or expired). With `for_update`, the
    transaction becomes the serialised writer for this interview first (double submits queue here)."""
    if for_update:
        write_lock(db.session)
    access = links.resolve(token, now=now)
    if for_update and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(Interview.id).where(Interview.id == access.interview.id).with_for_update())
        db.session.refresh(access.interview)
    return access


def party_audit(actor: PartyActor, interview: Interview, kind: str, summary: str, **after: Any) -> None:
    """An action of the party on the interview's timeline, with its address; `after["action"]` names it."""
    audit.record(actor, kind, "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"{actor.display_name}{summary}",
                 after={"link_id": actor.link_id, "ip": actor.ip, **after})


def record_view(token: str, ip: str, what: str = "查看页面") -> links.Access:
    """A GET through a link: nothing of the case changes; the use is written to the audit trail."""
    access = links.resolve(token)
    actor = party_actor(access, ip)
    audit.record(actor, "party.view", "party_link", access.link.id, agencies=access.interview.agency_ids,
                 summary=f"{actor.display_name}{what}", after={"ip": ip, "action": what})
    db.session.commit()
    return access


# --- issuing, sending, revoking links -----------------------------------------------------------

def _contact(attendee: PartyAttendee) -> tuple[str, str]:
    email = valid_address(attendee.email.strip()) if attendee.email and attendee.email.strip() else None
    return (email or ""), (normalise_mobile(attendee.phone) or "")


def ensure_links(interview: Interview, actor: Any = None) -> tuple[list[PartyLink], list[PartyLink]]:
    """Give the interview its notice link and each attendee with an e-mail address or a mobile number a
    personal link. Attendee rows replaced by an edit keep their link when name and contacts match;
    links of attendees who left are revoked. Returns (new links, revoked links); writes in the session."""
    live = links.live_links(interview.id)
    new: list[PartyLink] = []
    revoked: list[PartyLink] = []
    if not any(link.kind == "notice" for link in live):
        new.append(links.new_link(interview, actor=actor))
    personal = [link for link in live if link.kind == "personal"]
    kept: set[int] = set()
    for attendee in interview.attendees:
        email, phone = _contact(attendee)
        if not (email or phone):
            continue
        mine = next((lk for lk in personal if lk.attendee_id == attendee.id), None)
        if mine is None:  # the row was replaced by an edit: the same person keeps the link
            mine = next((lk for lk in personal if lk.id not in kept and lk.attendee_id is None
                         and (lk.attendee_name, lk.email, lk.phone) == (attendee.name, attendee.email, attendee.phone)),
                        None)
            if mine is not None:
                mine.attendee_id = attendee.id
        if mine is not None and (mine.email, mine.phone) != (attendee.email, attendee.phone):
            _revoke(mine, actor, "联系方式已变更")
            revoked.append(mine)
            mine = None
        if mine is None:
            mine = links.new_link(interview, attendee=attendee, actor=actor)
            new.append(mine)
        kept.add(mine.id)
    for link in personal:
        if link.id not in kept and link not in revoked:
            _revoke(link, actor, "该人员已不再是当事人参加人员")
            revoked.append(link)
    return new, revoked


def _revoke(link: PartyLink, actor: Any, reason: str) -> None:
    link.revoked_at, link.revoked_by_id, link.revoke_reason = utcnow(), getattr(actor, "id", None), reason[:500]


def _when(interview: Interview) -> str:
    if interview.start_at is None:
        return "（时间待定）"
    return f"{fmt_local(interview.start_at, '%Y年%m月%d日 %H:%M')}–{fmt_local(interview.end_at, '%H:%M')}"


def _place(interview: Interview) -> str:
    room = interview.room
    return "" if room is None else (f"{room.name}（{room.location}）" if room.location else room.name)


def _text(template: str, ctx: dict[str, Any]) -> str:
    """A mail body from a template, also outside a request (listeners): no request context processors."""
    return current_app.jinja_env.get_template(template).render(**ctx)


def send_link(link: PartyLink, *, reason: str = "notice") -> list[str]:
    """Queue the link to its attendee: e-mail through the outbox and, for a mobile number, an SMS.
    Idempotent per link and reason. Returns where it went ("" entries are skipped)."""
    if link.kind != "personal" or link.revoked:
        return []
    interview = db.session.get(Interview, link.interview_id)
    url, code = links.url_for_link(link), links.format_code(links.code_for(link))
    ctx = {"interview": interview, "link": link, "url": url, "code": code, "when": _when(interview),
           "place": _place(interview), "portal": f"{links.base_url()}/p/"}
    sent = []
    if link.email:
        message = queue_mail([f"{link.attendee_name} <{link.email}>"],
                             f"【约谈通知】{interview.title}", _text("party/link_email.txt", ctx),
                             key=f"party-link:{link.id}:{reason}:mail")
        if message is not None:
            sent.append(link.email)
    if link.phone:
        text = (f"{interview.party.name}：{interview.lead_agency.name}定于{_when(interview)}约谈，"
                f"请点击 {url} 查看通知并确认参加或申请改期。")
        if queue_sms([link.phone], text, subject=f"约谈通知链接：{interview.title}",
                     key=f"party-link:{link.id}:{reason}:sms") is not None:
            sent.append(link.phone)
    if sent:
        link.sent_at = utcnow()
    return sent


def tell_party(interview: Interview, key: str, subject: str, text: str, *, only: PartyLink | None = None,
                except_link_id: int | None = None) -> None:
    """A short message to the party's link holders (or one of them) about an outcome."""
    targets = [only] if only is not None else [lk for lk in links.live_links(interview.id) if lk.kind == "personal"]
    for link in targets:
        if link is None or link.revoked or link.id == except_link_id:
            continue
        url = links.url_for_link(link)
        if link.email:
            queue_mail([f"{link.attendee_name} <{link.email}>"], subject, f"{link.attendee_name}：\n\n{text}\n\n"
                       f"详情：{url}\n\n{interview.lead_agency.name}\n", key=f"{key}:{link.id}:mail")
        if link.phone:
            queue_sms([link.phone], f"{text} 详情：{url}", subject=subject, key=f"{key}:{link.id}:sms")


def issue_links(actor: Any, interview_id: Any, *, send: bool | None = None) -> list[PartyLink]:
    """Staff: issue missing links for a scheduled or held interview and send the unsent ones."""
    interview = interviews.get(actor, interview_id, for_update=True)
    if not interviews.is_organiser(actor, interview):
        raise Forbidden("只有牵头单位的联络员或领导小组办公室可以发送当事人访问链接。")
    if interview.status not in ("scheduled", "held"):
        raise DomainError("约谈排期后才能向当事人发送访问链接。")
    new, revoked = ensure_links(interview, actor)
    unsent = [lk for lk in links.live_links(interview.id) if lk.kind == "personal" and lk.sent_at is None]
    sent = {lk.id: send_link(lk) for lk in unsent} if send is not False else {}
    if not (new or revoked or any(sent.values())):
        raise DomainError("当事人参加人员的访问链接均已发送；如需重新发送，请吊销原链接（会生成并发送新链接）。")
    audit.record(actor, "party.links", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"当事人访问链接：新生成 {len(new)} 个，发送 {sum(1 for v in sent.values() if v)} 个",
                 after={"issued": [lk.id for lk in new], "revoked": [lk.id for lk in revoked],
                        "sent": {str(k): v for k, v in sent.items() if v}})
    events.announce(events.party_links_issued, interview.id, actor=actor, link_ids=[lk.id for lk in new],
                    sent=[k for k, v in sent.items() if v])
    db.session.commit()
    return new


def revoke_link(actor: Any, interview_id: Any, link_id: Any, reason: str = "") -> PartyLink:
    """Staff: revoke a link and issue its successor (sent again to the same attendee). Returns the new one."""
    interview = interviews.get(actor, interview_id, for_update=True)
    if not interviews.is_organiser(actor, interview):
        raise Forbidden("只有牵头单位的联络员或领导小组办公室可以吊销当事人访问链接。")
    try:
        link = db.session.get(PartyLink, int(link_id))
    except (TypeError, ValueError):
        link = None
    if link is None or link.interview_id != interview.id:
        raise NotFound("访问链接不存在。")
    if link.revoked:
        raise DomainError("该链接已吊销。")
    reason = (reason or "").strip() or "联络员吊销"
    _revoke(link, actor, reason)
    attendee = db.session.get(PartyAttendee, link.attendee_id) if link.attendee_id else None
    successor = links.new_link(interview, attendee=attendee, actor=actor)
    if link.kind == "personal" and attendee is None:  # the attendee row was replaced: keep the contacts
        successor.kind, successor.attendee_name, successor.email, successor.phone = (
            "personal", link.attendee_name, link.email, link.phone)
    link.replaced_by_id = successor.id
    sent = send_link(successor, reason="reissue") if successor.kind == "personal" else []
    audit.record(actor, "party.link_revoke", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"吊销当事人访问链接（{link.label}）：{reason}；已生成新链接"
                         + (f"并发送至 {'、'.join(sent)}" if sent else ""),
                 after={"revoked": link.id, "new_link": successor.id, "reason": reason, "sent": sent})
    events.announce(events.party_link_revoked, link.id, actor=actor, interview_id=interview.id,
                    new_link_id=successor.id)
    db.session.commit()
    return successor


# --- listeners: links follow the interview --------------------------------------------------------

def _actor(data: dict) -> User | None:
    return db.session.get(User, data["actor_id"]) if data.get("actor_id") else None


@events.interview_scheduled.connect
def _issue_on_schedule(interview_id: int, **data: Any) -> None:
    write_lock(db.session)
    interview = db.session.get(Interview, interview_id)
    if interview is None or interview.status != "scheduled":
        return
    actor = _actor(data)
    new, revoked = ensure_links(interview, actor)
    sent = {lk.id: send_link(lk) for lk in new} if auto_send() else {}
    if new or revoked:
        audit.record(actor, "party.links", AUTO_ENTITY, interview.id, agencies=interview.agency_ids,
                     summary=f"生成当事人访问链接 {len(new)} 个" + (
                         f"，已发送 {sum(1 for v in sent.values() if v)} 个" if sent else "（未自动发送）"),
                     after={"issued": [lk.id for lk in new], "sent": {str(k): v for k, v in sent.items() if v}})
    db.session.commit()  # no event: this follows interview_scheduled, which listeners already have


@events.interview_changed.connect
def _follow_attendees(interview_id: int, **data: Any) -> None:
    write_lock(db.session)
    interview = db.session.get(Interview, interview_id)
    if interview is None or interview.status not in ("scheduled", "held"):
        return
    if not links.live_links(interview.id):
        return  # links were never issued for it (scheduled before this feature): issue_links does that
    actor = _actor(data)
    new, revoked = ensure_links(interview, actor)
    if not (new or revoked):
        return
    sent = {lk.id: send_link(lk) for lk in new} if auto_send() else {}
    audit.record(actor, "party.links", AUTO_ENTITY, interview.id, agencies=interview.agency_ids,
                 summary=f"参加人员变更：新生成当事人访问链接 {len(new)} 个，吊销 {len(revoked)} 个",
                 after={"issued": [lk.id for lk in new], "revoked": [lk.id for lk in revoked],
                        "sent": {str(k): v for k, v in sent.items() if v}})
    db.session.commit()


@events.interview_rescheduled.connect
def _close_answers_of_old_time(interview_id: int, **data: Any) -> None:
    """Answers to the old time no longer hold: open requests end, the party is told of the new time."""
    write_lock(db.session)
    interview = db.session.get(Interview, interview_id)
    if interview is None:
        return
    stale = db.session.execute(sa.select(PartyResponse).where(
        PartyResponse.interview_id == interview.id, PartyResponse.status == "open",
        PartyResponse.for_start_at != interview.start_at)).scalars().all()
    for response in stale:
        response.status, response.decided_at = "withdrawn", utcnow()
        response.decision_reason = response.decision_reason or "约谈已改期"
    if stale:
        audit.record(_actor(data), "party.answers_closed", AUTO_ENTITY, interview.id, agencies=interview.agency_ids,
                     summary=f"约谈已改期：当事人对原时间的 {len(stale)} 项改期申请关闭",
                     after={"response_ids": [r.id for r in stale]})
    if auto_send():  # the one whose request was accepted has its answer already
        answered = current_response(interview)
        asked = answered.link_id if answered is not None and answered.status == "accepted" else None
        tell_party(interview, f"party-moved:{interview.id}:{interview.sequence}", f"【约谈改期】{interview.title}",
                    f"约谈时间已调整为{_when(interview)}，地点：{_place(interview) or '见通知'}。请确认是否参加。",
                    except_link_id=asked)
    db.session.commit()


@events.interview_cancelled.connect
def _tell_cancelled(interview_id: int, **data: Any) -> None:
    write_lock(db.session)
    interview = db.session.get(Interview, interview_id)
    if interview is None or not auto_send():
        return
    tell_party(interview, f"party-cancelled:{interview.id}", f"【约谈取消】{interview.title}",
                f"原定{_when(interview)}的约谈已取消：{interview.cancel_reason}")
    db.session.commit()


# --- before the interview: confirm or ask for another time ----------------------------------------

def may_answer(interview: Interview, now: datetime | None = None) -> bool:
    return interview.status == "scheduled" and interview.start_at is not None and interview.start_at > (now or utcnow())


def _require_answerable(interview: Interview, now: datetime | None) -> None:
    if interview.status == "cancelled":
        raise DomainError("该约谈已取消，无需确认。")
    if not may_answer(interview, now):
        raise DomainError("约谈已开始或已结束，不能再确认或申请改期。")


def _withdraw_open(interview: Interview) -> None:
    for row in db.session.execute(sa.select(PartyResponse).where(
            PartyResponse.interview_id == interview.id, PartyResponse.for_start_at == interview.start_at,
            PartyResponse.status.in_(("open", "noted")))).scalars():
        row.status = "withdrawn"


def confirm(token: str, ip: str, *, now: datetime | None = None) -> PartyResponse:
    access = open_link(token, for_update=True, now=now)
    interview = access.interview
    _require_answerable(interview, now)
    current = current_response(interview)
    if current is not None and current.kind == "confirmed":
        db.session.rollback()
        return current  # a double submit counts once
    _withdraw_open(interview)
    response = PartyResponse(interview_id=interview.id, link_id=access.link.id, kind="confirmed",
                             for_start_at=interview.start_at, status="noted")
    db.session.add(response)
    db.session.flush()
    actor = party_actor(access, ip)
    party_audit(actor, interview, "party.confirm", f"确认参加 {fmt_local(interview.start_at)} 的约谈",
                response_id=response.id, action="确认参加", start_at=interview.start_at.isoformat())
    events.announce(events.party_confirmed, interview.id, response_id=response.id, link_id=access.link.id)
    db.session.commit()
    return response


def offered_slots(interview: Interview, *, now: datetime | None = None) -> tuple[list[Slot], str]:
    """Times the party may propose: free for every official, the room and the party (the slot finder),
    spread over the days (at most two a day). Returns (slots, message when there are none)."""
    now = now or utcnow()
    participant_ids = [p.user_id for p in interview.participants]
    if not participant_ids:
        return [], "暂无可选时段，请与约谈单位联系。"
    try:
        result, _ = interviews.suggest(None, participant_ids, interview.room_id, interview.duration_minutes, now,
                                       now + timedelta(days=reschedule_window_days()), 60,
                                       party_id=interview.party_id, exclude_interview_id=interview.id, now=now)
    except DomainError as err:
        return [], f"暂无可选时段（{err.message}），请与约谈单位联系。"
    per_day: dict[str, int] = {}
    chosen = []
    for slot in result.slots:
        day = to_local(slot.start).date().isoformat()
        if slot.start == interview.start_at or per_day.get(day, 0) >= SLOTS_PER_DAY:
            continue
        per_day[day] = per_day.get(day, 0) + 1
        chosen.append(slot)
        if len(chosen) >= SLOTS_SHOWN:
            break
    return chosen, "" if chosen else "近期暂无所有人员和会议室都空闲的时段，请与约谈单位联系。"


def _is_offered(interview: Interview, start: datetime, now: datetime) -> bool:
    """The slot finder would offer exactly this start now (grid, working hours, notice, all free)."""
    if start == interview.start_at or start > now + timedelta(days=reschedule_window_days()):
        return False
    end = start + timedelta(minutes=interview.duration_minutes)
    try:
        found = find_slots(interviews.resources_of(interview), interview.duration_minutes, start, end, 1, now=now,
                           exclude_interview_id=interview.id, explain=False)
    except DomainError:
        return False
    return bool(found.slots) and found.slots[0].start == start


def _parse_starts(values: list[str]) -> list[datetime]:
    texts = [v.strip() for v in values if v and v.strip()]
    if not texts:
        raise DomainError("请至少选择一个希望改到的时间。", field="starts")
    if len(texts) > MAX_STARTS:
        raise DomainError(f"最多可选择 {MAX_STARTS} 个时间。", field="starts")
    starts = []
    for text in texts:
        try:
            starts.append(parse_iso(text))
        except ValueError:
            raise DomainError(f"时间“{text[:40]}”格式不正确。", field="starts") from None
    if len({s.timestamp() for s in starts}) != len(starts):
        raise DomainError("所选时间有重复。", field="starts")
    return sorted(starts)


def request_reschedule(token: str, ip: str, reason: str, starts: list[str], *,
                       now: datetime | None = None) -> PartyResponse:
    access = open_link(token, for_update=True, now=now)
    interview = access.interview
    when = now or utcnow()
    _require_answerable(interview, when)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("请填写申请改期的理由。", field="reason")
    if len(reason) > 1000:
        raise DomainError("改期理由不能超过 1000 字。", field="reason")
    chosen = _parse_starts(starts)
    for start in chosen:
        if not _is_offered(interview, start, when):
            raise DomainError(f"所选时间 {fmt_local(start)} 不在可选时段内（可能刚被占用），请从列出的时段中选择。",
                              field="starts")
    iso = [to_local(s).isoformat() for s in chosen]
    current = current_response(interview)
    if (current is not None and current.kind == "reschedule_requested" and current.status == "open"
            and current.reason == reason and current.starts == iso):
        db.session.rollback()
        return current  # the same request twice counts once
    _withdraw_open(interview)
    response = PartyResponse(interview_id=interview.id, link_id=access.link.id, kind="reschedule_requested",
                             for_start_at=interview.start_at, reason=reason, starts=iso, status="open")
    db.session.add(response)
    db.session.flush()
    actor = party_actor(access, ip)
    party_audit(actor, interview, "party.reschedule_request",
                f"申请改期：{reason[:100]}（希望改至 {'、'.join(fmt_local(s) for s in chosen)}）",
                response_id=response.id, action="申请改期", reason=reason, starts=iso)
    events.announce(events.party_reschedule_requested, interview.id, response_id=response.id,
                    link_id=access.link.id, starts=iso)
    db.session.commit()
    return response


def answer_reschedule(actor: Any, interview_id: Any, response_id: Any, decision: str, *,
                      start: datetime | None = None, reason: str = "", now: datetime | None = None) -> PartyResponse:
    """The organiser accepts one of the proposed times (the interview is rescheduled, invites go out)
    or declines with a reason. Either way the party sees the outcome on its page and is told."""
    interview = interviews.get(actor, interview_id, for_update=True)
    if not interviews.is_organiser(actor, interview):
        raise Forbidden("只有牵头单位的联络员或领导小组办公室可以答复改期申请。")
    try:
        response = db.session.get(PartyResponse, int(response_id))
    except (TypeError, ValueError):
        response = None
    if response is None or response.interview_id != interview.id or response.kind != "reschedule_requested":
        raise NotFound("改期申请不存在。")
    if response.status != "open":
        raise DomainError(f"该改期申请已处理（{response.status_label}）。")
    if response.for_start_at != interview.start_at or interview.status != "scheduled":
        raise DomainError("约谈时间或状态已变更，该改期申请已不再适用。")
    reason = (reason or "").strip()
    link = db.session.get(PartyLink, response.link_id)
    if decision == "accept":
        if start is None or start not in response.start_instants:
            raise DomainError("请从当事人提出的时间中选择一个。", field="start")
        old = interview.start_at
        interviews.reschedule(actor, interview.id, start, f"当事人申请改期：{response.reason}", now=now, commit=False)
        response.status, response.chosen_start_at = "accepted", start
        summary = f"同意当事人改期申请，约谈由 {fmt_local(old)} 改至 {fmt_local(start)}"
        told = f"您的改期申请已同意，约谈改至{_when(interview)}。"
    elif decision == "decline":
        if not reason:
            raise DomainError("不同意改期时须填写理由，当事人可以看到。", field="reason")
        response.status = "declined"
        summary = f"不同意当事人改期申请：{reason[:100]}"
        told = f"您的改期申请未获同意（{reason}），约谈仍于{_when(interview)}进行。"
    else:
        raise DomainError("请选择同意（选定时间）或不同意。", field="decision")
    response.decision_reason = reason[:1000]
    response.decided_at, response.decided_by_id = now or utcnow(), actor.id
    audit.record(actor, f"party.reschedule_{decision}", "interview", interview.id, agencies=interview.agency_ids,
                 summary=summary, after={"response_id": response.id, "decision": decision, "reason": reason,
                                         "start": start.isoformat() if start else None})
    tell_party(interview, f"party-answer:{response.id}", f"【改期申请答复】{interview.title}", told, only=link)
    events.announce(events.party_reschedule_answered, interview.id, actor=actor, response_id=response.id,
                    decision=decision)
    db.session.commit()
    return response


def _audit_visible(user: Any, entity_id: str) -> bool:
    try:
        link = db.session.get(PartyLink, int(entity_id))
    except ValueError:
        return False
    return link is not None and interviews.can_see(user, db.session.get(Interview, link.interview_id))


def _interview_visible(user: Any, entity_id: str) -> bool:
    try:
        return interviews.can_see(user, db.session.get(Interview, int(entity_id)))
    except ValueError:
        return False


audit.register_entity("party_link", "当事人访问链接", _audit_visible)
audit.register_entity(AUTO_ENTITY, "当事人访问链接（自动）", _interview_visible)
