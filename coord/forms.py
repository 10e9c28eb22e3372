"""Shared form helpers: Chinese messages for WTForms validators."""
from __future__ import annotations

from wtforms.validators import DataRequired, Length


def required(message: str = "此项为必填项。") -> DataRequired:
    return DataRequired(message=message)


def length(max_: int, min_: int = -1) -> Length:
    return Length(min=min_, max=max_, message=f"长度应在 {max(min_, 0)}–{max_} 个字符之间。")


def form_data(form) -> dict:
    """A form's fields as a plain dict for a service (no CSRF token)."""
    return {k: v for k, v in form.data.items() if k not in ("csrf_token", "submit")}
