"""Server-side sessions: the signed cookie carries only a random token; `user_session` decides.

One query per request loads the session row and its user (joined with the agency). The row's
`last_seen_at` is written at most once a minute, so the idle timeout is exact to a minute and a
page view does not write. Logout, a password change, deactivation and an administrator end the
row, so a copied cookie stops working at once; the idle timeout (COORD_SESSION_IDLE_MINUTES, 30)
and the absolute limit (COORD_SESSION_HOURS, 8) end it on its next use.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request

from coord.accounts.models import User, UserSession
from coord.dbtypes import utcnow
from coord.extensions import db
from coord.web import pagecache

TOUCH_SECONDS = 60  # last_seen_at is refreshed at most this often
SESSION_KEY = "sid"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def idle_limit() -> timedelta:
    return timedelta(seconds=_seconds(current_app.config.get("SESSION_IDLE_SECONDS", 1800)))


def absolute_limit() -> timedelta:
    return timedelta(seconds=_seconds(current_app.config["PERMANENT_SESSION_LIFETIME"]))


def clean(text: str | None, limit: int) -> str:
    """Header or form text fit to store: no control characters (PostgreSQL refuses NUL)."""
    return "".join(c for c in (text or "") if c.isprintable())[:limit]


def client_address() -> str:
    return clean(request.remote_addr, 64) if has_request_context() else ""


def client_agent() -> str:
    return clean(request.headers.get("User-Agent"), 200) if has_request_context() else ""


def start(user: User) -> str:
    """A new session row in the caller's transaction; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(UserSession(user_id=user.id, token_hash=_digest(token), created_at=now, last_seen_at=now,
                               end_reason="", address=client_address(), user_agent=client_agent()))
    return token


# Built once: every request runs it. Only the session columns the checks read (not a UserSession object),
# the user (with its agency, joined) as an object, since the page and its services use it, and the page
# cache's counter, which a page rendered now is kept under (no query of its own).
_LOAD = (sa.select(UserSession.id, UserSession.created_at, UserSession.last_seen_at, UserSession.ended_at,
                   pagecache.GENERATION, User)
         .join(User, User.id == UserSession.user_id)
         .where(UserSession.token_hash == sa.bindparam("token_hash")))


def load(user_id: int, token: str | None) -> User | None:
    """The user of a live session, or None (and the session ended if it timed out)."""
    if not token:
        return None
    row = db.session.execute(_LOAD, {"token_hash": _digest(token)}).first()
    if row is None:
        return None
    sess, user = row, row.User  # sess: the session columns
    if user.id != user_id or sess.ended_at is not None or not user.active:
        return None
    now = utcnow()
    if now - sess.created_at > absolute_limit():
        _write_aside(_end_stmt(sess.id, "expired", now))
        g.session_end_reason = "expired"
        return None
    if now - sess.last_seen_at > idle_limit():
        _write_aside(_end_stmt(sess.id, "idle", now))
        g.session_end_reason = "idle"
        return None
    seen = sess.last_seen_at
    if now - seen >= timedelta(seconds=TOUCH_SECONDS):
        _write_aside(sa.update(UserSession).where(UserSession.id == sess.id).values(last_seen_at=now))
        seen = now
    g.user_session_id = sess.id
    pagecache.note(sess.page_generation)
    # Until when this session is good without asking the database again (the page cache relies on it).
    g.session_valid_until = min(seen + min(timedelta(seconds=TOUCH_SECONDS), idle_limit()),
                                sess.created_at + absolute_limit())
    return user


def _end_stmt(session_id: int, reason: str, now: datetime) -> sa.Update:
    return (sa.update(UserSession).where(UserSession.id == session_id, UserSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason))


def _write_aside(stmt: sa.Update) -> None:
    """Write bookkeeping without touching the request's own transaction.

    On SQLite a state-changing request already holds the database's write lock (BEGIN IMMEDIATE),
    so a second connection would wait for it: there the write joins the request's transaction.
    Everywhere else it commits at once on its own connection, so a GET (which never commits)
    keeps it and the request's snapshot stays as it was.
    """
    if db.engine.dialect.name == "sqlite" and has_request_context() and request.method not in (
            "GET", "HEAD", "OPTIONS"):
        db.session.execute(stmt)
        return
    with db.engine.begin() as conn:
        conn.execute(stmt)


def current_id() -> int | None:
    return g.get("user_session_id")


def end(session_id: int | None, reason: str) -> None:
    """End one session in the caller's transaction."""
    if session_id is not None:
        db.session.execute(_end_stmt(session_id, reason, utcnow()))


def end_all(user_id: int, reason: str) -> int:
    """End every open session of a user in the caller's transaction; returns how many."""
    result = db.session.execute(
        sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason))
    return result.rowcount or 0


def open_sessions(user_id: int) -> list[UserSession]:
    """Sessions not ended and not yet past a limit (those end on their next use)."""
    now = utcnow()
    rows = db.session.execute(
        sa.select(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .order_by(UserSession.id.desc())).scalars()
    return [s for s in rows if now - s.last_seen_at <= idle_limit() and now - s.created_at <= absolute_limit()]
