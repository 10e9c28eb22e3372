"""The worker announces follow-up visits that are due, every hour (see reminders.py)."""
from __future__ import annotations

from huey import crontab

from coord.notify.tasks import _app_context, huey


@huey.periodic_task(crontab(minute="17"))
def due_visits() -> int:
    from coord.interviews.reminders import announce_due_visits

    with _app_context():
        return announce_due_visits()
