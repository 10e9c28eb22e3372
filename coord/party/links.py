"""Personal links: tokens and access codes, how long they work, and the QR code of the notice.

A link's token (192 bits) and its 8-character access code are HMACs of the link's random nonce under
the app's SECRET_KEY. The database keeps only their hashes (and the nonce): a copy of the database
alone opens no link, while the server can print a link again (the notice PDF, the organiser's list).
Rotating SECRET_KEY therefore ends every link (as it changes every calendar feed URL).

This module reads and builds; the changes (issue, send, revoke) are in `coord.party.services`.
It imports nothing above the interviews' models, so `coord.minutes` may use it for the notice.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app

from coord.errors import DomainError, NotFound
from coord.extensions import db
from coord.interviews.models import FollowUp, Interview
from coord.lang import _
from coord.party.models import PartyLink

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0/O, 1/I to misread
CODE_LENGTH = 8
TOKEN_BYTES = 24  # 192 bits
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


class LinkGone(DomainError):
    """A link that existed but was revoked or has expired (410)."""

    status = 410


# --- settings ---------------------------------------------------------------------------------

def days_after_close() -> int:
    value = current_app.config.get("PARTY_LINK_DAYS_AFTER_CLOSE")
    return int(value if value is not None else os.environ.get("COORD_PARTY_LINK_DAYS", "90"))


def base_url() -> str:
    return (current_app.config.get("COORD_BASE_URL") or os.environ.get("COORD_BASE_URL")
            or "http://127.0.0.1:5000").rstrip("/")


# --- tokens and codes -------------------------------------------------------------------------

def _mac(purpose: str, value: str) -> bytes:
    key = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()


def token_for(link: PartyLink) -> str:
    return base64.urlsafe_b64encode(_mac("party-link-token", link.nonce)[:TOKEN_BYTES]).decode("ascii")


def code_for(link: PartyLink) -> str:
    number = int.from_bytes(_mac("party-link-code", link.nonce)[:5], "big")  # 40 bits = 8 × 5
    return "".join(CODE_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH)))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def code_hash(code: str) -> str:
    # Keyed: 40 bits are few enough that a plain hash in a leaked database could be reversed.
    return _mac("party-link-code-hash", code).hex()


def normalise_code(text: str | None) -> str:
    return re.sub(r"[^0-9A-Z]", "", (text or "").upper())


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def new_link(interview: Interview, *, attendee=None, actor=None) -> PartyLink:
    """A new link row in the session (not committed), with fresh secrets."""
    while True:
        link = PartyLink(interview_id=interview.id, nonce=secrets.token_hex(16),
                         kind="personal" if attendee is not None else "notice",
                         attendee_id=getattr(attendee, "id", None),
                         attendee_name=getattr(attendee, "name", "") or "",
                         email=getattr(attendee, "email", "") or "", phone=getattr(attendee, "phone", "") or "",
                         created_by_id=getattr(actor, "id", None))
        link.token_hash = token_hash(token_for(link))
        link.code_hash = code_hash(code_for(link))
        taken = db.session.execute(sa.select(PartyLink.id).where(sa.or_(
            PartyLink.code_hash == link.code_hash, PartyLink.nonce == link.nonce))).first()
        if taken is None:  # an 8-character code collides once in 2^40: draw again
            db.session.add(link)
            db.session.flush()
            return link


def url_for_link(link: PartyLink) -> str:
    return f"{base_url()}/p/{token_for(link)}"


# --- finding and checking ---------------------------------------------------------------------

def by_token(token: str) -> PartyLink | None:
    if not TOKEN_RE.match(token or ""):
        return None
    stmt = sa.select(PartyLink).where(PartyLink.token_hash == token_hash(token))
    return db.session.execute(stmt).scalar_one_or_none()


def by_code(code: str) -> PartyLink | None:
    code = normalise_code(code)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return db.session.execute(sa.select(PartyLink).where(PartyLink.code_hash == code_hash(code))).scalar_one_or_none()


def case_closed_at(interview: Interview) -> datetime | None:
    """When the case ended for the party: cancelled; or held with every follow-up visit recorded
    (the last visit), or held without rectification items (the interview's end). Else still open."""
    if interview.status == "cancelled":
        return interview.updated_at
    if interview.status != "held":
        return None
    visits = list(db.session.execute(sa.select(FollowUp.status, FollowUp.visited_at).where(
        FollowUp.interview_id == interview.id)))
    if not visits:
        return interview.end_at or interview.updated_at
    if any(status != "done" for status, _ in visits):
        return None
    return max(at for _, at in visits if at is not None)


def expires_at(interview: Interview) -> datetime | None:
    """Links of an interview work until this many days after its case closed (None: still open)."""
    closed = case_closed_at(interview)
    return closed + timedelta(days=days_after_close()) if closed else None


@dataclass
class Access:
    link: PartyLink
    interview: Interview
    token: str

    @property
    def attendee_name(self) -> str:
        return self.link.attendee_name


def resolve(token: str, *, now: datetime | None = None) -> Access:
    """The link and its interview, or NotFound (unknown) / LinkGone (revoked or expired)."""
    link = by_token(token)
    if link is None:
        raise NotFound(_("链接无效。"))
    if link.revoked:
        raise LinkGone(_("链接已失效。"))
    interview = db.session.get(Interview, link.interview_id)
    until = expires_at(interview)
    if until is not None and (now or datetime.now(until.tzinfo)) >= until:
        raise LinkGone(_("链接已过期。"))
    return Access(link=link, interview=interview, token=token)


def live_links(interview_id: int) -> list[PartyLink]:
    return list(db.session.execute(sa.select(PartyLink).where(
        PartyLink.interview_id == interview_id, PartyLink.revoked_at.is_(None)).order_by(PartyLink.id)).scalars())


def all_links(interview_id: int) -> list[PartyLink]:
    return list(db.session.execute(sa.select(PartyLink).where(
        PartyLink.interview_id == interview_id).order_by(PartyLink.id)).scalars())


# --- the notice's QR code and access code -----------------------------------------------------

@lru_cache(maxsize=512)
def qr_data_uri(url: str) -> str:
    """A QR code of `url` as a PNG data URI (8 px a module: sharp when printed at 26 mm). Cached: the
    encoder's mask search takes ~50 ms and the same notice is printed and shown again and again."""
    import segno

    return segno.make(url, error="m").png_data_uri(scale=8, border=2)


def notice_access(interview: Interview) -> dict | None:
    """What the interview notice prints for the party's pages: the QR code of the notice's link, the
    address of /p/ and the access code. None when the interview has no live notice link (reads only)."""
    link = db.session.execute(sa.select(PartyLink).where(
        PartyLink.interview_id == interview.id, PartyLink.kind == "notice", PartyLink.revoked_at.is_(None)
    ).order_by(PartyLink.id.desc()).limit(1)).scalar_one_or_none()
    if link is None:
        return None
    url = url_for_link(link)
    return {"url": url, "portal": f"{base_url()}/p/", "code": format_code(code_for(link)), "qr": qr_data_uri(url)}
