"""The outbox page for the leading-group office: what is queued, sent and failed; retry."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from coord.extensions import db, htmx
from coord.notify import services
from coord.notify.models import STATUSES

bp = Blueprint("notify", __name__, url_prefix="/admin/outbox")


@bp.get("/")
@login_required
def index():
    if not current_user.is_office:
        abort(404)
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    rows = services.list_messages(status or None)
    if htmx and htmx.target == "outbox-rows":
        return render_template("notify/_rows.html", messages=rows)
    resp = render_template("notify/index.html", messages=rows, status=status, statuses=STATUSES,
                           counts=services.counts())
    return resp


@bp.post("/<int:message_id>/retry")
@login_required
def retry(message_id: int):
    if not current_user.is_office:
        abort(404)
    row = services.retry(current_user, message_id)
    db.session.commit()
    if htmx:
        return render_template("notify/_rows.html", messages=[row])
    flash("邮件已重新排队，将很快发送。", "success")
    return redirect(url_for("notify.index", status=request.args.get("status", "")))
