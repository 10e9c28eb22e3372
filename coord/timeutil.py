"""Time zone helpers: store UTC, show and reason in Asia/Shanghai."""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context, has_request_context

from coord.lang import forced_language


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


# Chinese date patterns and their English form ({d}: day of the month without a leading zero).
_ENGLISH_PATTERNS: tuple[tuple[str, str], ...] = (
    ("%Y年%m月%d日", "{d} %b %Y"), ("%m月%d日", "{d} %b"), ("%Y年%m月", "%b %Y"), ("%Y年", "%Y"),
    ("%H时%M分", "%H:%M"), ("%H:%M分", "%H:%M"),
)
_WEEKDAYS_ZH = "一二三四五六日"


def english() -> bool:
    """Is the current request shown in English, or is a mail to an English reader being written
    (`coord.lang.in_language`)? (Otherwise outside a request: no — audit and documents written by the
    worker or the CLI are Chinese.)"""
    forced = forced_language()
    if forced is not None:
        return forced == "en"
    if not has_request_context():
        return False
    from flask_babel import get_locale

    return str(get_locale()) == "en"


def _pattern(value: date, pattern: str) -> str:
    if english():
        for zh, en in _ENGLISH_PATTERNS:
            pattern = pattern.replace(zh, en)
        pattern = pattern.replace("周%a", "%a").replace("星期%a", "%a")
        return value.strftime(pattern.replace("{d}", str(value.day)))
    if "%a" in pattern:  # strftime's %a is English (C locale): the Chinese day name instead
        pattern = pattern.replace("%a", _WEEKDAYS_ZH[value.weekday()])
    return value.strftime(pattern)


def fmt_local(value: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored instant as local wall time. Chinese patterns (%Y年%m月%d日, %m月%d日 …) are shown the English
    way to a user who chose English ("2 Dec 2026", "2 Dec 09:30"); numeric patterns are the same in both."""
    return "" if value is None else _pattern(to_local(value), pattern)


def fmt_date(value: date | None, pattern: str = "%Y年%m月%d日") -> str:
    """A calendar day, by default the long way: 2026年12月02日, or in English 2 Dec 2026 (Jinja: |localdate)."""
    return "" if value is None else _pattern(value, pattern)
