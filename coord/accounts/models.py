from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.agencies.models import Agency
from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

ROLES: dict[str, str] = {
    "admin": "领导小组办公室管理员",
    "coordinator": "部门联络员",
    "officer": "执法人员",
    "viewer": "只读用户",
}
# 三员分立 (GB/T 22239-2019): assignable only when COORD_SEPARATION_OF_DUTIES is on.
SEPARATED_ROLES: dict[str, str] = {
    "sysadmin": "系统管理员",
    "secadmin": "安全管理员",
    "auditadmin": "审计管理员",
}
ALL_ROLES: dict[str, str] = {**ROLES, **SEPARATED_ROLES}


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(60), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, default="")
    phone: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    post: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")  # 职务
    cert_number: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")  # 执法证号
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False, index=True)
    role: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    password_hash: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # Bumped on password change / deactivation so old sessions stop working.
    session_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    # --- security (issue 11, migration 0010_security): lockout, forced password change ---------
    failed_logins: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False,
                                                       server_default=sa.false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # --- end security -----------------------------------------------------------------------------
    # --- worklist and notifications (coord.worklist, coord.notifications; migration 0011_worklist) ---
    # Raised (never read-modify-written in Python) whenever this user's worklist or notifications may have
    # changed: the key of the per-process cache of their tasks, badges and unread count. It comes with the
    # user row every request loads anyway, so a page costs no extra query to know whether its cache is fresh.
    attention_stamp: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    # E-mail for notifications: "instant", "digest" (08:30 on working days) or "none".
    notify_mail: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="digest", server_default="digest")
    # --- end worklist and notifications ---
    # The language of the pages (when the browser has not chosen one) and of every e-mail to this user:
    # "zh_CN" or "en" (coord.lang.LANGUAGES; migration 0016_user_language). Set by the language switch.
    language: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="zh_CN", server_default="zh_CN")

    agency: Mapped[Agency] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def display_name(self) -> str:
        return self.name or self.username

    @property
    def is_office(self) -> bool:
        """The leading-group office (领导小组办公室) sees every agency's records."""
        return self.role == "admin"

    @property
    def role_label(self) -> str:
        return ALL_ROLES.get(self.role, self.role)

    @property
    def is_read_only(self) -> bool:
        return self.role == "viewer"

    def is_locked(self, now: datetime | None = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or utcnow())

    def sees_nav(self, who: str) -> bool:
        """Navigation entries: "all", "office", or a permission name (coord.accounts.permissions)."""
        if who == "all":
            return True
        if who == "office":
            return self.is_office
        from coord.accounts.permissions import can

        return can(self, who)

    def snapshot(self) -> dict:
        return {
            "username": self.username,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "post": self.post,
            "cert_number": self.cert_number,
            "agency_id": self.agency_id,
            "role": self.role,
            "active": self.active,
        }


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


# --- security (issue 11): login log and server-side sessions -----------------------------------

LOGIN_REASONS: dict[str, str] = {
    "ok": "登录成功",
    "bad_password": "密码错误",
    "unknown_user": "用户名不存在",
    "locked": "账号锁定中，拒绝登录",
    "locked_now": "密码错误，连续失败次数达到上限，账号被锁定",
    "inactive": "账号已停用",
    "logout": "退出登录",
}


class LoginEvent(db.Model):
    """登录日志: one login attempt or logout. Never updated; kept at least 180 days (trigger)."""

    __tablename__ = "login_event"
    __table_args__ = (sa.Index("ix_login_event_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    username: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")  # as typed
    address: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    event: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="login")  # login | logout
    success: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(20), nullable=False)

    @property
    def reason_label(self) -> str:
        return LOGIN_REASONS.get(self.reason, self.reason)


SESSION_END_REASONS: dict[str, str] = {
    "logout": "退出登录",
    "idle": "超时未操作",
    "expired": "达到最长登录时长",
    "password": "修改密码",
    "deactivated": "账号停用",
    "admin": "管理员强制下线",
}


class UserSession(db.Model):
    """A login, tracked server-side: the cookie holds a random token, this row its SHA-256.

    Ending the row ends the login everywhere, whatever the cookie says (logout, password change,
    idle timeout, absolute limit, deactivation)."""

    __tablename__ = "user_session"
    __table_args__ = (sa.Index("ix_user_session_user_open", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    address: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")

    @property
    def end_label(self) -> str:
        return SESSION_END_REASONS.get(self.end_reason, self.end_reason)
