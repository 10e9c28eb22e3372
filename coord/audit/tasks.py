"""The worker writes an audit checkpoint every few minutes (COORD_AUDIT_CHECKPOINT_MINUTES, 5)."""
from __future__ import annotations

import os

from huey import crontab

from coord.notify.tasks import _app_context, huey

MINUTES = max(1, min(59, int(os.environ.get("COORD_AUDIT_CHECKPOINT_MINUTES", "5"))))


@huey.periodic_task(crontab(minute=f"*/{MINUTES}"))
def audit_checkpoint() -> int | None:
    """Append the chain's head to the checkpoint file (nothing when it has not moved)."""
    from coord.audit.chain import write_checkpoint

    with _app_context():
        point = write_checkpoint()
        return point.entries if point else None
