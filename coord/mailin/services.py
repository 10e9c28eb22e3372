"""What an inbound message changes: invitees' answers, counter-proposals, or nothing (quarantine).

`process_message(raw, source)` is the one entry point of both ways mail comes in (IMAP polling
in the worker, `flask mail-in` from the MTA). A message is judged completely before anything is
written. It changes something only when every item in it is an iMIP REPLY or COUNTER for a
known interview UID, speaks for exactly one invitee of that interview, and comes from that
invitee's own address (the From header, checked against the receiving server's verdict when
`COORD_MAILIN_AUTHSERV_ID` is set). Anything else is kept in the quarantine the office reads,
and nothing changes. Each message is recorded under its Message-ID, so the same message twice
changes nothing more.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from coord import events
from coord.accounts.scoping import require_office
from coord.audit import services as audit
from coord.calendar import ics
from coord.calendar import services as calendar
from coord.dbtypes import utcnow, write_lock
from coord.errors import Conflict, DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import Interview
from coord.mailin import parse as mime
from coord.mailin.models import PARTSTATS, CounterProposal, InboundMessage, InvitationReply
from coord.mailin.queries import Invitee, invitees_of
from coord.notify.services import queue_mail_in_languages
from coord.timeutil import fmt_local, isoformat_local

log = logging.getLogger(__name__)
RAW_KEPT = 512 * 1024  # bytes of a quarantined message kept for the office to read


@dataclass
class Outcome:
    status: str  # processed | quarantined | duplicate
    summary: str
    key: str = ""
    inbound_id: int | None = None

    @property
    def line(self) -> str:
        return f"{self.status}: {self.summary}"


class Quarantine(Exception):
    def __init__(self, reason: str, item: mime.ItipItem | None = None, interview: Interview | None = None):
        super().__init__(reason)
        self.reason, self.item, self.interview = reason, item, interview


@dataclass
class _Step:
    item: mime.ItipItem
    interview: Interview
    invitee: Invitee
    sequence: int


# --- one message ----------------------------------------------------------------------------------

def process_message(raw: bytes, source: str, *, now: datetime | None = None) -> Outcome:
    """Judge and apply one RFC 5322 message; commits. Raises `parse.Unreadable` for non-mail."""
    now = now or utcnow()
    limit = int(current_app.config.get("MAILIN_MAX_BYTES", 25 << 20))
    too_big = len(raw) > limit
    parsed = mime.parse(raw[:limit] if too_big else raw, headers_only=True)
    write_lock(db.session)
    earlier = db.session.execute(sa.select(InboundMessage).where(InboundMessage.key == parsed.key)).scalar_one_or_none()
    if earlier is not None:  # known already: not even its calendar is read again
        db.session.rollback()
        return _duplicate(parsed, earlier)
    if not too_big:
        parsed = mime.parse(raw)
    try:
        if too_big:
            raise Quarantine(f"邮件过大（{len(raw)} 字节，上限 {limit} 字节）。")
        steps = _judge(parsed, now)
    except Quarantine as q:
        return _quarantine(parsed, raw, source, q, now)
    row = InboundMessage(key=parsed.key, source=source, status="processed", from_addr=parsed.from_addr[:320],
                         subject=parsed.subject, method=steps[0].item.method, uid=steps[0].item.uid[:300],
                         interview_id=steps[0].interview.id, size=len(raw), received_at=now)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # another worker recorded the same message a moment ago
        db.session.rollback()
        return Outcome("duplicate", f"重复邮件 {parsed.key}：已由其他进程处理，未作改动。", parsed.key)
    summaries = [_apply(step, row, now) for step in steps]
    row.summary = "；".join(summaries)[:4000]
    db.session.commit()
    return Outcome("processed", row.summary, parsed.key, row.id)


def _duplicate(parsed: mime.Parsed, earlier: InboundMessage) -> Outcome:
    when = fmt_local(earlier.received_at)
    return Outcome("duplicate", f"重复邮件 {parsed.key}：已于 {when} {earlier.status_label}，未作改动。", parsed.key,
                   earlier.id)


def _judge(parsed: mime.Parsed, now: datetime) -> list[_Step]:
    if not parsed.from_addr:
        raise Quarantine("发件人（From）缺失或不止一个。")
    _check_authentication(parsed)
    if not parsed.items:
        raise Quarantine(parsed.problem or "不是日历答复（iMIP）邮件。")
    steps = [_judge_item(parsed, item) for item in parsed.items]
    return steps


def _judge_item(parsed: mime.Parsed, item: mime.ItipItem) -> _Step:
    if item.method not in ("REPLY", "COUNTER"):
        raise Quarantine(f"不受理的日历方法“{item.method or '（无）'}”：只受理受邀人的 REPLY 和 COUNTER。", item)
    if not item.uid:
        raise Quarantine("日历答复没有 UID。", item)
    interview = db.session.execute(sa.select(Interview).where(Interview.uid == item.uid)).scalar_one_or_none()
    if interview is None:
        raise Quarantine(f"未知的 UID“{item.uid[:120]}”：不是本平台发出的约谈邀请。", item)
    if item.attendees != 1 or not item.attendee:
        raise Quarantine(f"答复应只代表一名参加人（ATTENDEE），此答复有 {item.attendees} 个。", item, interview)
    if item.attendee != parsed.from_addr:
        raise Quarantine(f"发件人 {parsed.from_addr} 与答复所代表的参加人 {item.attendee} 不一致。", item, interview)
    invitee = invitees_of(interview).get(item.attendee)
    if invitee is None:
        raise Quarantine(f"{item.attendee} 不是约谈“{interview.title}”的受邀人。", item, interview)
    if item.method == "REPLY" and item.partstat not in mime.ANSWERS:
        raise Quarantine(f"不受理的答复状态“{item.partstat or '（无）'}”：只受理接受、拒绝、暂定。", item, interview)
    if item.method == "COUNTER" and item.start is None:
        raise Quarantine("改期建议（COUNTER）没有建议的开始时间（DTSTART）。", item, interview)
    sequence = _sequence_of(item, interview)
    if sequence > (interview.sequence or 0):
        raise Quarantine(f"答复的 SEQUENCE {sequence} 高于本平台发出的最新版本 {interview.sequence}。", item, interview)
    return _Step(item, interview, invitee, sequence)


def _sequence_of(item: mime.ItipItem, interview: Interview) -> int:
    """The SEQUENCE the answer is for. A client that leaves it out (some Exchange gateways do)
    answered the current version if it names the current start time (or none), else an old one."""
    if item.sequence is not None:
        return item.sequence
    if item.method == "COUNTER" or item.start is None or item.start == interview.start_at:
        return interview.sequence or 0
    return 0


_AUTH_PASS = re.compile(r"\b(dmarc|dkim|spf)=pass\b([^;]*)", re.IGNORECASE)


def _check_authentication(parsed: mime.Parsed) -> None:
    """With `COORD_MAILIN_AUTHSERV_ID`, the From domain must have passed DMARC, DKIM or SPF at our
    own receiving server (its Authentication-Results header, RFC 8601); others' headers are ignored."""
    authserv = (current_app.config.get("MAILIN_AUTHSERV_ID") or "").strip().lower()
    if not authserv:
        return
    domain = parsed.from_addr.rpartition("@")[2]
    for header in parsed.auth_results:
        if header.split(";", 1)[0].strip().split()[0:1] != [authserv]:
            continue
        for method, props in _AUTH_PASS.findall(header):
            if method.lower() == "dmarc":
                return
            aligned = re.search(r"(header\.d|header\.i|smtp\.mailfrom)=\S*?@?([\w.-]+)", props)
            if aligned and aligned.group(2).lower() == domain:
                return
    raise Quarantine(f"收件服务器 {authserv} 未确认发件人 {parsed.from_addr} 的域名（DMARC/DKIM/SPF 均未通过）。")


def _quarantine(parsed: mime.Parsed, raw: bytes, source: str, q: Quarantine, now: datetime) -> Outcome:
    row = InboundMessage(
        key=parsed.key, source=source, status="quarantined", reason=q.reason[:2000], from_addr=parsed.from_addr[:320],
        subject=parsed.subject, method=q.item.method[:20] if q.item else "", uid=q.item.uid[:300] if q.item else "",
        interview_id=q.interview.id if q.interview else None, size=len(raw), raw=raw[:RAW_KEPT], received_at=now,
        summary=f"已隔离：{q.reason}"[:4000])
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return Outcome("duplicate", f"重复邮件 {parsed.key}：已由其他进程处理，未作改动。", parsed.key)
    audit.record(None, "mail.quarantine", "inbound_message", row.id,
                 summary=f"收到的邮件已隔离（{parsed.from_addr or '发件人不明'}：{parsed.subject[:60]}）：{q.reason}")
    events.announce(events.mail_quarantined, row.id, reason=q.reason)
    db.session.commit()
    return Outcome("quarantined", q.reason, parsed.key, row.id)


def _apply(step: _Step, row: InboundMessage, now: datetime) -> str:
    item, interview, invitee = step.item, step.interview, step.invitee
    answered = item.answered_at if mime.within(item.answered_at, now) else now
    done = []
    if item.method == "COUNTER":
        done.append(_record_counter(step, row.id, now))
    if item.partstat in mime.ANSWERS:
        reply = record_answer(interview, invitee, item.partstat, item.comment, step.sequence, answered,
                              source="imip", inbound_id=row.id, now=now)
        done.append(_describe(reply, interview))
    return "；".join(done)


def _describe(reply: InvitationReply, interview: Interview) -> str:
    stale = "（针对旧版本，仅存档）" if reply.stale_on_arrival else ""
    return (f"{reply.name or reply.email} {PARTSTATS[reply.partstat]}约谈“{interview.title}”"
            f"（第 {reply.sequence} 版）{stale}")


# --- answers (from iMIP or from the answer links) ------------------------------------------------------

def record_answer(interview: Interview, invitee: Invitee, partstat: str, comment: str, sequence: int,
                  answered_at: datetime, *, source: str, inbound_id: int | None = None,
                  now: datetime | None = None) -> InvitationReply:
    """Keep one answer (in the caller's transaction), with its audit entry and event."""
    stale = sequence < (interview.sequence or 0)
    reply = InvitationReply(
        interview_id=interview.id, inbound_id=inbound_id, email=invitee.email, name=invitee.name[:120],
        kind=invitee.kind, user_id=invitee.user_id, partstat=partstat, comment=(comment or "").strip()[:2000],
        sequence=sequence, stale_on_arrival=stale, answered_at=answered_at, received_at=now or utcnow(),
        source=source)
    db.session.add(reply)
    db.session.flush()
    how = "日历答复" if source == "imip" else "邮件中的答复链接"
    note = f"：{reply.comment[:80]}" if reply.comment else ""
    audit.record(None, "interview.reply", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"{invitee.name or invitee.email}（{invitee.kind_label}）通过{how}{PARTSTATS[partstat]}"
                         f"（第 {sequence} 版）" + ("，晚于最新版本，仅存档" if stale else "") + note,
                 after={"reply_id": reply.id, "email": invitee.email, "partstat": partstat, "sequence": sequence,
                        "stale": stale, "source": source})
    events.announce(events.invitation_replied, interview.id, reply_id=reply.id, email=invitee.email,
                    kind=invitee.kind, user_id=invitee.user_id, partstat=partstat, stale=stale,
                    required=invitee.required, source=source)
    return reply


def _record_counter(step: _Step, inbound_id: int, now: datetime) -> str:
    item, interview, invitee = step.item, step.interview, step.invitee
    end = item.end if item.end and item.end > item.start else item.start + timedelta(minutes=interview.duration_minutes)
    for older in db.session.execute(sa.select(CounterProposal).where(
            CounterProposal.interview_id == interview.id, CounterProposal.email == invitee.email,
            CounterProposal.status == "open")).scalars():
        older.status = "superseded"  # the person's newer proposal replaces the older one
    counter = CounterProposal(
        interview_id=interview.id, inbound_id=inbound_id, email=invitee.email, name=invitee.name[:120],
        kind=invitee.kind, user_id=invitee.user_id, proposed_start=item.start, proposed_end=end,
        comment=item.comment[:2000], sequence=step.sequence, status="open", received_at=now)
    db.session.add(counter)
    db.session.flush()
    when = f"{fmt_local(item.start)}–{fmt_local(end, '%H:%M')}"
    audit.record(None, "interview.counter", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"{invitee.name or invitee.email} 建议改期至 {when}" + (f"：{counter.comment[:80]}"
                                                                              if counter.comment else ""),
                 after={"counter_id": counter.id, "email": invitee.email, "start": isoformat_local(item.start),
                        "end": isoformat_local(end)})
    events.announce(events.invitation_countered, interview.id, counter_id=counter.id, email=invitee.email,
                    kind=invitee.kind, user_id=invitee.user_id, proposed_start=isoformat_local(item.start))
    return f"{invitee.name or invitee.email} 建议将约谈“{interview.title}”改至 {when}"


def answer_by_link(token: str, answer: str, comment: str = "", *, now: datetime | None = None) -> InvitationReply:
    """An answer given on the page behind an e-mail's 接受 / 拒绝 link (the POST, never the GET)."""
    write_lock(db.session)
    link, interview, invitee = link_target(token)
    partstat = {"accept": "ACCEPTED", "decline": "DECLINED"}.get(answer)
    if partstat is None:
        raise DomainError(_("请选择接受或拒绝。"), field="answer")
    if interview.status != "scheduled":
        raise DomainError(_("该约谈%(status)s，无需再答复。", status=_(interview.status_label)))
    reply = record_answer(interview, invitee, partstat, comment, interview.sequence, now or utcnow(), source="link",
                          now=now)
    db.session.commit()
    return reply


def link_target(token: str) -> tuple[Any, Interview, Invitee]:
    """The link, its interview and the invitee it was sent to; 404 for anything else."""
    link = calendar.find_link(token)
    interview = db.session.get(Interview, link.interview_id) if link is not None else None
    if interview is None:
        raise NotFound(_("链接无效或已失效。"))
    invitee = invitees_of(interview).get(link.email)
    if invitee is None:
        raise NotFound(_("您已不在该约谈的受邀名单中，链接已失效。"))
    return link, interview, invitee


# --- the organiser decides a counter-proposal ----------------------------------------------------------

def get_counter(actor: Any, counter_id: Any) -> CounterProposal:
    try:
        counter = db.session.get(CounterProposal, int(counter_id))
    except (TypeError, ValueError):
        counter = None
    if counter is None or not interviews.can_see(actor, counter.interview):
        raise NotFound(_("改期建议不存在或您无权查看。"))
    return counter


def decide_counter(actor: Any, counter_id: Any, decision: str, comment: str = "", *,
                   now: datetime | None = None) -> CounterProposal:
    """采纳 (accepted): the interview is rescheduled to the proposed time by the interview service
    (new invitations with a higher SEQUENCE go out). 不采纳 (declined): the proposer gets a
    DECLINECOUNTER. 409 with alternatives when the proposed time is taken."""
    write_lock(db.session)
    counter = get_counter(actor, counter_id)
    interview = interviews.get(actor, counter.interview_id, for_update=True)
    if not interviews.is_organiser(actor, interview):
        raise Forbidden(_("只有牵头单位的联络员或领导小组办公室可以处理改期建议。"))
    if decision not in ("accepted", "declined"):
        raise DomainError(_("请选择采纳或不采纳。"), field="decision")
    if counter.status != "open":
        raise Conflict(_("该改期建议%(status)s，不能再处理。", status=_(counter.status_label)))
    if interview.status != "scheduled":
        raise DomainError(_("该约谈当前状态为“%(s)s”，不能处理改期建议。", s=_(interview.status_label)))
    comment = (comment or "").strip()[:2000]
    counter.status, counter.decided_at, counter.decided_by_id = decision, now or utcnow(), actor.id
    counter.decision_comment = comment
    when = f"{fmt_local(counter.proposed_start)}–{fmt_local(counter.proposed_end, '%H:%M')}"
    events.announce(events.invitation_counter_decided, interview.id, actor=actor, counter_id=counter.id,
                    decision=decision)
    if decision == "declined":
        _send_declinecounter(interview, counter, comment)
        audit.record(actor, "interview.counter_declined", "interview", interview.id, agencies=interview.agency_ids,
                     summary=f"不采纳 {counter.name or counter.email} 的改期建议（{when}）" + (
                         f"：{comment}" if comment else "") + "，已回复 DECLINECOUNTER",
                     after={"counter_id": counter.id, "status": "declined"})
        db.session.commit()
        return counter
    for other in db.session.execute(sa.select(CounterProposal).where(
            CounterProposal.interview_id == interview.id, CounterProposal.status == "open",
            CounterProposal.id != counter.id)).scalars():
        other.status = "superseded"  # they proposed changes to a time that is gone
    audit.record(actor, "interview.counter_accepted", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"采纳 {counter.name or counter.email} 的改期建议（{when}）",
                 after={"counter_id": counter.id, "status": "accepted"})
    db.session.flush()
    counter_id = counter.id
    # The reschedule service books, raises SEQUENCE, re-sends the invitations and commits all of it
    # (a clash rolls everything back, this decision included, and answers 409 with alternatives).
    try:
        interviews.reschedule(actor, interview.id, counter.proposed_start,
                              f"采纳 {counter.name or counter.email} 的改期建议", now=now)
    except DomainError:
        db.session.rollback()  # a rule refused the time: this decision is not kept either
        raise
    return db.session.get(CounterProposal, counter_id)


def _send_declinecounter(interview: Interview, counter: CounterProposal, comment: str) -> None:
    """RFC 5546 §3.2.8: the event as it stands, only the proposer as ATTENDEE, the organiser's COMMENT."""
    ev = calendar.event_data(interview)
    person = ics.Attendee(name=counter.name or counter.email, email=counter.email)
    lines = ics.vevent(ev, only=[person], status=False)
    if comment:
        lines.insert(-1, f"COMMENT:{ics.text(comment)}")
    data = ics.wrap([ics.content_lines(lines)], ev.start, method="DECLINECOUNTER")
    when = f"{fmt_local(counter.proposed_start)}–{fmt_local(counter.proposed_end, '%H:%M')}"

    def compose() -> tuple[str, str]:  # in the proposer's language, if they have an account
        text = (_("您建议将“%(title)s”改至 %(when)s，牵头单位未采纳。", title=interview.title, when=when) + "\n"
                + _("约谈时间仍为 %(start)s（北京时间）。", start=fmt_local(interview.start_at, "%Y年%m月%d日 %H:%M"))
                + "\n" + (_("说明：%(comment)s", comment=comment) + "\n" if comment else "")
                + "\n—— " + _("沙坪坝区柔性执法协同平台"))
        return _("【改期建议未采纳】%(title)s", title=interview.title), text

    queue_mail_in_languages([str(Address(display_name=counter.name, addr_spec=counter.email))], compose,
                            calendar=data, calendar_method="DECLINECOUNTER", key=f"declinecounter:{counter.id}")


# --- quarantine (the office reads it) --------------------------------------------------------------------

def quarantined(actor: Any, limit: int = 200) -> list[InboundMessage]:
    require_office(actor)
    return list(db.session.execute(
        sa.select(InboundMessage).where(InboundMessage.status == "quarantined")
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(limit)).scalars())


def get_quarantined(actor: Any, inbound_id: Any) -> InboundMessage:
    if not getattr(actor, "is_office", False):
        raise NotFound("邮件不存在。")
    try:
        row = db.session.get(InboundMessage, int(inbound_id))
    except (TypeError, ValueError):
        row = None
    if row is None or row.status != "quarantined":
        raise NotFound("邮件不存在。")
    return row


def _office_only(user: Any, _entity_id: str) -> bool:
    return bool(getattr(user, "is_office", False))


audit.register_entity("inbound_message", "收到的邮件", _office_only)
