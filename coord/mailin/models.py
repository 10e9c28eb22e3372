"""Inbound messages, invitees' answers and counter-proposals."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

PARTSTATS: dict[str, str] = {
    "ACCEPTED": "接受",
    "DECLINED": "拒绝",
    "TENTATIVE": "暂定",
    "NEEDS-ACTION": "未答复",
}
INBOUND_STATUSES: dict[str, str] = {"processed": "已处理", "quarantined": "已隔离"}
COUNTER_STATUSES: dict[str, str] = {
    "open": "待处理",
    "accepted": "已采纳",
    "declined": "未采纳",
    "superseded": "已失效",
}
INVITEE_KINDS: dict[str, str] = {"official": "执法人员", "party": "当事人方", "room": "会议室"}


class InboundMessage(db.Model):
    """One message read from the reply mailbox: processed, or quarantined with the reason.

    `key` (the Message-ID, or a hash of the bytes when there is none) is unique: the same message
    delivered twice is recognised and changes nothing more.
    """

    __tablename__ = "inbound_message"
    __table_args__ = (sa.Index("ix_inbound_message_status_received", "status", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(300), unique=True, nullable=False)
    source: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # imap | stdin
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    summary: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    from_addr: Mapped[str] = mapped_column(sa.String(320), nullable=False, default="")
    subject: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    method: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    uid: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    interview_id: Mapped[int | None] = mapped_column(sa.ForeignKey("interview.id"), index=True)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # Quarantined mail keeps its bytes for the office to read; processed mail keeps its answer rows.
    raw: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    @property
    def status_label(self) -> str:
        return INBOUND_STATUSES.get(self.status, self.status)


class InvitationReply(db.Model):
    """One answer of one invitee (iMIP REPLY, the PARTSTAT of a COUNTER, or an answer link).

    Every answer is kept. The person's current answer is the one for the highest SEQUENCE (then
    the latest); an answer for a SEQUENCE older than the interview's is shown as stale.
    """

    __tablename__ = "invitation_reply"
    __table_args__ = (sa.Index("ix_invitation_reply_interview_email", "interview_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False)
    inbound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inbound_message.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False)  # lower case
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # official | party | room
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    partstat: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    comment: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # Older than the interview's SEQUENCE when it arrived (kept, never the current answer over a newer one).
    stale_on_arrival: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    source: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="imip")  # imip | link

    @property
    def partstat_label(self) -> str:
        return PARTSTATS.get(self.partstat, self.partstat)


class CounterProposal(db.Model):
    """A COUNTER: an invitee proposes another time; the organiser accepts (reschedules) or declines."""

    __tablename__ = "counter_proposal"
    __table_args__ = (sa.Index("ix_counter_proposal_interview_status", "interview_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False)
    inbound_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inbound_message.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    proposed_start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    proposed_end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    comment: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="open")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    decision_comment: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")

    interview = relationship("Interview")

    @property
    def status_label(self) -> str:
        return COUNTER_STATUSES.get(self.status, self.status)
