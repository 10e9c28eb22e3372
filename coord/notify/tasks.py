"""The task queue (Huey): SQLite file in development, Redis when REDIS_URL is set.

Tasks carry only an outbox row id; the row holds the message and its state, so a lost or
duplicated task costs nothing: the claim in `services.deliver` decides who sends.
"""
from __future__ import annotations

import logging

from flask import Flask
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

log = logging.getLogger(__name__)

# Storage is chosen per app in `configure`; tasks must be registered at import time.
huey = Huey("coord", storage_class=MemoryStorage)
_app: Flask | None = None


def configure(app: Flask) -> None:
    global _app
    _app = app
    huey.immediate = bool(app.config.get("HUEY_IMMEDIATE"))  # tests/debugging: run in the caller
    if huey.immediate:
        return
    if app.config.get("REDIS_URL"):
        huey.storage = RedisStorage("coord", url=app.config["REDIS_URL"])
    else:
        huey.storage = SqliteStorage("coord", filename=app.config["HUEY_SQLITE_PATH"])


def enqueue_delivery(message_id: int) -> None:
    deliver_task(message_id)


# Huey's own retries cover unexpected errors (the database briefly away); SMTP trouble is
# handled by the outbox itself, which records each attempt and its back-off on the row.
@huey.task(retries=5, retry_delay=10, retry_backoff=2)
def deliver_task(message_id: int) -> str:
    from coord.extensions import db
    from coord.notify import services
    from coord.notify.models import OutboxMessage

    with _app_context():
        status = services.deliver(message_id)
        if status == "queued":  # a temporary failure: come back when its back-off ends
            row = db.session.get(OutboxMessage, message_id)
            if row is not None and not huey.immediate:
                deliver_task.schedule(args=(message_id,), eta=row.next_attempt_at)
        return status


@huey.periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    """Every minute: re-enqueue what is due, so nothing waits on an enqueue that never happened."""
    from coord.notify import services

    with _app_context():
        services.release_stale()
        ids = services.due_ids()
    for message_id in ids:
        deliver_task(message_id)
    return len(ids)


def _app_context():
    if _app is None:
        raise RuntimeError("coord.notify.tasks.configure(app) was not called")
    return _app.app_context()
