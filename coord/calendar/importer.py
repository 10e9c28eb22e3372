"""Reading an .ics file into busy intervals (icalendar to parse, recurring-ical-events to expand)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from coord.errors import DomainError
from coord.inputs import clean_text
from coord.timeutil import local_tz

MAX_OCCURRENCES = 5000
MAX_BLOCK = timedelta(days=92)  # the scheduler's limit for one busy block
WINDOW_BEFORE = timedelta(days=7)
WINDOW_AFTER = timedelta(days=400)


@dataclass(frozen=True)
class Occurrence:
    key: str  # UID + occurrence start: stable across re-imports of the same calendar
    start: datetime
    end: datetime
    reason: str


def read_busy(data: bytes, *, limit: int, now: datetime | None = None) -> tuple[list[Occurrence], list[str]]:
    """Busy intervals from the window around now; raises DomainError (nothing read) on a bad file."""
    import icalendar
    import recurring_ical_events

    if not data:
        raise DomainError("请选择要导入的 .ics 日历文件。", field="file")
    if len(data) > limit:
        raise DomainError(f"文件过大（{len(data) // 1024} KB），日历文件不能超过 {limit // 1024} KB。"
                          "请在日历软件中只导出近期的日程。", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError("文件不是 UTF-8 编码的 iCalendar（.ics）文件。", field="file") from None
    # RFC 5545 allows no control characters but HTAB in a value; some exporters leave U+0000 or the
    # like in a SUMMARY. They mean nothing, so they are dropped rather than the file refused.
    text = clean_text(text)
    if "BEGIN:VCALENDAR" not in text[:2000].upper():
        raise DomainError("文件不是 iCalendar（.ics）日历文件：缺少 BEGIN:VCALENDAR。", field="file")
    try:
        cal = icalendar.Calendar.from_ical(text)
    except Exception as err:  # icalendar raises ValueError and friends on malformed content
        raise DomainError(f"无法解析日历文件：{_short(err)}", field="file") from None
    if getattr(cal, "name", "") != "VCALENDAR":
        raise DomainError("文件不是 iCalendar（.ics）日历文件。", field="file")
    recurring: set[str] = set()  # UIDs with RRULE/RDATE or overrides: keyed per occurrence
    seen: set[str] = set()
    for number, ev in enumerate(cal.walk("VEVENT"), start=1):
        _check_event(ev, number)
        uid = str(ev.get("UID", ""))
        if "RRULE" in ev or "RDATE" in ev or "RECURRENCE-ID" in ev or uid in seen:
            recurring.add(uid)
        seen.add(uid)

    now = now or datetime.now(UTC)
    tz = local_tz()
    try:
        found = recurring_ical_events.of(cal).between(now - WINDOW_BEFORE, now + WINDOW_AFTER)
        occurrences: dict[str, Occurrence] = {}
        skipped: list[str] = []
        for count, ev in enumerate(found, start=1):
            if count > MAX_OCCURRENCES:
                raise DomainError(f"文件中的日程超过 {MAX_OCCURRENCES} 条（含重复日程展开），请缩小导出范围。",
                                  field="file")
            if str(ev.get("TRANSP", "")).upper() == "TRANSPARENT" or str(ev.get("STATUS", "")).upper() == "CANCELLED":
                continue
            summary = str(ev.get("SUMMARY", "") or "").strip()
            start = _instant(ev.decoded("DTSTART"), tz)
            end = _instant(ev.decoded("DTEND"), tz) if "DTEND" in ev else start + ev.decoded("DURATION")
            if end <= start:
                continue  # zero-length: not busy
            if end - start > MAX_BLOCK:
                skipped.append(f"“{summary or '未命名'}”超过 92 天")
                continue
            uid = str(ev.get("UID", ""))
            key = uid if uid and uid not in recurring else f"{uid}|{_occurrence_id(ev, start)}"
            key = key[:300]
            occurrences[key] = Occurrence(key, start, end, (summary or "日历导入")[:200])
    except DomainError:
        raise
    except Exception as err:
        raise DomainError(f"无法展开日历中的日程：{_short(err)}", field="file") from None
    return list(occurrences.values()), skipped


def _check_event(ev, number: int) -> None:
    summary = str(ev.get("SUMMARY", "") or "").strip() or f"第 {number} 个日程"
    if "DTSTART" not in ev:
        raise DomainError(f"日程“{summary}”没有开始时间（DTSTART），未导入任何内容。", field="file")
    try:
        start = ev.decoded("DTSTART")
        if "DTEND" in ev:
            ev.decoded("DTEND")
        if "DURATION" in ev:
            ev.decoded("DURATION")
    except Exception:
        raise DomainError(f"日程“{summary}”的时间格式无效，未导入任何内容。", field="file") from None
    if isinstance(start, datetime) and "DTEND" not in ev and "DURATION" not in ev:
        raise DomainError(f"日程“{summary}”没有结束时间（DTEND 或 DURATION），未导入任何内容。", field="file")


def _occurrence_id(ev, start: datetime) -> str:
    """Which occurrence of a series this is: its RECURRENCE-ID (the original start), in UTC."""
    rid = ev.decoded("RECURRENCE-ID") if "RECURRENCE-ID" in ev else start
    return _instant(rid, local_tz()).strftime("%Y%m%dT%H%M%SZ")


def _instant(value: date | datetime, tz) -> datetime:
    """Aware UTC. A floating time or an all-day date is read in local time (Asia/Shanghai)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    return datetime.combine(value, time(), tzinfo=tz).astimezone(UTC)


def _short(err: Exception) -> str:
    return (str(err) or type(err).__name__).splitlines()[0][:200]
