"""Oversight's own records: who returned which lead (from the `lead_returned` event), and the demo rules.

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
from coord.oversight.models import LeadReturn
from coord.referrals.models import Lead


@events.lead_returned.connect
def record_return(lead_id: int, **_data: Any) -> None:
    """Keep the returning agency: the lead itself will name the next receiver once it is redirected."""
    write_lock(db.session)
    lead = db.session.get(Lead, lead_id)
    if lead is None or lead.returned_at is None:
        return
    db.session.add(LeadReturn(lead_id=lead.id, agency_id=lead.to_agency_id, returned_at=lead.returned_at))
    db.session.commit()


register_seeder("assessment_rules", assessment.seed_default)
