"""The worker sends the daily digest: checked every five minutes, sent from 08:30 on working days."""
from __future__ import annotations

from huey import crontab

from coord.notify.tasks import _app_context, huey


@huey.periodic_task(crontab(minute="*/5"))
def notification_digests() -> int:
    from coord.notifications.services import send_digests

    with _app_context():
        return send_digests()
