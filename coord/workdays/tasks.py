"""The worker keeps the current year and the years ahead built (hourly; a no-op when they exist)."""
from __future__ import annotations

from huey import crontab

from coord.notify.tasks import _app_context, huey


@huey.periodic_task(crontab(minute="17"))
def calendar_years() -> list[int]:
    from coord.workdays.services import ensure_years

    with _app_context():
        return ensure_years()
