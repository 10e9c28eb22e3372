"""Logging in: the lockout counted in the database and the login log (登录日志).

The failure count and the lock live on the account row, so every web worker and host sees the
same count: after COORD_LOCKOUT_THRESHOLD (5) wrong passwords in a row the account is locked for
COORD_LOCKOUT_MINUTES (15), the user is told until when, and the lock is written to the audit
trail. A correct password resets the count. Every attempt and every logout is a `login_event`.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext
from werkzeug.security import check_password_hash

from coord.accounts import sessions
from coord.accounts.models import LOGIN_REASONS, LoginEvent, User
from coord.audit import services as audit
from coord.dbtypes import utcnow
from coord.extensions import db
from coord.timeutil import fmt_local


@dataclass
class Outcome:
    reason: str  # a LOGIN_REASONS key
    user: User | None = None
    token: str | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def threshold() -> int:
    return int(current_app.config.get("LOCKOUT_THRESHOLD", 5))


def lockout() -> timedelta:
    return timedelta(seconds=int(current_app.config.get("LOCKOUT_SECONDS", 900)))


def log_event(user: User | None, username: str, event: str, success: bool, reason: str) -> None:
    db.session.add(LoginEvent(at=utcnow(), user_id=user.id if user else None, username=sessions.clean(username, 60),
                              address=sessions.client_address(), user_agent=sessions.client_agent(),
                              event=event, success=success, reason=reason))


def _find_for_update(username: str) -> User | None:
    stmt = sa.select(User).where(User.username == username)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=User)  # concurrent failures on two workers both count
    return db.session.execute(stmt).scalar_one_or_none()


def attempt(username: str, password: str) -> Outcome:
    """Check credentials, count a failure or start a session; one commit either way."""
    from coord.accounts.services import dummy_hash

    typed = sessions.clean(username, 60).strip().lower()
    user = _find_for_update(typed) if typed and typed == (username or "").strip().lower() else None
    now = utcnow()
    if user is None:
        check_password_hash(dummy_hash(), password)  # same time as a wrong password
        return _done(Outcome("unknown_user"), typed, success=False)
    if user.is_locked(now):
        return _done(Outcome("locked", user, locked_until=user.locked_until), typed, success=False)
    if user.locked_until is not None:  # an expired lock: count afresh
        user.locked_until, user.failed_logins = None, 0
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins < threshold():
            return _done(Outcome("bad_password", user), typed, success=False)
        user.failed_logins, user.locked_until = 0, now + lockout()
        until = fmt_local(user.locked_until)
        audit.record(None, "user.lock", "user", user.id, agencies=[user.agency_id],
                     summary=f"连续 {threshold()} 次密码错误，账号 {user.username} 锁定至 {until}")
        return _done(Outcome("locked_now", user, locked_until=user.locked_until), typed, success=False)
    if not user.active:
        return _done(Outcome("inactive", user), typed, success=False)
    user.failed_logins, user.locked_until = 0, None
    return _done(Outcome("ok", user, token=sessions.start(user)), typed, success=True)


def _done(outcome: Outcome, typed: str, *, success: bool) -> Outcome:
    log_event(outcome.user, typed, "login", success, outcome.reason)
    db.session.commit()
    return outcome


def logout(user: User) -> None:
    sessions.end(sessions.current_id(), "logout")
    log_event(user, user.username, "logout", True, "logout")
    db.session.commit()


def message(outcome: Outcome) -> str:
    """What the login form tells the user (the same for an unknown name and a wrong password)."""
    if outcome.reason in ("locked", "locked_now"):
        until = fmt_local(outcome.locked_until) if outcome.locked_until else ""
        minutes = int(lockout().total_seconds() // 60)
        lead = (gettext("连续 %(n)s 次密码错误，账号已被锁定 %(minutes)s 分钟", n=threshold(), minutes=minutes)
                if outcome.reason == "locked_now" else gettext("该账号因多次密码错误已被锁定"))
        return gettext("%(lead)s，请于 %(until)s（北京时间）后再试，或联系安全管理员解锁。", lead=lead, until=until)
    if outcome.reason == "inactive":
        return gettext("该账号已停用，请联系管理员。")
    return gettext("用户名或密码不正确。连续 %(n)s 次输错密码，账号将被锁定 %(minutes)s 分钟。", n=threshold(),
                   minutes=int(lockout().total_seconds() // 60))


# --- the login log, for the security administrator -------------------------------------------

@dataclass
class LogFilter:
    username: str = ""
    success: bool | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(f: LogFilter) -> sa.Select:
    stmt = sa.select(LoginEvent).order_by(LoginEvent.id.desc())
    if f.username:
        stmt = stmt.where(LoginEvent.username == sessions.clean(f.username, 60).strip().lower())
    if f.success is not None:
        stmt = stmt.where(LoginEvent.success.is_(f.success))
    if f.since:
        stmt = stmt.where(LoginEvent.at >= f.since)
    if f.until:
        stmt = stmt.where(LoginEvent.at < f.until)
    return stmt


def events(f: LogFilter, limit: int = 100, offset: int = 0) -> list[LoginEvent]:
    return list(db.session.execute(_filtered(f).limit(limit).offset(offset)).scalars())


EXPORT_HEADER = ["时间（北京时间）", "用户名", "用户ID", "地址", "事件", "结果", "原因", "浏览器"]


def export_csv(f: LogFilter) -> bytes:
    """UTF-8 with BOM, so Excel opens the Chinese text as such."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    for e in db.session.execute(_filtered(f).execution_options(yield_per=1000)).scalars():
        writer.writerow([fmt_local(e.at, "%Y-%m-%d %H:%M:%S"), _cell(e.username), e.user_id or "", e.address,
                         "登录" if e.event == "login" else "退出", "成功" if e.success else "失败",
                         LOGIN_REASONS.get(e.reason, e.reason), _cell(e.user_agent)])
    return ("\ufeff" + out.getvalue()).encode()


def _cell(text: str) -> str:
    """No formula injection when the export is opened in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def purge(days: int) -> int:
    """Delete login events older than `days` (at least the retention period); returns the count."""
    keep = int(current_app.config.get("LOG_RETENTION_DAYS", 180))
    if days < keep:
        from coord.errors import DomainError

        raise DomainError(gettext("登录日志至少保存 %(keep)s 天，不能删除更近的记录。", keep=keep), field="days")
    cutoff = utcnow() - timedelta(days=days)
    removed = db.session.execute(sa.delete(LoginEvent).where(LoginEvent.at < cutoff)).rowcount or 0
    from coord.accounts.models import UserSession

    db.session.execute(sa.delete(UserSession).where(UserSession.ended_at.is_not(None), UserSession.ended_at < cutoff))
    db.session.commit()
    return removed
