"""Pages for the two lists: editing (htmx), import, submit, review, history and diff, the office's
dashboard, and the public pages (no login) with search and XLSX download."""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from coord.documents import document_locale
from coord.errors import DomainError
from coord.extensions import htmx
from coord.lang import request_locale
from coord.lists import services
from coord.lists.models import KINDS, MEASURES, ListVersion
from coord.lists.rules import COLUMNS, matter_code_warning
from coord.lists.services import ItemInvalid
from coord.lists.sheets import ImportRejected, SheetError, write_sheet
from coord.web.pagecache import cacheable

bp = Blueprint("lists", __name__)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _partial() -> bool:
    """An htmx request for a fragment (a boosted link or form wants the whole page)."""
    return bool(htmx) and not htmx.boosted


def _kind(kind: str) -> str:
    if kind not in KINDS:
        abort(404)
    return kind


def _item_data() -> dict[str, Any]:
    form = request.form
    return {
        "position": form.get("position", ""),
        "matter": form.get("matter", ""),
        "matter_code": form.get("matter_code", ""),
        "circumstances": form.get("circumstances", ""),
        "legal_basis": form.get("legal_basis", ""),
        "measures": form.getlist("measures"),
        "remarks": form.get("remarks", ""),
    }


def _version_context(version: ListVersion, **extra: Any) -> dict[str, Any]:
    agency = version.agency
    return {
        "version": version,
        "agency": agency,
        "items": version.items,
        "columns": COLUMNS[version.kind],
        "measures": MEASURES,
        "warnings": {i.id: services.warnings_for(i, agency) for i in version.items},
        "can_edit": version.editable and services.may_edit(current_user, agency.id),
        "can_review": version.state == "submitted" and current_user.is_office,
        "previous": services.previous_version(version),
        "history": services.history(agency.id, version.kind),
        "editing": None,
        "new_row": False,
        "values": {},
        "errors": {},
        **extra,
    }


# --- the agency's lists and the office's dashboard -------------------------------------------

@bp.get("/lists/")
@cacheable
@login_required
def index():
    if current_user.is_office:
        only_missing = request.args.get("missing") == "1"
        every, pending = services.overview()
        rows = [r for r in every if not r.complete] if only_missing else every
        return render_template("lists/dashboard.html", rows=rows, pending=pending,
                               complete=sum(1 for r in every if r.complete), total=len(every),
                               only_missing=only_missing, kinds=KINDS)
    return redirect(url_for("lists.agency", agency_id=current_user.agency_id))


@bp.get("/lists/agency/<int:agency_id>")
@cacheable
@login_required
def agency(agency_id: int):
    agency = services.require_agency(current_user, agency_id)
    return render_template("lists/agency.html", agency=agency, lists=services.agency_lists(agency.id), kinds=KINDS,
                           can_edit=services.may_edit(current_user, agency.id))


@bp.post("/lists/agency/<int:agency_id>/<kind>/draft")
@login_required
def start_draft(agency_id: int, kind: str):
    version = services.start_draft(current_user, agency_id, _kind(kind))
    return redirect(url_for("lists.version", version_id=version.id))


@bp.post("/lists/agency/<int:agency_id>/<kind>/import")
@login_required
def import_sheet(agency_id: int, kind: str):
    _kind(kind)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ImportRejected([SheetError(None, None, "请选择要导入的 XLSX 文件。")])
        result = services.import_sheet(current_user, agency_id, kind, upload.read())
    except ImportRejected as err:
        agency = services.require_agency(current_user, agency_id)
        context = {"errors": err.errors, "message": err.message, "agency": agency, "kind": kind,
                   "filename": upload.filename if upload else ""}
        if _partial():
            return render_template("lists/_import_result.html", **context), 400
        return render_template("lists/import_failed.html", **context), 400
    diff = result.diff
    flash(gettext("已导入 %(n)s 项（新增 %(added)s、修改 %(changed)s、删除 %(removed)s）。请核对后提交审核。",
                  n=len(result.items), added=len(diff.added), changed=len(diff.changed), removed=len(diff.removed)),
          "success")
    target = url_for("lists.version", version_id=result.version.id)
    if _partial():
        return Response(status=200, headers={"HX-Redirect": target})
    return redirect(target)


# --- one version -----------------------------------------------------------------------------

@bp.get("/lists/versions/<int:version_id>")
@login_required
def version(version_id: int):
    version = services.get_version(current_user, version_id)
    return render_template("lists/version.html", **_version_context(version))


@bp.get("/lists/versions/<int:version_id>/download.xlsx")
@login_required
def download(version_id: int):
    version = services.get_version(current_user, version_id)
    return _xlsx_response(version)


def _xlsx_response(version: ListVersion) -> Response:
    data = write_sheet(version.kind, version.agency.name, version.items, version_label=f"第 {version.number} 版",
                       published_at=version.published_at)
    name = f"{version.agency.name}-{version.title}-第{version.number}版.xlsx"
    return send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=name)


@bp.get("/lists/versions/<int:version_id>/download.pdf")
@login_required
def download_pdf(version_id: int):
    return _pdf_response(services.get_version(current_user, version_id))


def _pdf_response(version: ListVersion) -> Response:
    with document_locale(request_locale()):  # English: a reading copy of the list
        data = services.render_list_pdf(version)
    name = f"{version.agency.name}-{version.title}-第{version.number}版.pdf"
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=name)


@bp.get("/lists/versions/<int:version_id>/diff")
@login_required
def diff(version_id: int):
    version = services.get_version(current_user, version_id)
    against_id = request.args.get("against", type=int)
    old = services.get_version(current_user, against_id) if against_id else services.previous_version(version)
    if old is not None and (old.agency_id, old.kind) != (version.agency_id, version.kind):
        abort(404)
    changes = services.diff_versions(old, version)
    return render_template("lists/diff.html", version=version, old=old, changes=changes,
                           history=services.history(version.agency_id, version.kind), columns=COLUMNS[version.kind])


@bp.post("/lists/versions/<int:version_id>/submit")
@login_required
def submit(version_id: int):
    try:
        services.submit(current_user, version_id)
    except DomainError as err:
        if err.status == 404:
            raise
        flash(err.message, "error")
    else:
        flash("已提交领导小组办公室审核。", "success")
    return redirect(url_for("lists.version", version_id=version_id), code=303)


@bp.post("/lists/versions/<int:version_id>/review")
@login_required
def review(version_id: int):
    decision = request.form.get("decision", "")
    try:
        version = services.review(current_user, version_id, decision, request.form.get("comment", ""))
    except DomainError as err:
        if err.status == 404:
            raise
        flash(err.message, "error")
    else:
        flash("已审核通过并发布。" if version.state == "published" else "已退回修改。", "success")
    return redirect(url_for("lists.version", version_id=version_id), code=303)


# --- items (htmx: the table body is re-rendered, since a 序号 change renumbers other rows) -----

def _items_body(version: ListVersion, status: int = 200, **extra: Any):
    context = _version_context(version, **extra)
    return render_template("lists/_items_body.html", **context), status


@bp.get("/lists/versions/<int:version_id>/items/new")
@login_required
def new_item(version_id: int):
    version = services.get_version(current_user, version_id)
    if not (version.editable and services.may_edit(current_user, version.agency_id)):
        abort(403)
    if _partial():
        return _items_body(version, new_row=True)
    return render_template("lists/item_form.html", version=version, item=None, values={}, errors={},
                           measures=MEASURES, columns=dict(COLUMNS[version.kind]))


@bp.post("/lists/versions/<int:version_id>/items")
@login_required
def add_item(version_id: int):
    data = _item_data()
    try:
        services.add_item(current_user, version_id, data)
    except ItemInvalid as err:
        version = services.get_version(current_user, version_id)
        if _partial():
            return _items_body(version, new_row=True, values=data, errors=err.errors)
        return render_template("lists/item_form.html", version=version, item=None, values=data,
                               errors=err.errors, measures=MEASURES, columns=dict(COLUMNS[version.kind])), 400
    version = services.get_version(current_user, version_id)
    if _partial():
        return _items_body(version)
    flash("已新增事项。", "success")
    return redirect(url_for("lists.version", version_id=version_id), code=303)


@bp.get("/lists/versions/<int:version_id>/items")
@login_required
def items(version_id: int):
    """The table body (htmx: after "取消"); the version page otherwise."""
    version = services.get_version(current_user, version_id)
    if _partial():
        return _items_body(version)
    return redirect(url_for("lists.version", version_id=version.id))


@bp.get("/lists/items/<int:item_id>/edit")
@login_required
def edit_item(item_id: int):
    item = services.get_item(current_user, item_id)
    version = item.version
    if not (version.editable and services.may_edit(current_user, version.agency_id)):
        abort(403)
    values = {**item.content(), "measures": item.measure_codes}
    if _partial():
        return _items_body(version, editing=item.id, values=values)
    return render_template("lists/item_form.html", version=version, item=item, values=values, errors={},
                           measures=MEASURES, columns=dict(COLUMNS[version.kind]))


@bp.post("/lists/items/<int:item_id>")
@login_required
def update_item(item_id: int):
    item = services.get_item(current_user, item_id)
    data = _item_data()
    try:
        services.update_item(current_user, item.id, data)
    except ItemInvalid as err:
        item = services.get_item(current_user, item_id)
        if _partial():
            return _items_body(item.version, editing=item.id, values=data, errors=err.errors)
        return render_template("lists/item_form.html", version=item.version, item=item, values=data,
                               errors=err.errors, measures=MEASURES, columns=dict(COLUMNS[item.version.kind])), 400
    item = services.get_item(current_user, item_id)
    if _partial():
        return _items_body(item.version)
    flash("已保存。", "success")
    return redirect(url_for("lists.version", version_id=item.version_id), code=303)


@bp.post("/lists/items/<int:item_id>/delete")
@login_required
def delete_item(item_id: int):
    item = services.get_item(current_user, item_id)
    version = services.delete_item(current_user, item.id)
    if _partial():
        return _items_body(version)
    flash("已删除该事项。", "success")
    return redirect(url_for("lists.version", version_id=version.id), code=303)


@bp.get("/lists/check-code")
@login_required
def check_code():
    """Inline check of a matter code as it is typed (same rule as the saved item's warning)."""
    agency = services.require_agency(current_user, request.args.get("agency_id", 0, type=int))
    warning = matter_code_warning(request.args.get("matter_code", ""), agency.credit_code)
    return render_template("lists/_code_hint.html", warning=warning)


# --- used by other forms (lead reply, interview) ---------------------------------------------

def _form_agency_id() -> int | None:
    """The agency: `agency_id`, or the field of the form the hint sits in (a lead's receiver, an
    interview's lead agency), so the forms can hx-include their own select."""
    for name in ("agency_id", "to_agency_id", "lead_agency_id"):
        value = request.args.get(name, type=int)
        if value:
            return value
    return None


@bp.get("/lists/eligibility")
@login_required
def eligibility():
    """The hint fragment: may this agency handle this matter flexibly, and with which measures."""
    agency_id = _form_agency_id()
    item_id = request.args.get("list_item_id", type=int)
    matter = request.args.get("matter", "")
    if not agency_id:
        return render_template("lists/_eligibility.html", result=None, message="请先选择单位。")
    if not item_id and len(matter.strip()) < 2:
        return render_template("lists/_eligibility.html", result=None, message="请填写事项名称。")
    result = services.eligibility(agency_id, matter_text=matter, list_item_id=item_id)
    return render_template("lists/_eligibility.html", result=result, message="")


@bp.get("/lists/item-choices")
@login_required
def item_choices():
    """<option>s of one agency's published items, for a "which list item" select."""
    agency_id = _form_agency_id()
    items = services.item_choices(agency_id, request.args.get("q", "")) if agency_id else []
    selected = request.args.get("list_item_id", type=int)
    # The forms' eligibility hint refreshes once the options (and so the selection) are in place.
    return render_template("lists/_item_options.html", items=items, selected=selected), 200, {
        "HX-Trigger-After-Settle": "list-items-loaded"}


# --- public pages: no login ------------------------------------------------------------------

@bp.get("/public/lists")
def public_index():
    q = request.args.get("q", "").strip()[:100]
    agency_id = request.args.get("agency", type=int)
    kind = request.args.get("kind", "")
    kind = kind if kind in KINDS else ""
    items = services.search_published(q, agency_id=agency_id, kind=kind or None, limit=501)
    context = {"items": items[:500], "more": len(items) > 500, "q": q, "agency_id": agency_id, "kind": kind,
               "kinds": KINDS}
    if _partial() and htmx.target == "public-results":
        return render_template("lists/_public_results.html", **context)
    lists = services.published_lists()
    agencies = sorted({(v.agency.sort_order, v.agency.id, v.agency.name) for v in lists})
    return render_template("lists/public_index.html", lists=lists, agencies=agencies, **context)


def _published_or_404(agency_id: int, kind: str) -> ListVersion:
    version = services.published_version(agency_id, _kind(kind))
    if version is None:
        abort(404)
    return version


@bp.get("/public/lists/<int:agency_id>/<any(positive, negative):kind>")
def public_list(agency_id: int, kind: str):
    version = _published_or_404(agency_id, kind)
    return render_template("lists/public_list.html", version=version, agency=version.agency,
                           items=version.items, columns=COLUMNS[version.kind])


@bp.get("/public/lists/<int:agency_id>/<any(positive, negative):kind>.xlsx")
def public_xlsx(agency_id: int, kind: str):
    return _xlsx_response(_published_or_404(agency_id, kind))


@bp.get("/public/lists/<int:agency_id>/<any(positive, negative):kind>.pdf")
def public_pdf(agency_id: int, kind: str):
    return _pdf_response(_published_or_404(agency_id, kind))
