from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

STATUSES: dict[str, str] = {"draft": "草稿", "final": "已定稿"}
REVISION_KINDS: dict[str, str] = {"draft": "草稿保存", "final": "定稿", "correction": "更正"}


class Minutes(db.Model):
    """约谈笔录 of one interview. `revision` is the number of its latest revision: a save must name
    it (optimistic concurrency), so a second editor working from an older revision is refused."""

    __tablename__ = "minutes"
    __table_args__ = (
        sa.UniqueConstraint("interview_id", name="uq_minutes_interview"),
        # The worklist (migration 0011): "are this interview's minutes final?" from the index alone.
        sa.Index("ix_minutes_final", "interview_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(sa.ForeignKey("interview.id"), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="draft")
    revision: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finalized_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    interview = relationship("Interview")
    finalized_by = relationship("User", foreign_keys=[finalized_by_id])
    revisions = relationship("MinutesRevision", back_populates="minutes", order_by="MinutesRevision.number",
                             lazy="selectin")

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def is_final(self) -> bool:
        return self.status == "final"

    @property
    def latest(self) -> MinutesRevision | None:
        return self.revisions[-1] if self.revisions else None

    @property
    def issued(self) -> list[MinutesRevision]:
        """The revisions issued as official PDFs (the final one and its corrections)."""
        return [r for r in self.revisions if r.kind in ("final", "correction")]


class MinutesRevision(db.Model):
    """One saved version of the minutes, never changed afterwards. Final and correction
    revisions keep the PDFs issued from them, so an earlier PDF stays retrievable as it was."""

    __tablename__ = "minutes_revision"
    __table_args__ = (sa.UniqueConstraint("minutes_id", "number", name="uq_minutes_revision_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    minutes_id: Mapped[int] = mapped_column(sa.ForeignKey("minutes.id"), nullable=False, index=True)
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(12), nullable=False, default="draft")
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    reason: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    pdf_archive: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)  # PDF/A-2b
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")

    minutes = relationship("Minutes", back_populates="revisions")
    author = relationship("User")

    @property
    def kind_label(self) -> str:
        return REVISION_KINDS.get(self.kind, self.kind)
