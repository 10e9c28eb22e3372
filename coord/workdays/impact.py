"""What a calendar change moves, asked of the features above the calendar.

`workdays` sits below referrals and interviews and never imports them. A feature whose dates are
counted on the calendar registers an impact function here (as with `audit.register_entity`):
given a ChangeSet it says which of its records the change would move or flag. The notice preview
asks every registered function; the same functions, given the ChangeSet of a change already
committed, drive the features' own recompute listeners (on `events.calendar_days_changed`).
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from coord.workdays.services import DayChange, DayTable

# Keys every preview answers (the API's `affected`), whether or not a feature registered them.
AFFECTED_KEYS = ("leads", "interviews", "follow_ups")


@dataclass(frozen=True)
class Impact:
    """One record a change moves: a lead's deadline, a follow-up's due date, a flagged interview."""

    record_id: int
    label: str  # what the record is ("XS2026000012 某公司")
    what: str  # which date ("签收期限", "回访日期", "约谈日期")
    before: str
    after: str
    url: str = ""


@dataclass
class ChangeSet:
    """Days whose working status changes, with the calendar before and after the change.

    `old` and `new` are DayTables: one reads the table as it is, the other lays the changed days
    over it. Before a change is saved (a preview) the table is the old calendar; after the commit
    (a listener) it is the new one.
    """

    changes: list[DayChange]
    old: DayTable
    new: DayTable
    _days: list[date] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._days = sorted(c.day for c in self.changes)

    @classmethod
    def proposed(cls, changes: Iterable[DayChange]) -> ChangeSet:
        changes = list(changes)
        return cls(changes, DayTable(), DayTable({c.day: c.is_workday for c in changes}))

    @classmethod
    def applied(cls, changes: Iterable[DayChange]) -> ChangeSet:
        changes = list(changes)
        return cls(changes, DayTable({c.day: c.was_workday for c in changes if c.was_workday is not None}),
                   DayTable())

    @classmethod
    def from_event(cls, data: Mapping[str, Any]) -> ChangeSet:
        """The ChangeSet of a committed change, from `calendar_days_changed`'s data."""
        return cls.applied(_change(c) for c in data.get("changes") or [])

    @property
    def days(self) -> list[date]:
        return self._days

    @property
    def lo(self) -> date:
        return self._days[0]

    @property
    def hi(self) -> date:
        return self._days[-1]

    def touches(self, start: date, end: date) -> bool:
        """Does a changed day fall in (start, end]: would a count over that span change?"""
        i = bisect.bisect_right(self._days, start)
        return i < len(self._days) and self._days[i] <= end

    def became_off(self) -> dict[date, str]:
        """Days that become days off, with their note (e.g. 春节)."""
        return {c.day: c.note for c in self.changes if not c.is_workday}

    def became_work(self) -> set[date]:
        return {c.day for c in self.changes if c.is_workday}


def _change(item: Mapping[str, Any]) -> DayChange:
    day = item["date"]
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return DayChange(day, item.get("was_workday"), bool(item["is_workday"]), item.get("note") or "")


ImpactFn = Callable[[ChangeSet], list[Impact]]
_registry: dict[str, tuple[str, ImpactFn]] = {}


def register_impact(key: str, label: str, fn: ImpactFn) -> None:
    """A feature says how a calendar change affects its records (key: "leads", "interviews", ...)."""
    _registry[key] = (label, fn)


def labels() -> dict[str, str]:
    return {key: label for key, (label, _fn) in _registry.items()}


def impacts(cs: ChangeSet) -> dict[str, list[Impact]]:
    """Every registered feature's answer (empty lists when nothing changes)."""
    out: dict[str, list[Impact]] = {key: [] for key in AFFECTED_KEYS}
    if not cs.changes:
        return out
    for key, (_label, fn) in _registry.items():
        out[key] = fn(cs)
    return out
