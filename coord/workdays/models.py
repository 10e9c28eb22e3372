from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db

YEAR_STATUSES: dict[str, str] = {"official": "正式", "provisional": "暂定"}


class WorkDay(db.Model):
    __tablename__ = "work_day"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    note: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="")
    # holidays (library copy) | provisional (statutory holidays + weekends) | notice | admin
    source: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="holidays")


class CalendarYear(db.Model):
    """A year of the calendar table: every one of its days has a row.

    `official` when the State Council's arrangement is in (from the `holidays` library or an imported
    notice), `provisional` while it is built from the statutory holidays and weekends alone. `version`
    rises with every change to the year's days: a notice preview names the version it was made
    against, so confirming a stale preview is refused.
    """

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    source: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    notice_text: Mapped[str | None] = mapped_column(sa.Text)
    notice_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    @property
    def provisional(self) -> bool:
        return self.status == "provisional"

    @property
    def status_label(self) -> str:
        return YEAR_STATUSES.get(self.status, self.status)


class CalendarSetting(db.Model):
    """Office settings of the calendar (e.g. `years_ahead`: how many years ahead are kept built)."""

    __tablename__ = "calendar_setting"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(200), nullable=False)
