"""Busy blocks page and week views per person, agency and room."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coord.accounts.models import User
from coord.accounts.scoping import may_see
from coord.agencies.models import Agency
from coord.errors import DomainError, NotFound
from coord.extensions import db, htmx
from coord.interviews.models import Interview, InterviewAgency
from coord.interviews.services import can_see
from coord.scheduling import services
from coord.scheduling.models import Booking, Room
from coord.scheduling.slots import busy_selects
from coord.timeutil import local_datetime, local_today, to_local
from coord.web.pagecache import cacheable
from coord.workdays.models import WorkDay

bp = Blueprint("scheduling", __name__, url_prefix="/scheduling")


# --- busy blocks ---------------------------------------------------------------------------------

def _parse_local(day: str, hhmm: str) -> datetime | None:
    try:
        return local_datetime(date.fromisoformat(day), time.fromisoformat(hhmm))
    except ValueError:
        return None


def _manageable_people() -> list[User]:
    """Whose busy time the current user may enter: self; coordinators their agency; the office all."""
    stmt = sa.select(User).where(User.active.is_(True)).order_by(User.agency_id, User.id)
    if not current_user.is_office:
        if current_user.role == "coordinator":
            stmt = stmt.where(User.agency_id == current_user.agency_id)
        else:
            stmt = stmt.where(User.id == current_user.id)
    return list(db.session.execute(stmt).scalars())


def _busy_page(user: User, status: int = 200, error: str = "", form: dict | None = None):
    today = local_today()
    start = local_datetime(today, time.min)
    blocks = services.busy_of(user.id, start, start + timedelta(days=366))
    ctx = {"person": user, "blocks": blocks, "people": _manageable_people(), "error": error,
           "form": form or {"start_day": today.isoformat(), "end_day": today.isoformat(),
                            "start_time": "09:00", "end_time": "12:00"}}
    if htmx and htmx.target == "busy-list":
        return render_template("scheduling/_busy_list.html", **ctx), status
    return render_template("scheduling/busy.html", **ctx), status


@bp.get("/busy")
@cacheable
@login_required
def busy():
    user = services.get_user_for_busy(current_user, request.args.get("user_id", current_user.id))
    return _busy_page(user)


@bp.post("/busy")
@login_required
def add_busy():
    form = request.form
    user = services.get_user_for_busy(current_user, form.get("user_id", current_user.id))
    start = _parse_local(form.get("start_day", ""), form.get("start_time", ""))
    end = _parse_local(form.get("end_day", ""), form.get("end_time", ""))
    try:
        services.add_busy(current_user, user.id, start, end, form.get("reason", ""))
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        return _busy_page(user, 400, err.message, dict(form))
    flash(_("忙碌时间已登记，排期时将避开。"), "success")
    return redirect(url_for("scheduling.busy", user_id=user.id), 303)


@bp.post("/busy/<int:block_id>/cancel")
@login_required
def cancel_busy(block_id: int):
    block = services.cancel_busy(current_user, block_id)
    user = db.session.get(User, block.user_id)
    if htmx:
        return _busy_page(user)
    flash(_("忙碌时间已撤销。"), "success")
    return redirect(url_for("scheduling.busy", user_id=user.id), 303)


# --- week views ----------------------------------------------------------------------------------

@dataclass
class Event:
    start: datetime
    end: datetime
    title: str
    kind: str  # interview | busy
    url: str = ""
    who: str = ""


def _week_bounds(day: date) -> tuple[date, datetime, datetime]:
    monday = day - timedelta(days=day.weekday())
    return monday, local_datetime(monday, time.min), local_datetime(monday + timedelta(days=7), time.min)


def _interview_event(interview: Interview, who: str = "") -> Event:
    if can_see(current_user, interview):
        return Event(interview.start_at, interview.end_at, interview.title, "interview",
                     url_for("interviews.show", interview_id=interview.id), who)
    return Event(interview.start_at, interview.end_at, _("其他单位约谈（已占用）"), "interview", "", who)


def _booked(resource_filter, lo: datetime, hi: datetime) -> list[Interview]:
    stmt = (sa.select(Interview).join(Booking, Booking.interview_id == Interview.id)
            .where(resource_filter, Booking.active.is_(True), Booking.start_at < hi, Booking.end_at > lo).distinct())
    return list(db.session.execute(stmt).unique().scalars())


def _busy_events(users: list[User], lo: datetime, hi: datetime, show_who: bool) -> list[Event]:
    if not users:
        return []
    by_id = {u.id: u for u in users}
    blocks = {b.id: b for stmt in busy_selects(list(by_id), [(lo, hi)]) for b in db.session.execute(stmt).scalars()}
    out = []
    for b in blocks.values():
        owner = by_id[b.user_id]
        title = b.reason if may_see(current_user, owner.agency_id) else _("忙碌")
        out.append(Event(b.start_at, b.end_at, title, "busy", "", owner.display_name if show_who else ""))
    return out


@bp.get("/week")
@login_required
def week():
    kind = request.args.get("kind", "person")
    try:
        day = date.fromisoformat(request.args.get("date") or local_today().isoformat())
    except ValueError:
        day = local_today()
    monday, lo, hi = _week_bounds(day)
    events: list[Event] = []
    if kind == "room":
        room_id = request.args.get("id", type=int) or request.args.get("room_id", type=int) or 0
        room = db.session.get(Room, room_id) or next(iter(services.list_rooms()), None)
        if room is None:
            raise NotFound(_("会议室不存在。"))
        subject, subject_id = _("会议室：%(name)s", name=room.name), room.id
        events = [_interview_event(i) for i in _booked(Booking.resource == services.room_resource(room.id), lo, hi)]
    elif kind == "agency":
        agency = db.session.get(Agency, request.args.get("id", type=int) or request.args.get("agency_id", type=int)
                                or current_user.agency_id)
        if agency is None or not may_see(current_user, agency.id):
            raise NotFound(_("单位不存在或您无权查看其日程。"))
        subject, subject_id = agency.name, agency.id
        stmt = (sa.select(Interview).join(InterviewAgency, InterviewAgency.interview_id == Interview.id)
                .where(InterviewAgency.agency_id == agency.id, Interview.status.in_(("scheduled", "held")),
                       Interview.start_at < hi, Interview.end_at > lo))
        events = [_interview_event(i) for i in db.session.execute(stmt).unique().scalars()]
        members = list(db.session.execute(sa.select(User).where(User.agency_id == agency.id)).scalars())
        events += _busy_events(members, lo, hi, show_who=True)
    else:
        kind = "person"
        person = db.session.get(User, request.args.get("id", type=int) or current_user.id)
        if person is None:
            raise NotFound(_("人员不存在。"))
        subject, subject_id = f"{person.display_name}（{person.agency.name}）", person.id
        events = [_interview_event(i) for i in _booked(Booking.resource == services.user_resource(person.id), lo, hi)]
        events += _busy_events([person], lo, hi, show_who=False)
    days = [monday + timedelta(days=n) for n in range(7)]
    cal = dict(db.session.execute(sa.select(WorkDay.day, WorkDay.is_workday).where(
        WorkDay.day.between(days[0], days[-1]))).all())
    columns = []
    for d in days:
        day_lo, day_hi = local_datetime(d, time.min), local_datetime(d + timedelta(days=1), time.min)
        todays = sorted((e for e in events if e.start < day_hi and e.end > day_lo), key=lambda e: e.start)
        columns.append({"day": d, "workday": cal.get(d), "events": todays})
    ctx = {"kind": kind, "subject": subject, "subject_id": subject_id, "columns": columns, "monday": monday,
           "prev": (monday - timedelta(days=7)).isoformat(), "next": (monday + timedelta(days=7)).isoformat(),
           "rooms": services.list_rooms(), "to_local": to_local, "today": local_today(),
           "agencies": list(db.session.execute(sa.select(Agency).where(Agency.active.is_(True))
                                               .order_by(Agency.sort_order)).scalars())
           if current_user.is_office else [current_user.agency]}
    if htmx and htmx.target == "week":
        return render_template("scheduling/_week.html", **ctx)
    return render_template("scheduling/week.html", **ctx)


@bp.get("/rooms")
@login_required
def rooms(status: int = 200, error: str = "", form: dict | None = None):
    agencies = list(db.session.execute(sa.select(Agency).where(Agency.active.is_(True))
                                       .order_by(Agency.sort_order)).scalars())
    return render_template("scheduling/rooms.html", rooms=services.list_rooms(include_inactive=current_user.is_office),
                           agencies=agencies, error=error, form=form or {}), status


@bp.post("/rooms")
@bp.post("/rooms/<int:room_id>")
@login_required
def save_room(room_id: int | None = None):
    data = dict(request.form)
    data["active"] = request.form.get("active", "1") == "1"
    try:
        room = services.save_room(current_user, data, room_id)
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        return rooms(400, err.message, data)
    flash(_("会议室“%(name)s”已保存。", name=room.name), "success")
    return redirect(url_for("scheduling.rooms"), 303)
