from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db


class DemoRecord(db.Model):
    """A record the demo district made (so `seed-demo` is idempotent and `--reset` removes only these)."""

    __tablename__ = "demo_record"
    __table_args__ = (sa.UniqueConstraint("entity", "entity_id", name="uq_demo_record_entity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario: Mapped[str] = mapped_column(sa.String(60), nullable=False, index=True)  # which story made it
    entity: Mapped[str] = mapped_column(sa.String(40), nullable=False)  # interview, lead, police_referral, ...
    entity_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
