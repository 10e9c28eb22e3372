"""Staff pages for the party's part: the panel on the interview page, the party's row on the
confirmation board, proof on the follow-up visits, and the office's ratings page. The party's own
pages are the nested blueprint `portal` (/p/)."""
from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from coord.accounts.scoping import require_office
from coord.errors import DomainError
from coord.extensions import db
from coord.interviews import services as interviews
from coord.lang import _
from coord.party import answers, feedback, links, proofs, queries, services, undertaking
from coord.party.portal import portal
from coord.timeutil import parse_iso

bp = Blueprint("party", __name__)
bp.register_blueprint(portal)


# --- what the interview pages include --------------------------------------------------------------

@bp.app_template_global("party_panel")
def party_panel(interview) -> dict:
    """The party's part of one interview, for the staff who may see the interview."""
    organiser = interviews.is_organiser(current_user, interview)
    all_links = links.all_links(interview.id)
    return {
        "organiser": organiser,
        "links": [{"link": lk, "url": links.url_for_link(lk) if organiser and not lk.revoked else "",
                   "code": links.format_code(links.code_for(lk)) if organiser and not lk.revoked else ""}
                  for lk in all_links],
        "expires_at": links.expires_at(interview),
        "current": queries.current_response(interview),
        "latest": queries.latest_response(interview.id),
        "undertaking": undertaking.state(interview) if interview.status == "held" else None,
        "proofs": {item.id: proofs.proofs_of_item(item.id) for item in interview.items},
        "feedback": feedback.given(interview.id) if current_user.is_office else {},
    }


@bp.app_template_global("party_proofs_for_visit")
def party_proofs_for_visit(visit) -> dict:
    """Proof of the visit's item, for the follow-up pages; who may review it."""
    return {"proofs": proofs.proofs_of_item(visit.item_id),
            "may_review": proofs.may_review(current_user, visit) and visit.status == "pending"}


def _back(interview_id: int, anchor: str = "party") -> str:
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("interviews.show", interview_id=interview_id) + f"#{anchor}"


def _run(interview_id: int, fn, success: str, anchor: str = "party"):
    try:
        fn()
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        flash(err.message, "error")
    else:
        flash(success, "success")
    return redirect(_back(interview_id, anchor), 303)


# --- links ---------------------------------------------------------------------------------------

@bp.post("/interviews/<int:interview_id>/party/links")
@login_required
def send_links(interview_id: int):
    return _run(interview_id, lambda: services.issue_links(current_user, interview_id),
                _("当事人访问链接已生成并发送。"))


@bp.post("/interviews/<int:interview_id>/party/links/<int:link_id>/revoke")
@login_required
def revoke(interview_id: int, link_id: int):
    return _run(interview_id, lambda: services.revoke_link(current_user, interview_id, link_id,
                                                           request.form.get("reason", "")),
                _("原链接已吊销，已生成新链接。"))


# --- answers -------------------------------------------------------------------------------------

def _start(value: str | None):
    try:
        return parse_iso(value) if value else None
    except ValueError:
        raise DomainError(_("时间格式不正确。"), field="start") from None


@bp.post("/interviews/<int:interview_id>/party/responses/<int:response_id>")
@login_required
def answer(interview_id: int, response_id: int):
    form = request.form
    decision = form.get("decision", "")
    message = (_("已同意改期，约谈已改至所选时间，邀请已重新发送。") if decision == "accept"
               else _("已答复当事人：不同意改期。"))
    return _run(interview_id, lambda: answers.answer_reschedule(
        current_user, interview_id, response_id, decision, start=_start(form.get("start")),
        reason=form.get("reason", "")), message, "board")


# --- proof ---------------------------------------------------------------------------------------

@bp.post("/party/proofs/<int:proof_id>/review")
@login_required
def review(proof_id: int):
    proof = proofs.get_proof(current_user, proof_id)
    decision = request.form.get("decision", "")
    message = _("整改材料审核通过，已登记回访结果：已整改。") if decision == "accept" else _("已要求当事人补充材料。")
    return _run(proof.interview_id, lambda: proofs.review(current_user, proof_id, decision,
                                                          request.form.get("reason", "")), message)


@bp.get("/interviews/<int:interview_id>/party/files/<int:file_id>")
@login_required
def proof_file(interview_id: int, file_id: int):
    row, data = proofs.file_for_staff(current_user, interview_id, file_id)
    resp = Response(data, mimetype=row.content_type.split(";")[0])
    resp.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(row.filename)}"
    return resp


# --- the undertaking -----------------------------------------------------------------------------

@bp.get("/interviews/<int:interview_id>/party/undertaking.pdf")
@login_required
def signed_undertaking(interview_id: int):
    name, data = undertaking.document_for_staff(current_user, interview_id)
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return resp


@bp.post("/interviews/<int:interview_id>/party/undertaking/refusal")
@login_required
def refusal(interview_id: int):
    return _run(interview_id, lambda: undertaking.refuse(current_user, interview_id, request.form.get("reason", "")),
                _("已登记当事人拒绝签署保证承诺书。"))


# --- the office: ratings per agency and period -------------------------------------------------------

def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/party/feedback")
@login_required
def feedback_page():
    require_office(current_user)
    date_from, date_to = _day(request.args.get("from")), _day(request.args.get("to"))
    agency_id = request.args.get("agency_id", type=int)
    return render_template(
        "party/feedback.html", rows=queries.ratings(agency_id, date_from, date_to),
        feedback=queries.feedback_rows(date_from, date_to), reports=queries.integrity_reports(date_from, date_to),
        date_from=date_from, date_to=date_to)
