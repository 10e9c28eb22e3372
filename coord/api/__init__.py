"""The JSON API under /api/v1 (flask-smorest): bearer tokens, JSON errors, generated OpenAPI.

Each feature defines `coord/<feature>/api.py` with `blp = api_blueprint(...)`; the app factory
registers it. Views here are as thin as the page views: parse, call the service, serialise.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, jsonify, request
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import HTTPException

from coord import idempotency
from coord.errors import DomainError
from coord.extensions import csrf

API_PREFIX = "/api/v1"

MESSAGES = {
    400: "请求无效。",
    401: "未登录：请在 Authorization 头中提供有效的 Bearer 令牌。",
    403: "无权执行此操作。",
    404: "资源不存在或您无权查看。",
    405: "不支持该请求方法。",
    409: "与现有数据冲突。",
    413: "上传的文件过大。",
    415: "不支持的内容类型。",
    422: "请求数据校验失败。",
    429: "请求过于频繁，请稍后再试。",
}


class CoordApi(Api):
    """Errors under /api/ are JSON with a Chinese message; elsewhere the page handlers answer."""

    def handle_http_exception(self, error: HTTPException):
        if not request.path.startswith(API_PREFIX):
            from coord.web import render_error

            return render_error(error)
        data = getattr(error, "data", None) or {}
        message = data.get("message") or MESSAGES.get(error.code or 500, error.description)
        body: dict[str, Any] = {"code": error.code, "status": error.name, "message": message}
        if "messages" in data:
            body["errors"] = data["messages"]
        if "details" in data:
            body.update(data["details"])
        return jsonify(body), error.code


def init_app(app: Flask) -> None:
    api = CoordApi(app, spec_kwargs={"info": {"description": (
        "coord 柔性执法协同平台 API. Any POST may carry an `Idempotency-Key` header (1–200 printable "
        "characters, per user): a repeat with the same key and body gets the first answer again "
        "(`Idempotent-Replayed: true`) and changes nothing; the same key with another body is 422. "
        "Refused requests (4xx) do not use up their key. Validation errors list every field in `errors`.")}})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    app.extensions["coord_api"] = api

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if request.path.startswith(API_PREFIX):
            body = {"code": error.status, "message": error.message, **error.details}
            if error.field:
                body["field"] = error.field
            return jsonify(body), error.status
        from coord.web import render_domain_error

        return render_domain_error(error)


def api_blueprint(name: str, url_prefix: str, description: str = "") -> Blueprint:
    """A blueprint under /api/v1 whose routes need a bearer token unless marked `public`."""
    blp = Blueprint(f"api_{name}", f"coord.api.{name}", url_prefix=API_PREFIX + url_prefix, description=description)
    csrf.exempt(blp)  # no cookies are accepted here, so there is nothing to forge

    @blp.before_request
    def authenticate():
        view = current_app.view_functions.get(request.endpoint or "")
        g.api_user = _token_user()
        if g.api_user is None and not getattr(view, "_public", False):
            from flask_smorest import abort

            abort(401)
        return idempotency.begin_api()  # the Idempotency-Key header on POST: same key, same answer

    return blp


def public(fn: Callable) -> Callable:
    fn._public = True
    return fn


def _token_user():
    from coord.accounts.services import user_for_token

    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return user_for_token(header[7:].strip())


def current_api_user():
    return g.api_user

