"""The register's pages: list with filters, a form per kind of measure, one entry with its documents."""
from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from coord.agencies import services as agency_services
from coord.agencies.models import AGENCY_KINDS, Agency
from coord.documents import document_locale
from coord.errors import DomainError
from coord.extensions import db, htmx
from coord.lang import _, request_locale
from coord.measures import documents, services
from coord.measures.models import CHANNELS, KIND_TITLES, KINDS, PERSUASION_RESULTS, SOURCES, VISIT_RESULTS
from coord.parties.models import PARTY_KINDS
from coord.referrals import storage
from coord.timeutil import local_today
from coord.web.pagecache import cacheable

bp = Blueprint("measures", __name__, url_prefix="/measures")

FIELDS = ("kind", "agency_id", "date", "place", "matter", "list_item_id", "legal_basis", "circumstances", "outcome",
          "correction_deadline", "observation_requirement", "undertaking", "behaviour", "result", "channel", "content",
          "interview_id", "follow_up_id", "other_parties", "agreement_reached", "agreement_terms")


def _date_arg(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _agencies() -> list[Agency]:
    return list(db.session.execute(
        sa.select(Agency).where(Agency.active.is_(True)).order_by(Agency.sort_order, Agency.id)).scalars())


def _filters(args) -> services.Filters:
    kind = args.get("kind", "")
    source = args.get("source", "")
    return services.Filters(
        agency_id=args.get("agency_id", type=int) if current_user.is_office else None,
        kind=kind if kind in KINDS else "", date_from=_date_arg(args.get("from")), date_to=_date_arg(args.get("to")),
        party_id=args.get("party_id", type=int), source=source if source in SOURCES else "",
        agency_kind=args.get("agency_kind", "") if args.get("agency_kind") in AGENCY_KINDS and current_user.is_office
        else "")


@bp.get("/")
@cacheable
@login_required
def index():
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = services.list_measures(current_user, _filters(request.args), page=page)
    context = {"rows": rows, "total": total, "page": page, "pages": max(1, -(-total // services.PAGE_SIZE)),
               "args": request.args, "kinds": KINDS, "sources": SOURCES}
    if htmx and htmx.target == "measure-rows":
        return render_template("measures/_rows.html", **context)
    # Only the office filters by agency (everyone else sees their own agency's entries).
    return render_template("measures/index.html",
                           agencies=agency_services.filter_choices() if current_user.is_office else [],
                           titles=KIND_TITLES,
                           can_create=current_user.role in services.ACTING_ROLES, **context)


def _form_values(form) -> dict:
    values = {key: form.get(key, "") for key in FIELDS}
    values["officer_ids"] = form.getlist("officer_ids")
    values["party"] = {"kind": form.get("party_kind") or None, "name": form.get("party_name", ""),
                       "credit_code": form.get("party_credit_code", ""), "id_number": form.get("party_id_number", ""),
                       "address": form.get("party_address", ""), "contact_phone": form.get("party_phone", "")}
    return values


def _uploads() -> list[storage.Upload]:
    limit = storage.max_bytes()
    return [storage.Upload(f.filename, f.read(limit + 1)) for f in request.files.getlist("files") if f and f.filename]


def _agency_context(kind: str, agency_id: int) -> dict:
    return {"officers": services.officers_of(agency_id), "kind": kind,
            "interviews": services.open_interviews(current_user, agency_id) if kind == "interview" else [],
            "visits": services.pending_visits(current_user, agency_id) if kind == "follow_up" else []}


def _form(kind: str, values: dict, status: int = 200, error: DomainError | None = None):
    agency_id = int(values.get("agency_id") or current_user.agency_id)
    if not current_user.is_office:
        agency_id = current_user.agency_id
    context = {
        "kind": kind, "values": values, "error": error, "titles": KIND_TITLES, "kinds": KINDS,
        "agencies": _agencies() if current_user.is_office else [], "agency_id": agency_id,
        "checked": {int(v) for v in values.get("officer_ids") or [] if str(v).isdigit()},
        "party_kinds": PARTY_KINDS, "channels": CHANNELS, "persuasion_results": PERSUASION_RESULTS,
        "visit_results": VISIT_RESULTS, "today": local_today(), "max_mb": storage.max_bytes() // (1024 * 1024),
        **_agency_context(kind, agency_id),
    }
    return render_template("measures/new.html", **context), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if current_user.role not in services.ACTING_ROLES:
        abort(403)
    kind = request.values.get("kind", "")
    if kind not in KINDS:
        return render_template("measures/choose.html", titles=KIND_TITLES)
    if request.method == "GET":
        values = {"kind": kind, "date": local_today().isoformat(), "officer_ids": [str(current_user.id)],
                  "interview_id": request.args.get("interview_id", ""),
                  "follow_up_id": request.args.get("follow_up_id", "")}
        return _form(kind, values)
    values = _form_values(request.form)
    uploads = _uploads()
    try:
        measure = services.create(current_user, values, uploads)
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        return _form(kind, values, err.status, err)
    flash(_("已登记 %(number)s（%(kind_title)s）。", number=measure.number, kind_title=measure.kind_title), "success")
    return redirect(url_for("measures.show", measure_id=measure.id), 303)


@bp.get("/agency-fields")
@login_required
def agency_fields():
    """The officers and the interviews or visits of the chosen agency (htmx, when the office changes it)."""
    kind = request.args.get("kind", "")
    agency_id = request.args.get("agency_id", type=int) or current_user.agency_id
    if not current_user.is_office:
        agency_id = current_user.agency_id
    return render_template("measures/_agency_fields.html", values={}, checked=set(),
                           **_agency_context(kind if kind in KINDS else "", agency_id))


@bp.get("/<int:measure_id>")
@login_required
def show(measure_id: int):
    measure = services.get(current_user, measure_id)
    slugs = {kind: slug for slug, kind in documents.SLUGS.items()}
    return render_template("measures/show.html", m=measure, slugs=slugs, doc_names=documents.numbering.KINDS,
                           numbers=documents.numbering.numbers_of("measure", [str(measure.id)]),
                           can_upload=current_user.role in services.ACTING_ROLES,
                           max_mb=storage.max_bytes() // (1024 * 1024))


@bp.post("/<int:measure_id>/files")
@login_required
def add_files(measure_id: int):
    uploads = _uploads()
    try:
        rows = services.add_files(current_user, measure_id, uploads)
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        flash(err.message, "error")
    else:
        flash(_("已上传 %(n)s 个附件。", n=len(rows)), "success")
    return redirect(url_for("measures.show", measure_id=measure_id), 303)


@bp.get("/files/<int:file_id>")
@login_required
def download(file_id: int):
    row = services.file_for(current_user, file_id)
    path = storage.path_for(row.sha256)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename,
                     etag=row.sha256, max_age=0)


@bp.get("/<int:measure_id>/<any('prompt-letter','mediation-agreement','correction-order'):slug>.pdf")
@login_required
def document(measure_id: int, slug: str):
    with document_locale(request_locale()):  # English copy for an English reader; the 文号 is the same
        name, data = documents.document_pdf(current_user, measure_id, slug)
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name)
