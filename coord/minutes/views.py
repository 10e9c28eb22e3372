"""约谈笔录 pages: the editor (htmx autosave), history, correction, downloads, mailing."""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coord.accounts.models import User
from coord.documents import document_locale
from coord.errors import Conflict, DomainError
from coord.extensions import db, htmx
from coord.lang import request_locale
from coord.minutes import services
from coord.web.pagecache import cacheable

bp = Blueprint("minutes", __name__)


def form_content(form: Any) -> dict[str, Any]:
    """The editor's fields as a content dict (rows come as parallel lists, in page order)."""
    return {
        "started_at": form.get("started_at", ""),
        "ended_at": form.get("ended_at", ""),
        "place": form.get("place", ""),
        "matter": form.get("matter", ""),
        "interviewer_ids": form.getlist("interviewer_ids"),
        "recorder_id": form.get("recorder_id", ""),
        "attendees": [{"name": n, "post": p} for n, p in zip(form.getlist("attendee_name"),
                                                              form.getlist("attendee_post"), strict=False)],
        "turns": [{"q": q, "a": a} for q, a in zip(form.getlist("turn_q"), form.getlist("turn_a"), strict=False)],
        "statement": form.get("statement", ""),
        "rectifications": [{"requirement": r, "deadline": d} for r, d in zip(
            form.getlist("rect_requirement"), form.getlist("rect_deadline"), strict=False)],
        "undertaking": form.get("undertaking") == "on",
        "refused_to_sign": form.get("refused_to_sign", ""),
    }


def _officials(interview) -> list[User]:
    """People who may be named as interviewer or recorder: the interview's agencies' officials."""
    import sqlalchemy as sa

    return list(db.session.execute(sa.select(User).where(
        User.agency_id.in_(interview.agency_ids), User.active.is_(True), User.role != "viewer",
    ).order_by(User.agency_id, User.id)).scalars())


def _page(interview_id: int, *, content: dict | None = None, error: DomainError | None = None,
          correcting: bool = False, status: int = 200):
    interview, minutes = services.get(current_user, interview_id)
    shown = content if content is not None else services.current_content(interview, minutes)
    template = "minutes/correct.html" if correcting else (
        "minutes/show.html" if minutes is not None and minutes.is_final else "minutes/edit.html")
    return render_template(
        template, interview=interview, minutes=minutes, content=shown, error=error,
        revision=services.revision_count(minutes), officials=_officials(interview),
        may_edit=services.may_edit(current_user, interview),
        is_organiser=services.interviews.is_organiser(current_user, interview),
        missing=services.missing_for_final(services.current_content(interview, minutes)) if minutes else None,
    ), status


@bp.get("/minutes/")
@cacheable
@login_required
def index():
    page = max(request.args.get("page", 1, type=int), 1)
    rows = services.list_for(current_user, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    return render_template("minutes/index.html", rows=rows[:PAGE_SIZE], page=page, more=len(rows) > PAGE_SIZE)


PAGE_SIZE = 25  # interviews per page of the list


@bp.get("/interviews/<int:interview_id>/minutes")
@login_required
def edit(interview_id: int):
    return _page(interview_id)


@bp.post("/interviews/<int:interview_id>/minutes")
@login_required
def save(interview_id: int):
    content = form_content(request.form)
    revision = request.form.get("revision")
    try:
        minutes, written = services.save(current_user, interview_id, content, revision)
    except Conflict as err:
        if htmx:
            return render_template("minutes/_conflict.html", error=err, interview_id=interview_id), 409
        return _page(interview_id, content=content, error=err, status=409)
    except DomainError as err:
        if htmx:
            return render_template("minutes/_status.html", error=err, revision=None), err.status
        return _page(interview_id, content=content, error=err, status=err.status)
    if htmx:
        return render_template("minutes/_status.html", error=None, minutes=minutes, written=written,
                               revision=minutes.revision)
    flash(_("笔录已保存（第 %(n)s 版）。", n=minutes.revision) if written else _("没有需要保存的修改。"), "success")
    return redirect(url_for("minutes.edit", interview_id=interview_id))


@bp.post("/interviews/<int:interview_id>/minutes/finalize")
@login_required
def finalize(interview_id: int):
    try:
        minutes = services.finalize(current_user, interview_id, request.form.get("revision"))
    except DomainError as err:
        return _page(interview_id, error=err, status=err.status)
    flash(_("笔录已定稿（第 %(n)s 版），正式 PDF 已生成，整改要求已转为回访任务。", n=minutes.revision), "success")
    return redirect(url_for("minutes.edit", interview_id=interview_id))


@bp.route("/interviews/<int:interview_id>/minutes/correct", methods=["GET", "POST"])
@login_required
def correct(interview_id: int):
    if request.method == "GET":
        return _page(interview_id, correcting=True)
    content = form_content(request.form)
    try:
        minutes = services.correct(current_user, interview_id, content, request.form.get("revision"),
                                   request.form.get("reason", ""))
    except DomainError as err:
        return _page(interview_id, content=content, error=err, correcting=True, status=err.status)
    flash(_("更正已保存为第 %(n)s 版；此前各版 PDF 仍可在修订记录中下载。", n=minutes.revision), "success")
    return redirect(url_for("minutes.edit", interview_id=interview_id))


@bp.get("/interviews/<int:interview_id>/minutes/history")
@login_required
def history(interview_id: int):
    interview, minutes = services.get(current_user, interview_id)
    return render_template("minutes/history.html", interview=interview, minutes=minutes)


@bp.get("/interviews/<int:interview_id>/minutes/revisions/<int:number>/changes")
@login_required
def revision_changes(interview_id: int, number: int):
    """What revision `number` changed compared with the one before it (htmx fragment)."""
    interview, minutes = services.get(current_user, interview_id)
    before = services.revision_content(interview, minutes, number - 1)
    after = services.revision_content(interview, minutes, number)
    return render_template("minutes/_changes.html", changes=services.changes(before, after))


@bp.post("/interviews/<int:interview_id>/minutes/mail")
@login_required
def mail(interview_id: int):
    try:
        count, skipped = services.mail_minutes(current_user, interview_id)
    except DomainError as err:
        return _page(interview_id, error=err, status=err.status)
    note = _("；%(names)s 未登记邮箱，未发送", names=_("、").join(skipped)) if skipped else ""
    flash(_("约谈笔录 PDF 已排入发送队列，收件人 %(n)s 人%(note)s。", n=count, note=note), "success")
    return redirect(url_for("minutes.edit", interview_id=interview_id))


def _download(name: str, data: bytes) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@bp.get("/interviews/<int:interview_id>/minutes.pdf")
@login_required
def minutes_pdf(interview_id: int):
    archive = request.args.get("archive") == "1"
    with document_locale(request_locale()):  # English: a reading copy; the kept Chinese PDF is the record
        return _download(*services.minutes_pdf(current_user, interview_id, request.args.get("revision"),
                                               archive=archive))


@bp.get("/interviews/<int:interview_id>/notice.pdf")
@login_required
def notice_pdf(interview_id: int):
    with document_locale(request_locale()):
        return _download(*services.notice_pdf(current_user, interview_id))


@bp.get("/interviews/<int:interview_id>/undertaking.pdf")
@login_required
def undertaking_pdf(interview_id: int):
    with document_locale(request_locale()):
        return _download(*services.undertaking_pdf(current_user, interview_id))
