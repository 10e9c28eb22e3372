"""Helpers for the interview and scheduling tests (no fixture of conftest changes behaviour)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from coord.agencies.models import Agency
from coord.extensions import db
from coord.scheduling.models import BusyBlock, Room
from coord.workdays.models import WorkDay
from tests.conftest import user_by_name

SH = ZoneInfo("Asia/Shanghai")
# A fixed "now" for rule tests: Monday 2026-09-21 09:00 local. Notice of 3 working days
# (09-22, 09-23, 09-24) makes Thursday 2026-09-24 the earliest day.
NOW = datetime(2026, 9, 21, 9, 0, tzinfo=SH)
VALID_CREDIT_CODE = "91500106MA5U3Q0X2H"  # check digit per GB 32100


def at(day: date | str, hhmm: str) -> datetime:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(d, time.fromisoformat(hhmm), tzinfo=SH)


def agency_id(code: str) -> int:
    return db.session.execute(sa.select(Agency.id).where(Agency.code == code)).scalar_one()


def room_id(name: str = "区司法局第一会议室") -> int:
    return db.session.execute(sa.select(Room.id).where(Room.name == name)).scalar_one()


def busy(username: str, start: datetime, end: datetime, reason: str = "其他会议") -> BusyBlock:
    block = BusyBlock(user_id=user_by_name(username).id, start_at=start, end_at=end, reason=reason)
    db.session.add(block)
    db.session.commit()
    return block


def ensure_calendar(start: date, days: int) -> None:
    """Make sure the calendar covers [start, start + days], as the app does for the years ahead:
    years without a published arrangement are built provisionally (statutory holidays and weekends),
    so tests that book through the pages at today's date keep working whatever the year."""
    from coord.workdays.services import ensure_years

    ensure_years(start, through=(start + timedelta(days=days)).year)


def drop_calendar_from(year: int) -> None:
    """Remove `year` and every later year from the calendar: a day beyond the table, as when the
    horizon ends before it (the office set fewer years ahead, or a year was never built)."""
    from coord.workdays.models import CalendarYear
    from coord.workdays.services import forget_years

    db.session.execute(sa.delete(WorkDay).where(WorkDay.day >= date(year, 1, 1)))
    db.session.execute(sa.delete(CalendarYear).where(CalendarYear.year >= year))
    db.session.commit()
    forget_years()


def interview_data(**overrides) -> dict:
    """A valid joint interview of 区市场监管局 (lead) and 区城市管理局 (co)."""
    data = {
        "title": "某餐饮公司油烟及占道经营问题联合约谈",
        "problem_kind": "regional",
        "region_agency_id": agency_id("cqk"),
        "party": {"name": "重庆某某餐饮管理有限公司", "credit_code": VALID_CREDIT_CODE},
        "attendees": [{"name": "王某", "post": "法定代表人", "email": "wang@example.com"}],
        "lead_agency_id": agency_id("scjgj"),
        "agency_ids": [agency_id("cgj")],
        "participant_ids": [user_by_name("scjg_coord").id, user_by_name("cgj_officer").id],
        "room_id": room_id(),
        "duration_minutes": 90,
        "matter": "油烟扰民、占道经营",
        "legal_basis": "《重庆市市容环境卫生管理条例》",
    }
    data.update(overrides)
    return data
