"""Pages: subscription feeds, the invite download, .ics import; and the public feed URL itself."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coord.calendar import feeds, services
from coord.calendar.models import FEED_KINDS
from coord.errors import DomainError
from coord.extensions import db, htmx
from coord.scheduling.services import list_rooms

bp = Blueprint("calendar", __name__, url_prefix="/cal")


@bp.app_template_global("invite_missing_emails")
def invite_missing_emails(interview) -> list[str]:
    return services.missing_emails(interview)


@bp.app_template_global("feed_box")
def feed_box(kind: str, owner) -> dict | None:
    """For other features' pages (profile, agency, rooms): the feed box if the viewer may have it."""
    if owner is None or not current_user.is_authenticated or not services.may_have_feed(current_user, kind, owner):
        return None
    titles = {"user": _("我的约谈日程"), "agency": _("%(name)s 约谈日程", name=getattr(owner, "name", "")),
              "room": _("会议室：%(name)s", name=getattr(owner, "name", ""))}
    return {"kind": kind, "owner": owner, "title": titles[kind],
            "url": services.feed_url(kind, owner.id), "webcal": services.feed_url(kind, owner.id, webcal=True),
            "can_regenerate": services.may_regenerate(current_user, kind, owner)}


def calendar_response(data: bytes, filename: str, method: str | None = None) -> Response:
    ctype = "text/calendar; charset=utf-8" + (f"; method={method}" if method else "")
    resp = Response(data, content_type=ctype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


@bp.get("/feed/<kind>/<int:owner_id>/<token>.ics")
def feed(kind: str, owner_id: int, token: str):
    """The subscription feed (no login: the secret URL is the key). Answers If-None-Match with 304."""
    owner, generation = services.resolve_feed(kind, owner_id, token)
    tag = feeds.etag(kind, owner_id, generation)
    headers = {"ETag": f'"{tag}"', "Cache-Control": "private, no-cache", "X-Robots-Tag": "noindex"}
    if request.if_none_match.contains(tag):
        return Response(status=304, headers=headers)
    data = feeds.render(kind, owner_id, services.feed_name(kind, owner))
    resp = Response(data, content_type="text/calendar; charset=utf-8", headers=headers)
    resp.headers["Content-Disposition"] = f'inline; filename="coord-{kind}-{owner_id}.ics"'
    return resp


@bp.get("/interviews/<int:interview_id>/invite.ics")
@login_required
def invite(interview_id: int):
    data, method, interview = services.get_invite(current_user, interview_id)
    return calendar_response(data, f"interview-{interview.id}.ics", method)


def _feeds_for(user) -> list[dict]:
    """The feeds this user may subscribe to: their own, their agency's, rooms they manage."""
    out = [{"kind": "user", "owner": user, "title": _("我的约谈日程")}]
    out.append({"kind": "agency", "owner": user.agency, "title": _("%(name)s 约谈日程", name=user.agency.name)})
    for room in list_rooms():
        if services.may_have_feed(user, "room", room):
            out.append({"kind": "room", "owner": room, "title": _("会议室：%(name)s", name=room.name)})
    for item in out:
        item["url"] = services.feed_url(item["kind"], item["owner"].id)
        item["webcal"] = services.feed_url(item["kind"], item["owner"].id, webcal=True)
        item["can_regenerate"] = services.may_regenerate(user, item["kind"], item["owner"])
    return out


@bp.get("/")
@login_required
def index():
    return render_template("calendar/index.html", feeds=_feeds_for(current_user),
                           busy=services.imported_busy(current_user.id), kinds=FEED_KINDS)


@bp.post("/feeds/<kind>/<int:owner_id>/regenerate")
@login_required
def regenerate(kind: str, owner_id: int):
    services.regenerate_feed(current_user, kind, owner_id)
    db.session.commit()
    if htmx:
        item = next(f for f in _feeds_for(current_user) if f["kind"] == kind and f["owner"].id == owner_id)
        return render_template("calendar/_feed.html", f=item, regenerated=True)
    flash(_("订阅地址已重置，旧地址已失效。请在日历软件中使用新地址重新订阅。"), "success")
    return redirect(request.referrer or url_for("calendar.index"))


@bp.post("/busy/import")
@login_required
def import_busy():
    upload = request.files.get("file")
    user_id = request.form.get("user_id") or current_user.id
    try:
        result = services.import_busy(current_user, user_id, upload.read() if upload else b"",
                                      upload.filename if upload else "")
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
        return render_template("calendar/index.html", feeds=_feeds_for(current_user),
                               busy=services.imported_busy(current_user.id), kinds=FEED_KINDS,
                               import_error=err.message), 400
    db.session.commit()
    flash(result.message, "success")
    return redirect(url_for("calendar.index"))
