"""The worklist (工作台): what needs the signed-in user, section by section, most urgent first.

A section is one query. `SECTIONS` is a list: a later feature adds its own with `register(Section(...))`
and tells the cache which of its events change it (`coord.worklist.cache.watch`). A section's query
function gets `who` and `ctx` and returns a select (or a UNION of selects) of the rows for one user, or
None when the section is not theirs, with at least the columns labelled `record_id`, `due` and `warn`;
`due`/`warn` are dates (`clock="day"`, working days left are shown) or instants (`clock="instant"`),
within a section either always set or always NULL. `who.id`, `who.agency_id`, `ctx.today`, `ctx.now`,
`ctx.week_end`, `ctx.visits_until` are SQL parameters (use them in SQL expressions, not in Python):
the statement is built once per section, role and limit and reused; `who.role`/`who.is_office` are
values to choose its shape by. The runner adds the total as a scalar subquery (counted from the
WHERE alone) and keeps the most urgent `limit` rows, so each section costs exactly one statement.

Every query is scoped to the user's own agency or the user themself; only the office (which may see
every agency's records) has sections across agencies.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from itertools import accumulate
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _

from coord.agencies.models import Agency
from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db
from coord.interviews.models import FollowUp, Interview, InterviewAgency, InterviewParticipant
from coord.lists.models import KINDS as LIST_KINDS
from coord.lists.models import ListVersion
from coord.minutes.models import Minutes
from coord.parties.models import Party
from coord.referrals.models import POLICE_CLOCKS, ExtensionRequest, Lead, PoliceReferral
from coord.timeutil import fmt_local, local_tz, to_local
from coord.workdays.models import CalendarYear
from coord.workdays.services import known_days

DEFAULT_LIMIT = 5  # items shown per section on the home page (the most urgent; a link leads to the rest)
ATTEND_DAYS = 7  # interviews the user attends in the next 7 days
VISIT_AHEAD_DAYS = 7  # follow-up visits shown from a week before they fall due

ACTING = ("admin", "coordinator", "officer")
SENDING = ("admin", "coordinator")
POLICE_SIDE_CLOCKS = ("decide", "reconsider")  # the police act; the other clocks are the agency's


class Who:
    """The user as a section query sees them. `id` and `agency_id` are SQL parameters, so a section's
    statement is built once per role and reused for every user (no per-request construction); `role` and
    `is_office` are plain values to choose the statement's shape by."""

    id = sa.bindparam("wl_user_id", type_=sa.Integer)
    agency_id = sa.bindparam("wl_agency_id", type_=sa.Integer)

    def __init__(self, role: str, is_office: bool) -> None:
        self.role, self.is_office = role, is_office


class Context:
    """The clock as a section query sees it, as SQL parameters: the local day, the instant, the end of the
    coming week (interviews attended) and the last day a visit is shown ahead of falling due."""

    today = sa.bindparam("wl_today", type_=sa.Date)
    now = sa.bindparam("wl_now", type_=UTCDateTime)
    week_end = sa.bindparam("wl_week_end", type_=UTCDateTime)
    visits_until = sa.bindparam("wl_visits_until", type_=sa.Date)

    @staticmethod
    def values(user: Any, now: datetime) -> dict[str, Any]:
        today = to_local(now).date()
        return {"wl_user_id": user.id, "wl_agency_id": user.agency_id, "wl_today": today, "wl_now": now,
                "wl_week_end": now + timedelta(days=ATTEND_DAYS),
                "wl_visits_until": today + timedelta(days=VISIT_AHEAD_DAYS)}


CTX = Context()


@dataclass(frozen=True)
class Section:
    kind: str  # the task kind (API `kind`), e.g. "lead_acknowledge"
    label: str  # the section heading
    record_type: str  # API `record.type`
    query: Callable[[Who, Context], sa.Select | sa.CompoundSelect | None]  # the rows, or None: not theirs
    title: Callable[[Any], str]  # an item's title from its row
    url: Callable[[Any], str]  # where the user acts on it
    action: str = "办理"  # the verb on the link
    clock: str = "day"  # "day": due/warn are dates; "instant": aware datetimes
    nav: str | None = None  # the nav entry whose badge counts this section
    priority: int = 50  # order of sections that are equally urgent (lower first)
    more: Callable[[], str] | None = None  # the full list, when a section has more than it shows


SECTIONS: list[Section] = []


def register(section: Section) -> Section:
    """Add a section (later features: the party portal, iMIP replies). Replaces one of the same kind."""
    SECTIONS[:] = [s for s in SECTIONS if s.kind != section.kind]
    SECTIONS.append(section)
    for key in [k for k in _STATEMENTS if k[0] == section.kind]:
        _STATEMENTS.pop(key, None)
    return section


# --- what the runner returns ------------------------------------------------------------------------

@dataclass
class Task:
    kind: str
    title: str
    url: str
    record_type: str
    record_id: Any
    due: date | datetime | None
    warn: date | datetime | None
    clock: str
    action: str
    days_left: int | None = None  # working days (clock "day"); None without calendar data

    def state(self, today: date, now: datetime) -> str:
        """"overdue" (red), "warning" (yellow) or "ok", from the stored deadline and the time now."""
        if self.due is None:
            return "ok"
        if self.clock == "day":
            if self.due < today:
                return "overdue"
            if (self.warn is not None and self.warn <= today) or (self.warn is None and self.due == today):
                return "warning"
            return "ok"
        if self.due < now:
            return "overdue"
        if (self.warn is not None and self.warn <= now) or (self.warn is None and self.due - now < timedelta(days=1)):
            return "warning"
        return "ok"

    def due_instant(self) -> datetime | None:
        """The deadline as an instant: a day's deadline is the end of that day (as the lead API shows it)."""
        if self.due is None:
            return None
        if self.clock == "day":
            return datetime.combine(self.due, time(23, 59, 59), tzinfo=local_tz())
        return self.due

    def clock_text(self, today: date, now: datetime) -> str:
        """The clock as the page shows it: 已超期 N 个工作日 / 剩 N 个工作日 / 今天到期 / a time."""
        if self.due is None:
            return ""
        if self.clock == "day":
            if self.days_left is None:
                return _("期限 %(due)s", due=self.due.isoformat())
            if self.days_left < 0 or self.due < today:
                return _("已超期 %(n)s 个工作日（%(due)s）", n=max(-self.days_left, 1), due=self.due.isoformat())
            if self.days_left == 0:
                return _("今天到期（%(due)s）", due=self.due.isoformat())
            return _("剩 %(n)s 个工作日（%(due)s）", n=self.days_left, due=self.due.isoformat())
        left = self.due - now
        when = fmt_local(self.due, "%m-%d %H:%M")
        if left < timedelta(0):
            return _("已超时（%(when)s）", when=when)
        if left < timedelta(hours=48):
            return _("剩 %(n)s 小时（%(when)s）", n=int(left.total_seconds() // 3600), when=when)
        return _("%(when)s（剩 %(n)s 天）", when=when, n=left.days)


@dataclass
class SectionResult:
    section: Section
    count: int
    tasks: list[Task] = field(default_factory=list)


@dataclass
class Worklist:
    today: date
    sections: list[SectionResult]

    @property
    def counts(self) -> dict[str, int]:
        return {r.section.kind: r.count for r in self.sections}

    @property
    def total(self) -> int:
        return sum(r.count for r in self.sections)

    @cached_property
    def _nav_counts(self) -> dict[str, int]:
        # Summed once per worklist (it is cached across requests), not once per nav entry and page.
        counts: dict[str, int] = {}
        for r in self.sections:
            counts[r.section.nav] = counts.get(r.section.nav, 0) + r.count
        return counts

    def nav_count(self, endpoint: str) -> int:
        return self._nav_counts.get(endpoint, 0)

    def ordered(self, now: datetime) -> list[SectionResult]:
        """Non-empty sections, most urgent first: overdue items, then warnings, then the sections' order."""
        def rank(result: SectionResult) -> tuple[int, int]:
            states = {t.state(self.today, now) for t in result.tasks}
            return (0 if "overdue" in states else 1 if "warning" in states else 2, result.section.priority)
        return sorted((r for r in self.sections if r.count), key=rank)


# --- running the sections -------------------------------------------------------------------------------

_STATEMENTS: dict[tuple[str, str, bool, int], Any] = {}  # built once per section, role and limit


def _statement(section: Section, who: Who, limit: int) -> Any:
    """The section's one statement: the `limit` most urgent rows, each carrying the total as a scalar subquery."""
    key = (section.kind, who.role, who.is_office, limit)
    if key not in _STATEMENTS:
        stmt = section.query(who, CTX)
        _STATEMENTS[key] = None if stmt is None else _wrap(stmt, limit)
    return _STATEMENTS[key]


def _wrap(stmt: sa.Select | sa.CompoundSelect, limit: int) -> sa.Select:
    inner = stmt.subquery()
    if isinstance(stmt, sa.Select):  # count from the WHERE alone: covering indexes, no row lookups
        counted = stmt.with_only_columns(sa.literal(1), maintain_column_froms=False).order_by(None)
        total = sa.select(sa.func.count()).select_from(counted.subquery()).scalar_subquery()
    else:  # a UNION: its rows are what makes them distinct, so count them as they are sorted (once)
        total = sa.func.count().over()
    return (sa.select(inner, total.label("_total"))
            .order_by(inner.c.due, inner.c.record_id)  # within a section `due` is always set or always NULL
            .limit(limit))


def compute(user: Any, *, limit: int = DEFAULT_LIMIT, now: datetime | None = None,
            kinds: set[str] | None = None) -> Worklist:
    """The user's worklist: one query per section that is theirs, one calendar read for days left."""
    now = now or utcnow()
    values = Context.values(user, now)
    who = Who(user.role, user.is_office)
    results: list[SectionResult] = []
    for section in SECTIONS:
        if kinds is not None and section.kind not in kinds:
            continue
        stmt = _statement(section, who, limit)
        if stmt is None:
            continue
        rows = db.session.execute(stmt, values).all()
        tasks = [Task(kind=section.kind, title=section.title(row), url=section.url(row),
                      record_type=section.record_type, record_id=row.record_id, due=row.due, warn=row.warn,
                      clock=section.clock, action=section.action) for row in rows]
        results.append(SectionResult(section, rows[0]._total if rows else 0, tasks))
    _days_left(results, values["wl_today"])
    return Worklist(values["wl_today"], results)


def _days_left(results: list[SectionResult], today: date) -> None:
    """Working days left for each dated task, from one calendar read (prefix sums: O(1) per task)."""
    tasks = [t for r in results for t in r.tasks if t.clock == "day" and t.due is not None]
    if not tasks:
        return
    days = known_days(min([t.due for t in tasks] + [today]), max([t.due for t in tasks] + [today]))
    ordered = sorted(days)
    index = {d: i for i, d in enumerate(ordered)}
    worked = [0, *accumulate(1 if days[d] else 0 for d in ordered)]  # worked[i + 1]: working days up to ordered[i]
    for task in tasks:
        a, b = min(today, task.due), max(today, task.due)
        if a not in index or b not in index or index[b] - index[a] != (b - a).days:
            task.days_left = None  # a gap in the calendar: no number, never a guess
            continue
        n = worked[index[b] + 1] - worked[index[a] + 1]  # working days in (a, b]
        task.days_left = n if task.due >= today else -n


# --- the sections ---------------------------------------------------------------------------------------

def _acting(user: Any, roles: tuple[str, ...] = ACTING) -> bool:
    return user.role in roles


def _lead_columns(due: Any = Lead.due_on, warn: Any = Lead.warn_on) -> list[Any]:
    return [Lead.id.label("record_id"), due.label("due"), warn.label("warn"), Lead.number, Lead.party_name,
            Lead.matter]


def _lead_title(row: Any) -> str:
    return f"{row.number} {row.party_name}：{row.matter}"


def _lead_url(row: Any) -> str:
    return url_for("referrals.show", lead_id=row.record_id)


def _inbox(state: str) -> Callable[[Any, Context], sa.Select | None]:
    def query(user: Any, ctx: Context) -> sa.Select | None:
        if not _acting(user):
            return None
        return sa.select(*_lead_columns()).where(Lead.to_agency_id == user.agency_id, Lead.state == state)
    return query


def _supervised(user: Any, ctx: Context) -> sa.Select | None:
    if not _acting(user):
        return None
    # `supervised = 1` / `= true`: the partial index ix_lead_supervised answers it.
    return sa.select(*_lead_columns()).where(
        Lead.to_agency_id == user.agency_id, Lead.supervised == sa.true(), Lead.state != "merged")


def _outbox(state: str) -> Callable[[Any, Context], sa.Select | None]:
    def query(user: Any, ctx: Context) -> sa.Select | None:
        if not _acting(user, SENDING):
            return None
        no_clock = sa.cast(sa.null(), sa.Date)
        return sa.select(*_lead_columns(no_clock, no_clock)).where(
            Lead.from_agency_id == user.agency_id, Lead.state == state)
    return query


def _extensions(user: Any, ctx: Context) -> sa.Select | None:
    if not _acting(user, SENDING):
        return None
    # From the sender's acknowledged leads to their pending request (never a scan of every request ever made).
    pending = (sa.select(ExtensionRequest.days).where(ExtensionRequest.lead_id == Lead.id,
                                                       ExtensionRequest.state == "pending")
               .order_by(ExtensionRequest.id).limit(1).scalar_subquery())
    return (sa.select(*_lead_columns(), pending.label("days"))
            .where(Lead.from_agency_id == user.agency_id, Lead.state == "acknowledged", pending.is_not(None)))


def _overdue_everywhere(user: Any, ctx: Context) -> sa.Select | None:
    if not user.is_office:
        return None
    return sa.select(*_lead_columns()).where(Lead.due_on < ctx.today)


def _police(user: Any, ctx: Context) -> sa.Select | None:
    if not _acting(user):
        return None
    police_side = PoliceReferral.clock.in_(POLICE_SIDE_CLOCKS)
    return sa.select(
        PoliceReferral.id.label("record_id"), PoliceReferral.due_at.label("due"), PoliceReferral.warn_at.label("warn"),
        PoliceReferral.number, PoliceReferral.party_name, PoliceReferral.suspected_crime, PoliceReferral.clock,
    ).where(PoliceReferral.due_at.is_not(None), sa.or_(
        sa.and_(PoliceReferral.agency_id == user.agency_id, sa.not_(police_side)),
        sa.and_(PoliceReferral.police_agency_id == user.agency_id, police_side)))


def _interview_columns(due: Any = Interview.start_at) -> list[Any]:
    no_warning = sa.cast(sa.null(), Interview.start_at.type)
    return [Interview.id.label("record_id"), due.label("due"), no_warning.label("warn"), Interview.title,
            Interview.start_at, Party.name.label("party_name")]


def _interview_title(row: Any) -> str:
    when = fmt_local(row.start_at, "%m月%d日 %H:%M") if row.start_at else _("未排期")
    return f"{row.title}（{row.party_name}，{when}）"


def _confirmations(user: Any, ctx: Context) -> sa.Select | None:
    if not _acting(user, SENDING):
        return None
    return (sa.select(*_interview_columns())
            .join(InterviewAgency, InterviewAgency.interview_id == Interview.id)
            .join(Party, Party.id == Interview.party_id)
            .where(InterviewAgency.agency_id == user.agency_id, InterviewAgency.role == "co",
                   InterviewAgency.confirmation == "pending", Interview.status == "scheduled",
                   Interview.start_at > ctx.now))


def _attending(user: Any, ctx: Context) -> sa.Select | None:
    return (sa.select(*_interview_columns())
            .join(InterviewParticipant, InterviewParticipant.interview_id == Interview.id)
            .join(Party, Party.id == Interview.party_id)
            .where(InterviewParticipant.user_id == user.id, Interview.status == "scheduled",
                   Interview.start_at > ctx.now, Interview.start_at <= ctx.week_end))


def _minutes_open(user: Any, ctx: Context) -> sa.Select | None:
    """Interviews held (or past their time) whose minutes are not final: the organiser's coordinators and
    the officials who took part write them."""
    if user.role == "viewer":
        return None
    # Two small index-driven sets, united (an OR, or an IN over both, is answered by scanning every
    # interview): the interviews the user took part in, and the organiser's for its coordinators.
    # Counted per interview (one probe of the minutes' unique index each): written as NOT EXISTS, PostgreSQL
    # would hash the whole minutes table instead.
    finals = sa.select(sa.func.count(Minutes.interview_id)).where(
        Minutes.interview_id == Interview.id, Minutes.status == "final").scalar_subquery()
    open_minutes = (Interview.status.in_(("held", "scheduled")),
                    sa.or_(Interview.status == "held", Interview.start_at < ctx.now), finals == 0)
    no_clock = sa.cast(sa.null(), Interview.start_at.type)
    attended = (sa.select(*_interview_columns(no_clock))
                .select_from(InterviewParticipant)
                .join(Interview, Interview.id == InterviewParticipant.interview_id)
                .join(Party, Party.id == Interview.party_id)
                .where(InterviewParticipant.user_id == user.id, *open_minutes))
    if not _acting(user, SENDING):
        return attended
    organised = (sa.select(*_interview_columns(no_clock)).join(Party, Party.id == Interview.party_id)
                 .where(Interview.lead_agency_id == user.agency_id, *open_minutes))
    return sa.union(attended, organised)


def _visits(user: Any, ctx: Context) -> sa.Select | None:
    if user.role == "viewer":
        return None
    no_warning = sa.cast(sa.null(), sa.Date)
    return (sa.select(FollowUp.id.label("record_id"), FollowUp.due.label("due"), no_warning.label("warn"),
                      Interview.title, Party.name.label("party_name"))
            .join(Interview, Interview.id == FollowUp.interview_id)
            .join(Party, Party.id == Interview.party_id)
            .where(FollowUp.agency_id == user.agency_id, FollowUp.status == "pending",
                   FollowUp.due <= ctx.visits_until))


def _list_columns() -> list[Any]:
    no_clock = sa.cast(sa.null(), sa.Date)
    return [ListVersion.id.label("record_id"), no_clock.label("due"), no_clock.label("warn"), ListVersion.kind,
            ListVersion.number, Agency.name.label("agency_name")]


def _list_title(row: Any) -> str:
    return _("%(agency)s%(kind)s第 %(number)s 版", agency=row.agency_name, kind=_(LIST_KINDS.get(row.kind, row.kind)),
             number=row.number)


def _lists_returned(user: Any, ctx: Context) -> sa.Select | None:
    if not _acting(user, SENDING):
        return None
    return (sa.select(*_list_columns()).join(Agency, Agency.id == ListVersion.agency_id)
            .where(ListVersion.agency_id == user.agency_id, ListVersion.state == "returned"))


def _lists_submitted(user: Any, ctx: Context) -> sa.Select | None:
    if not user.is_office:
        return None
    return (sa.select(*_list_columns()).join(Agency, Agency.id == ListVersion.agency_id)
            .where(ListVersion.state == "submitted"))


def _lists_missing(user: Any, ctx: Context) -> sa.Select | None:
    """Enforcement agencies that have not published both lists (the office follows them up)."""
    if not user.is_office:
        return None
    published = sa.select(sa.func.count(ListVersion.id)).where(
        ListVersion.agency_id == Agency.id, ListVersion.state == "published").scalar_subquery()
    no_clock = sa.cast(sa.null(), sa.Date)
    return sa.select(Agency.id.label("record_id"), no_clock.label("due"), no_clock.label("warn"), Agency.name,
                     published.label("published")).where(
        Agency.active.is_(True), Agency.is_enforcement.is_(True), published < len(LIST_KINDS))


def _calendar_provisional(user: Any, ctx: Context) -> sa.Select | None:
    """From 1 November, while next year's arrangement is not imported (the year is provisional), the office
    is asked to import the State Council's notice (the same warning every page shows it)."""
    if not user.is_office:
        return None
    no_clock = sa.cast(sa.null(), sa.Date)
    return sa.select(CalendarYear.year.label("record_id"), no_clock.label("due"), no_clock.label("warn")).where(
        CalendarYear.year == sa.extract("year", ctx.today) + 1, CalendarYear.status != "official",
        sa.extract("month", ctx.today) >= 11)


def _off_days(user: Any, ctx: Context) -> sa.Select | None:
    """Interviews still scheduled on a day a calendar change made a day off: the organiser (the office:
    all) moves them or confirms them."""
    if not user.is_office and not _acting(user, SENDING):
        return None
    scope = [] if user.is_office else [Interview.lead_agency_id == user.agency_id]
    return (sa.select(*_interview_columns(), Interview.off_day).join(Party, Party.id == Interview.party_id)
            .where(*scope, Interview.off_day.is_not(None), Interview.status == "scheduled",
                   Interview.start_at >= ctx.now))


def _police_title(row: Any) -> str:
    step = POLICE_CLOCKS.get(row.clock or "", "")
    return _("%(number)s %(party)s（涉嫌%(crime)s）：%(step)s", number=row.number, party=row.party_name,
             crime=row.suspected_crime, step=_(step) if step else "")


def _leads(box: str, state: str) -> Callable[[], str]:
    return lambda: url_for("referrals.index", box=box, state=state)


def _register_all() -> None:
    lead = "lead"
    for section in [
        Section("lead_acknowledge", "待签收的线索", lead, _inbox("referred"), _lead_title, _lead_url,
                action="签收或退回", nav="referrals.index", priority=10, more=_leads("inbox", "referred")),
        Section("lead_reply", "待回复的线索", lead, _inbox("acknowledged"), _lead_title, _lead_url,
                action="核查回复", nav="referrals.index", priority=11, more=_leads("inbox", "acknowledged")),
        Section("supervision_answer", "待答复的督办", lead, _supervised,
                lambda r: _("督办：%(title)s",
                            title=_lead_title(r)), _lead_url, action="答复督办", nav="referrals.index", priority=5,
                more=lambda: url_for("referrals.index", box="inbox")),
        Section("lead_accept", "待确认的回复", lead, _outbox("replied"), _lead_title, _lead_url,
                action="办结或退回补充", nav="referrals.index", priority=20, more=_leads("outbox", "replied")),
        Section("lead_redirect", "被退回的线索", lead, _outbox("returned"), _lead_title, _lead_url,
                action="改派", nav="referrals.index", priority=21, more=_leads("outbox", "returned")),
        Section("extension_decide", "待审批的延期申请", lead, _extensions,
                lambda r: _("%(title)s（申请延期 %(days)s 个工作日）", title=_lead_title(r), days=r.days), _lead_url,
                action="审批延期", nav="referrals.index", priority=12,
                more=_leads("outbox", "acknowledged")),
        Section("police_referral", "移送公安：计时中", "police_referral", _police, _police_title,
                lambda r: url_for("referrals.police_show", referral_id=r.record_id), action="办理",
                clock="instant", nav="referrals.police_index", priority=8,
                more=lambda: url_for("referrals.police_index")),
        Section("interview_confirm", "待本单位确认的约谈", "interview", _confirmations, _interview_title,
                lambda r: url_for("interviews.show", interview_id=r.record_id), action="确认或拒绝",
                clock="instant", nav="interviews.index", priority=15,
                more=lambda: url_for("interviews.index", awaiting="1")),
        Section("interview_attend", "近 7 日我参加的约谈", "interview", _attending, _interview_title,
                lambda r: url_for("interviews.show", interview_id=r.record_id), action="查看",
                clock="instant", priority=40, more=lambda: url_for("scheduling.week")),
        Section("minutes_finalise", "待定稿的约谈笔录", "interview", _minutes_open, _interview_title,
                lambda r: url_for("minutes.edit", interview_id=r.record_id), action="填写笔录",
                nav="minutes.index", priority=25, more=lambda: url_for("minutes.index")),
        Section("follow_up_visit", "到期的回访", "follow_up", _visits,
                lambda r: f"{r.title}（{r.party_name}）",
                lambda r: url_for("interviews.follow_up_list") + f"#follow-up-{r.record_id}",
                action="登记回访", nav="interviews.follow_up_list", priority=18,
                more=lambda: url_for("interviews.follow_up_list")),
        Section("list_fix", "被退回修改的清单", "list_version", _lists_returned, _list_title,
                lambda r: url_for("lists.version", version_id=r.record_id), action="修改后重新提交",
                nav="lists.index", priority=30, more=lambda: url_for("lists.index")),
        Section("list_review", "待审核的清单", "list_version", _lists_submitted, _list_title,
                lambda r: url_for("lists.version", version_id=r.record_id), action="审核",
                nav="lists.index", priority=28, more=lambda: url_for("lists.index")),
        Section("lead_overdue", "各单位超期线索", lead, _overdue_everywhere,
                lambda r: f"{_lead_title(r)}", _lead_url, action="督办", nav="referrals.index", priority=35,
                more=lambda: url_for("referrals.index", box="all", overdue="1")),
        Section("calendar_provisional", "工作日历提醒", "calendar_year", _calendar_provisional,
                lambda r: _("%(year)s 年放假安排尚未导入，国务院公布后请在工作日历导入", year=r.record_id),
                lambda r: url_for("workdays.index", year=r.record_id), action="导入通知", priority=3),
        Section("interview_off_day", "排在休息日的约谈", "interview", _off_days,
                lambda r: _("%(title)s：%(day)s 已调整为休息日", title=_interview_title(r), day=r.off_day.isoformat()),
                lambda r: url_for("interviews.show", interview_id=r.record_id) + "#off-day-warning",
                action="改期", clock="instant", nav="interviews.index", priority=6,
                more=lambda: url_for("interviews.index")),
        Section("list_missing", "尚未发布两张清单的单位", "agency", _lists_missing,
                lambda r: _("%(name)s（已发布 %(published)s/%(kinds)s）",
                            name=r.name, published=r.published, kinds=len(LIST_KINDS)),
                lambda r: url_for("lists.agency", agency_id=r.record_id), action="查看", priority=60,
                more=lambda: url_for("lists.index")),
    ]:
        register(section)


_register_all()
