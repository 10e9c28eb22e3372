"""Oversight figures per agency and month, and the records behind each number (drill-down).

Every figure is a count of records selected by one predicate, and `records` selects the rows with
the same predicate, so a number and the list it links to always agree.

How it stays fast (100,000 leads and 50,000 measures in a year: see benchmarks/oversight.py): each
source is read by one `GROUP BY` over a covering index (`ix_lead_oversight`, `ix_measure_agency_on_kind`),
grouped by agency, month and the raw columns the figures need; the month is a `CASE` over the month
boundaries (portable, and correct for Beijing time because the boundaries are instants computed here).
Python then adds up a few thousand groups, never the rows.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from coord.agencies.models import AGENCY_KINDS, Agency
from coord.errors import DomainError, NotFound
from coord.extensions import db
from coord.interviews.models import FollowUp, Interview, InterviewAgency
from coord.lists.models import KINDS as LIST_KINDS
from coord.lists.models import ListVersion
from coord.measures.models import KINDS as MEASURE_KINDS
from coord.measures.models import Measure
from coord.oversight.models import LeadReturn
from coord.referrals.models import Lead, Supervision
from coord.timeutil import local_datetime, local_today, to_local

LEAD_METRICS = ("received", "ack_on_time", "reply_on_time", "returned", "overdue", "supervised")
# Also counted, for the assessment's rates: the leads acknowledged / replied at all.
LEAD_EXTRA = ("acknowledged", "replied")
METRICS: tuple[str, ...] = (
    *(f"measures.{k}" for k in MEASURE_KINDS),
    *(f"leads.{k}" for k in (*LEAD_METRICS, *LEAD_EXTRA)),
    "interviews_held",
    "follow_ups.rectified", "follow_ups.not_rectified",
)
LABELS: dict[str, str] = {
    **{f"measures.{k}": v for k, v in MEASURE_KINDS.items()},
    "leads.received": "收到线索", "leads.ack_on_time": "按时签收", "leads.reply_on_time": "按时回复",
    "leads.returned": "退单", "leads.overdue": "超期", "leads.supervised": "督办",
    "leads.acknowledged": "已签收", "leads.replied": "已回复",
    "interviews_held": "举行约谈", "follow_ups.rectified": "回访已整改", "follow_ups.not_rectified": "回访未整改",
}
MAX_MONTHS = 36


# --- the period ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def start_at(self) -> datetime:
        return local_datetime(self.start, time(0))

    @property
    def end_at(self) -> datetime:  # exclusive
        return local_datetime(self.end + timedelta(days=1), time(0))

    def months(self) -> list[tuple[str, date, date]]:
        """(YYYY-MM, first day, last day) for each month the period touches, clipped to the period."""
        out = []
        first = self.start.replace(day=1)
        while first <= self.end:
            nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            out.append((f"{first:%Y-%m}", max(first, self.start), min(nxt - timedelta(days=1), self.end)))
            first = nxt
        return out

    def label(self) -> str:
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"


def parse_period(period: str | None = None, date_from: Any = None, date_to: Any = None,
                 today: date | None = None) -> Period:
    """`period=YYYY` (a year), or `from`/`to` dates; the default is this year up to today."""
    today = today or local_today()
    if period:
        text = str(period).strip()
        if not (text.isdigit() and len(text) == 4 and 2000 <= int(text) <= 2100):
            raise DomainError("考核期间应写作四位年份，如 2026。", field="period")
        year = int(text)
        return Period(date(year, 1, 1), date(year, 12, 31))

    def as_date(value: Any, name: str) -> date | None:
        if value in (None, ""):
            return None
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise DomainError("日期格式应为 YYYY-MM-DD。", field=name) from None

    start = as_date(date_from, "from") or today.replace(month=1, day=1)
    end = as_date(date_to, "to") or max(today, start)
    if end < start:
        raise DomainError("结束日期不能早于开始日期。", field="to")
    result = Period(start, end)
    if len(result.months()) > MAX_MONTHS:
        raise DomainError(f"统计期间最长 {MAX_MONTHS} 个月。", field="from")
    return result


# --- which agencies -----------------------------------------------------------------------------

def agencies_for(actor: Any, agency_id: Any = None, agency_kind: str = "", *, enforcement_only: bool = False
                 ) -> list[Agency]:
    """The office: every active agency (or one, or one kind); anyone else: their own agency only."""
    stmt = sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.sort_order, Agency.id)
    if enforcement_only:
        stmt = stmt.where(Agency.is_enforcement.is_(True))
    if not actor.is_office:
        return list(db.session.execute(stmt.where(Agency.id == actor.agency_id)).scalars())
    if agency_id not in (None, ""):
        try:
            stmt = stmt.where(Agency.id == int(agency_id))
        except (TypeError, ValueError):
            raise DomainError("请选择有效的单位。", field="agency_id") from None
    if agency_kind:
        if agency_kind not in AGENCY_KINDS:
            raise DomainError("单位类别无效。", field="agency_kind")
        stmt = stmt.where(Agency.kind == agency_kind)
    return list(db.session.execute(stmt).scalars())


# --- the figures --------------------------------------------------------------------------------

@dataclass
class AgencyFigures:
    agency: Agency
    months: list[dict[str, int]]
    total: dict[str, int] = field(default_factory=dict)

    @property
    def measures_total(self) -> int:
        return sum(self.total[f"measures.{k}"] for k in MEASURE_KINDS)

    def api(self) -> dict[str, Any]:
        """The figures in the API's shape."""
        t = self.total
        return {
            "agency_id": self.agency.id,
            "measures": {k: t[f"measures.{k}"] for k in MEASURE_KINDS},
            "leads": {k: t[f"leads.{k}"] for k in LEAD_METRICS},
            "interviews_held": t["interviews_held"],
            "follow_ups": {"rectified": t["follow_ups.rectified"], "not_rectified": t["follow_ups.not_rectified"]},
        }


@dataclass
class Figures:
    period: Period
    month_labels: list[str]
    agencies: list[AgencyFigures]
    lists: dict[int, dict[str, Any]]

    def month_totals(self) -> list[dict[str, int]]:
        out = [dict.fromkeys(METRICS, 0) for _ in self.month_labels]
        for row in self.agencies:
            for i, month in enumerate(row.months):
                for key, n in month.items():
                    out[i][key] += n
        return out

    def totals(self) -> dict[str, int]:
        out = dict.fromkeys(METRICS, 0)
        for row in self.agencies:
            for key, n in row.total.items():
                out[key] += n
        return out


def _bucket(column: Any, bounds: list[Any]) -> sa.ColumnElement[int]:
    """The month index of `column`: bounds are the starts of months 2..n (dates or instants)."""
    if not bounds:
        return sa.literal(0)
    return sa.case(*[(column < b, i) for i, b in enumerate(bounds)], else_=len(bounds))


def _in(column: Any, ids: list[int]) -> list[Any]:
    return [column.in_(ids)] if ids else []


def lead_flags(late: bool, ack_on_time: bool | None, reply_on_time: bool | None, overdue_now: bool) -> dict[str, int]:
    """The lead metrics one received lead counts towards (mirrors `lead_predicate`)."""
    return {"received": 1, "ack_on_time": int(ack_on_time is True), "reply_on_time": int(reply_on_time is True),
            "overdue": int(bool(late) or bool(overdue_now)), "acknowledged": int(ack_on_time is not None),
            "replied": int(reply_on_time is not None)}


def compute(agencies: list[Agency], period: Period, *, today: date | None = None, scoped: bool = True) -> Figures:
    """Figures of `agencies` over `period`, per month. `scoped=False` counts every agency (ids unused)."""
    today = today or local_today()
    months = period.months()
    day_bounds = [m[1] for m in months[1:]]
    at_bounds = [local_datetime(m[1], time(0)) for m in months[1:]]
    ids = [a.id for a in agencies] if scoped else []
    per: dict[int, list[dict[str, int]]] = {a.id: [dict.fromkeys(METRICS, 0) for _ in months] for a in agencies}

    def add(agency_id: int, month: int, key: str, n: int) -> None:
        rows = per.get(agency_id)
        if rows is not None and n:
            rows[int(month)][key] += n

    s, e = period.start_at, period.end_at
    # Measures: the covering index (agency_id, measure_on, kind).
    bucket = _bucket(Measure.measure_on, day_bounds)
    stmt = (sa.select(Measure.agency_id, Measure.kind, bucket, sa.func.count())
            .where(Measure.measure_on >= period.start, Measure.measure_on <= period.end, *_in(Measure.agency_id, ids))
            .group_by(Measure.agency_id, Measure.kind, bucket))
    for agency_id, kind, month, n in db.session.execute(stmt):
        add(agency_id, month, f"measures.{kind}", n)
    # Leads received: the covering index (to_agency_id, referred_at, state, late, ack, reply, due_on).
    bucket = _bucket(Lead.referred_at, at_bounds)
    overdue_now = sa.and_(Lead.due_on.is_not(None), Lead.due_on < today)
    stmt = (sa.select(Lead.to_agency_id, bucket, Lead.late, Lead.ack_on_time, Lead.reply_on_time, overdue_now,
                      sa.func.count())
            .where(Lead.referred_at >= s, Lead.referred_at < e, Lead.state != "merged", *_in(Lead.to_agency_id, ids))
            .group_by(Lead.to_agency_id, bucket, Lead.late, Lead.ack_on_time, Lead.reply_on_time, overdue_now))
    for agency_id, month, late, ack, reply, now_overdue, n in db.session.execute(stmt):
        for key, hit in lead_flags(late, ack, reply, now_overdue).items():
            add(agency_id, month, f"leads.{key}", hit * n)
    # Returns (who returned, from the oversight's own record) and supervisions (of the receiver).
    bucket = _bucket(LeadReturn.returned_at, at_bounds)
    stmt = (sa.select(LeadReturn.agency_id, bucket, sa.func.count())
            .where(LeadReturn.returned_at >= s, LeadReturn.returned_at < e, *_in(LeadReturn.agency_id, ids))
            .group_by(LeadReturn.agency_id, bucket))
    for agency_id, month, n in db.session.execute(stmt):
        add(agency_id, month, "leads.returned", n)
    bucket = _bucket(Supervision.created_at, at_bounds)
    stmt = (sa.select(Lead.to_agency_id, bucket, sa.func.count()).select_from(Supervision)
            .join(Lead, Lead.id == Supervision.lead_id)
            .where(Supervision.created_at >= s, Supervision.created_at < e, *_in(Lead.to_agency_id, ids))
            .group_by(Lead.to_agency_id, bucket))
    for agency_id, month, n in db.session.execute(stmt):
        add(agency_id, month, "leads.supervised", n)
    # Interviews held, for every agency that took part (organiser or co-organiser).
    bucket = _bucket(Interview.start_at, at_bounds)
    stmt = (sa.select(InterviewAgency.agency_id, bucket, sa.func.count())
            .join(Interview, Interview.id == InterviewAgency.interview_id)
            .where(Interview.status == "held", Interview.start_at >= s, Interview.start_at < e,
                   *_in(InterviewAgency.agency_id, ids))
            .group_by(InterviewAgency.agency_id, bucket))
    for agency_id, month, n in db.session.execute(stmt):
        add(agency_id, month, "interviews_held", n)
    # Follow-up visits made in the period, by the visiting agency.
    bucket = _bucket(FollowUp.visited_at, at_bounds)
    stmt = (sa.select(FollowUp.agency_id, FollowUp.result, bucket, sa.func.count())
            .where(FollowUp.status == "done", FollowUp.visited_at >= s, FollowUp.visited_at < e,
                   *_in(FollowUp.agency_id, ids))
            .group_by(FollowUp.agency_id, FollowUp.result, bucket))
    for agency_id, result, month, n in db.session.execute(stmt):
        if result in ("rectified", "not_rectified"):
            add(agency_id, month, f"follow_ups.{result}", n)
    rows = []
    for agency in agencies:
        months_of = per[agency.id]
        total = dict.fromkeys(METRICS, 0)
        for month in months_of:
            for key, n in month.items():
                total[key] += n
        rows.append(AgencyFigures(agency, months_of, total))
    return Figures(period, [m[0] for m in months], rows, list_status(agencies, today))


def list_status(agencies: Iterable[Agency], today: date) -> dict[int, dict[str, Any]]:
    """Per agency and kind: the list in force (published when, age in days) and its first publication."""
    ids = [a.id for a in agencies]
    out: dict[int, dict[str, Any]] = {i: {k: {"published_at": None, "age_days": None, "first_published_at": None}
                                          for k in LIST_KINDS} for i in ids}
    if not ids:
        return out
    stmt = (sa.select(ListVersion.agency_id, ListVersion.kind, ListVersion.state, ListVersion.published_at)
            .where(ListVersion.agency_id.in_(ids), ListVersion.published_at.is_not(None)))
    for agency_id, kind, state, published_at in db.session.execute(stmt):
        entry = out[agency_id][kind]
        if entry["first_published_at"] is None or published_at < entry["first_published_at"]:
            entry["first_published_at"] = published_at
        if state == "published":
            entry["published_at"] = published_at
            entry["age_days"] = (today - to_local(published_at).date()).days
    return out


# --- the records behind a number ----------------------------------------------------------------

@dataclass
class Record:
    at: datetime | date
    title: str
    url: str
    agency: str


def lead_predicate(metric: str, today: date) -> list[Any]:
    """Which received leads a lead metric counts (mirrors `lead_flags`)."""
    return {
        "received": [],
        "ack_on_time": [Lead.ack_on_time.is_(True)],
        "reply_on_time": [Lead.reply_on_time.is_(True)],
        "acknowledged": [Lead.ack_on_time.is_not(None)],
        "replied": [Lead.reply_on_time.is_not(None)],
        "overdue": [sa.or_(Lead.late.is_(True), sa.and_(Lead.due_on.is_not(None), Lead.due_on < today))],
    }[metric]


def records(actor: Any, metric: str, agency_ids: list[int] | None, period: Period, *, today: date | None = None,
            limit: int = 1000) -> tuple[list[Record], int]:
    """The records one figure counts (the first `limit`) and how many there are. `agency_ids` None:
    every agency (the office only); anyone else sees only their own agency's."""
    from flask import url_for

    today = today or local_today()
    if not actor.is_office and agency_ids != [actor.agency_id]:
        raise NotFound("记录不存在或您无权查看。")
    s, e = period.start_at, period.end_at

    def of(column: Any) -> list[Any]:
        return [] if agency_ids is None else [column.in_(agency_ids)]

    if metric.startswith("leads.") and metric[6:] in (*LEAD_METRICS, *LEAD_EXTRA):
        key = metric[6:]
        if key == "returned":
            stmt = (sa.select(Lead, LeadReturn.returned_at).join(LeadReturn, LeadReturn.lead_id == Lead.id)
                    .where(*of(LeadReturn.agency_id), LeadReturn.returned_at >= s, LeadReturn.returned_at < e)
                    .order_by(LeadReturn.returned_at))
        elif key == "supervised":
            stmt = (sa.select(Lead, Supervision.created_at).join(Supervision, Supervision.lead_id == Lead.id)
                    .where(*of(Lead.to_agency_id), Supervision.created_at >= s, Supervision.created_at < e)
                    .order_by(Supervision.created_at))
        else:
            stmt = (sa.select(Lead, Lead.referred_at)
                    .where(*of(Lead.to_agency_id), Lead.referred_at >= s, Lead.referred_at < e,
                           Lead.state != "merged", *lead_predicate(key, today))
                    .order_by(Lead.referred_at))
        total = db.session.execute(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
        rows = db.session.execute(stmt.limit(limit)).unique().all()
        return [Record(at, f"{lead.number}：{lead.party_name}，{lead.matter}（{lead.state_label}）",
                       url_for("referrals.show", lead_id=lead.id), lead.to_agency.name) for lead, at in rows], total
    if metric == "interviews_held":
        stmt = (sa.select(Interview, InterviewAgency.agency_id)
                .join(InterviewAgency, InterviewAgency.interview_id == Interview.id)
                .where(*of(InterviewAgency.agency_id), Interview.status == "held", Interview.start_at >= s,
                       Interview.start_at < e).order_by(Interview.start_at, InterviewAgency.agency_id))
        rows = db.session.execute(stmt).unique().all()
        names = _agency_names({agency_id for _, agency_id in rows})
        return [Record(i.start_at, f"{i.title}（{i.party.name}）", url_for("interviews.show", interview_id=i.id),
                       names.get(agency_id, "")) for i, agency_id in rows[:limit]], len(rows)
    if metric in ("follow_ups.rectified", "follow_ups.not_rectified"):
        stmt = (sa.select(FollowUp).where(*of(FollowUp.agency_id), FollowUp.status == "done",
                                          FollowUp.result == metric.split(".")[1], FollowUp.visited_at >= s,
                                          FollowUp.visited_at < e).order_by(FollowUp.visited_at))
        rows = list(db.session.execute(stmt).scalars())
        out = []
        for v in rows[:limit]:
            if v.interview_id:
                out.append(Record(v.visited_at, f"{v.interview.party.name}：{v.item.requirement}（{v.result_label}）",
                                  url_for("interviews.show", interview_id=v.interview_id), v.agency.name))
            else:
                m = v.observed_measure
                out.append(Record(v.visited_at, f"{m.party.name}：{m.observation_requirement or m.matter}"
                                                f"（{v.result_label}）", url_for("measures.show", measure_id=m.id),
                                  v.agency.name))
        return out, len(rows)
    raise DomainError("统计项无效。", field="metric")


def _agency_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Agency.id, Agency.name).where(Agency.id.in_(ids))).all())


def drill_url(metric: str, agency_id: int | None, start: date, end: date, agency_kind: str = "") -> str:
    """Where a number leads: measures into the register itself (same filters), the rest to `records`."""
    from flask import url_for

    dates = {"from": start.isoformat(), "to": end.isoformat()}
    scope = {"agency_id": agency_id} if agency_id else {"agency_kind": agency_kind or None}
    if metric.startswith("measures."):
        kind = metric.split(".", 1)[1]
        return url_for("measures.index", kind=None if kind == "all" else kind, **scope, **dates)
    return url_for("oversight.records", metric=metric, **scope, **dates)
