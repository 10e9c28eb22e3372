"""Before the interview: the party confirms or asks for another time (up to three, from the slots the
slot finder offers); the organiser accepts one (a reschedule through the interview services, in the same
transaction: bookings, SEQUENCE, invites) or declines with a reason the party sees.

Its listener (answers to an old time close when the interview moves) connects when the module is
imported, as the party's pages import it (`coord.party.portal`, registered with the app).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from coord import events
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import Interview
from coord.lang import _
from coord.party.models import PartyLink, PartyResponse
from coord.party.queries import current_response
from coord.party.services import (
    AUTO_ENTITY,
    actor_of,
    auto_send,
    open_link,
    party_actor,
    party_audit,
    place_of,
    setting,
    tell_party,
    when_of,
)
from coord.scheduling.slots import Slot, find_slots
from coord.timeutil import fmt_local, parse_iso, to_local

MAX_STARTS = 3
SLOTS_PER_DAY = 2
SLOTS_SHOWN = 12


def reschedule_window_days() -> int:
    return int(setting("PARTY_RESCHEDULE_WINDOW_DAYS", "COORD_PARTY_RESCHEDULE_DAYS", "30"))


# --- before the interview: confirm or ask for another time ----------------------------------------

def may_answer(interview: Interview, now: datetime | None = None) -> bool:
    return interview.status == "scheduled" and interview.start_at is not None and interview.start_at > (now or utcnow())


def _require_answerable(interview: Interview, now: datetime | None) -> None:
    if interview.status == "cancelled":
        raise DomainError(_("该约谈已取消，无需确认。"))
    if not may_answer(interview, now):
        raise DomainError(_("约谈已开始或已结束，不能再确认或申请改期。"))


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
        return [], _("暂无可选时段，请与约谈单位联系。")
    try:
        result, _spare = interviews.suggest(None, participant_ids, interview.room_id, interview.duration_minutes, now,
                                       now + timedelta(days=reschedule_window_days()), 60,
                                       party_id=interview.party_id, exclude_interview_id=interview.id, now=now)
    except DomainError as err:
        return [], _("暂无可选时段（%(message)s），请与约谈单位联系。", message=err.message)
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
    return chosen, "" if chosen else _("近期暂无所有人员和会议室都空闲的时段，请与约谈单位联系。")


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
        raise DomainError(_("请至少选择一个希望改到的时间。"), field="starts")
    if len(texts) > MAX_STARTS:
        raise DomainError(_("最多可选择 %(MAX_STARTS)s 个时间。", MAX_STARTS=MAX_STARTS), field="starts")
    starts = []
    for text in texts:
        try:
            starts.append(parse_iso(text))
        except ValueError:
            raise DomainError(_("时间“%(text)s”格式不正确。", text=text[:40]), field="starts") from None
    if len({s.timestamp() for s in starts}) != len(starts):
        raise DomainError(_("所选时间有重复。"), field="starts")
    return sorted(starts)


def request_reschedule(token: str, ip: str, reason: str, starts: list[str], *,
                       now: datetime | None = None) -> PartyResponse:
    access = open_link(token, for_update=True, now=now)
    interview = access.interview
    when = now or utcnow()
    _require_answerable(interview, when)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写申请改期的理由。"), field="reason")
    if len(reason) > 1000:
        raise DomainError(_("改期理由不能超过 1000 字。"), field="reason")
    chosen = _parse_starts(starts)
    for start in chosen:
        if not _is_offered(interview, start, when):
            raise DomainError(_("所选时间 %(fmt_local)s 不在可选时段内（可能刚被占用），请从列出的时段中选择。",
                                  fmt_local=fmt_local(start)),
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
        raise Forbidden(_("只有牵头单位的联络员或领导小组办公室可以答复改期申请。"))
    try:
        response = db.session.get(PartyResponse, int(response_id))
    except (TypeError, ValueError):
        response = None
    if response is None or response.interview_id != interview.id or response.kind != "reschedule_requested":
        raise NotFound(_("改期申请不存在。"))
    if response.status != "open":
        raise DomainError(_("该改期申请已处理（%(status_label)s）。", status_label=response.status_label))
    if response.for_start_at != interview.start_at or interview.status != "scheduled":
        raise DomainError(_("约谈时间或状态已变更，该改期申请已不再适用。"))
    reason = (reason or "").strip()
    link = db.session.get(PartyLink, response.link_id)
    if decision == "accept":
        if start is None or start not in response.start_instants:
            raise DomainError(_("请从当事人提出的时间中选择一个。"), field="start")
        old = interview.start_at
        interviews.reschedule(actor, interview.id, start, f"当事人申请改期：{response.reason}", now=now, commit=False)
        response.status, response.chosen_start_at = "accepted", start
        summary = f"同意当事人改期申请，约谈由 {fmt_local(old)} 改至 {fmt_local(start)}"
        told = f"您的改期申请已同意，约谈改至{when_of(interview)}。"
    elif decision == "decline":
        if not reason:
            raise DomainError(_("不同意改期时须填写理由，当事人可以看到。"), field="reason")
        response.status = "declined"
        summary = f"不同意当事人改期申请：{reason[:100]}"
        told = f"您的改期申请未获同意（{reason}），约谈仍于{when_of(interview)}进行。"
    else:
        raise DomainError(_("请选择同意（选定时间）或不同意。"), field="decision")
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
        audit.record(actor_of(data), "party.answers_closed", AUTO_ENTITY, interview.id, agencies=interview.agency_ids,
                     summary=f"约谈已改期：当事人对原时间的 {len(stale)} 项改期申请关闭",
                     after={"response_ids": [r.id for r in stale]})
    if auto_send():  # the one whose request was accepted has its answer already
        answered = current_response(interview)
        asked = answered.link_id if answered is not None and answered.status == "accepted" else None
        tell_party(interview, f"party-moved:{interview.id}:{interview.sequence}", f"【约谈改期】{interview.title}",
                    f"约谈时间已调整为{when_of(interview)}，地点：{place_of(interview) or '见通知'}。请确认是否参加。",
                    except_link_id=asked)
    db.session.commit()
