"""Time zone helpers: store UTC, show and reason in Asia/Shanghai."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def local_tz() -> ZoneInfo:
    name = current_app.config["TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def to_local(value: datetime) -> datetime:
    return value.astimezone(local_tz())


def local_datetime(day: date, at: time) -> datetime:
    """An aware instant for a wall-clock time on a local day."""
    return datetime.combine(day, at, tzinfo=local_tz())


def local_today() -> date:
    return datetime.now(UTC).astimezone(local_tz()).date()


def isoformat_local(value: datetime | None) -> str | None:
    """ISO 8601 with the local offset (+08:00), as the API promises."""
    return None if value is None else to_local(value).isoformat()


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601; a time without offset is read as local time."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_tz())
    return value


def fmt_local(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else to_local(value).strftime(pattern)
