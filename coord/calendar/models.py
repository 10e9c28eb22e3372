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
