"""Reads shared by pages, the API, the worklist (#12) and the oversight figures (#14).

The worklist sections are in `coord.party.worklist`.
Oversight: `ratings(agency_id, date_from, date_to)` — the party's ratings per agency and period.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from coord.agencies.models import Agency
from coord.extensions import db
from coord.interviews.models import Interview, InterviewAgency
from coord.party.models import STAGES, IntegrityReport, PartyFeedback, PartyResponse
from coord.timeutil import isoformat_local, local_datetime

# --- the party's answer ---------------------------------------------------------------------------

def current_response(interview: Interview) -> PartyResponse | None:
    """The party's answer to the interview's current time (an accepted request whose chosen time is
    now the interview's time counts as the answer to it)."""
    if interview.start_at is None:
        return None
    return db.session.execute(sa.select(PartyResponse).where(
        PartyResponse.interview_id == interview.id, PartyResponse.status != "withdrawn",
        sa.or_(PartyResponse.for_start_at == interview.start_at,
               sa.and_(PartyResponse.status == "accepted", PartyResponse.chosen_start_at == interview.start_at)),
    ).order_by(PartyResponse.id.desc()).limit(1)).scalar_one_or_none()


def latest_response(interview_id: int) -> PartyResponse | None:
    return db.session.execute(sa.select(PartyResponse).where(PartyResponse.interview_id == interview_id)
                              .order_by(PartyResponse.id.desc()).limit(1)).scalar_one_or_none()


def party_response(interview: Interview) -> dict[str, Any] | None:
    """`party_response` of the interview API: the answer to the current time, or None."""
    row = current_response(interview)
    if row is None:
        return None
    return {
        "status": row.kind,  # confirmed | reschedule_requested
        "reason": row.reason,
        "starts": row.starts,
        "outcome": row.status,  # noted | open | accepted | declined
        "decision_reason": row.decision_reason,
        "chosen_start": isoformat_local(row.chosen_start_at),
        "answered_at": isoformat_local(row.created_at),
        "by": row.link.attendee_name if row.link else "",
    }


# --- ratings (office) -------------------------------------------------------------------------

@dataclass
class Period:
    date_from: date | None
    date_to: date | None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        lower = local_datetime(self.date_from, time.min) if self.date_from else None
        upper = local_datetime(self.date_to + timedelta(days=1), time.min) if self.date_to else None
        return lower, upper


def _in_period(column, period: Period) -> list[sa.ColumnElement[bool]]:
    lower, upper = period.bounds()
    return [c for c in ((column >= lower) if lower else None, (column < upper) if upper else None) if c is not None]


def ratings(agency_id: int | None = None, date_from: date | None = None, date_to: date | None = None) -> list[dict]:
    """The party's ratings per agency (every agency taking part in the rated interview) and period
    (local days of the rating), with counts and averages per stage and the integrity reports' count."""
    period = Period(date_from, date_to)
    stmt = (sa.select(InterviewAgency.agency_id, Agency.name, PartyFeedback.stage, sa.func.count(PartyFeedback.id),
                      sa.func.sum(PartyFeedback.process_rating), sa.func.sum(PartyFeedback.conduct_rating))
            .join(InterviewAgency, InterviewAgency.interview_id == PartyFeedback.interview_id)
            .join(Agency, Agency.id == InterviewAgency.agency_id)
            .where(*_in_period(PartyFeedback.created_at, period))
            .group_by(InterviewAgency.agency_id, Agency.name, PartyFeedback.stage))
    reports = (sa.select(InterviewAgency.agency_id, sa.func.count(IntegrityReport.id))
               .join(InterviewAgency, InterviewAgency.interview_id == IntegrityReport.interview_id)
               .where(*_in_period(IntegrityReport.created_at, period)).group_by(InterviewAgency.agency_id))
    if agency_id:
        stmt = stmt.where(InterviewAgency.agency_id == agency_id)
        reports = reports.where(InterviewAgency.agency_id == agency_id)
    report_counts = dict(db.session.execute(reports).all())
    rows: dict[int, dict] = {}
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0])
    for aid, name, stage, count, process, conduct in db.session.execute(stmt):
        row = rows.setdefault(aid, {"agency_id": aid, "agency": name, "stages": {}})
        row["stages"][stage] = {"label": STAGES.get(stage, stage), "count": count,
                                "process_avg": round(process / count, 2), "conduct_avg": round(conduct / count, 2)}
        total = sums[aid]
        total[0], total[1], total[2] = total[0] + count, total[1] + process, total[2] + conduct
    out = []
    for aid, row in rows.items():
        count, process, conduct = sums[aid]
        out.append({**row, "count": count, "process_avg": round(process / count, 2),
                    "conduct_avg": round(conduct / count, 2), "integrity_reports": report_counts.get(aid, 0)})
    for aid, n in report_counts.items():
        if aid not in rows:
            name = db.session.get(Agency, aid).name
            out.append({"agency_id": aid, "agency": name, "stages": {}, "count": 0, "process_avg": None,
                        "conduct_avg": None, "integrity_reports": n})
    return sorted(out, key=lambda r: (-r["count"], r["agency"]))


def feedback_rows(date_from: date | None = None, date_to: date | None = None, limit: int = 500) -> list[PartyFeedback]:
    """Single ratings with their comments (office page), newest first."""
    stmt = (sa.select(PartyFeedback).where(*_in_period(PartyFeedback.created_at, Period(date_from, date_to)))
            .order_by(PartyFeedback.id.desc()).limit(limit))
    return list(db.session.execute(stmt).scalars())


def integrity_reports(date_from: date | None = None, date_to: date | None = None,
                      limit: int = 500) -> list[IntegrityReport]:
    stmt = (sa.select(IntegrityReport).where(*_in_period(IntegrityReport.created_at, Period(date_from, date_to)))
            .order_by(IntegrityReport.id.desc()).limit(limit))
    return list(db.session.execute(stmt).scalars())
