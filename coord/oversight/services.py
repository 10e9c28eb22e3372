"""Oversight's own records: who returned or was supervised on which lead (from the events), and the demo rules.

The figures themselves are reads (`coord.oversight.queries`); the assessment rules are changed in
`coord.oversight.assessment` (versioned, audited).
"""
from __future__ import annotations

from typing import Any

from coord import events
from coord.dbtypes import write_lock
from coord.demo import register_seeder
from coord.extensions import db
from coord.oversight import assessment
from coord.oversight.models import LeadEvent
from coord.referrals.models import Lead, Supervision


@events.lead_returned.connect
def record_return(lead_id: int, **_data: Any) -> None:
    """Keep the returning agency: the lead itself will name the next receiver once it is redirected."""
    write_lock(db.session)
    lead = db.session.get(Lead, lead_id)
    if lead is None or lead.returned_at is None:
        return
    db.session.add(LeadEvent(kind="returned", lead_id=lead.id, agency_id=lead.to_agency_id, at=lead.returned_at))
    db.session.commit()


@events.lead_supervised.connect
def record_supervision(lead_id: int, **data: Any) -> None:
    """Keep the agency supervised (the lead's receiver when the office supervised it)."""
    write_lock(db.session)
    lead = db.session.get(Lead, lead_id)
    item = db.session.get(Supervision, data.get("supervision_id")) if data.get("supervision_id") else None
    if lead is None or item is None:
        return
    db.session.add(LeadEvent(kind="supervised", lead_id=lead.id, agency_id=lead.to_agency_id, at=item.created_at))
    db.session.commit()


register_seeder("assessment_rules", assessment.seed_default)
