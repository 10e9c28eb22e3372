"""Lead clocks follow the working-day calendar.

When days of the calendar change (a State Council notice imported, a day toggled by the office),
every running clock counted over one of those days is recomputed: the running deadline and its
yellow mark (`due_on`, `warn_on`), the acknowledge or reply deadline it stands for and the return
deadline. A clock keeps its length: the working days it counted on the old calendar are counted
again on the new one from the same start, so a lead kind edited since does not move it. Each moved
lead gets an audit entry (before and after), its two agencies one e-mail listing their moved leads,
and `lead_deadline_moved` is announced. Police clocks (calendar days and hours) are not touched.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa

from coord import events
from coord.accounts.models import User
from coord.audit import services as audit
from coord.dbtypes import write_lock
from coord.extensions import db
from coord.lang import _, tr
from coord.notify.services import queue_mail_in_languages
from coord.referrals import reminders
from coord.referrals.models import CLOCKS, OPEN_STATES, Lead
from coord.referrals.services import local_day
from coord.timeutil import local_datetime
from coord.workdays.impact import ChangeSet, Impact, register_impact
from coord.workdays.services import CalendarMissing, reason_shown

log = logging.getLogger(__name__)
FIELDS = {"ack_due": "签收期限", "reply_due": "回复期限", "return_due": "退回期限", "due_on": "办理期限",
          "warn_on": "预警日"}


# The columns a recount needs: read as plain rows (no ORM objects for thousands of leads).
_COLUMNS = (Lead.id, Lead.number, Lead.party_name, Lead.state, Lead.clock, Lead.clock_start, Lead.referred_at,
            Lead.from_agency_id, Lead.to_agency_id, Lead.due_on, Lead.warn_on, Lead.ack_due, Lead.reply_due,
            Lead.return_due)


@dataclass
class Move:
    lead: Any  # a row of _COLUMNS
    before: dict[str, date | None]
    after: dict[str, date | None]

    @property
    def key(self) -> str:
        """The deadline the people on the lead care about: the running clock's, else the return's."""
        return "due_on" if self.before.get("due_on") != self.after.get("due_on") else "return_due"

    @property
    def what(self) -> str:
        return f"{CLOCKS.get(self.lead.clock or '', '')}期限" if self.key == "due_on" else "退回期限"

    def dates(self) -> tuple[str, str]:
        key = self.key
        return _iso(self.before.get(key)), _iso(self.after.get(key))


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "—"


def _candidates(cs: ChangeSet) -> list[Any]:
    """Running clocks that may count a changed day: referred before the last one, due after the first."""
    referred_before = local_datetime(cs.hi + timedelta(days=1), time(0))
    stmt = (
        sa.select(*_COLUMNS)
        .where(Lead.clock.is_not(None), Lead.clock_start.is_not(None), Lead.referred_at < referred_before,
               sa.or_(Lead.due_on >= cs.lo, Lead.return_due >= cs.lo))
        .order_by(Lead.id)
    )
    return list(db.session.execute(stmt))


def plan(cs: ChangeSet) -> list[Move]:
    """The leads whose deadlines a calendar change moves, with their deadlines before and after."""
    if not cs.changes:
        return []
    leads = _candidates(cs)
    if not leads:
        return []
    spans = []
    for lead in leads:
        referred = local_day(lead.referred_at)
        ends = [d for d in (lead.due_on, lead.return_due if lead.state in OPEN_STATES else None) if d]
        spans.append((lead, referred, min(referred, lead.clock_start), max(ends)))
    lo = min(s[2] for s in spans)
    hi = max(s[3] for s in spans) + timedelta(days=60)
    cs.old.load(lo, hi)  # one read of the table for every clock (it is extended if one runs past it)
    cs.new.load(lo, hi)
    moves = []
    for lead, referred, first, last in spans:
        if not cs.touches(first, last):
            continue
        try:
            after = _recount(lead, referred, cs)
        except CalendarMissing as err:  # the clock now runs past the table: keep it, say so in the log
            log.warning("lead %s: deadline not recomputed (%s)", lead.id, err)
            continue
        before = {k: getattr(lead, k) for k in after}
        if before != after:
            moves.append(Move(lead, before, after))
    return moves


def _recount(lead: Any, referred: date, cs: ChangeSet) -> dict[str, date | None]:
    start = lead.clock_start
    after: dict[str, date | None] = {}
    after["due_on"] = cs.new.nth_after(start, cs.old.count(start, lead.due_on))
    if lead.warn_on is not None:
        after["warn_on"] = cs.new.nth_after(start, cs.old.count(start, lead.warn_on))
    if lead.clock == "ack":
        after["ack_due"] = after["due_on"]
    elif lead.clock == "reply":
        after["reply_due"] = after["due_on"]
    if lead.return_due is not None and lead.state in OPEN_STATES:
        after["return_due"] = cs.new.nth_after(referred, cs.old.count(referred, lead.return_due))
    return after


def impact(cs: ChangeSet) -> list[Impact]:
    out = []
    for move in plan(cs):
        before, after = move.dates()
        out.append(Impact(move.lead.id, f"{move.lead.number}（{move.lead.party_name}）", move.what, before, after,
                          f"/leads/{move.lead.id}"))
    return out


register_impact("leads", "线索期限", impact)


@events.calendar_days_changed.connect
def recompute_clocks(_sender: Any, **data: Any) -> None:
    """After a calendar change is committed: move the deadlines it moves, audited, people told."""
    cs = ChangeSet.from_event(data)
    if not cs.changes:
        return
    write_lock(db.session)
    moves = plan(cs)
    if not moves:
        db.session.commit()
        return
    actor = db.session.get(User, data["actor_id"]) if data.get("actor_id") else None
    reason = data.get("reason") or "工作日历调整"
    _write(moves)
    entries = []
    for move in moves:
        lead = move.lead
        before = {k: _iso(v) for k, v in move.before.items()}
        after = {k: _iso(v) for k, v in move.after.items()}
        changed = "，".join(f"{FIELDS[k]} {before[k]} → {after[k]}" for k in after if before[k] != after[k]
                           and k != "warn_on")
        entries.append(audit.Pending("lead.deadline_moved", "lead", lead.id, (lead.from_agency_id, lead.to_agency_id),
                                     f"{lead.number}：因{reason}，{changed or '预警日调整'}", before, after))
        events.announce(events.lead_deadline_moved, lead.id, actor=actor, clock=lead.clock, before=before,
                        after=after, reason=reason)
    audit.record_many(actor, entries)
    _tell(moves, reason)
    db.session.commit()


def _write(moves: list[Move]) -> None:
    """Every moved lead's deadlines in one executemany (psycopg pipelines it on PostgreSQL; measured
    faster there than UPDATE … FROM (VALUES …), whose thousands of parameters cost more to bind)."""
    table = Lead.__table__
    fields = sorted({k for m in moves for k in m.after})
    db.session.execute(
        table.update().where(table.c.id == sa.bindparam("b_id")).values({k: sa.bindparam(f"b_{k}") for k in fields}),
        [{"b_id": m.lead.id, **{f"b_{k}": m.after.get(k, getattr(m.lead, k)) for k in fields}} for m in moves])


def _tell(moves: list[Move], reason: str) -> None:
    """One e-mail per agency (sender and receiver), listing its leads whose deadlines moved."""
    by_agency: dict[int, list[Move]] = defaultdict(list)
    for move in moves:
        by_agency[move.lead.to_agency_id].append(move)
        by_agency[move.lead.from_agency_id].append(move)
    for agency_id, items in sorted(by_agency.items()):
        queue_mail_in_languages(reminders._recipients([agency_id]), lambda items=items: _moved_mail(items, reason))


def _moved_mail(items: list[Move], reason: str) -> tuple[str, str]:
    """Subject and text in the current language (each reader's: `queue_mail_in_languages`)."""
    base = reminders._base_url()
    lines = []
    for move in items:
        before, after = move.dates()
        lines.append(_("- %(number)s（%(party)s）%(what)s：%(before)s → %(after)s", number=move.lead.number,
                       party=move.lead.party_name, what=tr(move.what), before=before, after=after)
                     + f"  {base}/leads/{move.lead.id}")
    why = reason_shown(reason)
    subject = _("【期限调整】因%(reason)s，%(n)s 条线索的办理期限已变更", reason=why, n=len(items))
    text = (_("您好：") + "\n\n"
            + _("因%(reason)s，工作日历中的部分日期已调整，以下线索的办理期限已按新的工作日历重新计算：", reason=why)
            + "\n\n" + "\n".join(lines) + "\n\n"
            + _("请按新的期限办理。（本邮件由系统自动发送，期限按工作日历计算。）") + "\n")
    return subject, text
