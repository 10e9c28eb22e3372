"""保证承诺书 (policy §五(二)): the party reads it, ticks consent, types the signer's name and draws a signature.

The unsigned document is the undertaking of the final minutes (`coord.minutes`); the signed PDF is the
same template with the drawn signature embedded as an image, the signer, the time and the SHA-256 of the
unsigned PDF, rendered once and kept unchanged (the database refuses to change or delete the row). The
organiser may record a refusal to sign instead, with the reason.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from coord import events
from coord.audit import services as audit
from coord.dbtypes import utcnow
from coord.documents import render_pdf
from coord.errors import DomainError, Forbidden, NotFound
from coord.extensions import db
from coord.interviews import services as interviews
from coord.interviews.models import Interview
from coord.lang import _
from coord.minutes import services as minutes_services
from coord.notify.services import queue_mail_in_languages
from coord.party import images, links
from coord.party.models import PartyUndertaking
from coord.party.services import open_link, party_actor, party_audit
from coord.timeutil import fmt_local

CONSENT_VALUES = {"on", "1", "true", "yes", "y"}


@dataclass
class State:
    """Whether the interview has an undertaking to sign now, and what happened to it."""

    available: bool
    message: str
    record: PartyUndertaking | None = None

    @property
    def signed(self) -> bool:
        return self.record is not None and self.record.status == "signed"

    @property
    def refused(self) -> bool:
        return self.record is not None and self.record.status == "refused"


def record_of(interview_id: int) -> PartyUndertaking | None:
    return db.session.execute(sa.select(PartyUndertaking).where(
        PartyUndertaking.interview_id == interview_id)).scalar_one_or_none()


def state(interview: Interview) -> State:
    record = record_of(interview.id)
    minutes = minutes_services.minutes_of(interview)
    if minutes is None or not minutes.is_final:
        return State(False, _("约谈笔录定稿后，可在此签署保证承诺书。"), record)
    if not minutes_services.current_content(interview, minutes).get("undertaking"):
        return State(False, _("本次约谈的笔录未要求签署保证承诺书。"), record)
    try:
        minutes_services.undertaking_context(interview, minutes)
    except DomainError as err:
        return State(False, err.message, record)
    return State(True, "", record)


def _context(interview: Interview) -> dict[str, Any]:
    return minutes_services.undertaking_context(interview, minutes_services.minutes_of(interview))


def unsigned_pdf(interview: Interview) -> bytes:
    return render_pdf("undertaking.html", _context(interview))


def _consented(value: Any) -> bool:
    return str(value or "").strip().lower() in CONSENT_VALUES


def sign(token: str, ip: str, signer_name: str, consent: Any, signature: str | None, *,
         now: datetime | None = None) -> PartyUndertaking:
    access = open_link(token, for_update=True, now=now)
    interview = access.interview
    current = state(interview)
    if current.signed:
        db.session.rollback()
        return current.record  # signed already: a second submit counts once
    if current.refused:
        raise DomainError(_("约谈单位已登记拒绝签署保证承诺书；如需签署，请联系约谈单位。"))
    if not current.available:
        raise DomainError(current.message)
    name = " ".join((signer_name or "").split())
    if not name:
        raise DomainError(_("请填写签署人姓名。"), field="signer_name")
    if len(name) > 60:
        raise DomainError(_("签署人姓名不能超过 60 个字。"), field="signer_name")
    if not _consented(consent):
        raise DomainError(_("请先阅读保证承诺书并勾选“我已阅读并同意”。"), field="consent")
    png = images.signature_png(signature)
    context = _context(interview)
    unsigned = render_pdf("undertaking.html", context)
    unsigned_sha = hashlib.sha256(unsigned).hexdigest()
    signed_at = (now or utcnow()).replace(microsecond=0)
    signed_context = {**context, "document_date": signed_at, "signed": {
        "signer": name, "signed_at": signed_at, "unsigned_sha256": unsigned_sha,
        "image": "data:image/png;base64," + base64.b64encode(png).decode("ascii")}}
    pdf = render_pdf("undertaking.html", signed_context, use_cache=False)
    minutes = minutes_services.minutes_of(interview)
    record = PartyUndertaking(interview_id=interview.id, status="signed", link_id=access.link.id, signer_name=name,
                              signed_at=signed_at, minutes_revision=minutes.revision, unsigned_sha256=unsigned_sha,
                              signature_png=png, pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest())
    db.session.add(record)
    db.session.flush()
    actor = party_actor(access, ip)
    party_audit(actor, interview, "party.undertaking_sign", f"签署保证承诺书（签署人：{name}）",
                action="签署保证承诺书", signer=name, signed_at=signed_at.isoformat(),
                unsigned_sha256=unsigned_sha, pdf_sha256=record.pdf_sha256, minutes_revision=minutes.revision)
    _tell_organiser(interview, record, pdf)
    events.announce(events.party_undertaking_signed, interview.id, undertaking_id=record.id)
    db.session.commit()
    return record


def _tell_organiser(interview: Interview, record: PartyUndertaking, pdf: bytes) -> None:
    """The organiser is told, with the signed PDF (the interview's creator and the lead agency's mailbox)."""
    creator = interview.created_by
    to = [a for a in (creator.email if creator else "", interview.lead_agency.email) if a]

    def compose() -> tuple[str, str]:  # in each reader's language; the signed document is Chinese
        text = (_("%(party)s已于 %(at)s 在线签署保证承诺书（约谈：%(title)s；签署人：%(signer)s）。",
                  party=interview.party.name, at=fmt_local(record.signed_at), title=interview.title,
                  signer=record.signer_name) + "\n\n"
                + _("签署文件 SHA-256：%(sha)s", sha=record.pdf_sha256) + "\n"
                + _("未签署文本 SHA-256：%(sha)s", sha=record.unsigned_sha256) + "\n")
        return _("【保证承诺书已签署】%(title)s", title=interview.title), text

    queue_mail_in_languages(to, compose, attachments=[(f"保证承诺书-{interview.id}-已签署.pdf", "application/pdf",
                                                       pdf)], key=f"party-undertaking:{record.id}")


def refuse(actor: Any, interview_id: Any, reason: str) -> PartyUndertaking:
    """The organiser records that the party refused to sign, with the reason."""
    interview = interviews.get(actor, interview_id, for_update=True)
    if not interviews.is_organiser(actor, interview):
        raise Forbidden(_("只有牵头单位的联络员或领导小组办公室可以登记拒绝签署。"))
    current = state(interview)
    if current.record is not None:
        raise DomainError(_("保证承诺书已签署或已登记拒绝签署，不能重复登记。"))
    if not current.available:
        raise DomainError(current.message)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("请填写拒绝签署的原因。"), field="reason")
    record = PartyUndertaking(interview_id=interview.id, status="refused", refusal_reason=reason[:2000],
                              recorded_by_id=actor.id, signed_at=None)
    db.session.add(record)
    db.session.flush()
    audit.record(actor, "party.undertaking_refuse", "interview", interview.id, agencies=interview.agency_ids,
                 summary=f"登记当事人拒绝签署保证承诺书：{reason[:100]}", after={"reason": reason})
    events.announce(events.party_undertaking_refused, interview.id, actor=actor, undertaking_id=record.id)
    db.session.commit()
    return record


def document_for_party(token: str) -> tuple[str, bytes]:
    """The signed PDF once signed; before, the unsigned document to read."""
    access = links.resolve(token)
    return _document(access.interview)


def document_for_staff(actor: Any, interview_id: Any) -> tuple[str, bytes]:
    interview = interviews.get(actor, interview_id)
    record = record_of(interview.id)
    if record is None or record.status != "signed":
        raise NotFound(_("当事人尚未在线签署保证承诺书。"))
    return f"保证承诺书-{interview.id}-已签署.pdf", record.pdf


def _document(interview: Interview) -> tuple[str, bytes]:
    current = state(interview)
    if current.signed:
        return f"保证承诺书-{interview.id}-已签署.pdf", current.record.pdf
    if not current.available:
        raise NotFound(current.message)
    return f"保证承诺书-{interview.id}.pdf", unsigned_pdf(interview)
