"""Notifications: made by listeners (listeners.py) from domain events; read, marked read, and mailed.

`notify(user_ids, note, actor_id=...)` is what a listener calls: one row per user who may see the
record (the caller chooses them from the record's own agencies), never the actor; each user's
e-mail choice decides what happens next: `instant` queues a mail through the outbox in the same
transaction, `digest` waits for the 08:30 digest on the next working day, `none` sends nothing.
The caller commits. Rows with a `key` are made once per user (an event announced again tells once).
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for

from coord.accounts.models import User
from coord.audit import services as audit
from coord.dbtypes import utcnow, write_lock
from coord.errors import DomainError
from coord.extensions import db
from coord.lang import _, in_language
from coord.notifications import titles
from coord.notifications.models import MAIL_CHOICES, Notification
from coord.notify.services import queue_mail
from coord.timeutil import fmt_local, local_datetime, to_local
from coord.workdays.services import known_days
from coord.worklist import cache

PAGE_SIZE = 50
DIGEST_MAX_ITEMS = 100


@dataclass(frozen=True)
class Note:
    """What a notification says and where it leads."""

    kind: str  # the event, e.g. "lead_referred"
    title: str  # Chinese, as stored
    url: str  # a path in the app
    record_type: str = ""
    record_id: Any = ""
    key: str | None = None  # once per user and key
    template: str = ""  # a title of coord.notifications.titles, shown in the reader's language
    params: dict[str, Any] | None = None  # its values

    @classmethod
    def of(cls, kind: str, template: str, params: dict[str, Any], url: str, record_type: str = "",
           record_id: Any = "", key: str | None = None) -> Note:
        """A note whose title is a template of the registry (its Chinese text is stored alongside)."""
        return cls(kind, titles.chinese(template, params), url, record_type, record_id, key, template, params)


# --- who -----------------------------------------------------------------------------------------------

def agency_users(agency_ids: Iterable[int | None], roles: Sequence[str] = ("admin", "coordinator", "officer")
                 ) -> list[int]:
    ids = [a for a in agency_ids if a is not None]
    if not ids:
        return []
    return list(db.session.execute(sa.select(User.id).where(
        User.agency_id.in_(ids), User.role.in_(roles), User.active.is_(True))).scalars())


def office_users() -> list[int]:
    return list(db.session.execute(sa.select(User.id).where(User.role == "admin", User.active.is_(True))).scalars())


def path(endpoint: str, **values: Any) -> str:
    """A URL path for a notification, also outside a request (the worker's periodic tasks)."""
    if has_request_context():
        return url_for(endpoint, **values)
    adapter = current_app.url_map.bind("localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return adapter.build(endpoint, values)


def base_url() -> str:
    return (current_app.config.get("COORD_BASE_URL") or os.environ.get("COORD_BASE_URL")
            or "http://127.0.0.1:5000").rstrip("/")


# --- making notifications ---------------------------------------------------------------------------

def notify(user_ids: Iterable[int | None], note: Note, *, actor_id: int | None = None,
           now: datetime | None = None) -> list[Notification]:
    """Notify these users (not the actor) in the current transaction; the caller commits."""
    wanted = sorted({u for u in user_ids if u is not None and u != actor_id})
    if not wanted:
        return []
    write_lock(db.session)
    users = db.session.execute(sa.select(User.id, User.email, User.notify_mail, User.language).where(
        User.id.in_(wanted), User.active.is_(True))).all()
    if note.key:
        have = set(db.session.execute(sa.select(Notification.user_id).where(
            Notification.key == note.key, Notification.user_id.in_(wanted))).scalars())
        users = [u for u in users if u.id not in have]
    if not users:
        return []
    now = now or utcnow()
    rows = []
    for user_id, email, choice, _language in users:
        state = {"instant": "sent", "digest": "pending"}.get(choice, "skipped") if email else "skipped"
        rows.append(Notification(user_id=user_id, kind=note.kind, title=note.title[:300], url=note.url[:300],
                                 record_type=note.record_type, record_id=str(note.record_id), actor_id=actor_id,
                                 key=note.key, created_at=now, mail_state=state, template=note.template,
                                 params=note.params))
    db.session.add_all(rows)
    db.session.flush()
    emails = {u.id: (u.email, u.language) for u in users}
    for row in rows:
        if row.mail_state == "sent":
            email, language = emails[row.user_id]
            with in_language(language):  # in the reader's language, whoever's request made it
                subject, text = _("【柔性执法协同平台】%(title)s", title=row.shown_title), _mail_text([row])
            sent = queue_mail([email], subject, text,
                              key=f"notification:{row.id}:{int(now.timestamp())}")  # ids may be reused (SQLite)
            row.mail_state, row.mailed_at = ("sent", now) if sent is not None else ("skipped", None)
    cache.touch(user_ids=[r.user_id for r in rows], commit=False)
    return rows


def _mail_text(rows: Sequence[Notification], intro: str = "") -> str:
    """The body of a notification mail, in the current language (the caller chooses it: `in_language`)."""
    lines = [intro] if intro else []
    for row in rows:
        lines.append(f"· {fmt_local(row.created_at)} {row.shown_title}")
        if row.url:
            lines.append(f"  {base_url()}{row.url}")
    lines += ["", _("请登录柔性执法协同平台办理。邮件提醒方式可在“我的账号”中更改（即时、每日汇总或不发送）。"),
              _("（本邮件由系统自动发送。）")]
    return "\n".join(lines) + "\n"


# --- reading and marking read -----------------------------------------------------------------------

def unread_count(user: Any) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))).scalar_one()


def cached_unread(user: Any) -> int:
    """The bell's number: cached with the worklist, so a page reads no more than the user row for it."""
    return cache.cached(user, "unread", lambda: unread_count(user))


def get_own(user: Any, notification_id: int) -> Notification | None:
    row = db.session.get(Notification, notification_id) if 0 < notification_id < 2**31 else None
    return row if row is not None and row.user_id == user.id else None


def list_for(user: Any, *, unread_only: bool = False, limit: int = PAGE_SIZE, before_id: int | None = None
             ) -> list[Notification]:
    stmt = sa.select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before_id:
        stmt = stmt.where(Notification.id < before_id)
    return list(db.session.execute(stmt.order_by(Notification.id.desc()).limit(limit)).scalars())


def mark_read(user: Any, ids: Iterable[Any] | None = None, *, everything: bool = False) -> int:
    """Mark the user's own notifications read (others' ids are ignored); returns how many changed."""
    if not everything:
        try:
            wanted = sorted({int(i) for i in (ids or [])})
        except (TypeError, ValueError):
            raise DomainError("通知编号应为整数。", field="ids") from None
        if not wanted:
            raise DomainError("请指定要标为已读的通知（ids），或 all。", field="ids")
    write_lock(db.session)
    stmt = sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if not everything:
        stmt = stmt.where(Notification.id.in_(wanted))
    changed = db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if changed:
        cache.touch(user_ids=[user.id], commit=False)
    db.session.commit()
    return changed


def set_mail_choice(actor: Any, choice: str) -> Any:
    """The user's own e-mail choice for notifications (account page)."""
    if choice not in MAIL_CHOICES:
        raise DomainError("请选择邮件提醒方式：即时、每日汇总或不发送。", field="notify_mail")
    write_lock(db.session)
    before = actor.notify_mail
    if before == choice:
        return actor
    db.session.execute(sa.update(User).where(User.id == actor.id).values(notify_mail=choice)
                       .execution_options(synchronize_session=False))
    audit.record(actor, "user.notify_mail", "user", actor.id, summary=f"邮件提醒方式改为：{MAIL_CHOICES[choice]}",
                 before={"notify_mail": before}, after={"notify_mail": choice})
    db.session.commit()
    return actor


# --- the daily digest -------------------------------------------------------------------------------------

def digest_time() -> time:
    return time.fromisoformat(str(current_app.config.get("NOTIFY_DIGEST_TIME") or "08:30"))


def send_digests(now: datetime | None = None) -> int:
    """On a working day from 08:30: one mail per user with what waited for the digest. Returns mails queued.

    Idempotent (the outbox key is per user and day) and safe to run every few minutes: a worker that was
    down at 08:30 sends when it is back. A day missing from the calendar sends nothing (never a guess)."""
    now = now or utcnow()
    today = to_local(now).date()
    cutoff = local_datetime(today, digest_time())
    if now < cutoff or not _working_day(today):
        return 0
    write_lock(db.session)
    rows = db.session.execute(
        sa.select(Notification, User.email, User.notify_mail, User.language).join(User, User.id == Notification.user_id)
        .where(Notification.mail_state == "pending", Notification.created_at < cutoff)
        .order_by(Notification.user_id, Notification.id)
    ).all()
    by_user: dict[int, list[Notification]] = {}
    mailbox: dict[int, tuple[str, str, str]] = {}
    for note, email, choice, language in rows:
        by_user.setdefault(note.user_id, []).append(note)
        mailbox[note.user_id] = (email, choice, language)
    queued = 0
    for user_id, items in by_user.items():
        email, choice, language = mailbox[user_id]
        unread = [n for n in items if n.read_at is None]
        if choice == "none" or not email or not unread:
            for n in items:
                n.mail_state = "skipped"
            continue
        shown = unread[:DIGEST_MAX_ITEMS]
        with in_language(language):
            more = _("（另有 %(n)s 条，请登录查看。）", n=len(unread) - len(shown)) if len(unread) > len(shown) else ""
            text = _mail_text(shown, _("您有 %(n)s 条未读通知%(more)s：", n=len(unread), more=more) + "\n")
            subject = _("【柔性执法协同平台】每日通知汇总（%(day)s，%(n)s 条）", day=today.isoformat(), n=len(unread))
        sent = queue_mail([email], subject, text, key=f"digest:{user_id}:{today.isoformat()}")
        for n in items:
            n.mail_state, n.mailed_at = ("sent", now) if sent is not None and n.read_at is None else ("skipped", None)
        queued += sent is not None
    db.session.commit()
    return queued


def _working_day(day: date) -> bool:
    known = known_days(day, day)
    if day not in known:
        current_app.logger.warning("digest not sent: %s is not in the working-day calendar", day)
        return False
    return known[day]


# --- reset of demo data ---------------------------------------------------------------------------------

def forget_records(record_type: str, record_ids: Iterable[Any]) -> int:
    """Delete the notifications about records that no longer exist (the demo district's reset)."""
    ids = [str(i) for i in record_ids]
    if not ids:
        return 0
    return db.session.execute(sa.delete(Notification).where(
        Notification.record_type == record_type, Notification.record_id.in_(ids))
        .execution_options(synchronize_session=False)).rowcount
