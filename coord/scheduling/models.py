from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

BUSY_SOURCES: dict[str, str] = {"manual": "手工登记", "ics": "日历导入"}


class Room(db.Model):
    """A meeting room an interview can be held in (约谈室 / 会议室)."""

    __tablename__ = "room"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True, nullable=False)
    location: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    capacity: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=10)
    # The agency that manages the room; None = shared by the district.
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    agency = db.relationship("Agency")

    def snapshot(self) -> dict:
        return {"name": self.name, "location": self.location, "capacity": self.capacity,
                "agency_id": self.agency_id, "active": self.active}


class Booking(db.Model):
    """One resource (a person, a room, a party) held by one interview for [start_at, end_at).

    `resource` is "user:<id>", "room:<id>" or "party:<id>". `guard_end` = end_at + the buffer at
    booking time: two active bookings of one resource may not have overlapping
    [start_at, guard_end) ranges, which keeps the buffer between consecutive meetings. PostgreSQL
    enforces it with an exclusion constraint, SQLite with a trigger (see migration 0002).
    Rescheduling or cancelling sets active=False; rows are never deleted.
    """

    __tablename__ = "booking"
    __table_args__ = (
        sa.Index("ix_booking_resource_start", "resource", "start_at"),
        sa.CheckConstraint("start_at < end_at AND end_at <= guard_end", name="ck_booking_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False, index=True)
    resource: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    guard_end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class BusyBlock(db.Model):
    """An official's unavailability (leave, training, another meeting) the scheduler counts."""

    __tablename__ = "busy_block"
    # The slot finder reads busy time by range. Short blocks (the vast majority) are found through
    # a covering index on start_at bounded on both sides (start within [window start - 1 day,
    # window end)); the few blocks longer than a day (spans_days) through their own small index.
    __table_args__ = (
        sa.Index("ix_busy_user_start", "user_id", "start_at", "end_at", "active"),
        sa.Index("ix_busy_long", "spans_days", "user_id", "end_at"),
        sa.UniqueConstraint("user_id", "import_key", name="uq_busy_import_key"),
        sa.CheckConstraint("start_at < end_at", name="ck_busy_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    source: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="manual")
    # For imported calendars: UID (+ RECURRENCE-ID) of the event, so a re-import updates in place.
    import_key: Mapped[str | None] = mapped_column(sa.String(300))
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # end_at - start_at > 1 day; kept by the mapper events below (Core inserts must set it).
    spans_days: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    user = db.relationship("User")

    def snapshot(self) -> dict:
        return {"user_id": self.user_id, "start_at": self.start_at.isoformat(), "end_at": self.end_at.isoformat(),
                "reason": self.reason, "source": self.source, "active": self.active}


LONG_BLOCK = timedelta(days=1)


@event.listens_for(BusyBlock, "before_insert")
@event.listens_for(BusyBlock, "before_update")
def _mark_long(_mapper, _conn, block: BusyBlock) -> None:
    block.spans_days = block.end_at - block.start_at > LONG_BLOCK
