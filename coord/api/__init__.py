"""The JSON API under /api/v1 (flask-smorest): bearer tokens, JSON errors, generated OpenAPI.

Each feature defines `coord/<feature>/api.py` with `blp = api_blueprint(...)`; the app factory
registers it. Views here are as thin as the page views: parse, call the service, serialise.

The OpenAPI document describes what the API does, for every operation at once:
- errors are `Error` bodies (`code`, `message`, and `field`, `state`, `errors`, `conflicts`, … when the
  service gives them); each operation lists the statuses it can answer (400, 404, 401 and 403 unless
  public, 409 and 413 for writes, 422 when it takes arguments), not a catch-all `default`;
- every integer is a 32-bit signed integer and every string excludes control characters: the schemas'
  fields are given a `Range` and a pattern (`harden`), which the parser then enforces;
- a 405 names the allowed methods in `Allow`.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import marshmallow as ma
from flask import Flask, current_app, g, jsonify, request
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import fields, validate
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from coord import idempotency
from coord.errors import DomainError
from coord.extensions import csrf
from coord.inputs import CONTROL_MESSAGE, INT_MAX, INT_MIN, NO_CONTROL_PATTERN, has_control

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


class ErrorSchema(ma.Schema):
    """Every error answer of the API (the service adds the keys that apply to its rule)."""

    code = fields.Int(required=True, metadata={"description": "HTTP status"})
    status = fields.Str(metadata={"description": "HTTP status name"})
    message = fields.Str(required=True, metadata={"description": "中文说明，可直接展示给用户"})
    field = fields.Str(metadata={"description": "the input field the message is about"})
    errors = fields.Raw(metadata={"description": "validation errors: `{field: message}` (every rule broken at once), "
                                  "`{location: {field: [message]}}` (request schema), or for an import "
                                  "`[{row, column, column_letter, field, message}]`"})
    state = fields.Str(metadata={"description": "the record's current state (409 on a wrong state)"})
    conflicts = fields.List(fields.Dict(), metadata={
        "description": "409 on a taken slot: `{resource, label, kind, start, end, message}` per clash"})
    alternatives = fields.List(fields.Dict(), metadata={"description": "409 on a taken slot: free `{start, end}`"})
    current_revision = fields.Int(metadata={"description": "409 on stale minutes: the revision now stored"})
    your_revision = fields.Int(metadata={"description": "409 on stale minutes: the revision edited from"})
    saved_by = fields.Str(metadata={"description": "409 on stale minutes: who saved the current revision"})
    saved_at = fields.Str(allow_none=True, metadata={"description": "409 on stale minutes: when"})
    changes = fields.List(fields.Dict(), metadata={
        "description": "409 on stale minutes: `{field, label, before, after, mine?}`"})
    missing = fields.List(fields.Str(), metadata={"description": "what must be filled in first"})
    lead_id = fields.Int(allow_none=True, metadata={"description": "the lead already made from it"})
    line = fields.Int(metadata={"description": "400 on an unreadable calendar notice: the line it stopped at"})
    stored_party = fields.Dict(metadata={
        "description": "400 when a credit code or ID number names a stored party that differs from the input: "
                       "the stored record; send `party.on_match` = `stored` or `update`"})
    party_differences = fields.Dict(metadata={"description": "with `stored_party`: `{field: {stored, typed}}`"})

    class Meta:
        unknown = ma.RAISE  # documented as closed: a key not listed here is a bug


# Statuses every operation may answer, by who may call it and whether it writes.
_ALWAYS = {400: "BAD_REQUEST", 404: "NOT_FOUND"}
_AUTHENTICATED = {401: "UNAUTHORIZED", 403: "FORBIDDEN"}
_WRITES = {409: "CONFLICT", 413: "REQUEST_ENTITY_TOO_LARGE"}
_WRITE_METHODS = {"post", "put", "patch", "delete"}


BINARY = {"type": "string", "format": "binary"}


def file_response(description: str, *media_types: str) -> dict:
    """An OpenAPI response for a file download, for `@blp.doc(responses={"200": file_response(...)})`."""
    return {"description": description, "content": {t: {"schema": BINARY} for t in media_types}}


class NoControl(validate.Validator):
    """Refuses control characters and lone surrogates; `regex` is what the OpenAPI `pattern` shows."""

    regex = re.compile(NO_CONTROL_PATTERN)

    def __call__(self, value: str) -> str:
        if has_control(value):
            raise ma.ValidationError(CONTROL_MESSAGE)
        return value


def harden(schema: ma.Schema | type[ma.Schema]) -> None:
    """Bound every integer field to 32 bits and refuse control characters in every string field."""
    if isinstance(schema, type):
        if not vars(schema).get("_coord_hardened"):
            _harden_fields(schema._declared_fields.values())
            schema._coord_hardened = True
    elif not getattr(schema, "_coord_hardened", False):
        _harden_fields(schema.fields.values())
        schema._coord_hardened = True


def _harden_fields(items: Iterable[fields.Field]) -> None:
    for field in items:
        if isinstance(field, fields.Integer):
            if not any(isinstance(v, validate.Range) for v in field.validators):
                field.validators.append(validate.Range(min=INT_MIN, max=INT_MAX, error="数值超出范围。"))
            _refuse_non_integers(field)
        elif isinstance(field, fields.String):
            if not any(isinstance(getattr(v, "regex", None), re.Pattern) for v in field.validators):
                field.validators.append(NoControl())
        elif isinstance(field, fields.List):
            _harden_fields([field.inner])
        elif isinstance(field, fields.Tuple):
            _harden_fields(field.tuple_fields)
        elif isinstance(field, fields.Dict):
            _harden_fields([f for f in (field.key_field, field.value_field) if f is not None])
        elif isinstance(field, fields.Nested):
            harden(field.schema)


def _refuse_non_integers(field: fields.Integer) -> None:
    """JSON numbers with a fraction (2.5, 1e-42) and booleans are not integers: marshmallow would cut
    them to an int silently. Strings stay allowed (query strings and forms arrive as text)."""
    if getattr(field, "_coord_strict", False):
        return
    validated = field._validated

    def check(value: Any) -> Any:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise field.make_error("invalid", input=value)
        return validated(value)

    field._validated = check
    field._coord_strict = True


class CoordParser(FlaskParser):
    def _get_schema(self, argmap, req):
        schema = super()._get_schema(argmap, req)
        harden(schema)
        return schema


class Blueprint(SmorestBlueprint):
    """A flask-smorest blueprint whose schemas are hardened and whose errors are documented."""

    ARGUMENTS_PARSER = CoordParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        at = self._prepare_doc_cbks.index(self._prepare_response_doc)
        self._prepare_doc_cbks.insert(at, self._prepare_error_doc)

    @staticmethod
    def _prepare_error_doc(doc, doc_info, *, method, **kwargs):
        responses = doc_info.setdefault("response", {}).setdefault("responses", {})
        wanted = dict(_ALWAYS)
        if not doc_info.get("coord_public"):
            wanted.update(_AUTHENTICATED)
        if method in _WRITE_METHODS:
            wanted.update(_WRITES)
        manual = doc_info.get("manual_doc", {}).get("responses") or {}
        for code, name in wanted.items():
            if code not in responses and str(code) not in manual:
                responses[code] = [name]
        # An error response documented with a description only (`alt_response(409, description=...)`)
        # still has an Error body.
        for code, entries in responses.items():
            if int(code) >= 400:
                for entry in entries:
                    if isinstance(entry, dict) and entry.get("schema") is None:
                        entry["schema"] = ErrorSchema
        # A download documented by media type alone is a binary string.
        for response in manual.values():
            for media in (response.get("content") or {}).values():
                media.setdefault("schema", BINARY)
        return doc

    def harden_docs(self) -> None:
        """Harden the schemas of the documentation (flask-smorest keeps copies of them)."""
        for endpoint in self._docs.values():
            for operation in endpoint.values():
                if not isinstance(operation, dict):
                    continue
                for parameter in operation.get("arguments", {}).get("parameters", []):
                    harden(parameter["schema"])
                for entries in operation.get("response", {}).get("responses", {}).values():
                    for entry in entries:
                        if isinstance(entry, dict) and isinstance(entry.get("schema"), ma.Schema | type):
                            harden(entry["schema"])


class CoordApi(Api):
    """Errors under /api/ are JSON with a Chinese message; elsewhere the page handlers answer."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its statuses (Blueprint._prepare_error_doc)

    def register_blueprint(self, blp, **options):
        if isinstance(blp, Blueprint):
            blp.harden_docs()
        return super().register_blueprint(blp, **options)

    def handle_http_exception(self, error: HTTPException):
        if not request.path.startswith(API_PREFIX):
            from coord.web import render_error

            return render_error(error)
        data = getattr(error, "data", None) or {}
        message = data.get("message") or custom_description(error) or MESSAGES.get(error.code or 500,
                                                                                    error.description)
        from coord.web import translate

        body: dict[str, Any] = {"code": error.code, "status": error.name, "message": translate(message)}
        if "messages" in data:
            body["errors"] = data["messages"]
        if "details" in data:
            body.update(data["details"])
        return jsonify(body), error.code, allow_header(error)


def custom_description(error: HTTPException) -> str | None:
    """The description given when the error was raised, if it is not the class's English default."""
    return error.description if error.description != type(error).description else None


def allow_header(error: HTTPException) -> dict[str, str]:
    """A 405 names the methods the URL does accept (RFC 9110 §15.5.6)."""
    return {k: v for k, v in error.get_headers() if k == "Allow"}


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
            from coord.web import translate

            body = {"code": error.status, "message": translate(error.message), **error.details}
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
        # The viewer role is read-only everywhere: no state-changing call, whatever the operation.
        if (g.api_user is not None and g.api_user.role == "viewer"
                and request.method not in ("GET", "HEAD", "OPTIONS") and not getattr(view, "_read_only", False)):
            from flask_smorest import abort

            abort(403, message="只读用户不能修改数据。")
        return idempotency.begin_api()  # the Idempotency-Key header on POST: same key, same answer

    return blp


def public(fn: Callable) -> Callable:
    """Mark a view as open without a token (put it below the route decorator)."""
    fn._public = True
    fn._apidoc = {**getattr(fn, "_apidoc", {}), "coord_public": True}  # no 401/403 in its documentation
    return fn


def read_only(fn: Callable) -> Callable:
    """A POST that changes nothing (a search with a body): allowed to read-only users."""
    fn._read_only = True
    return fn


def _token_user():
    from coord.accounts.services import user_for_token

    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return user_for_token(header[7:].strip())


def current_api_user():
    return g.api_user

