"""The worker queues lead reminders every hour; each reminder goes out once (see reminders.py)."""
from __future__ import annotations

from huey import crontab

from coord.notify.tasks import _app_context, huey


@huey.periodic_task(crontab(minute="7"))
def lead_reminders() -> int:
    from coord.referrals.reminders import send_reminders

    with _app_context():
        return send_reminders()
