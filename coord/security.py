"""Security headers, session loading and bearer-token users."""
from __future__ import annotations

from flask import Flask, Response, flash, g, redirect, request, session, url_for

from coord.extensions import login_manager

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a viewer (read-only) may still post: logging in and out, and their own password.
VIEWER_MAY_POST = frozenset({"accounts.login", "accounts.logout", "accounts.account", "accounts.change_password"})
# What an account that must change its password may reach before it has.
BEFORE_PASSWORD_CHANGE = frozenset({"accounts.change_password", "accounts.logout", "accounts.login", "static",
                                    "web.set_language", "web.healthz"})
END_MESSAGES = {
    "idle": "由于长时间未操作，登录已失效，请重新登录。",
    "expired": "登录已达到最长时长，请重新登录。",
}

# No inline script anywhere: htmx is configured through a <meta> tag and JS lives in static/.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录。"
    login_manager.needs_refresh_message = "登录已过期，请重新登录。"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(key: str):
        # The server-side session row decides (coord/accounts/sessions.py): one query loads it
        # with its user; logout, password change and timeouts end it.
        from coord.accounts import sessions

        try:
            user_id, _version = (int(part) for part in key.split(":", 1))
        except ValueError:
            return None
        return sessions.load(user_id, session.get(sessions.SESSION_KEY))

    @login_manager.unauthorized_handler
    def unauthorized():
        from coord.extensions import htmx

        flash(END_MESSAGES.get(g.get("session_end_reason"), "请先登录，或登录已过期，请重新登录。"), "warning")
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
        g.pop("api_user", None)  # the API's caller, set by coord.api for its own requests
        g.pop("user_session_id", None)
        g.pop("session_end_reason", None)

    @app.before_request
    def account_rules():
        """Rules for every page request of a logged-in user, enforced here rather than per view."""
        from flask_login import current_user

        from coord.api import API_PREFIX
        from coord.errors import Forbidden

        if request.endpoint is None or request.endpoint == "static" or request.path.startswith(API_PREFIX):
            return None  # the API has its own rules (coord/api)
        if not current_user.is_authenticated:
            return None
        if current_user.must_change_password and request.endpoint not in BEFORE_PASSWORD_CHANGE:
            here = request.full_path.rstrip("?") if request.method == "GET" and not request.headers.get(
                "HX-Request") else None
            target = url_for("accounts.change_password", next=here)
            if request.headers.get("HX-Request"):
                return Response(status=204, headers={"HX-Redirect": target})
            return redirect(target)
        if (current_user.is_read_only and request.method not in SAFE_METHODS
                and request.endpoint not in VIEWER_MAY_POST):
            raise Forbidden("只读用户不能修改数据。")
        return None

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
