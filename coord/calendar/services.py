"""Invites, feeds and busy-block import for interviews.

Invites go out by themselves: the interview services raise the SEQUENCE (`bump_sequence`) on
every change they announce, and just before that transaction commits we compare the interview
with what its invitees were last sent (`InvitationState`) and queue the e-mails — REQUEST to the
current invitees, CANCEL to people removed, CANCEL to everyone once the interview is cancelled —
in the same transaction, through the outbox. `sync_invitations(interview)` can also be called
directly; queueing is idempotent per interview, SEQUENCE and method.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from sqlalchemy import event
from sqlalchemy.orm import Session

from coord.accounts.models import User
from coord.accounts.scoping import require_writer
from coord.agencies.models import Agency
from coord.audit import services as audit
from coord.calendar import ics
from coord.calendar.models import FEED_KINDS, FeedKey, InvitationLink, InvitationState
from coord.dbtypes import utcnow
from coord.errors import Conflict, NotFound
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import Interview
from coord.interviews.services import Invitee, participants_of
from coord.lang import N_, _, in_language
from coord.notify.services import clean_addresses, languages_of, queue_mail
from coord.parties.models import Party
from coord.scheduling.models import BusyBlock, Room
from coord.scheduling.services import get_user_for_busy
from coord.timeutil import fmt_local

log = logging.getLogger(__name__)

_DIRTY = "coord_calendar_dirty"


# --- the event of an interview --------------------------------------------------------------

def reply_address() -> str:
    """coord's reply mailbox (`COORD_REPLY_ADDRESS`, else the platform sender): the ORGANIZER of
    every invitation, so that invitees' calendar answers come back to coord (`coord.mailin`)."""
    return _addr(current_app.config.get("REPLY_ADDRESS") or current_app.config["MAIL_DEFAULT_SENDER"])


def organizer_of(lead: Agency | None, coordinator: str | None = None) -> tuple[str, str]:
    """ORGANIZER: the reply mailbox, named (CN) after the organising coordinator — the person who
    set the interview up — or the lead agency when there is none."""
    name = coordinator or (lead.name if lead is not None else "柔性执法协同平台")
    return name, reply_address()


def coordinator_of(interview: Interview) -> str | None:
    return interview.created_by.display_name if interview.created_by is not None else None


def _addr(value: str) -> str:
    from email.utils import parseaddr

    return parseaddr(value)[1] or value


def _role(person: Invitee) -> str:
    return "CHAIR" if person.is_lead else "REQ-PARTICIPANT"


@lru_cache(maxsize=8192)
def address_of(value: str) -> str:
    """The person's address if valid, else "" (cached: a feed meets the same people thousands of times)."""
    found = clean_addresses([value])
    return found[0] if found else ""


def attendees_of(people: Sequence[Invitee], organizer_email: str) -> list[ics.Attendee]:
    """ATTENDEEs: every invitee with a valid address, except the organiser's own mailbox."""
    out: list[ics.Attendee] = []
    seen = {organizer_email.lower()}
    for person in people:
        addr = address_of(person.email)
        if not addr or addr.lower() in seen:
            continue
        seen.add(addr.lower())
        out.append(ics.Attendee(name=person.name, email=addr, role=_role(person)))
    return out


def _chinese(text: str, /, **values: object) -> str:
    return text % values if values else text


def describe(title: str, party: str, lead: str, co: Sequence[str], people: Sequence[Invitee], matter: str,
             legal_basis: str, cancel_reason: str = "", *, localised: bool = False) -> str:
    """The DESCRIPTION of the event: Chinese in the .ics and feeds, whoever asks; `localised`: in the current
    language (an e-mail's body, inside `in_language`), the data as entered."""
    t = _ if localised else _chinese
    lines = [t("约谈事由：") + title, t("当事人：") + party, t("牵头单位（约谈方）：") + lead]
    if co:
        lines.append(t("协办单位：") + t("、").join(co))
    names = [t("%(name)s（%(agency)s）", name=p.name, agency=f"{p.agency_name}{' ' + p.post if p.post else ''}")
             for p in people]
    if names:
        lines.append(t("参加人员：") + t("；").join(names))
    if matter:
        lines.append(t("约谈事项：") + matter)
    if legal_basis:
        lines.append(t("依据：") + legal_basis)
    if cancel_reason:
        lines.append(t("取消原因：") + cancel_reason)
    return "\n".join(lines)


def description_of(interview: Interview) -> str:
    """`describe` for one interview in the current language (an e-mail's body)."""
    co = [a.agency.name for a in interview.agencies if a.role != "lead"]
    return describe(interview.title, interview.party.name, interview.lead_agency.name, co, participants_of(interview),
                    interview.matter, interview.legal_basis,
                    interview.cancel_reason if interview.status == "cancelled" else "", localised=True)


def event_data(interview: Interview) -> ics.EventData:
    """The VEVENT content of one interview (ORM path, used for invites and downloads)."""
    if interview.start_at is None or interview.end_at is None:
        raise Conflict("约谈尚未排期，还没有日程。")
    people = participants_of(interview)
    org_name, org_email = organizer_of(interview.lead_agency, coordinator_of(interview))
    co = [a.agency.name for a in interview.agencies if a.role != "lead"]
    room = interview.room
    description = describe(interview.title, interview.party.name, interview.lead_agency.name, co, people,
                           interview.matter, interview.legal_basis,
                           interview.cancel_reason if interview.status == "cancelled" else "")
    return ics.EventData(
        uid=interview.uid, sequence=interview.sequence or 0, summary=summary_of(interview.title),
        start=interview.start_at, end=interview.end_at, stamp=interview.updated_at,
        created=interview.created_at, organizer_name=org_name, organizer_email=org_email,
        cancelled=interview.status == "cancelled", description=description,
        attendees=attendees_of(people, org_email),
        room=ics.Room(room.id, room.name, room.location, address_of(room.email or "")) if room is not None else None,
    )


def summary_of(title: str) -> str:
    return f"联合约谈：{title}"


def invite_ics(interview: Interview) -> tuple[bytes, str]:
    """The current invite (REQUEST), or the cancellation (CANCEL) once cancelled."""
    method = "CANCEL" if interview.status == "cancelled" else "REQUEST"
    return ics.calendar([event_data(interview)], method=method), method


def get_invite(actor: Any, interview_id: Any) -> tuple[bytes, str, Interview]:
    interview = interviews.get(actor, interview_id)
    data, method = invite_ics(interview)
    return data, method, interview


# --- sending invitations when an interview changes ------------------------------------------

@dataclass
class SyncResult:
    request_to: list[str]
    cancel_to: list[str]
    without_email: list[str]


def missing_emails(interview: Interview) -> list[str]:
    """Names of invitees who get no invitation because they have no valid e-mail address."""
    return [p.name for p in participants_of(interview) if not address_of(p.email)]


def sync_invitations(interview: Interview, actor: Any = None) -> SyncResult | None:
    """Queue what the invitees need to hear about this interview's current state (idempotent)."""
    state = db.session.get(InvitationState, interview.id)
    sent = state is not None and state.sequence == interview.sequence and state.status == interview.status
    if sent or interview.start_at is None:
        return None
    if interview.status == "scheduled":
        return _send_request(interview, state, actor)
    if interview.status == "cancelled" and state is not None and state.status != "cancelled":
        return _send_cancel(interview, state, actor)
    return None


def _send_request(interview: Interview, state: InvitationState | None, actor: Any) -> SyncResult:
    ev = event_data(interview)
    to = recipients_of(ev)
    current = {a.email.lower(): a for a in to}
    previous = {r["email"].lower(): r for r in (state.recipients if state else [])}
    removed = [_attendee(r) for k, r in previous.items() if k not in current]
    kind = "new" if state is None or state.status != "scheduled" else (
        "moved" if (state.start_at, state.end_at) != (interview.start_at, interview.end_at) else "changed")
    # One message per recipient: each carries that person's own 接受 / 拒绝 links.
    for person in to:
        links = None if person.cutype == "ROOM" else answer_links(interview, person)
        _queue(interview, ev, "REQUEST", [person], kind, links=links)
    if removed:
        _queue(interview, ev, "CANCEL", removed, "removed")
    without = missing_emails(interview)
    _remember(interview, state, to)
    _audit(actor, interview, f"发送日程邀请（第 {interview.sequence} 版）给 {len(ev.attendees)} 人"
           + ("及会议室邮箱" if ev.room and ev.room.email else "")
           + (f"，取消通知给被移出的 {len(removed)} 人" if removed else "")
           + (f"；无电子邮箱未发送：{'、'.join(without)}" if without else ""))
    return SyncResult([a.email for a in to], [a.email for a in removed], without)


def _send_cancel(interview: Interview, state: InvitationState, actor: Any) -> SyncResult:
    ev = event_data(interview)
    everyone = {r["email"].lower(): _attendee(r) for r in state.recipients}
    for a in recipients_of(ev):
        everyone.setdefault(a.email.lower(), a)
    to = list(everyone.values())
    if to:
        _queue(interview, ev, "CANCEL", to, "cancelled")
    _remember(interview, state, to)
    _audit(actor, interview, f"发送取消通知（第 {interview.sequence} 版）给 {len(to)} 人")
    return SyncResult([], [a.email for a in to], [])


def recipients_of(ev: ics.EventData) -> list[ics.Attendee]:
    """Who receives the invitation: the people, and the room's mailbox if it has one."""
    room = [ev.room.as_attendee()] if ev.room and ev.room.email else []
    return [*ev.attendees, *[r for r in room if r.email.lower() not in {a.email.lower() for a in ev.attendees}]]


def _attendee(row: dict) -> ics.Attendee:
    return ics.Attendee(name=row["name"], email=row["email"], role=row.get("role", "REQ-PARTICIPANT"),
                        cutype=row.get("cutype", "INDIVIDUAL"))


SUBJECTS = {  # translated for each recipient (in_language)
    "new": N_("【约谈邀请】%(title)s"),
    "moved": N_("【约谈改期】%(title)s"),
    "changed": N_("【约谈变更】%(title)s"),
    "removed": N_("【约谈取消】您无需参加：%(title)s"),
    "cancelled": N_("【约谈取消】%(title)s"),
}


def answer_links(interview: Interview, person: ics.Attendee) -> dict[str, str]:
    """The person's 接受 / 拒绝 links: a new random token, stored only as its SHA-256."""
    token = secrets.token_urlsafe(32)
    db.session.add(InvitationLink(token_hash=link_hash(token), interview_id=interview.id, email=person.email.lower(),
                                  name=person.name[:120], sequence=interview.sequence))
    base = (current_app.config.get("COORD_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    return {answer: f"{base}/rsvp/{token}?answer={answer}" for answer in ("accept", "decline")}


def link_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_link(token: str) -> InvitationLink | None:
    """The link a token stands for (404 for the caller when None)."""
    if not token or len(token) > 100:
        return None
    return db.session.get(InvitationLink, link_hash(token))


def _queue(interview: Interview, ev: ics.EventData, method: str, to: Sequence[ics.Attendee], kind: str,
           links: dict[str, str] | None = None) -> None:
    """One message per language of the recipients: officials with an account read it in their saved
    language; rooms, the party and outside addresses in Chinese. The .ics stays Chinese (data as entered)."""
    languages = languages_of([a.email for a in to])
    groups: dict[str, list[ics.Attendee]] = {}
    for person in to:
        groups.setdefault(languages.get(person.email.lower(), "zh_CN"), []).append(person)
    for language, group in sorted(groups.items(), key=lambda item: item[0] != "zh_CN"):
        _queue_one(interview, ev, method, group, kind, links, language)


def _queue_one(interview: Interview, ev: ics.EventData, method: str, to: Sequence[ics.Attendee], kind: str,
               links: dict[str, str] | None, language: str) -> None:
    removal = kind == "removed"
    data = ics.calendar([ev], method=method, only=to if removal else None, status=not removal)
    # The app's environment without request context processors: this also runs outside requests.
    # The body is stored in the outbox and read by the invitees: in their language, whatever the sender's.
    with in_language(language):
        subject = _(SUBJECTS[kind], title=interview.title)
        context = {"interview": interview, "ev": ev, "kind": kind, "when": _when(ev), "room": ev.room,
                   "organizer": interview.lead_agency.name, "coordinator": ev.organizer_name, "links": links,
                   "description": ev.description if language == "zh_CN" else description_of(interview)}
        text = current_app.jinja_env.get_template("calendar/invite_email.txt").render(**context)
        html = current_app.jinja_env.get_template("calendar/invite_email.html").render(**context)
    digest = hashlib.sha256(",".join(sorted(a.email.lower() for a in to)).encode()).hexdigest()[:16]
    queue_mail([str(Address(display_name=a.name, addr_spec=a.email)) for a in to], subject, text, html, calendar=data,
               calendar_method=method, key=f"invite:{interview.id}:{interview.sequence}:{method}:{digest}",
               about=("interview", interview.id))


def _when(ev: ics.EventData) -> str:
    return _("%(start)s–%(end)s（北京时间）", start=fmt_local(ev.start, "%Y年%m月%d日 %H:%M"),
             end=fmt_local(ev.end, "%H:%M"))


def _remember(interview: Interview, state: InvitationState | None, to: Sequence[ics.Attendee]) -> None:
    if state is None:
        state = InvitationState(interview_id=interview.id)
        db.session.add(state)
    state.sequence, state.status = interview.sequence, interview.status
    state.start_at, state.end_at = interview.start_at, interview.end_at
    state.recipients = [{"email": a.email, "name": a.name, "role": a.role, "cutype": a.cutype} for a in to]
    state.sent_at = utcnow()


def _audit(actor: Any, interview: Interview, summary: str) -> None:
    # Its own entity type (same id and visibility as the interview): the interview's trail stays its own.
    audit.record(actor, "calendar.invite", "calendar_invite", interview.id, agencies=interview.agency_ids,
                 summary=summary)


def _current_actor() -> Any:
    if not has_request_context():
        return None
    from flask import g
    from flask_login import current_user

    user = getattr(g, "api_user", None) or current_user
    return user if getattr(user, "is_authenticated", False) else None


@event.listens_for(Interview.sequence, "set")
def _sequence_raised(target: Interview, value: Any, oldvalue: Any, _initiator: Any) -> None:
    if value != oldvalue:
        db.session.info.setdefault(_DIRTY, set()).add(target)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    dirty = session.info.pop(_DIRTY, None)
    if not dirty:
        return
    actor = _current_actor()
    for interview in sorted(dirty, key=lambda i: i.id or 0):
        if interview.id is not None and interview in session:
            sync_invitations(interview, actor)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_DIRTY, None)


@event.listens_for(Session, "before_flush")
def _directory_edited(session: Session, _context: Any, _instances: Any) -> None:
    """Names and mailboxes of people, agencies, rooms and parties appear in every event they take
    part in: an edit raises the directory version, which renews feed ETags and cached events."""
    kinds = (User, Agency, Room, Party)
    if not any(isinstance(obj, kinds) and session.is_modified(obj, include_collections=False)
               for obj in session.dirty):
        return
    with session.no_autoflush:
        key = session.get(FeedKey, ("directory", 0))
        if key is None:
            session.add(FeedKey(kind="directory", owner_id=0, generation=1))
        else:
            key.generation += 1


# --- feeds: secret URLs, who may have them -----------------------------------------------------

def _owner(kind: str, owner_id: int) -> Any:
    model = {"user": User, "agency": Agency, "room": Room}.get(kind)
    return db.session.get(model, owner_id) if model is not None else None


def may_have_feed(user: Any, kind: str, owner: Any) -> bool:
    """Who may see (and so subscribe to) a feed's URL.

    A person: themselves (and the office). An agency: its members — they may read its interviews
    anyway. A room: the office and the coordinators of the agency that manages it, since a room's
    feed shows interviews of every agency held there.
    """
    if owner is None or user is None:
        return False
    if kind == "user":
        return user.id == owner.id or user.is_office
    if kind == "agency":
        return user.is_office or user.agency_id == owner.id
    if kind == "room":
        return user.is_office or (owner.agency_id is not None and user.agency_id == owner.agency_id
                                  and user.role in ("coordinator", "admin"))
    return False


def may_regenerate(user: Any, kind: str, owner: Any) -> bool:
    if kind == "agency":
        return user.is_office or (user.agency_id == owner.id and user.role in ("coordinator", "admin"))
    return may_have_feed(user, kind, owner)


def _generation(kind: str, owner_id: int) -> int:
    key = db.session.get(FeedKey, (kind, owner_id))
    return key.generation if key is not None else 0


def feed_token(kind: str, owner_id: int, generation: int | None = None) -> str:
    """An unguessable token (HMAC of the secret key): no row is needed until a regeneration."""
    gen = _generation(kind, owner_id) if generation is None else generation
    secret = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(secret, f"coord-feed:{kind}:{owner_id}:{gen}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode()


def feed_url(kind: str, owner_id: int, *, webcal: bool = False) -> str:
    url = url_for("calendar.feed", kind=kind, owner_id=owner_id, token=feed_token(kind, owner_id), _external=True)
    return "webcal://" + url.split("://", 1)[1] if webcal else url


def feed_url_for(user: Any, kind: str, owner_id: int) -> str | None:
    """The feed URL if `user` may have it, else None (what the API shows)."""
    owner = _owner(kind, owner_id)
    return feed_url(kind, owner_id) if may_have_feed(user, kind, owner) else None


def feed_name(kind: str, owner: Any) -> str:
    label = getattr(owner, "display_name", None) or owner.name
    return f"{label} 的约谈日程" if kind == "user" else f"{label} 约谈日程"


def resolve_feed(kind: str, owner_id: int, token: str) -> tuple[Any, int]:
    """The owner and generation for a feed URL; 404 for anything else (including an old token)."""
    owner = _owner(kind, owner_id) if kind in FEED_KINDS else None
    if owner is None:
        raise NotFound("日历订阅地址无效或已重置。")
    gen = _generation(kind, owner_id)
    if not hmac.compare_digest(feed_token(kind, owner_id, gen), token or ""):
        raise NotFound("日历订阅地址无效或已重置。")
    if kind == "user" and not owner.active:
        raise NotFound("日历订阅地址无效或已重置。")
    return owner, gen


def regenerate_feed(actor: Any, kind: str, owner_id: int) -> str:
    """A new secret URL; the old one answers 404 from now on."""
    owner = _owner(kind, owner_id) if kind in FEED_KINDS else None
    if owner is None or not may_have_feed(actor, kind, owner):
        raise NotFound("记录不存在或您无权查看。")
    if not may_regenerate(actor, kind, owner):
        from coord.errors import Forbidden

        raise Forbidden("只有本单位联络员或领导小组办公室可以重置单位日历订阅地址。")
    key = db.session.get(FeedKey, (kind, owner_id))
    if key is None:
        key = FeedKey(kind=kind, owner_id=owner_id, generation=0)
        db.session.add(key)
    key.generation += 1
    key.regenerated_at, key.regenerated_by_id = utcnow(), actor.id
    agencies = {"user": [getattr(owner, "agency_id", None)], "agency": [owner_id],
                "room": [getattr(owner, "agency_id", None)]}[kind]
    audit.record(actor, "calendar.feed_regenerate", f"feed_{kind}", owner_id, agencies=agencies,
                 summary=f"重置日历订阅地址：{feed_name(kind, owner)}（旧地址失效）")
    db.session.flush()
    return feed_url(kind, owner_id)


# --- importing busy blocks from an .ics file ---------------------------------------------------

@dataclass
class ImportResult:
    added: int
    updated: int
    removed: int
    skipped: list[str]

    @property
    def message(self) -> str:
        text = f"已导入：新增 {self.added} 条、更新 {self.updated} 条、移除 {self.removed} 条忙碌时间。"
        if self.skipped:
            text += "已跳过：" + "；".join(self.skipped[:5]) + ("等。" if len(self.skipped) > 5 else "。")
        return text


def import_busy(actor: Any, user_id: Any, data: bytes, filename: str = "") -> ImportResult:
    """Replace the user's imported busy blocks with the events of an .ics file.

    Every event (recurring ones expanded over the import window) becomes a busy block keyed by
    UID and occurrence; importing the same file again updates those rows, and blocks of earlier
    imports missing from this file are withdrawn. The file is read and checked completely
    before anything is written: a bad file changes nothing.
    """
    from coord.calendar.importer import read_busy
    from coord.dbtypes import write_lock

    require_writer(actor)
    user = get_user_for_busy(actor, user_id)
    occurrences, skipped = read_busy(data, limit=int(current_app.config.get("CALENDAR_IMPORT_MAX_BYTES", 1 << 20)))
    write_lock(db.session)
    existing = {b.import_key: b for b in db.session.execute(
        sa.select(BusyBlock).where(BusyBlock.user_id == user.id, BusyBlock.source == "ics")).scalars()}
    added = updated = removed = 0
    for occ in occurrences:
        block = existing.get(occ.key)
        if block is None:
            db.session.add(BusyBlock(user_id=user.id, start_at=occ.start, end_at=occ.end, reason=occ.reason,
                                     source="ics", import_key=occ.key, active=True))
            added += 1
        elif (block.start_at, block.end_at, block.reason, block.active) != (occ.start, occ.end, occ.reason, True):
            block.start_at, block.end_at, block.reason, block.active = occ.start, occ.end, occ.reason, True
            updated += 1
    keys = {occ.key for occ in occurrences}
    for key, block in existing.items():
        if key not in keys and block.active:
            block.active = False
            removed += 1
    result = ImportResult(added, updated, removed, skipped)
    audit.record(actor, "busy.import", "user", user.id, agencies=[user.agency_id],
                 summary=f"导入日历 {filename or ''}：{user.display_name} — {result.message}".replace("  ", " "))
    db.session.flush()
    return result


def imported_busy(user_id: int) -> list[Any]:
    return list(db.session.execute(
        sa.select(BusyBlock).where(BusyBlock.user_id == user_id, BusyBlock.source == "ics",
                                   BusyBlock.active.is_(True), BusyBlock.end_at >= utcnow())
        .order_by(BusyBlock.start_at).limit(200)).scalars())


def _feed_visible(kind: str):
    def can_see(viewer: Any, entity_id: str) -> bool:
        try:
            return may_have_feed(viewer, kind, _owner(kind, int(entity_id)))
        except ValueError:
            return False
    return can_see


def _invite_visible(user: Any, entity_id: str) -> bool:
    try:
        return interviews.can_see(user, db.session.get(Interview, int(entity_id)))
    except ValueError:
        return False


audit.register_entity("calendar_invite", "日程邀请", _invite_visible)
for _kind, _label in FEED_KINDS.items():
    audit.register_entity(f"feed_{_kind}", f"{_label}日历订阅", _feed_visible(_kind))
