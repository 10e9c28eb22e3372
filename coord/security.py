"""Security headers, session loading and bearer-token users."""
from __future__ import annotations

from flask import Flask, Response, flash, redirect, request, url_for

from coord.extensions import db, login_manager

# No inline script anywhere: htmx is configured through a <meta> tag and JS lives in static/.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录。"
    login_manager.needs_refresh_message = "登录已过期，请重新登录。"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(key: str):
        from coord.accounts.models import User

        try:
            user_id, version = (int(part) for part in key.split(":", 1))
        except ValueError:
            return None
        user = db.session.get(User, user_id)
        # A password change or deactivation bumps session_version and ends older sessions.
        if user is None or user.session_version != version or not user.active:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        from coord.extensions import htmx

        flash("请先登录，或登录已过期，请重新登录。", "warning")
        target = url_for("accounts.login", next=request.full_path if request.method == "GET" else None)
        if htmx:
            resp = Response(status=401)
            resp.headers["HX-Redirect"] = target
            return resp
        return redirect(target)

    @app.before_request
    def fresh_user():
        # Flask-Login, Flask-WTF and Flask-Babel cache the user, CSRF token and locale on `g`; start every request
        # without them, even when an app context is reused (the test client does that).
        from flask import g

        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        g.pop("_flask_babel", None)

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        resp.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if resp.mimetype == "text/html":
            resp.vary.add("HX-Request")  # one URL answers page or fragment
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp
