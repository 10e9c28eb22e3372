from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coord.dbtypes import UTCDateTime
from coord.extensions import db


class AuditEntry(db.Model):
    """One state change. Rows are only ever inserted; each carries the hash of its predecessor."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    actor_name: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    action: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    entity_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    entity_id: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    # Agencies that may read this entry (comma separated ids, wrapped in commas for LIKE).
    agency_scope: Mapped[str] = mapped_column(sa.String(400), nullable=False, default="")
    summary: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    before: Mapped[str | None] = mapped_column(sa.Text)
    after: Mapped[str | None] = mapped_column(sa.Text)
    prev_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    # How `hash` was made: sha256 (unkeyed, rows before revision 0010), hmac-sha256, hmac-sm3.
    alg: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="sha256", server_default="sha256")

    __table_args__ = (sa.Index("ix_audit_entity", "entity_type", "entity_id"),)
