from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from coord.accounts import services as accounts
from coord.agencies import services
from coord.agencies.forms import AgencyForm
from coord.agencies.models import AGENCY_KINDS, AGENCY_ROLES
from coord.errors import DomainError
from coord.extensions import htmx
from coord.forms import form_data
from coord.web.pagecache import cacheable

bp = Blueprint("agencies", __name__, url_prefix="/agencies")


@bp.get("/")
@cacheable
@login_required
def index():
    q = request.args.get("q", "")
    kind = request.args.get("kind", "")
    role = request.args.get("role", "")
    rows = services.search(q, kind, role, include_inactive=current_user.is_office)
    # Active search: htmx asks for the rows only; without JS the form submits and gets the page.
    if htmx and htmx.target == "agency-rows":
        return render_template("agencies/_rows.html", agencies=rows, q=q)
    return render_template("agencies/index.html", agencies=rows, q=q, kind=kind, role=role,
                           kinds=AGENCY_KINDS, roles=AGENCY_ROLES)


@bp.get("/<int:agency_id>")
@login_required
def show(agency_id: int):
    agency = services.get(agency_id)
    members = accounts.list_users(current_user, agency_id=agency.id)
    return render_template("agencies/show.html", agency=agency, members=members)


@bp.route("/<int:agency_id>/edit", methods=["GET", "POST"])
@login_required
def edit(agency_id: int):
    if not current_user.is_office:
        abort(403)
    agency = services.get(agency_id)
    form = AgencyForm(obj=agency)
    if form.validate_on_submit():
        try:
            services.update(current_user, agency.id, form_data(form))
        except DomainError as err:
            getattr(form, err.field or "name").errors.append(err.message)
        else:
            flash("单位信息已保存。", "success")
            return redirect(url_for("agencies.show", agency_id=agency.id))
    status = 400 if request.method == "POST" else 200
    return render_template("agencies/form.html", form=form, agency=agency), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if not current_user.is_office:
        abort(403)
    form = AgencyForm()
    if form.validate_on_submit():
        try:
            agency = services.create(current_user, form_data(form))
        except DomainError as err:
            getattr(form, err.field or "name").errors.append(err.message)
        else:
            flash("单位已新增。", "success")
            return redirect(url_for("agencies.show", agency_id=agency.id))
    status = 400 if request.method == "POST" else 200
    return render_template("agencies/form.html", form=form, agency=None), status
