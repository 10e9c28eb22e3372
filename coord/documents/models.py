"""Document numbers (文号): one counter per agency, kind of document and year, and the numbers issued."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db


class DocumentCounter(db.Model):
    """The last sequence number given for (agency, kind, year). Raised with one UPDATE ... RETURNING,
    which PostgreSQL serialises on the row and SQLite on its single writer."""

    __tablename__ = "document_counter"

    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    last: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class DocumentNumber(db.Model):
    """A 文号 given to one document: the same record asks again, it gets the same number."""

    __tablename__ = "document_number"
    __table_args__ = (
        sa.UniqueConstraint("kind", "entity_type", "entity_id", name="uq_document_number_entity"),
        sa.UniqueConstraint("agency_id", "kind", "year", "seq", name="uq_document_number_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    seq: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    number: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    entity_type: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    entity_id: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
