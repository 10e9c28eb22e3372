"""The party's links: who acts through them, issuing, sending, revoking, and the listeners that keep
links in step with the interview. The party's actions are in `answers`, `proofs`, `undertaking`, `feedback`.

Party actions take the link's token and the caller's address; staff actions take the user (`actor`).
Every action: rule check first, then the change, its audit entry (time, address, action), its domain
event and one commit. A repeated identical submission changes nothing (a double submit counts once).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
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
from coord.lang import _
from coord.notify.services import queue_mail, queue_sms, valid_address
from coord.notify.sms import normalise_mobile
from coord.party import links
from coord.party.models import PartyLink
from coord.timeutil import fmt_local

log = logging.getLogger(__name__)
# Bookkeeping the listeners do on their own (links following the interview) is audited under this
# entity, visible like the interview, so the interview's own timeline keeps the people's actions.
AUTO_ENTITY = "interview_party"


def setting(key: str, env: str, default: str) -> str:
    value = current_app.config.get(key)
    return str(value) if value is not None else os.environ.get(env, default)


def auto_send() -> bool:
    """Send each new link by e-mail/SMS as soon as the interview is scheduled (default on)."""
    return setting("PARTY_LINKS_AUTO_SEND", "COORD_PARTY_LINKS_AUTO_SEND", "1").lower() in ("1", "true", "yes", "on")



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


def when_of(interview: Interview) -> str:
    if interview.start_at is None:
        return "（时间待定）"
    return f"{fmt_local(interview.start_at, '%Y年%m月%d日 %H:%M')}–{fmt_local(interview.end_at, '%H:%M')}"


def place_of(interview: Interview) -> str:
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
    ctx = {"interview": interview, "link": link, "url": url, "code": code, "when": when_of(interview),
           "place": place_of(interview), "portal": f"{links.base_url()}/p/"}
    sent = []
    if link.email:
        message = queue_mail([f"{link.attendee_name} <{link.email}>"],
                             f"【约谈通知】{interview.title}", _text("party/link_email.txt", ctx),
                             key=f"party-link:{link.id}:{reason}:mail")
        if message is not None:
            sent.append(link.email)
    if link.phone:
        text = (f"{interview.party.name}：{interview.lead_agency.name}定于{when_of(interview)}约谈，"
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
        raise Forbidden(_("只有牵头单位的联络员或领导小组办公室可以发送当事人访问链接。"))
    if interview.status not in ("scheduled", "held"):
        raise DomainError(_("约谈排期后才能向当事人发送访问链接。"))
    new, revoked = ensure_links(interview, actor)
    unsent = [lk for lk in links.live_links(interview.id) if lk.kind == "personal" and lk.sent_at is None]
    sent = {lk.id: send_link(lk) for lk in unsent} if send is not False else {}
    if not (new or revoked or any(sent.values())):
        raise DomainError(_("当事人参加人员的访问链接均已发送；如需重新发送，请吊销原链接（会生成并发送新链接）。"))
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
        raise Forbidden(_("只有牵头单位的联络员或领导小组办公室可以吊销当事人访问链接。"))
    try:
        link = db.session.get(PartyLink, int(link_id))
    except (TypeError, ValueError):
        link = None
    if link is None or link.interview_id != interview.id:
        raise NotFound(_("访问链接不存在。"))
    if link.revoked:
        raise DomainError(_("该链接已吊销。"))
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

def actor_of(data: dict) -> User | None:
    return db.session.get(User, data["actor_id"]) if data.get("actor_id") else None


@events.interview_scheduled.connect
def _issue_on_schedule(interview_id: int, **data: Any) -> None:
    write_lock(db.session)
    interview = db.session.get(Interview, interview_id)
    if interview is None or interview.status != "scheduled":
        return
    actor = actor_of(data)
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
    actor = actor_of(data)
    new, revoked = ensure_links(interview, actor)
    if not (new or revoked):
        return
    sent = {lk.id: send_link(lk) for lk in new} if auto_send() else {}
    audit.record(actor, "party.links", AUTO_ENTITY, interview.id, agencies=interview.agency_ids,
                 summary=f"参加人员变更：新生成当事人访问链接 {len(new)} 个，吊销 {len(revoked)} 个",
                 after={"issued": [lk.id for lk in new], "revoked": [lk.id for lk in revoked],
                        "sent": {str(k): v for k, v in sent.items() if v}})
    db.session.commit()


@events.interview_cancelled.connect
def _tell_cancelled(interview_id: int, **data: Any) -> None:
    write_lock(db.session)
    interview = db.session.get(Interview, interview_id)
    if interview is None or not auto_send():
        return
    tell_party(interview, f"party-cancelled:{interview.id}", f"【约谈取消】{interview.title}",
                f"原定{when_of(interview)}的约谈已取消：{interview.cancel_reason}")
    db.session.commit()


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
