"""Facts the oversight figures need that no feature keeps, and the assessment rules.

`LeadEvent`: which agency returned (退回) a lead, or was supervised (督办) on it, and when. The lead
itself only remembers its current receiver (a redirected lead belongs to the new one), so the figures
keep their own record, fed by the `lead_returned` and `lead_supervised` events (and filled from the
audit trail by the migration).

`AssessmentRules`: the office's indicators and weights, one row per version (never updated).
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

LEAD_EVENT_KINDS = ("returned", "supervised")


class LeadEvent(db.Model):
    __tablename__ = "oversight_lead_event"
    __table_args__ = (sa.Index("ix_oversight_lead_event", "kind", "at", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)  # returned | supervised
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id"), nullable=False, index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class AssessmentRules(db.Model):
    __tablename__ = "assessment_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, unique=True, nullable=False)
    total: Mapped[float] = mapped_column(sa.Float, nullable=False)
    # [{"key", "label", "weight", "params"}] in display order
    indicators: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    note: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    created_by = relationship("User")

    def snapshot(self) -> dict:
        return {"version": self.version, "total": self.total, "indicators": self.indicators, "note": self.note}
