"""Interview pages (htmx): list with filters, create with live slot suggestions, the interview
page (status board, schedule/reschedule/cancel, confirmations, rectification, timeline), follow-ups."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coord.accounts.models import User
from coord.agencies.models import Agency
from coord.errors import Conflict, DomainError
from coord.extensions import db, htmx
from coord.inputs import to_int
from coord.interviews import services
from coord.interviews.models import FOLLOW_UP_RESULTS, MEASURES, PROBLEM_KINDS, STATUSES
from coord.lists import services as lists
from coord.referrals import services as referrals
from coord.referrals import storage
from coord.referrals.models import URGENCY
from coord.scheduling import services as sched
from coord.scheduling.rules import current_rules
from coord.timeutil import local_datetime, local_today, parse_iso, to_local
from coord.web.pagecache import cacheable

bp = Blueprint("interviews", __name__, url_prefix="/interviews")


def _date_arg(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _start_arg(value: str | None) -> datetime | None:
    try:
        return parse_iso(value) if value else None
    except ValueError:
        raise DomainError(_("时间格式不正确。"), field="start") from None


def _ids(name: str, source=None) -> list[int]:
    source = source if source is not None else request.values
    out = []
    for v in source.getlist(name):
        number = to_int(v)
        if number is not None:
            out.append(number)
    return list(dict.fromkeys(out))


PAGE_SIZE = 25  # interviews per page of the list


def _agency_choices() -> list:
    """(id, name) of active agencies for the list's filter: plain rows, not ORM objects."""
    return list(db.session.execute(
        sa.select(Agency.id, Agency.name).where(Agency.active.is_(True)).order_by(Agency.sort_order, Agency.id)))


def _agencies() -> list[Agency]:
    return list(db.session.execute(
        sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.sort_order, Agency.id)).scalars())


WEEKDAYS = "一二三四五六日"


@bp.app_template_filter("cn_slot")
def cn_slot(value: datetime | None) -> str:
    """2026-12-03（周四）09:00 in local time."""
    if value is None:
        return ""
    local = to_local(value)
    if str(get_locale()) == "en":
        return f"{local:%Y-%m-%d} ({local:%a}) {local:%H:%M}"
    return f"{local:%Y-%m-%d}（周{WEEKDAYS[local.weekday()]}）{local:%H:%M}"


# --- list ----------------------------------------------------------------------------------------

@bp.get("/")
@cacheable
@login_required
def index():
    args = request.args
    page = max(args.get("page", 1, type=int), 1)
    rows = services.list_interviews(
        current_user, status=args.get("status", ""), agency_id=args.get("agency_id", type=int),
        date_from=_date_arg(args.get("from")), date_to=_date_arg(args.get("to")), party=args.get("party", ""),
        awaiting_me=args.get("awaiting") == "1", limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, summary=True)
    pager = {"page": page, "more": len(rows) > PAGE_SIZE,
             "args": {k: v for k, v in args.items() if k != "page"}}
    rows = rows[:PAGE_SIZE]
    if htmx and htmx.target == "interview-rows":
        return render_template("interviews/_rows.html", interviews=rows, pager=pager)
    return render_template("interviews/index.html", interviews=rows, statuses=STATUSES, agencies=_agency_choices(),
                           args=args, pager=pager, can_create=current_user.role in ("admin", "coordinator"))


# --- create --------------------------------------------------------------------------------------

def _form_data(form) -> dict:
    attendees = [
        {"name": n, "post": p, "email": e, "phone": ph}
        for n, p, e, ph in zip(form.getlist("attendee_name"), form.getlist("attendee_post"),
                               form.getlist("attendee_email"), form.getlist("attendee_phone"), strict=False)
    ]
    return {
        "title": form.get("title", ""),
        "problem_kind": form.get("problem_kind", ""),
        "region_agency_id": form.get("region_agency_id") or None,
        "sector": form.get("sector", ""),
        "party": {"kind": form.get("party_kind") or None, "name": form.get("party_name", ""),
                  "credit_code": form.get("party_credit_code", ""), "id_number": form.get("party_id_number", ""),
                  "address": form.get("party_address", ""), "contact_phone": form.get("party_phone", ""),
                  "on_match": form.get("party_choice") or None},
        "attendees": attendees,
        "lead_agency_id": form.get("lead_agency_id") or current_user.agency_id,
        "agency_ids": _ids("agency_ids", form),
        "participant_ids": _ids("participant_ids", form),
        "room_id": form.get("room_id") or None,
        "duration_minutes": form.get("duration_minutes") or 90,
        "matter": form.get("matter", ""),
        "legal_basis": form.get("legal_basis", ""),
        "measure": form.get("measure") or "interview",
        "list_item_id": form.get("list_item_id") or None,
    }


def _people_for(lead_id: int | None, agency_ids: list[int]) -> list[tuple[Agency, list[User]]]:
    ids = list(dict.fromkeys([i for i in [lead_id, *agency_ids] if i]))
    if not ids:
        return []
    agencies = {a.id: a for a in db.session.execute(sa.select(Agency).where(Agency.id.in_(ids))).scalars()}
    users = db.session.execute(sa.select(User).where(User.agency_id.in_(ids), User.active.is_(True),
                                                     User.role != "viewer").order_by(User.id)).scalars()
    grouped: dict[int, list[User]] = {i: [] for i in ids if i in agencies}
    for u in users:
        grouped[u.agency_id].append(u)
    return [(agencies[i], grouped[i]) for i in grouped]


def field_errors(err: DomainError) -> dict[str, str]:
    """Every message of a refusal by field (a form shows each beside its field)."""
    errors = dict(err.details.get("errors") or {})
    if not errors:
        errors[err.field or "_"] = err.message
    return errors


def _form_context(values: dict, **extra) -> dict:
    today = local_today()
    lead_id = to_int(values.get("lead_agency_id")) or current_user.agency_id
    agencies = _agencies()
    return {
        "values": values, "agencies": agencies, "regions": [a for a in agencies if a.is_regional],
        "rooms": sched.list_rooms(), "measures": MEASURES, "problem_kinds": PROBLEM_KINDS,
        "people": _people_for(lead_id, values.get("agency_ids") or []), "lead_id": lead_id,
        "window_from": values.get("window_from") or today.isoformat(),
        "window_to": values.get("window_to") or (today + timedelta(days=45)).isoformat(),
        "rules": current_rules(), "limits": services.LIMITS, "party_choices": services.PARTY_CHOICES,
        "errors": {}, **extra,
    }


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if current_user.role not in ("admin", "coordinator"):
        raise DomainError(_("只有联络员或领导小组办公室可以发起约谈。"))
    if request.method == "GET":
        return render_template("interviews/new.html", **_form_context({"duration_minutes": 90}))
    form = request.form
    data = _form_data(form)
    values = {**data, "window_from": form.get("window_from"), "window_to": form.get("window_to"),
              "start": form.get("start", "")}
    try:
        if form.get("action") == "schedule":
            data["start"] = _start_arg(form.get("start"))
            if data["start"] is None:
                raise DomainError(_("请先从推荐时段中选择约谈时间，或保存为草稿。"), field="start")
        interview = services.create(current_user, data)
    except Conflict as err:
        db.session.rollback()
        return render_template("interviews/new.html", error=err.message,
                               alternatives=err.details.get("alternatives", []),
                               **_form_context(values)), 409
    except DomainError as err:
        db.session.rollback()
        return render_template("interviews/new.html", error=err.message, error_field=err.field,
                               **_form_context(values, errors=field_errors(err),
                                               stored_party=err.details.get("stored_party"))), 400
    flash(_("约谈已创建并排期。") if interview.status == "scheduled" else _("约谈草稿已保存。"), "success")
    return redirect(url_for("interviews.show", interview_id=interview.id), 303)


@bp.get("/people")
@login_required
def people():
    """The officials of the lead and co-organising agencies (htmx: refreshed as agencies change)."""
    lead_id = request.args.get("lead_agency_id", type=int) or current_user.agency_id
    resp = render_template("interviews/_people.html", people=_people_for(lead_id, _ids("agency_ids")),
                           checked=set(_ids("participant_ids")), lead_id=lead_id)
    return resp, 200, {"HX-Trigger-After-Settle": "people-changed"}


@bp.get("/suggest")
@login_required
def suggest():
    """Slot suggestions for the chosen people and room (htmx fragment)."""
    args = request.args
    interview = None
    if args.get("interview_id"):
        interview = services.get(current_user, args.get("interview_id"))
    participant_ids = _ids("participant_ids") if not interview else [p.user_id for p in interview.participants]
    room_id = args.get("room_id") if not interview else interview.room_id
    duration = args.get("duration_minutes", 90) if not interview else interview.duration_minutes
    today = local_today()
    start_day = _date_arg(args.get("window_from")) or today
    end_day = _date_arg(args.get("window_to")) or today + timedelta(days=45)
    ctx = {"interview": interview, "mode": args.get("mode", "pick"), "result": None, "labels": {}, "error": "",
           "notice": current_rules().notice_working_days}
    if not participant_ids:
        ctx["error"] = _("选择参加人员后，这里会推荐所有人员和会议室都空闲的时段。")
        return render_template("interviews/_slots.html", **ctx)
    try:
        result, labels = services.suggest(
            current_user, participant_ids, room_id, duration, local_datetime(start_day, datetime.min.time()),
            local_datetime(end_day + timedelta(days=1), datetime.min.time()), args.get("limit", 8, type=int),
            party_id=interview.party_id if interview else None,
            exclude_interview_id=interview.id if interview else None)
    except DomainError as err:
        ctx["error"] = err.message
        return render_template("interviews/_slots.html", **ctx)
    ctx.update(result=result, labels=labels, selected=args.get("start", ""))
    return render_template("interviews/_slots.html", **ctx)


# --- one interview -------------------------------------------------------------------------------

def _show(interview, status: int = 200, **extra):
    interview = services.get(current_user, interview.id if hasattr(interview, "id") else interview)
    ctx = {
        "i": interview, "organiser": services.is_organiser(current_user, interview),
        "my_row": next((a for a in interview.agencies if a.agency_id == current_user.agency_id and a.role == "co"),
                       None),
        "results": FOLLOW_UP_RESULTS, "rooms": sched.list_rooms(), "now": datetime.now().astimezone(),
        "people": _people_for(interview.lead_agency_id, [a.agency_id for a in interview.agencies]),
        "agencies": _agencies(), "today": local_today(), "verdict": _verdict(interview),
        "visible_leads": _visible_leads([v for item in interview.items for v in item.follow_ups]),
        # A refused form is shown again with what was typed (which form: the last part of the path).
        "sent": request.form if request.method == "POST" else {},
        "sent_to": request.path.rsplit("/", 1)[-1] if request.method == "POST" else "", **extra,
    }
    return render_template("interviews/show.html", **ctx), status


def _verdict(interview) -> dict | None:
    """The lead agency's lists on the interview's matter: shown as a flag (an interview is itself a
    flexible measure the policy uses for safety risks too, §四(三), so it is not refused)."""
    if not (interview.list_item_id or interview.matter.strip()):
        return None
    return lists.eligibility(interview.lead_agency_id, matter_text=interview.matter,
                             list_item_id=interview.list_item_id)


def _visible_leads(visits) -> set[int]:
    """Leads of escalated visits the user may open (a co-organiser may not be party to the lead)."""
    return {v.lead_id for v in visits if v.lead is not None and referrals.can_see(current_user, v.lead)}


@bp.get("/<int:interview_id>")
@login_required
def show(interview_id: int):
    interview = services.get(current_user, interview_id)
    if htmx and htmx.target == "board":
        return render_template("interviews/_board.html", i=interview,
                               my_row=next((a for a in interview.agencies if a.agency_id == current_user.agency_id
                                            and a.role == "co"), None))
    return _show(interview)


def _act(interview_id: int, fn, success: str):
    """Run a service for the interview page; on a rule or clash show the page with the message."""
    try:
        fn()
    except Conflict as err:
        db.session.rollback()
        return _show(interview_id, 409, error=err.message, alternatives=err.details.get("alternatives", []))
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        return _show(interview_id, err.status, error=err.message)
    flash(success, "success")
    return redirect(url_for("interviews.show", interview_id=interview_id), 303)


@bp.post("/<int:interview_id>/schedule")
@login_required
def schedule(interview_id: int):
    return _act(interview_id, lambda: services.schedule(current_user, interview_id,
                                                        _start_arg(request.form.get("start"))), _("约谈已排期。"))


@bp.post("/<int:interview_id>/reschedule")
@login_required
def reschedule(interview_id: int):
    return _act(interview_id, lambda: services.reschedule(
        current_user, interview_id, _start_arg(request.form.get("start")), request.form.get("reason", "")),
        _("约谈已改期，各方需重新确认。"))


@bp.post("/<int:interview_id>/cancel")
@login_required
def cancel(interview_id: int):
    return _act(interview_id, lambda: services.cancel(current_user, interview_id, request.form.get("reason", "")),
                _("约谈已取消。"))


@bp.post("/<int:interview_id>/held")
@login_required
def held(interview_id: int):
    return _act(interview_id, lambda: services.mark_held(current_user, interview_id), _("已标记为已约谈。"))


@bp.post("/<int:interview_id>/respond")
@login_required
def respond(interview_id: int):
    decision, reason = request.form.get("decision", ""), request.form.get("reason", "")
    if htmx:
        error = ""
        try:
            services.respond(current_user, interview_id, decision, reason)
        except DomainError as err:
            if err.status == 404:
                raise
            db.session.rollback()
            error = err.message
        interview = services.get(current_user, interview_id)
        my_row = next((a for a in interview.agencies if a.agency_id == current_user.agency_id and a.role == "co"),
                      None)
        return render_template("interviews/_board.html", i=interview, my_row=my_row, error=error)
    return _act(interview_id, lambda: services.respond(current_user, interview_id, decision, reason), _("已提交。"))


@bp.post("/<int:interview_id>/edit")
@login_required
def edit(interview_id: int):
    form = request.form
    data = {"agency_ids": _ids("agency_ids", form), "participant_ids": _ids("participant_ids", form),
            "room_id": form.get("room_id") or None}
    if form.get("duration_minutes"):
        data["duration_minutes"] = form.get("duration_minutes")
    return _act(interview_id, lambda: services.update(current_user, interview_id, data),
                _("参加单位、人员和会议室已更新。"))


@bp.post("/<int:interview_id>/items")
@login_required
def add_item(interview_id: int):
    return _act(interview_id, lambda: services.add_item(
        current_user, interview_id, request.form.get("requirement", ""), _date_arg(request.form.get("deadline"))),
        _("整改要求已登记，并已生成回访任务。"))


# --- follow-up visits ----------------------------------------------------------------------------

def _safe_next(default: str) -> str:
    target = request.form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@bp.get("/follow-ups")
@cacheable
@login_required
def follow_up_list():
    status = request.args.get("status", "pending")
    visits = services.follow_ups(current_user, status=status)
    return render_template("interviews/follow_ups.html", visits=visits, status=status, results=FOLLOW_UP_RESULTS,
                           today=local_today(), visible_leads=_visible_leads(visits))


@bp.post("/follow-ups/<int:follow_up_id>/visit")
@login_required
def visit(follow_up_id: int):
    try:
        services.record_visit(current_user, follow_up_id, request.form.get("result", ""), request.form.get("notes", ""))
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        flash(err.message, "error")
    else:
        flash(_("回访结果已登记。"), "success")
    return redirect(_safe_next(url_for("interviews.follow_up_list")), 303)


@bp.route("/follow-ups/<int:follow_up_id>/escalate", methods=["GET", "POST"])
@login_required
def escalate(follow_up_id: int):
    """Escalate a "not rectified" visit: the lead form, prefilled from the interview and the visit."""
    if request.method == "GET":
        visit = services.escalation_target(current_user, follow_up_id)
        form, error, status = services.escalation_defaults(visit), None, 200
    else:
        form = dict(request.form)
        limit = storage.max_bytes()
        uploads = [storage.Upload(f.filename, f.read(limit + 1)) for f in request.files.getlist("files")
                   if f and f.filename]
        try:
            visit = services.escalate(current_user, follow_up_id, form, uploads)
        except DomainError as err:
            if err.status == 404:
                raise
            db.session.rollback()
            visit = services.get_follow_up(current_user, follow_up_id)
            error, status = err, err.status
        else:
            flash(_("已升级处理：线索 %(n)s 已移交%(agency)s。", n=visit.lead.number, agency=visit.lead.to_agency.name),
                  "success")
            return redirect(url_for("referrals.show", lead_id=visit.lead_id), 303)
    return render_template("interviews/escalate.html", visit=visit, form=form, error=error,
                           errors=field_errors(error) if error else {},
                           receivers=referrals.receivers(), kinds=referrals.kinds(), urgency=URGENCY,
                           max_mb=storage.max_bytes() // (1024 * 1024)), status
