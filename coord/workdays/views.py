from __future__ import annotations

import calendar as pycal
import re
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, flash, has_request_context, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from jinja2 import pass_eval_context
from markupsafe import Markup

from coord.accounts.forms import ConfirmForm
from coord.errors import Conflict, DomainError
from coord.extensions import htmx
from coord.timeutil import local_today, to_local
from coord.workdays import imports, services
from coord.workdays.impact import labels as impact_labels
from coord.workdays.notice import NoticeError

bp = Blueprint("workdays", __name__, url_prefix="/calendar")
WEEKDAYS = "一二三四五六日"
PREVIEW_ROWS = 50  # records listed per feature in a preview (all are counted)


def _months(year: int) -> list[tuple[int, list[list[date]]]]:
    cal = pycal.Calendar(firstweekday=0)
    return [(month, cal.monthdatescalendar(year, month)) for month in range(1, 13)]


def _year_context(year: int, changed: set[date] | None = None) -> dict[str, Any]:
    rows = {d.day: d for d in services.days(date(year, 1, 1), date(year, 12, 31))}
    return {"year": year, "months": _months(year), "rows": rows, "year_row": services.get_year(year),
            "changed": changed or set(), "today": local_today(), "weekdays": WEEKDAYS}


def _year_arg() -> int:
    year = request.args.get("year", local_today().year, type=int)
    if not 1900 < year < 2200:
        abort(404)
    return year


@bp.get("/")
@login_required
def index():
    year = _year_arg()
    return render_template("workdays/index.html", **_year_context(year), years=services.years(),
                           years_ahead=services.years_ahead(), form=ConfirmForm())


def _office() -> None:
    if not current_user.is_office:
        abort(403)


def _parse_day(value: str | None, field: str = "day") -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise DomainError(_("请选择有效的日期（YYYY-MM-DD）。"), field=field) from None


@bp.get("/day/<day>")
@login_required
def day_editor(day: str):
    """The editor of one day (htmx: opened by clicking the day in the grid)."""
    _office()
    try:
        parsed = date.fromisoformat(day)
    except ValueError:
        abort(404)
    row = next(iter(services.days(parsed, parsed)), None)
    return render_template("workdays/_day.html", day=parsed, row=row, weekdays=WEEKDAYS,
                           provisional=services.is_provisional(parsed))


@bp.post("/set")
@login_required
def set_day():
    _office()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        parsed = _parse_day(request.form.get("day"))
        is_workday = request.form.get("is_workday") == "1"
        services.set_day(current_user, parsed, is_workday, request.form.get("note", ""))
    except DomainError as err:
        if htmx:  # shown in the editor, not in place of the month
            html = render_template("workdays/_day.html", day=None, error=err.message)
            return html, 200, {"HX-Retarget": "#day-editor", "HX-Reswap": "outerHTML"}
        flash(err.message, "error")
        return redirect(url_for("workdays.index")), 303
    message = _("%(day)s 已设为%(kind)s。", day=parsed.isoformat(), kind=_("工作日") if is_workday else _("休息日"))
    if htmx:
        ctx = _year_context(parsed.year)
        return render_template("workdays/_set.html", **ctx, month=parsed.month, message=message)
    flash(message, "success")
    return redirect(url_for("workdays.index", year=parsed.year))


@bp.post("/range")
@login_required
def set_range():
    _office()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        start = _parse_day(request.form.get("from"), "from")
        end = _parse_day(request.form.get("to") or request.form.get("from"), "to")
        is_workday = request.form.get("is_workday") == "1"
        changes = services.set_range(current_user, start, end, is_workday, request.form.get("note", ""))
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("workdays.index", year=request.args.get("year", type=int))), 303
    flash(_("%(a)s 至 %(b)s 已设为%(kind)s（%(n)s 天有变化）。", a=start.isoformat(), b=end.isoformat(),
            kind=_("工作日") if is_workday else _("休息日"), n=len(changes)), "success")
    return redirect(url_for("workdays.index", year=start.year)), 303


@bp.post("/settings")
@login_required
def settings():
    _office()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        n = services.set_years_ahead(current_user, request.form.get("years_ahead"))
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("workdays.index")), 303
    flash(_("已设置：始终保留当年及之后 %(n)s 年的工作日历（未公布放假安排的年度为暂定）。", n=n), "success")
    return redirect(url_for("workdays.index")), 303


def _preview_page(text: str, *, error: NoticeError | None = None, stale: str = "", status: int = 200):
    """The preview beside the year it concerns (htmx: the preview, and the grid swapped out of band)."""
    result = None
    if error is None:
        try:
            result = imports.preview(current_user, text)
        except NoticeError as err:
            error, status = err, 400
    ctx: dict[str, Any] = {"text": text, "result": result, "error": error, "stale": stale,
                           "labels": impact_labels(), "limit": PREVIEW_ROWS, "form": ConfirmForm()}
    if result is not None:
        ctx.update(_year_context(result.year, {c.day for c in result.changes}))
    if htmx:  # the preview (or what it could not read) is the answer: swapped in like any other
        return render_template("workdays/_preview.html", **ctx, oob=result is not None)
    if result is None:
        ctx.update(_year_context(local_today().year))
    return render_template("workdays/index.html", **ctx, years=services.years(),
                           years_ahead=services.years_ahead()), status


@bp.post("/notice/preview")
@login_required
def notice_preview():
    _office()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _preview_page(request.form.get("text", ""))


@bp.post("/notice/apply")
@login_required
def notice_apply():
    _office()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    text = request.form.get("text", "")
    version = request.form.get("version", type=int)
    try:
        result = imports.apply(current_user, text, version=version)
    except NoticeError as err:
        return _preview_page(text, error=err, status=400)
    except Conflict as err:
        return _preview_page(text, stale=err.message, status=409)
    moved = "，".join(f"{impact_labels().get(k, k)} {len(v)} 项" for k, v in result.affected.items() if v)
    flash(f"已导入《{result.notice.title}》：{len(result.changes)} 天有变化"
          + (f"；受影响：{moved}（已重新计算并通知相关人员）" if moved else "") + "。", "success")
    return redirect(url_for("workdays.index", year=result.year)), 303


# --- on every page: provisional marks, the office's warning, calendar errors linked -----------------

@bp.app_template_global("calendar_provisional")
def calendar_provisional(day: date | datetime | None, start: date | None = None) -> bool:
    """Was this date computed over a provisional day (counted from `start`, or on the day itself)?"""
    if isinstance(day, datetime):
        day = to_local(day).date()
    return services.provisional_span(start, day) if start is not None else services.is_provisional(day)


@bp.app_template_global("calendar_warning")
def calendar_warning() -> dict[str, Any] | None:
    """From 1 November, while next year is not official, the office is reminded on every page."""
    if not current_user.is_authenticated or not current_user.is_office:
        return None
    today = local_today()
    if today.month < 11:
        return None
    year = today.year + 1
    if services.year_statuses().get(year) == "official":
        return None
    return {"year": year, "url": url_for("workdays.index", year=year)}


@bp.record_once
def _constants(state) -> None:
    # Lazy: shown in the reader's language (the stored notes and audit entries keep the Chinese text).
    state.app.jinja_env.globals["PROVISIONAL_NOTE"] = _l(services.PROVISIONAL_NOTE)


_PHRASE = "年的工作日历尚未录入"
_MISSING = re.compile(rf"(\d{{4}}) {_PHRASE}")


@pass_eval_context
def _link_calendar_errors(eval_ctx, value: Any) -> Any:
    """Every calendar error shown on a page links to 工作日历: whichever template shows the message
    (forms, error pages, slot searches), the link is added where it is printed."""
    # Runs on every {{ }} of every page: the cheap tests first (a plain str holding the phrase).
    if type(value) is str and _PHRASE in value and eval_ctx.autoescape:
        found = _MISSING.search(value)
        if found:
            year = int(found.group(1))
            href = url_for("workdays.index", year=year) if has_request_context() else services.calendar_url(year)
            return Markup('{} <a class="calendar-link" href="{}">前往工作日历</a>').format(value, href)
    return value


@bp.record_once
def _install_finalize(state) -> None:
    env = state.app.jinja_env
    previous = env.finalize
    if previous is None:
        env.finalize = _link_calendar_errors
    else:  # keep another finalize working: ours runs on what it returns
        @pass_eval_context
        def chained(eval_ctx, value):
            return _link_calendar_errors(eval_ctx, previous(value))
        env.finalize = chained
