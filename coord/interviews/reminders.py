"""Follow-up visits that fall due are announced (`events.follow_up_due`), so notifications follow.

The worker runs this every hour. A pending visit is announced from its due day on, for a week, so a
worker that was down on the day still tells; listeners keep one notification per visit and due day.
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from coord import events
from coord.extensions import db
from coord.interviews.models import FollowUp
from coord.timeutil import local_today

ANNOUNCE_DAYS = 7


def announce_due_visits(today: date | None = None) -> int:
    """Announce every pending visit due in the last week (today included); returns how many."""
    today = today or local_today()
    rows = db.session.execute(
        sa.select(FollowUp.id, FollowUp.due).where(
            FollowUp.status == "pending", FollowUp.due <= today, FollowUp.due > today - timedelta(days=ANNOUNCE_DAYS))
        .order_by(FollowUp.due, FollowUp.id)
    ).all()
    for visit_id, due in rows:
        events.announce(events.follow_up_due, visit_id, due=due)
    db.session.commit()  # nothing written: the commit sends the announcements
    return len(rows)
