"""The party directory (行政相对人): organisations and persons that interviews, measures and the party's
pages name. A base record like `Agency`: scheduling, calendar and every feature may read it; the
directory's pages and timeline (coord.parties.queries) sit on top of the features instead."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

PARTY_KINDS: dict[str, str] = {"organisation": "单位", "person": "个人"}


class Party(db.Model):
    """行政相对人: an organisation (统一社会信用代码) or a person."""

    __tablename__ = "party"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    credit_code: Mapped[str] = mapped_column(sa.String(18), nullable=False, default="", index=True)
    id_number: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="")
    address: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    @property
    def kind_label(self) -> str:
        return PARTY_KINDS.get(self.kind, self.kind)

    def snapshot(self) -> dict:
        return {"kind": self.kind, "name": self.name, "credit_code": self.credit_code,
                "id_number": self.id_number, "address": self.address, "contact_phone": self.contact_phone}
