"""The worker polls the reply mailbox (Huey periodic task) when `COORD_IMAP_HOST` is set."""
from __future__ import annotations

import logging

from flask import current_app
from huey import crontab

from coord.dbtypes import utcnow
from coord.mailin import imap
from coord.notify.tasks import _app_context, huey

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*"))
@huey.lock_task("coord-mail-poll")  # one poller at a time, however many workers run
def poll_mailbox() -> str:
    with _app_context():
        config = current_app.config
        every = max(int(config.get("IMAP_POLL_MINUTES") or 1), 1)
        if not imap.configured(config) or utcnow().minute % every:
            return "skipped"
        result = imap.poll(config)
        log.info("mail poll: %s", result.summary)
        return result.summary
