"""The outbox page for the leading-group office (queued, sent, failed; retry) and, in development,
the catch-all mailbox (开发邮箱): every message that would have been sent, with its .ics and files."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coord.extensions import db, htmx
from coord.notify import mail, services
from coord.notify.models import STATUSES, OutboxMessage

bp = Blueprint("notify", __name__)


@bp.get("/admin/outbox/")
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
                           counts=services.counts(), catchall=services.transport() == "catchall")
    return resp


@bp.post("/admin/outbox/<int:message_id>/retry")
@login_required
def retry(message_id: int):
    if not current_user.is_office:
        abort(404)
    row = services.retry(current_user, message_id)
    db.session.commit()
    if htmx:
        return render_template("notify/_rows.html", messages=[row])
    flash(_("邮件已重新排队，将很快发送。"), "success")
    return redirect(url_for("notify.index", status=request.args.get("status", "")), 303)


# --- 开发邮箱: the catch-all, only while mail is not sent for real ---------------------------------

def _catchall() -> None:
    if services.transport() != "catchall":
        abort(404)


@bp.get("/dev/mail/")
@login_required
def devmail():
    _catchall()
    return render_template("notify/devmail.html", messages=services.caught_messages(current_user))


@bp.get("/dev/mail/<int:message_id>")
@login_required
def devmail_show(message_id: int):
    _catchall()
    return render_template("notify/devmail_show.html", m=services.caught_message(current_user, message_id))


@bp.get("/dev/mail/<int:message_id>/invite.ics")
@login_required
def devmail_ics(message_id: int):
    _catchall()
    row = services.caught_message(current_user, message_id)
    if not row.calendar:
        abort(404)
    method = (row.calendar_method or "REQUEST").upper()
    return Response(row.calendar, mimetype="text/calendar",
                    headers={"Content-Type": f"text/calendar; charset=utf-8; method={method}",
                             "Content-Disposition": f'attachment; filename="invite-{row.id}.ics"'})


@bp.get("/dev/mail/<int:message_id>/files/<int:attachment_id>")
@login_required
def devmail_file(message_id: int, attachment_id: int):
    from urllib.parse import quote

    _catchall()
    row = services.caught_message(current_user, message_id)
    att = next((a for a in row.attachments if a.id == attachment_id), None)
    if att is None:
        abort(404)
    return Response(att.data, mimetype=att.content_type,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.filename)}"})


@bp.get("/dev/mail/<int:message_id>.eml")
@login_required
def devmail_eml(message_id: int):
    _catchall()
    row = services.caught_message(current_user, message_id)
    if row.channel != "email":
        abort(404)
    return Response(mail.build(row).as_bytes(), mimetype="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="message-{row.id}.eml"'})


@dataclass
class Delivery:
    """One sending about a record: the rows queued together with one subject (an invitation goes as one
    message per recipient, each with its own answer links), and what became of it for each recipient."""

    first: OutboxMessage
    rows: list[OutboxMessage]

    @property
    def subject(self) -> str:
        return self.first.subject

    @property
    def created_at(self):
        return self.first.created_at

    @property
    def transport(self) -> str | None:
        return self.first.transport

    @property
    def id(self) -> int:
        return self.first.id

    @property
    def status(self) -> str:
        return "failed" if any(r.status == "failed" for r in self.rows) else self.first.status

    def recipient_states(self) -> list:
        return [state for row in self.rows for state in row.recipient_states()]


@bp.app_template_global()
def mail_deliveries(entity_type: str, entity_id: object, limit: int = 5) -> list[Delivery]:
    """The latest sendings about a record, for its page to say what became of each (per recipient)."""
    found: list[Delivery] = []
    for row in services.messages_about(entity_type, entity_id, limit * 20):
        last = found[-1] if found else None
        if last and last.subject == row.subject and abs((last.created_at - row.created_at).total_seconds()) < 5:
            last.rows.append(row)
        elif len(found) < limit:
            found.append(Delivery(row, [row]))
        else:
            break
    return found
