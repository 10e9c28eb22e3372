from __future__ import annotations

import calendar as pycal
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from coord.accounts.forms import ConfirmForm
from coord.timeutil import local_today
from coord.workdays import services

bp = Blueprint("workdays", __name__, url_prefix="/calendar")


@bp.get("/")
@login_required
def index():
    today = local_today()
    year = request.args.get("year", today.year, type=int)
    if not 1900 < year < 2200:
        abort(404)
    months = []
    rows = {d.day: d for d in services.days(date(year, 1, 1), date(year, 12, 31))}
    for month in range(1, 13):
        weeks = pycal.Calendar(firstweekday=0).monthdatescalendar(year, month)
        months.append((month, weeks))
    return render_template("workdays/index.html", year=year, months=months, rows=rows,
                           known=services.known_years(), form=ConfirmForm(), today=today)


@bp.post("/set")
@login_required
def set_day():
    if not current_user.is_office:
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        parsed = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        flash("请选择有效的日期。", "error")
        return redirect(url_for("workdays.index")), 303
    is_workday = request.form.get("is_workday") == "1"
    services.set_day(current_user, parsed, is_workday, request.form.get("note", ""))
    flash(f"{parsed.isoformat()} 已设为{'工作日' if is_workday else '休息日'}。", "success")
    return redirect(url_for("workdays.index", year=parsed.year))
