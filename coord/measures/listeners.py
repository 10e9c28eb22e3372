"""Automatic entries in the register, from the events the other features announce.

- `lead_replied` with outcome `flexible`: the receiver's entry of the measure it took;
- `interview_held` (marked held, or minutes finalised): the lead agency's 约谈告诫 entry;
- `follow_up_visited` (a visit recorded on the 回访任务 page): the 回访 entry. A 回访 entered in the
  register records its visit itself, so the listener finds it and does nothing.

Each runs after the change was committed and commits its own entry (once per lead, interview or
visit: the register's unique columns would refuse a second one anyway).
"""
from __future__ import annotations

from typing import Any

from coord import events
from coord.accounts.models import User
from coord.extensions import db
from coord.measures import services


def _actor(data: dict[str, Any]) -> User | None:
    actor_id = data.get("actor_id")
    return db.session.get(User, actor_id) if actor_id else None


@events.lead_replied.connect
def entry_for_flexible_reply(lead_id: int, **data: Any) -> None:
    if data.get("outcome") == "flexible":
        services.record_from_lead(lead_id, _actor(data))


@events.interview_held.connect
def entry_for_held_interview(interview_id: int, **data: Any) -> None:
    services.record_from_interview(interview_id, _actor(data))


@events.follow_up_visited.connect
def entry_for_visit(follow_up_id: int, **data: Any) -> None:
    services.record_from_visit(follow_up_id, _actor(data))
