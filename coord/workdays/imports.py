"""Importing 《国务院办公厅关于YYYY年部分节假日安排的通知》: preview, then apply.

The preview compares what the notice makes of its year with the table and asks the features what
that would move (`coord.workdays.impact`). Applying writes the year in one transaction with an
audit entry: the year becomes official, the notice its source, its version rises. After the commit
`calendar_days_changed` carries the changed days to the features, which recompute their clocks.

Two applies at once: the calendar is locked for the write; a preview names the year's version it
was made against, and confirming it after someone else changed the year is refused as stale.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from coord.audit import services as audit
from coord.dbtypes import utcnow
from coord.errors import Conflict, Forbidden
from coord.extensions import db
from coord.timeutil import local_today
from coord.workdays import notice as notice_parser
from coord.workdays import services
from coord.workdays.impact import ChangeSet, Impact, impacts
from coord.workdays.models import CalendarYear, WorkDay
from coord.workdays.notice import Notice, NoticeError

MAX_TEXT = 50_000


@dataclass
class Preview:
    notice: Notice
    status: str | None  # the year's status before (None: not in the table yet)
    version: int  # the year's version the preview was made against (0: no year yet)
    changes: list[services.DayChange]
    affected: dict[str, list[Impact]]
    created: int = 0  # days the year would add to the table
    applied: bool = False
    wanted: dict[date, tuple[bool, str, str]] = field(default_factory=dict, repr=False)

    @property
    def year(self) -> int:
        return self.notice.year

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "year": self.year,
            "holidays": [{"date": d.isoformat(), "name": n} for d, n in self.notice.holidays.items()],
            "workdays": [d.isoformat() for d in self.notice.workdays],
            "changes": [{"date": c.day.isoformat(), "is_workday": c.is_workday, "was_workday": c.was_workday}
                        for c in self.changes],
            "affected": {k: [i.record_id for i in v] for k, v in self.affected.items()},
            "status": self.status,
            "version": self.version,
        }
        if self.applied:
            body["applied"] = True
        return body


def read(text: str, today: date | None = None) -> Notice:
    """Parse the text and check its year may be imported; NoticeError (with the line) otherwise."""
    if text is not None and len(text) > MAX_TEXT:
        raise NoticeError(1, f"文本过长（超过 {MAX_TEXT} 个字符），请只粘贴通知全文。")
    today = today or local_today()
    return notice_parser.parse(text or "", years=range(2000, today.year + 3))


def _wanted(parsed: Notice) -> dict[date, tuple[bool, str, str]]:
    """Every day of the notice's year as the notice makes it, plus the days it names in a
    neighbouring year (e.g. 2022-12-31 in 2023's 元旦) where that year is in the table."""
    out: dict[date, tuple[bool, str, str]] = {}
    day = date(parsed.year, 1, 1)
    while day.year == parsed.year:
        out[day] = _value(parsed, day)
        day += timedelta(days=1)
    outside = [d for d in (*parsed.holidays, *parsed.workdays) if d.year != parsed.year]
    if outside:
        have = set(db.session.execute(sa.select(WorkDay.day).where(WorkDay.day.in_(outside))).scalars())
        out.update({d: _value(parsed, d) for d in outside if d in have})
    return out


def _value(parsed: Notice, day: date) -> tuple[bool, str, str]:
    if day in parsed.workdays:
        return True, f"调休上班（{parsed.workdays[day]}）", "notice"
    if day in parsed.holidays:
        return False, parsed.holidays[day], "notice"
    return day.weekday() < 5, "", "notice"


def _plan(parsed: Notice) -> tuple[dict[date, tuple[bool, str, str]], list[services.DayChange], int]:
    wanted = _wanted(parsed)
    current = services.known_days(min(wanted), max(wanted))
    changes = [services.DayChange(d, current[d], w, note) for d, (w, note, _s) in sorted(wanted.items())
               if d in current and current[d] != w]
    created = sum(1 for d in wanted if d not in current)
    return wanted, changes, created


def _require_office(actor: Any) -> None:
    if not getattr(actor, "is_office", False):
        raise Forbidden("仅领导小组办公室可导入放假安排通知。")


def preview(actor: Any, text: str, today: date | None = None) -> Preview:
    """What importing the notice would change: days, and the records the features say it moves."""
    _require_office(actor)
    parsed = read(text, today)
    row = services.get_year(parsed.year)
    wanted, changes, created = _plan(parsed)
    return Preview(parsed, row.status if row else None, row.version if row else 0, changes,
                   impacts(ChangeSet.proposed(changes)), created, wanted=wanted)


def stale_message(year: int) -> str:
    return (f"预览已过期：{year} 年的工作日历在您预览之后已被修改（他人导入了通知或修改了日期），"
            "以下是按当前日历重新生成的预览，请核对后再确认。")


def apply(actor: Any, text: str, *, version: int | None = None, today: date | None = None) -> Preview:
    """Write the notice's year in one transaction with its audit entry; the year becomes official.

    With `version` (from the preview the office confirmed) a year changed since is refused (409);
    the same notice applied twice changes nothing the second time."""
    _require_office(actor)
    parsed = read(text, today)
    services.lock_calendar()
    row = services.get_year(parsed.year)
    if row is not None and db.session.get_bind().dialect.name == "postgresql":
        db.session.refresh(row)  # read it after the lock, not from before it
    current_version = row.version if row else 0
    if version is not None and version != current_version:
        raise Conflict(stale_message(parsed.year), details={"stale": True, "version": current_version,
                                                             "year": parsed.year})
    wanted, changes, created = _plan(parsed)
    digest = hashlib.sha256(text.strip().encode()).hexdigest()
    result = Preview(parsed, row.status if row else None, current_version, changes,
                     impacts(ChangeSet.proposed(changes)), created, applied=True, wanted=wanted)
    if row is not None and row.status == "official" and row.notice_sha256 == digest and not changes:
        db.session.rollback()  # the same notice again: nothing to do
        return result
    before = None if row is None else {"status": row.status, "source": row.source, "version": row.version}
    changes, _written = services.write_days(wanted)
    if row is None:
        row = CalendarYear(year=parsed.year, status="official", version=0)
        db.session.add(row)
    row.status, row.source = "official", f"《{parsed.title}》"
    row.notice_text, row.notice_sha256 = text.strip(), digest
    row.version = current_version + 1
    row.updated_at, row.updated_by_id = utcnow(), getattr(actor, "id", None)
    result.version = row.version
    db.session.flush()
    audit.record(actor, "calendar.notice", "calendar_year", parsed.year,
                 summary=f"导入《{parsed.title}》：{len(changes)} 天变化，{parsed.year} 年工作日历转为正式",
                 before=before,
                 after={"status": "official", "source": row.source, "version": row.version,
                        "changes": [{"date": c.day.isoformat(), "is_workday": c.is_workday} for c in changes],
                        "affected": {k: len(v) for k, v in result.affected.items()}})
    services.announce_changes(actor, changes, reason=services.IMPORT_REASON % {"title": parsed.title})
    db.session.commit()
    services.forget_years()
    return result
