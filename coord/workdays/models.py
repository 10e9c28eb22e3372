from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coord.extensions import db


class WorkDay(db.Model):
    __tablename__ = "work_day"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    note: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="")
    source: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="holidays")
