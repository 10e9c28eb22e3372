"""Input hygiene for every request: no input gives a 500.

Three causes of server errors are handled here, once for the whole app, rather than in each view:

- **Integers out of range.** Ids are 32-bit columns; PostgreSQL refuses to compare an `INTEGER` with
  99999999999 ("integer out of range") and SQLite cannot bind numbers past 2⁶³. The app's `int` URL
  converter stops at 2³¹−1 (a larger id is a 404, like any unknown record), `to_int` does the same
  for query strings and forms, and `coord.api` bounds every marshmallow integer to 32 bits.
- **Control characters.** U+0000 cannot be stored in PostgreSQL text and no field of ours means to
  hold a control character; C1 controls and lone surrogates (which cannot be encoded as UTF-8)
  neither. Query strings, form fields and path segments that carry one are refused with a Chinese
  message before any view runs; API bodies are checked field by field by their schemas; text we
  import from files (iCalendar SUMMARY, spreadsheet cells) is cleaned with `clean_text`.
- **A net for the rest.** A value the database still refuses (`DataError`) or a number too large for
  a date computation (`OverflowError`) is answered 400, after a rollback, and logged — never 500.
"""
from __future__ import annotations

import re
from typing import Any

from flask import Flask, Request, abort, request
from sqlalchemy.exc import DataError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from coord.extensions import db

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

# C0 controls except TAB, LF and CR; DEL and the C1 controls.
CONTROL_CHARS = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"
# ... and lone UTF-16 surrogates, which JSON can escape but UTF-8 cannot encode.
_CONTROL_RE = re.compile(f"[{CONTROL_CHARS}\\ud800-\\udfff]")
# The rule as a pattern for OpenAPI (ECMA 262, Rust and Python read it alike; a JSON string with a
# lone surrogate is not valid Unicode text, so the pattern need not name them).
NO_CONTROL_PATTERN = f"^[^{CONTROL_CHARS}]*$"
CONTROL_MESSAGE = "不能包含控制字符（如 U+0000）。"
REQUEST_CONTROL_MESSAGE = "请求中含有不允许的控制字符（如 U+0000），未做任何修改。请删除后重试。"
OUT_OF_RANGE_MESSAGE = "输入的数值超出范围，或含有无法保存的字符；未做任何修改。"


class BoundedIntConverter(IntegerConverter):
    """`<int:id>` up to 2³¹−1 (our id columns): a larger number names no record, so it is a 404.

    It raises NotFound itself rather than werkzeug's ValidationError: after a ValidationError the
    router reports the methods of the URL's other rules, so `PATCH /x/2147483648` would be a 405.
    """

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=INT_MAX if max is None else max,
                         signed=signed)

    def to_python(self, value: str) -> int:
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


def has_control(text: str) -> bool:
    return bool(_CONTROL_RE.search(text))


def clean_text(text: str) -> str:
    """Drop control characters (tabs and line breaks stay): for text read from imported files."""
    return _CONTROL_RE.sub("", text)


def in_range(value: int) -> bool:
    return INT_MIN <= value <= INT_MAX


def to_int(value: Any, default: int | None = None) -> int | None:
    """A query-string or form value as a 32-bit integer, or `default` when absent, malformed or too big."""
    if value is None or isinstance(value, bool):
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        return default
    return number if in_range(number) else default


def int32(value: Any) -> int:
    number = int(value)
    if not in_range(number):
        raise ValueError("out of range")
    return number


class BoundedArgs(ImmutableMultiDict):
    """Query strings and forms: `request.args.get("page", 1, type=int)` gives the default for a number
    past 32 bits, as it already does for one that does not parse."""

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        return super().get(key, default, int32 if type is int else type)

    def getlist(self, key, type=None):  # noqa: A002
        return super().getlist(key, int32 if type is int else type)


class CoordRequest(Request):
    parameter_storage_class = BoundedArgs


def _request_has_control() -> bool:
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if has_control(key) or has_control(value):
                return True
    return any(isinstance(v, str) and has_control(v) for v in (request.view_args or {}).values())


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = CoordRequest

    @app.before_request
    def refuse_control_characters():
        if _request_has_control():
            abort(400, description=REQUEST_CONTROL_MESSAGE)

    def out_of_range(error: Exception):
        db.session.rollback()  # nothing half-saved
        app.logger.warning("input refused by the database or a computation: %s", error)
        return app.handle_http_exception(BadRequest(description=OUT_OF_RANGE_MESSAGE))

    app.register_error_handler(DataError, out_of_range)
    app.register_error_handler(OverflowError, out_of_range)
