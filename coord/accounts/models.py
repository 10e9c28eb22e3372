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

    # --- worklist and notifications (coord.worklist, coord.notifications; migration 0011_worklist) ---
    # Raised (never read-modify-written in Python) whenever this user's worklist or notifications may have
    # changed: the key of the per-process cache of their tasks, badges and unread count. It comes with the
    # user row every request loads anyway, so a page costs no extra query to know whether its cache is fresh.
    attention_stamp: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    # E-mail for notifications: "instant", "digest" (08:30 on working days) or "none".
    notify_mail: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="digest", server_default="digest")
    # --- end worklist and notifications ---

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
        return ROLES.get(self.role, self.role)

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
