from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

# E-mail choices (user_account.notify_mail).
MAIL_CHOICES: dict[str, str] = {
    "instant": "每条通知即时发送邮件",
    "digest": "每个工作日 08:30 发送一封汇总邮件",
    "none": "不发送邮件（只在平台内提醒）",
}
# What happened to a notification's e-mail.
MAIL_STATES: dict[str, str] = {"pending": "待汇总", "sent": "已发送", "skipped": "不发送"}


class Notification(db.Model):
    """One thing that concerns one user, made by a listener from a domain event."""

    __tablename__ = "notification"
    __table_args__ = (
        # One notification per user and key: an event announced twice (a periodic check) tells once.
        sa.UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
        sa.Index("ix_notification_user_unread", "user_id", "read_at", "id"),
        sa.Index("ix_notification_mail_state", "mail_state", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)  # the event, e.g. "lead_referred"
    title: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    url: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    record_type: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    record_id: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    key: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_state: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="skipped")
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The title in the reader's language (coord.notifications.titles): a template of the registry and its
    # values (data as entered, codes of labels, ISO instants). `title` keeps the Chinese text it gave when
    # made; rows from before (no template) are shown by it. Migration 0016_user_language.
    template: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="", server_default="")
    params: Mapped[dict | None] = mapped_column(sa.JSON)

    @property
    def read(self) -> bool:
        return self.read_at is not None

    @property
    def shown_title(self) -> str:
        """The title in the current language (a page's reader, or `in_language` for a mail)."""
        from coord.notifications.titles import render

        return render(self.template, self.params) or self.title
