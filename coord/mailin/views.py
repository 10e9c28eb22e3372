"""Pages: the answer links (no login; GET shows, POST answers), the organiser's decision on a
counter-proposal, the office's quarantine; and template globals for the interview page."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coord.errors import Conflict, DomainError
from coord.extensions import db, htmx, limiter
from coord.mailin import queries, services

bp = Blueprint("mailin", __name__)
ANSWER_LIMIT = "30 per minute"


@bp.app_template_global("invitation_responses")
def invitation_responses(interview) -> list[queries.Response]:
    return queries.responses_of(interview)


@bp.app_template_global("interview_counters")
def interview_counters(interview) -> list[tuple]:
    """Counter-proposals of the interview, each open one with its check by the slot finder."""
    return [(c, queries.check_counter(c) if c.status == "open" and interview.status == "scheduled" else None)
            for c in queries.counters_of(interview)]


# --- answer links (people without an iMIP client; no account needed) -------------------------------------

@bp.get("/rsvp/<token>")
@limiter.limit(ANSWER_LIMIT)
def rsvp(token: str):
    """The confirmation page. A GET never answers: mail scanners open links too."""
    _link, interview, invitee = services.link_target(token)
    answer = request.args.get("answer", "")
    mine = next((r for r in queries.responses_of(interview) if r.email == invitee.email), None)
    resp = Response(render_template("mailin/rsvp.html", i=interview, invitee=invitee, token=token,
                                    answer=answer if answer in ("accept", "decline") else "", mine=mine))
    resp.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    resp.headers["X-Robots-Tag"] = "noindex"
    return resp


@bp.post("/rsvp/<token>")
@limiter.limit(ANSWER_LIMIT)
def rsvp_answer(token: str):
    try:
        reply = services.answer_by_link(token, request.form.get("answer", ""), request.form.get("comment", ""))
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        _link, interview, invitee = services.link_target(token)
        return render_template("mailin/rsvp.html", i=interview, invitee=invitee, token=token, answer="",
                               mine=None, error=err.message), err.status
    _link, interview, invitee = services.link_target(token)
    resp = Response(render_template("mailin/rsvp_done.html", i=interview, invitee=invitee, reply=reply))
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


# --- the organiser decides a counter-proposal --------------------------------------------------------------

@bp.post("/interviews/<int:interview_id>/counters/<int:counter_id>/decide")
@login_required
def decide(interview_id: int, counter_id: int):
    counter = services.get_counter(current_user, counter_id)
    if counter.interview_id != interview_id:
        abort(404)
    decision = request.form.get("decision", "")
    try:
        services.decide_counter(current_user, counter_id, decision, request.form.get("comment", ""))
    except Conflict as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("interviews.show", interview_id=interview_id), 303)
    except DomainError as err:
        if err.status == 404:
            raise
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("interviews.show", interview_id=interview_id), 303)
    flash(_("已采纳改期建议，约谈已改期，新的日程邀请已发出。") if decision == "accepted"
          else _("已回复对方：不采纳该改期建议（DECLINECOUNTER）。"), "success")
    return redirect(url_for("interviews.show", interview_id=interview_id), 303)


# --- the office's quarantine -------------------------------------------------------------------------------

@bp.get("/mail/quarantine")
@login_required
def quarantine():
    if not current_user.is_office:
        abort(404)
    rows = services.quarantined(current_user)
    if htmx and htmx.target == "quarantine-rows":
        return render_template("mailin/_quarantine_rows.html", rows=rows)
    return render_template("mailin/quarantine.html", rows=rows)


@bp.get("/mail/quarantine/<int:inbound_id>")
@login_required
def quarantine_item(inbound_id: int):
    row = services.get_quarantined(current_user, inbound_id)
    text = (row.raw or b"").decode("utf-8", "replace")
    return render_template("mailin/quarantine_item.html", row=row, text=text)
