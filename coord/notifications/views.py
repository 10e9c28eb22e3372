"""The bell, the notifications page (mark read, mark all read) and the e-mail choice (account page)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from coord.errors import DomainError
from coord.extensions import db, htmx
from coord.notifications import listeners, services  # noqa: F401 - listeners connect on import
from coord.notifications.models import MAIL_CHOICES

bp = Blueprint("notifications", __name__, url_prefix="/me/notifications")


@bp.app_template_global("notification_bell")
def notification_bell() -> int | None:
    """The unread count for the bell in the top bar (cached: no query while nothing changed)."""
    if not current_user.is_authenticated:
        return None
    return services.cached_unread(current_user)


@bp.app_template_global("mail_choices")
def mail_choices() -> dict[str, str]:
    return MAIL_CHOICES


@bp.get("/")
@login_required
def index():
    unread_only = request.args.get("unread") == "1"
    rows = services.list_for(current_user, unread_only=unread_only, before_id=request.args.get("before", type=int))
    template = "notifications/_list.html" if htmx and htmx.target == "notification-list" else "notifications/index.html"
    return render_template(template, rows=rows, unread_only=unread_only, unread=services.unread_count(current_user),
                           page_size=services.PAGE_SIZE)


@bp.get("/bell")
@login_required
def bell():
    return render_template("notifications/_bell.html")


@bp.post("/read")
@login_required
def read():
    everything = request.form.get("all") == "1"
    try:
        services.mark_read(current_user, request.form.getlist("ids"), everything=everything)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
    target = request.form.get("next", "")
    if not (target.startswith("/") and not target.startswith("//")):
        target = url_for("notifications.index")
    return redirect(target, 303)


@bp.get("/<int:notification_id>")
@login_required
def open_one(notification_id: int):
    """Open a notification: it is marked read and the user goes where it leads."""
    row = services.get_own(current_user, notification_id)
    if row is None:
        abort(404)
    if row.read_at is None:
        services.mark_read(current_user, [row.id])
    return redirect(row.url or url_for("notifications.index"), 303)


@bp.post("/mail")
@login_required
def mail_choice():
    try:
        services.set_mail_choice(current_user, request.form.get("notify_mail", ""))
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
    else:
        flash(gettext("邮件提醒方式已设为：%(MAIL_CHOICES)s。",
                      MAIL_CHOICES=gettext(MAIL_CHOICES[request.form['notify_mail']])), "success")
    return redirect(url_for("accounts.account") + "#notify-mail", 303)
