"""Pages for leads and police referrals. Thin: parse the form, call a service, render."""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from coord.agencies import services as agency_services
from coord.audit import services as audit
from coord.errors import DomainError, NotFound
from coord.extensions import db, htmx
from coord.lists import services as lists
from coord.referrals import export, police, queries, services, storage
from coord.referrals.models import LEAD_STATES, MATERIALS, MEASURES, OUTCOMES, URGENCY
from coord.referrals.storage import Upload
from coord.timeutil import local_today
from coord.web.pagecache import cacheable

bp = Blueprint("referrals", __name__, url_prefix="/leads")


def _status(err: DomainError | None) -> int:
    """The error's status for plain requests; 200 for htmx (boosted forms), which swaps only 2xx
    answers, so the page with the message replaces the old one and its htmx parts are processed."""
    if err is None or htmx:
        return 200
    return err.status


def _uploads(name: str = "files", category: str = "") -> list[Upload]:
    limit = storage.max_bytes()
    out = []
    for f in request.files.getlist(name):
        if f and f.filename:
            out.append(Upload(f.filename, f.read(limit + 1), category))
    return out


def _show(lead_id: int, error: DomainError | None = None, status: int = 200, form: dict | None = None):
    lead = services.get_lead(current_user, lead_id)
    today = local_today()
    sig = services.signal(lead, today)
    template = "referrals/_detail.html" if htmx and htmx.target == "lead-detail" else "referrals/show.html"
    verdict = services.eligibility(lead)
    form = form or {}
    if not form.get("measure") and verdict["measures"]:
        form["measure"] = verdict["measures"][0]  # the reply form proposes what the list names
    return render_template(
        template, lead=lead, sig=sig, today=today, files=services.files_of(lead),
        extensions=services.extensions_of(lead), pending=services.pending_extension(lead),
        supervisions=services.supervisions_of(lead), merged=services.merged_from(lead),
        receivers=services.receivers(), outcomes=OUTCOMES, measures=MEASURES, error=error,
        form=form, verdict=verdict, source=_source(lead), current_item=_current_item(lead),
        merge_candidates=services.merge_candidates(current_user, lead) if lead.state not in ("closed", "merged")
        else [], errors=_field_errors(error),
    ), status


def _field_errors(err: DomainError | None) -> dict[str, str]:
    if err is None:
        return {}
    return dict(err.details.get("errors") or {}) or {err.field or "_": err.message}


def _source(lead) -> dict | None:
    """The escalated follow-up visit this lead came from; the interview is linked only for those who see it
    (asked through the audit's registry, where the interviews say who may see an interview)."""
    visit = services.source_of(lead)
    if visit is None:
        return None
    return {"visit": visit, "interview": visit.interview,
            "visible": audit.can_see(current_user, "interview", str(visit.interview_id))}


def _current_item(lead):
    return lists.current_item(lead.list_item) if lead.list_item else None


def _act(lead_id: int, action: Callable[[], Any], success: str):
    """Run a service; on a broken rule show the page again with the message and nothing changed."""
    try:
        action()
    except NotFound:
        raise
    except DomainError as err:
        db.session.rollback()
        body, status = _show(lead_id, err, _status(err), dict(request.form))
        return body, status, {"HX-Replace-Url": url_for("referrals.show", lead_id=lead_id)} if htmx else {}
    flash(success, "success")
    return redirect(url_for("referrals.show", lead_id=lead_id), 303)


@bp.get("/")
@cacheable
@login_required
def index():
    today = local_today()
    try:
        box = queries.resolve_box(current_user, request.args.get("box"), request.args.get("agency_id"))
        state = request.args.get("state", "")
        overdue = request.args.get("overdue") == "1"
        page = max(request.args.get("page", 1, type=int), 1)
        box_counts = queries.counts(box, today)
        rows, total = queries.list_leads(box, today, state=state, overdue=overdue, page=page,
                                         box_counts=box_counts)
    except DomainError:
        abort(400)
    left = {r.lead.id: r.days_left for r in rows}  # counted by the list's own query
    agencies = agency_services.filter_choices(enforcement_only=True) if current_user.is_office else []
    args = {"box": box.box, "state": state, "overdue": "1" if overdue else "", "page": page,
            "agency_id": request.args.get("agency_id", "")}
    template = "referrals/_rows.html" if htmx and htmx.target == "lead-list" else "referrals/index.html"
    return render_template(template, rows=rows, total=total, counts=box_counts, box=box, args=args, left=left,
                           states=LEAD_STATES, boxes=queries.BOXES, page_size=queries.PAGE_SIZE,
                           agencies=agencies, today=today)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form: dict = dict(request.form) if request.method == "POST" else {}
    error = None
    if request.method == "POST":
        try:
            lead = services.refer(current_user, form, _uploads())
        except DomainError as err:
            db.session.rollback()
            error = err
        else:
            flash(gettext("线索 %(number)s 已移交%(to_agency_name)s。",
                          number=lead.number, to_agency_name=lead.to_agency.name), "success")
            return redirect(url_for("referrals.show", lead_id=lead.id), 303)
    status = _status(error)
    if error is not None and any(f.filename for f in request.files.getlist("files")):
        form["_had_files"] = "1"  # a browser cannot be given the chosen files back: say so beside the field
    return render_template("referrals/new.html", form=form, error=error, errors=_field_errors(error),
                           kinds=services.kinds(),
                           receivers=services.receivers(), urgency=URGENCY,
                           max_mb=storage.max_bytes() // (1024 * 1024)), status


@bp.get("/<int:lead_id>")
@login_required
def show(lead_id: int):
    return _show(lead_id)


@bp.post("/<int:lead_id>/acknowledge")
@login_required
def acknowledge(lead_id: int):
    return _act(lead_id, lambda: services.acknowledge(current_user, lead_id), "已签收，回复时限开始计算。")


@bp.post("/<int:lead_id>/return")
@login_required
def return_lead(lead_id: int):
    return _act(lead_id, lambda: services.return_lead(current_user, lead_id, request.form.get("reason", "")),
                "已退回移交单位。")


@bp.post("/<int:lead_id>/redirect")
@login_required
def redirect_lead(lead_id: int):
    return _act(lead_id, lambda: services.redirect(current_user, lead_id, request.form.get("to_agency_id")),
                "已改派。")


@bp.post("/<int:lead_id>/reply")
@login_required
def reply(lead_id: int):
    return _act(lead_id, lambda: services.reply(current_user, lead_id, dict(request.form), _uploads()),
                "处理情况已回复。")


@bp.post("/<int:lead_id>/files")
@login_required
def add_files(lead_id: int):
    return _act(lead_id, lambda: services.add_files(current_user, lead_id, _uploads()), "附件已添加。")


@bp.post("/<int:lead_id>/extension")
@login_required
def extension(lead_id: int):
    return _act(lead_id, lambda: services.request_extension(
        current_user, lead_id, request.form.get("days"), request.form.get("reason", "")), "延期申请已提交。")


@bp.post("/<int:lead_id>/extension/decide")
@login_required
def extension_decide(lead_id: int):
    approve = {"1": True, "0": False}.get(request.form.get("approve", ""))
    return _act(lead_id, lambda: services.decide_extension(
        current_user, lead_id, approve, request.form.get("note", "")), "延期申请已审批。")


@bp.post("/<int:lead_id>/accept")
@login_required
def accept(lead_id: int):
    return _act(lead_id, lambda: services.accept(current_user, lead_id, request.form.get("note", "")),
                "已确认回复，线索办结。")


@bp.post("/<int:lead_id>/send-back")
@login_required
def send_back(lead_id: int):
    return _act(lead_id, lambda: services.send_back(current_user, lead_id, request.form.get("note", "")),
                "已退回补充核查。")


@bp.post("/<int:lead_id>/merge")
@login_required
def merge(lead_id: int):
    return _act(lead_id, lambda: services.merge(current_user, lead_id, request.form.get("into_id")),
                "已合并为重复线索。")


@bp.post("/<int:lead_id>/supervise")
@login_required
def supervise(lead_id: int):
    return _act(lead_id, lambda: services.supervise(current_user, lead_id, request.form.get("note", "")),
                "已督办。")


@bp.post("/<int:lead_id>/supervision/answer")
@login_required
def answer_supervision(lead_id: int):
    return _act(lead_id, lambda: services.answer_supervision(current_user, lead_id, request.form.get("answer", "")),
                "督办已答复。")


@bp.get("/files/<int:file_id>")
@login_required
def download(file_id: int):
    return storage.download(services.file_for(current_user, file_id))


# --- the office: figures and clocks ---------------------------------------------------------------

def _office() -> None:
    if not current_user.is_office:
        abort(403)


@bp.get("/figures")
@login_required
def figures():
    _office()
    rows = queries.figures(local_today())
    return render_template("referrals/figures.html", rows=rows, columns=queries.FIGURE_COLUMNS,
                           fmt_rate=queries.fmt_rate, today=local_today())


@bp.get("/figures.csv")
@login_required
def figures_csv():
    _office()
    today = local_today()
    return export.csv_response(queries.figures(today), today)


@bp.get("/figures.xlsx")
@login_required
def figures_xlsx():
    _office()
    today = local_today()
    return export.xlsx_response(queries.figures(today), today)


@bp.route("/kinds", methods=["GET", "POST"])
@login_required
def kinds():
    _office()
    error = None
    if request.method == "POST":
        try:
            services.update_kind(current_user, request.form.get("kind_id", 0, type=int), dict(request.form))
        except DomainError as err:
            db.session.rollback()
            error = err
        else:
            flash("办理时限已保存。", "success")
            return redirect(url_for("referrals.kinds"), 303)
    return render_template("referrals/kinds.html", kinds=services.kinds(active_only=False), error=error), _status(
        error)


# --- police referrals -----------------------------------------------------------------------------

def _police_show(referral_id: int, error: DomainError | None = None, status: int = 200):
    from coord.dbtypes import utcnow

    item = police.get_referral(current_user, referral_id)
    now = utcnow()
    overdue = item.due_at is not None and item.due_at < now
    warning = not overdue and item.warn_at is not None and item.warn_at <= now
    return render_template("referrals/police_show.html", item=item, files=police.files_of(item), error=error,
                           overdue=overdue, warning=warning, materials=MATERIALS), status


def _police_act(referral_id: int, action: Callable[[], Any], success: str):
    try:
        action()
    except NotFound:
        raise
    except DomainError as err:
        db.session.rollback()
        body, status = _police_show(referral_id, err, _status(err))
        here = url_for("referrals.police_show", referral_id=referral_id)
        return body, status, {"HX-Replace-Url": here} if htmx else {}
    flash(success, "success")
    return redirect(url_for("referrals.police_show", referral_id=referral_id), 303)


@bp.get("/police/")
@cacheable
@login_required
def police_index():
    from coord.dbtypes import utcnow

    return render_template("referrals/police_index.html", rows=police.list_for(current_user, utcnow()))


@bp.route("/police/new", methods=["GET", "POST"])
@login_required
def police_new():
    form: dict = dict(request.form) if request.method == "POST" else {"lead_id": request.args.get("lead_id", "")}
    error = None
    if request.method == "POST":
        try:
            item = police.create(current_user, form)
        except DomainError as err:
            db.session.rollback()
            error = err
        else:
            flash(gettext("移送 %(number)s 已报请负责人审批（3日内作出决定）。", number=item.number), "success")
            return redirect(url_for("referrals.police_show", referral_id=item.id), 303)
    return render_template("referrals/police_new.html", form=form, error=error,
                           police=police.police_agencies()), _status(error)


@bp.get("/police/<int:referral_id>")
@login_required
def police_show(referral_id: int):
    return _police_show(referral_id)


@bp.post("/police/<int:referral_id>/approve")
@login_required
def police_approve(referral_id: int):
    approved = {"1": True, "0": False}.get(request.form.get("approve", ""))
    return _police_act(referral_id, lambda: police.approve(current_user, referral_id, approved,
                                                            request.form.get("note", "")), "审批已记录。")


@bp.post("/police/<int:referral_id>/materials")
@login_required
def police_materials(referral_id: int):
    uploads = _uploads(category=request.form.get("category", ""))
    return _police_act(referral_id, lambda: police.add_materials(current_user, referral_id, uploads), "材料已上传。")


@bp.get("/police/<int:referral_id>/letter.pdf")
@login_required
def police_letter(referral_id: int):
    from coord.referrals import letter

    item, data = letter.letter_pdf(current_user, referral_id)
    return send_file(io.BytesIO(data), mimetype="application/pdf",
                     download_name=f"涉嫌犯罪案件移送书-{item.number}.pdf")


@bp.post("/police/<int:referral_id>/letter")
@login_required
def police_attach_letter(referral_id: int):
    from coord.referrals import letter

    return _police_act(referral_id, lambda: letter.attach_letter(current_user, referral_id),
                       "移送书已生成并作为移送材料保存。")


@bp.post("/police/<int:referral_id>/hand-over")
@login_required
def police_hand_over(referral_id: int):
    return _police_act(referral_id, lambda: police.hand_over(current_user, referral_id), "已移送公安机关。")


@bp.post("/police/<int:referral_id>/receipt")
@login_required
def police_receipt(referral_id: int):
    return _police_act(referral_id, lambda: police.receipt(current_user, referral_id,
                                                            request.form.get("receipt_number", "")), "回执已签收。")


@bp.post("/police/<int:referral_id>/decide")
@login_required
def police_decide(referral_id: int):
    return _police_act(referral_id, lambda: police.decide(current_user, referral_id, dict(request.form)),
                       "决定已记录。")


@bp.post("/police/<int:referral_id>/reconsider")
@login_required
def police_reconsider(referral_id: int):
    return _police_act(referral_id, lambda: police.request_reconsideration(
        current_user, referral_id, request.form.get("reason", "")), "已提请复议。")

