"""The party's own pages under /p/ (no account): one interview, the one the link's token names.

Mobile first, no JavaScript needed (the drawn signature is the one enhancement). A GET never changes
the case: every action is a POST carrying the page's CSRF token; each use (GET or POST) is written to
the audit trail with its time, address and action. Rate limits are per address; wrong tokens and codes
count in their own, stricter bucket, so guessing from one address is blocked for a while.
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from coord.accounts.models import User
from coord.agencies.models import Agency
from coord.dbtypes import utcnow
from coord.documents import document_locale
from coord.documents.pdf import attendance_en
from coord.errors import DomainError
from coord.extensions import db, limiter
from coord.lang import _, request_locale
from coord.minutes import services as minutes_services
from coord.party import answers, feedback, links, proofs, queries, services, undertaking
from coord.party.models import STAGES
from coord.referrals import storage
from coord.timeutil import isoformat_local, local_today, to_local

portal = Blueprint("portal", __name__, url_prefix="/p")


def _limit(key: str, env: str, default: str):
    return lambda: current_app.config.get(key) or os.environ.get(env, default)


# Every request of the party's pages, per address; and the stricter bucket of wrong tokens and codes
# (counted only when the answer is 404 or 410), shared by every route that takes a token or a code.
limiter.limit(_limit("PARTY_RATE_LIMIT", "COORD_PARTY_RATE_LIMIT", "120 per minute"))(portal)
wrong_guesses = limiter.shared_limit(
    _limit("PARTY_WRONG_CODE_LIMIT", "COORD_PARTY_WRONG_CODE_LIMIT", "10 per 15 minutes"), scope="party-wrong",
    deduct_when=lambda response: response.status_code in (404, 410), override_defaults=False,
    error_message=lambda: _("错误的访问码或链接尝试次数过多，请稍后再试。"))


def _ip() -> str:
    return request.remote_addr or ""


@portal.after_request
def _headers(resp: Response) -> Response:
    # The token is in the URL: never send it on as a Referer, never let a search engine keep it.
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Robots-Tag"] = "noindex, nofollow"
    resp.headers["Cache-Control"] = "no-store"
    return resp


# --- errors: the party's own pages, nothing about any case ---------------------------------------

def help_contact() -> dict[str, str]:
    """Whom to call when a link does not work: the leading-group office (no case is named)."""
    name = current_app.config.get("PARTY_HELP_NAME") or os.environ.get(
        "COORD_PARTY_HELP_NAME", "") or _("区柔性执法工作领导小组办公室（设在区司法局）")
    phone = current_app.config.get("PARTY_HELP_PHONE") or os.environ.get("COORD_PARTY_HELP_PHONE", "")
    if not phone:
        office = db.session.execute(sa.select(Agency.phone).join(User, User.agency_id == Agency.id).where(
            User.role == "admin", User.active.is_(True), Agency.phone != "").limit(1)).scalar_one_or_none()
        phone = office or ""
    return {"name": name, "phone": phone}


def _invalid(status: int):
    gone = status == 410
    return render_template("party/invalid.html", gone=gone, contact=help_contact()), status


@portal.errorhandler(DomainError)
def _domain_error(err: DomainError):
    db.session.rollback()
    if err.status in (404, 410):
        return _invalid(err.status)
    return render_template("party/message.html", title=_("操作未完成"), text=err.message,
                           contact=help_contact()), err.status


@portal.errorhandler(HTTPException)
def _http_error(err: HTTPException):
    db.session.rollback()
    code = err.code or 500
    if code in (404, 410):
        return _invalid(code)
    texts = {
        400: _("请求无效，请返回上一页重试。"),
        405: _("不支持此操作。"),
        413: _("上传的文件过大，请压缩后再试。"),
        429: _("操作过于频繁，请稍后再试。"),
    }
    text = texts.get(code, _("系统暂时无法处理，请稍后再试。"))
    if isinstance(err, CSRFError):
        text = _("页面已过期（安全校验失败），未做任何修改。请刷新页面后重试。")
    elif code == 429 and getattr(err, "description", ""):
        text = str(err.description)
    return render_template("party/message.html", title=_("未能完成"), text=text, contact=help_contact()), code


# --- the language switch ---------------------------------------------------------------------------

@portal.get("/lang/<code>")
def set_language(code: str):
    """Chinese or English for the party, kept in the same `lang` cookie as the staff pages. The portal
    sends no Referer, so the page to return to comes as `next` (a portal path only, never elsewhere)."""
    target = request.args.get("next", "")
    if not target.startswith("/p/") or "//" in target or "\\" in target:
        target = url_for("party.portal.code_form")
    resp = redirect(target, 303)
    if code in ("zh_CN", "en"):
        resp.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return resp


# --- the code form -------------------------------------------------------------------------------

@portal.get("/")
def code_form():
    return render_template("party/code.html")


@portal.post("/")
@wrong_guesses
def enter_code():
    link = links.by_code(request.form.get("code", ""))
    if link is None:
        return render_template("party/code.html", error=_("访问码不正确，请核对通知书上的访问码。"),
                               code=request.form.get("code", "")[:20]), 404
    token = links.token_for(link)
    services.record_view(token, _ip(), "输入访问码进入")
    return redirect(url_for("party.portal.show", token=token), 303)


# --- the page ------------------------------------------------------------------------------------

def _contact(interview) -> dict[str, str]:
    creator = interview.created_by
    return {"agency": interview.lead_agency.name, "name": creator.display_name if creator else "",
            "phone": (creator.phone if creator else "") or interview.lead_agency.phone or ""}


def _items(interview) -> list[dict[str, Any]]:
    today = local_today()
    out = []
    for item in interview.items:
        visit = proofs.pending_visit(item)
        done = next((v for v in item.follow_ups if v.status == "done"), None)
        out.append({"item": item, "visit": visit, "done": done, "proofs": proofs.proofs_of_item(item.id),
                    "days_left": proofs.working_days_left(item.deadline, today), "overdue": item.deadline < today})
    return out


def _context(access: links.Access, **extra: Any) -> dict[str, Any]:
    interview = access.interview
    notice = minutes_services.notice_context(interview) if interview.start_at else None
    answerable = answers.may_answer(interview)
    found, slots_message = answers.offered_slots(interview) if answerable else ([], "")
    slots = [{"start": s.start, "end": s.end, "value": isoformat_local(s.start)} for s in found]
    return {
        "access": access, "interview": interview, "token": access.token, "link": access.link,
        "notice": notice, "contact": _contact(interview), "answerable": answerable,
        "current": queries.current_response(interview), "latest": queries.latest_response(interview.id),
        "slots": slots, "slots_message": slots_message, "items": _items(interview),
        "undertaking": undertaking.state(interview), "stages": feedback.open_stages(interview),
        "given": feedback.given(interview.id), "stage_labels": STAGES, "expires_at": links.expires_at(interview),
        "max_mb": storage.max_bytes() // (1024 * 1024), "now": utcnow(), "form": {}, **extra,
    }


@portal.get("/<token>")
@wrong_guesses
def show(token: str):
    access = services.record_view(token, _ip())
    return render_template("party/show.html", **_context(access))


def _after(token: str, anchor: str, message: str):
    flash(message, "success")
    return redirect(url_for("party.portal.show", token=token) + f"#{anchor}", 303)


def _refused(token: str, err: DomainError, **extra: Any):
    """Show the page again with the message; nothing of the refused action was saved."""
    if err.status in (404, 410):
        raise err
    db.session.rollback()
    access = links.resolve(token)
    return render_template("party/show.html", **_context(access, error=err.message, error_field=err.field,
                                                         **extra)), err.status


@portal.post("/<token>/confirm")
@wrong_guesses
def confirm(token: str):
    try:
        answers.confirm(token, _ip())
    except DomainError as err:
        return _refused(token, err, error_at="answer")
    return _after(token, "answer", _("已确认参加，谢谢。请按通知时间准时参加。"))


@portal.post("/<token>/reschedule")
@wrong_guesses
def reschedule(token: str):
    reason, starts = request.form.get("reason", ""), request.form.getlist("starts")
    try:
        answers.request_reschedule(token, _ip(), reason, starts)
    except DomainError as err:
        return _refused(token, err, error_at="answer", form={"reason": reason, "starts": starts})
    return _after(token, "answer", _("改期申请已提交，约谈单位答复后将在此页显示。"))


@portal.post("/<token>/items/<item_id>/proof")
@wrong_guesses
def proof(token: str, item_id: str):
    limit = storage.max_bytes()
    uploads = [storage.Upload(f.filename or "", f.read(limit + 1)) for f in request.files.getlist("files")
               if f and (f.filename or "")]
    note = request.form.get("note", "")
    try:
        proofs.upload(token, _ip(), item_id, uploads, note)
    except DomainError as err:
        return _refused(token, err, error_at=f"item-{item_id}", form={"note": note})
    return _after(token, f"item-{item_id}", _("整改材料已提交，回访单位审核后将在此页显示结果。"))


@portal.post("/<token>/undertaking/sign")
@wrong_guesses
def sign(token: str):
    form = request.form
    try:
        undertaking.sign(token, _ip(), form.get("signer_name", ""), form.get("consent"), form.get("signature"))
    except DomainError as err:
        return _refused(token, err, error_at="undertaking", form={"signer_name": form.get("signer_name", "")})
    return _after(token, "undertaking", _("保证承诺书已签署，可在此下载签署后的文件。"))


@portal.post("/<token>/feedback")
@wrong_guesses
def give_feedback(token: str):
    form = request.form
    try:
        feedback.give(token, _ip(), form.get("stage", ""), form.get("rating"), form.get("conduct_rating"),
                      form.get("comment", ""), form.get("integrity_report", ""))
    except DomainError as err:
        return _refused(token, err, error_at="feedback", form=dict(form))
    return _after(token, "feedback", _("评价已提交，感谢您的意见。"))


# --- documents and files -------------------------------------------------------------------------

def _pdf(name: str, data: bytes) -> Response:
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name)}"
    return resp


@portal.get("/<token>/notice.pdf")
@wrong_guesses
def notice_pdf(token: str):
    access = services.record_view(token, _ip(), "下载约谈通知书")
    interview = access.interview
    if interview.start_at is None or interview.status not in ("scheduled", "held"):
        raise DomainError(_("约谈通知书暂不可下载。"))
    with document_locale(request_locale()):
        return _pdf(*minutes_services.notice_document(interview))


@portal.get("/<token>/undertaking.pdf")
@wrong_guesses
def undertaking_pdf(token: str):
    services.record_view(token, _ip(), "下载保证承诺书")
    # The party reads it in their language; what is signed and kept is always the Chinese document.
    with document_locale(request_locale()):
        return _pdf(*undertaking.document_for_party(token))


@portal.get("/<token>/files/<file_id>")
@wrong_guesses
def proof_file(token: str, file_id: str):
    services.record_view(token, _ip(), "查看已提交的整改材料")
    row, data = proofs.file_for_party(token, file_id)
    resp = Response(data, mimetype=row.content_type.split(";")[0])
    resp.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(row.filename)}"
    return resp


_WEEKDAYS_CN = "一二三四五六日"


@portal.app_template_filter("party_slot")
def party_slot(value: datetime | None) -> str:
    """2026-12-03（周四）09:00, or 2026-12-03 (Thu) 09:00 for an English reader; local time."""
    if value is None:
        return ""
    local = to_local(value)
    if request_locale() == "en":
        return f"{local:%Y-%m-%d} ({('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')[local.weekday()]}) {local:%H:%M}"
    return f"{local:%Y-%m-%d}（周{_WEEKDAYS_CN[local.weekday()]}）{local:%H:%M}"


@portal.app_template_filter("party_attendance")
def party_attendance(text: str) -> str:
    """The notice's attendance line (written in Chinese by the interviews feature), the names kept."""
    return attendance_en(text) if request_locale() == "en" else text


@portal.app_template_filter("deadline_cn")
def deadline_cn(value: datetime | Any) -> str:
    if not value:
        return ""
    if request_locale() == "en":
        return f"{value.day} {value:%B} {value.year}"
    return f"{value.year}年{value.month}月{value.day}日"
