"""Shared form helpers: Chinese messages for WTForms validators."""
from __future__ import annotations

from flask_babel import lazy_gettext
from wtforms.validators import DataRequired, Length


def required(message: str | None = None) -> DataRequired:
    # Lazy: forms are declared at import; the message is rendered in the language of the request.
    return DataRequired(message=lazy_gettext(message or "此项为必填项。"))


def length(max_: int, min_: int = -1) -> Length:
    return Length(min=min_, max=max_, message=lazy_gettext("长度应在 %(min)s–%(max)s 个字符之间。", min=max(min_, 0),
                                                           max=max_))


def form_data(form) -> dict:
    """A form's fields as a plain dict for a service (no CSRF token)."""
    return {k: v for k, v in form.data.items() if k not in ("csrf_token", "submit")}
