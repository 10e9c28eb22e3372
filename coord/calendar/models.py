from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

FEED_KINDS: dict[str, str] = {"user": "个人", "agency": "单位", "room": "约谈室"}


class InvitationState(db.Model):
    """What the invitees of an interview were last sent: to know who was removed and what changed."""

    __tablename__ = "calendar_invitation"

    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), primary_key=True)
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [{"email": ..., "name": ...}] of the people the last REQUEST went to.
    recipients: Mapped[list[dict]] = mapped_column(sa.JSON, nullable=False, default=list)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class FeedKey(db.Model):
    """The generation of a feed's secret URL. The token is derived (HMAC) from it, so a feed
    needs no row until its owner regenerates the URL, which raises the generation."""

    __tablename__ = "calendar_feed"

    kind: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    regenerated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    regenerated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))


class InvitationLink(db.Model):
    """A personal 接受 / 拒绝 link in an invitation e-mail, for invitees without an iMIP client.

    Only the SHA-256 of the token is stored: the token itself exists only in that person's e-mail.
    Opening the link shows a confirmation page; only its POST records the answer.
    """

    __tablename__ = "calendar_link"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, index=True)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False)  # lower case
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    sequence: Mapped[int] = mapped_column(sa.Integer, nullable=False)  # of the invitation it was sent with
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
