from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from coord.accounts import services as accounts
from coord.extensions import db
from coord.lang import LANGUAGES
from coord.web import HOME_PARTS
from coord.web.pagecache import cacheable

bp = Blueprint("web", __name__)


@bp.get("/")
@cacheable
@login_required
def home():
    parts = [Markup(render_template(template, **fn(current_user))) for template, fn in HOME_PARTS]
    return render_template("home.html", parts=parts)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database=database, dialect=db.engine.dialect.name)


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on every page (and on PDFs and feeds, which have no <link>)."""
    from flask import current_app, send_from_directory

    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.get("/lang/<code>")
def set_language(code: str):
    """The language switch: this browser's cookie, and for a logged-in user also the account's language
    (the pages on a new device, and every e-mail to them)."""
    target = request.referrer if (request.referrer or "").startswith(request.host_url) else url_for("web.home")
    resp = make_response(redirect(target))
    # A link on another site must not change the account (a top-level navigation carries the Lax session
    # cookie): browsers say where a request comes from (Sec-Fetch-Site); the switch's own links are
    # same-origin, a typed address is "none".
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return resp
    if code in LANGUAGES:
        resp.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
        if current_user.is_authenticated:
            accounts.set_language(current_user._get_current_object(), code)
    return resp


@bp.app_context_processor
def user_context():
    # The user itself, not the proxy: a page reads `me` dozens of times.
    return {"me": current_user._get_current_object()}
