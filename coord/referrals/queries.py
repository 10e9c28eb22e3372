"""Reading lists and figures. Overdue and warning are SQL expressions on the stored deadlines."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from coord.agencies.models import Agency
from coord.errors import DomainError
from coord.extensions import db
from coord.referrals.models import LEAD_STATES, OPEN_STATES, Lead
from coord.workdays.models import WorkDay

BOXES = {"inbox": "收件箱（移交给本单位）", "outbox": "发件箱（本单位移交）", "all": "全部线索"}
PAGE_SIZE = 20


def overdue_expr(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(Lead.due_on.is_not(None), Lead.due_on < today)


def warning_expr(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(Lead.warn_on.is_not(None), Lead.warn_on <= today, Lead.due_on >= today)


def _count_if(cond: Any) -> sa.ColumnElement[int]:
    """Rows of the group where `cond` holds (for the few rows of one agency's inbox)."""
    return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)


@dataclass
class Box:
    """Which leads a list shows: an agency's inbox or outbox, or all of them (office)."""

    box: str
    agency_id: int | None

    def where(self) -> list[Any]:
        if self.box == "inbox":
            return [Lead.to_agency_id == self.agency_id]
        if self.box == "outbox":
            return [Lead.from_agency_id == self.agency_id]
        return []


def resolve_box(user: Any, box: str | None, agency_id: Any = None) -> Box:
    """Everyone sees their own agency's boxes; the office may look at any agency's, or at all leads."""
    box = box or ("all" if user.is_office else "inbox")
    if box not in BOXES or (box == "all" and not user.is_office):
        raise DomainError("请选择收件箱或发件箱。", field="box")
    target = user.agency_id
    if user.is_office and agency_id not in (None, ""):
        try:
            target = int(agency_id)
        except (TypeError, ValueError):
            raise DomainError("请选择有效的单位。", field="agency_id") from None
    return Box(box, target)


@dataclass
class Counts:
    by_state: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    warning: int = 0
    total: int = 0
    open: int = 0


def counts(box: Box, today: date) -> Counts:
    """Numbers per state plus overdue and warning, in one grouped query."""
    stmt = (
        sa.select(Lead.state, sa.func.count(), _count_if(overdue_expr(today)), _count_if(warning_expr(today)))
        .where(*box.where())
        .group_by(Lead.state)
    )
    result = Counts()
    for state, n, overdue, warning in db.session.execute(stmt):
        result.by_state[state] = n
        result.overdue += int(overdue)
        result.warning += int(warning)
        result.total += n
        if state in OPEN_STATES:
            result.open += n
    return result


@dataclass
class Row:
    lead: Lead
    overdue: bool
    warning: bool
    days_left: int | None = None  # working days to the running deadline; None without one or calendar data


def _calendar_columns(today: date) -> tuple[Any, Any]:
    """Per lead, over (min(today, due), max(today, due)]: the working days, and the calendar rows there
    are (to tell a day the table lacks). Counted by the database in the page's query, not read apart."""
    lo = sa.case((Lead.due_on < today, Lead.due_on), else_=sa.literal(today, sa.Date))
    hi = sa.case((Lead.due_on < today, sa.literal(today, sa.Date)), else_=Lead.due_on)
    span = (WorkDay.day > lo, WorkDay.day <= hi)
    working = (sa.select(sa.func.count()).select_from(WorkDay).where(*span, WorkDay.is_workday.is_(True))
               .correlate(Lead).scalar_subquery())
    known = sa.select(sa.func.count()).select_from(WorkDay).where(*span).correlate(Lead).scalar_subquery()
    return working, known


def _days_left(today: date, due: date | None, working: int | None, known: int | None) -> int | None:
    if due is None:
        return None
    if known != abs((due - today).days):
        return None  # a day in between is missing from the calendar table
    return working if due >= today else -working


def list_leads(box: Box, today: date, *, state: str = "", overdue: bool = False, page: int = 1,
               per_page: int = PAGE_SIZE, box_counts: Counts | None = None) -> tuple[list[Row], int]:
    """One page of leads, newest first, with overdue and warning flags computed by the database."""
    if state and state not in LEAD_STATES:
        raise DomainError("状态筛选无效。", field="state")
    where = box.where()
    if state:
        where.append(Lead.state == state)
    if overdue:
        where.append(overdue_expr(today))
    working, known = _calendar_columns(today)
    stmt = (
        sa.select(Lead, overdue_expr(today).label("overdue"), warning_expr(today).label("warning"), working, known)
        .where(*where)
        .order_by(Lead.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    rows = [Row(lead, bool(o), bool(w), _days_left(today, lead.due_on, n, k))
            for lead, o, w, n, k in db.session.execute(stmt)]
    if box_counts is not None and not state and not overdue:
        total = box_counts.total
    else:
        total = db.session.execute(sa.select(sa.func.count()).select_from(Lead).where(*where)).scalar_one()
    return rows, total


def inbox_badge(user: Any, today: date) -> int:
    """Leads waiting for the user's agency (to acknowledge or reply); for the office, all overdue leads."""
    if user.is_office:
        stmt = sa.select(sa.func.count()).select_from(Lead).where(overdue_expr(today))
    else:
        stmt = sa.select(sa.func.count()).select_from(Lead).where(
            Lead.to_agency_id == user.agency_id, Lead.state.in_(OPEN_STATES))
    return db.session.execute(stmt).scalar_one()


FIGURE_COLUMNS: list[tuple[str, str]] = [
    ("agency", "单位"),
    ("received", "收到线索"),
    ("open", "办理中"),
    ("overdue_now", "当前超期"),
    ("late", "曾超期或当前超期"),
    ("replied", "已回复"),
    ("replied_on_time", "按时回复"),
    ("on_time_rate", "按时回复率"),
    ("overdue_rate", "超期率"),
    ("ack_on_time_rate", "按时签收率"),
    ("sent", "移交线索"),
    ("sent_overdue", "移交后对方超期"),
]


def figures(today: date) -> list[dict[str, Any]]:
    """Per-agency figures for the office (merged duplicates excluded).

    Each query only counts rows grouped in the order of a covering index, so the database reads
    the index once without evaluating an expression per lead; overdue comes from a range of the
    deadline index. Python then adds up the groups (a few hundred), never the leads.
    """
    by_to = (
        sa.select(Lead.to_agency_id, Lead.state, Lead.late, Lead.reply_on_time, Lead.ack_on_time, sa.func.count())
        .group_by(Lead.to_agency_id, Lead.state, Lead.late, Lead.reply_on_time, Lead.ack_on_time)
    )
    by_from = sa.select(Lead.from_agency_id, Lead.state, sa.func.count()).group_by(Lead.from_agency_id, Lead.state)
    overdue_to = (sa.select(Lead.to_agency_id, Lead.late, sa.func.count()).where(overdue_expr(today))
                  .group_by(Lead.to_agency_id, Lead.late))
    overdue_from = (sa.select(Lead.from_agency_id, sa.func.count()).where(overdue_expr(today))
                    .group_by(Lead.from_agency_id))
    keys = ("received", "open", "overdue_now", "late", "replied", "replied_on_time", "acked", "acked_on_time",
            "sent", "sent_overdue")
    stats: dict[int, dict[str, int]] = {}

    def add(agency_id: int, key: str, n: int) -> None:
        stats.setdefault(agency_id, dict.fromkeys(keys, 0))[key] += n

    for agency_id, state, late, reply_ok, ack_ok, n in db.session.execute(by_to):
        if state == "merged":
            continue
        add(agency_id, "received", n)
        add(agency_id, "open", n if state in OPEN_STATES else 0)
        add(agency_id, "late", n if late else 0)
        add(agency_id, "replied", 0 if reply_ok is None else n)
        add(agency_id, "replied_on_time", n if reply_ok else 0)
        add(agency_id, "acked", 0 if ack_ok is None else n)
        add(agency_id, "acked_on_time", n if ack_ok else 0)
    for agency_id, late, n in db.session.execute(overdue_to):
        add(agency_id, "overdue_now", n)
        add(agency_id, "late", 0 if late else n)  # overdue now but not yet marked late
    for agency_id, state, n in db.session.execute(by_from):
        add(agency_id, "sent", 0 if state == "merged" else n)
    for agency_id, n in db.session.execute(overdue_from):
        add(agency_id, "sent_overdue", n)
    agencies = db.session.execute(
        sa.select(Agency.id, Agency.name).where(Agency.id.in_(list(stats))).order_by(Agency.sort_order, Agency.id)
    ).all()
    out = []
    for agency_id, name in agencies:
        row = stats[agency_id]
        out.append({
            "agency_id": agency_id,
            "agency": name,
            **{k: row[k] for k in keys if k not in ("acked", "acked_on_time")},
            "on_time_rate": _rate(row["replied_on_time"], row["replied"]),
            "overdue_rate": _rate(row["late"], row["received"]),
            "ack_on_time_rate": _rate(row["acked_on_time"], row["acked"]),
        })
    return out


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


def fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"
