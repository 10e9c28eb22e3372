from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

STATUSES: dict[str, str] = {
    "queued": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
}


CHANNELS: dict[str, str] = {"email": "邮件", "sms": "短信"}


class OutboxMessage(db.Model):
    """One e-mail or text message (SMS). The row is the truth; the task queue only says "look at row N now".

    An SMS row is an ordinary row with `channel = "sms"`: `to_addrs` holds the mobile numbers, `text`
    the message, `subject` a short summary for the pages, `sender` the signature (签名) of the gateway.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),
                      sa.Index("ix_outbox_message_entity", "entity_type", "entity_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # Idempotency: a caller that queues the same thing twice (e.g. a retried request) gets one row.
    key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    # Generated when queued, so every delivery attempt carries the same Message-ID.
    message_id: Mapped[str] = mapped_column(sa.String(250), unique=True, nullable=False)
    channel: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="email", server_default="email")
    sender: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    to_addrs: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    cc_addrs: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    subject: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    html: Mapped[str | None] = mapped_column(sa.Text)
    calendar: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    calendar_method: Mapped[str | None] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # How it left: "smtp", or "catchall" (development: kept here and shown on /dev/mail/, never sent).
    transport: Mapped[str | None] = mapped_column(sa.String(20))
    # The record the message is about (e.g. "interview", "12"), so its page can say what became of it.
    entity_type: Mapped[str | None] = mapped_column(sa.String(40))
    entity_id: Mapped[str | None] = mapped_column(sa.String(40))
    # Recipients the server refused while accepting the others: {address: "550 ..."}.
    refused: Mapped[dict | None] = mapped_column(sa.JSON)

    attachments: Mapped[list[OutboxAttachment]] = relationship(
        back_populates="message", order_by="OutboxAttachment.id", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def channel_label(self) -> str:
        return CHANNELS.get(self.channel, self.channel)

    @property
    def recipients(self) -> list[str]:
        return [*self.to_addrs, *self.cc_addrs]

    def recipient_states(self) -> list[RecipientState]:
        """What became of the message for each recipient (one row has several)."""
        from email.utils import parseaddr

        refused = {k.lower(): v for k, v in (self.refused or {}).items()}
        out = []
        for value in self.recipients:
            name, addr = parseaddr(value)
            if self.status in ("sent", "failed") and addr.lower() in refused:
                state, detail = "refused", refused[addr.lower()]
            elif self.status == "sent":
                state, detail = ("caught" if self.transport == "catchall" else "sent"), ""
            elif self.status == "failed":
                state, detail = "failed", self.last_error
            elif self.attempts and self.last_error:
                state, detail = "retrying", self.last_error
            else:
                state, detail = self.status, ""
            out.append(RecipientState(name or addr, addr, state, detail))
        return out


RECIPIENT_STATES: dict[str, str] = {
    "queued": "待发送",
    "sending": "发送中",
    "retrying": "发送未成功，将自动重试",
    "sent": "已发送",
    "caught": "已投递到开发邮箱（开发模式，未真正发出）",
    "refused": "被邮件服务器拒收",
    "failed": "发送失败",
}


@dataclass(frozen=True)
class RecipientState:
    name: str
    address: str
    state: str
    detail: str

    @property
    def label(self) -> str:
        return RECIPIENT_STATES.get(self.state, self.state)

    @property
    def ok(self) -> bool:
        return self.state in ("sent", "caught")


class OutboxAttachment(db.Model):
    __tablename__ = "outbox_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outbox_message.id", ondelete="CASCADE"), nullable=False, index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)

    message: Mapped[OutboxMessage] = relationship(back_populates="attachments")
