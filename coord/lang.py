"""Interface text in the reader's language, safe outside a request.

Flask-Babel's `gettext` asks the locale selector, which reads the request; a service called from the
CLI or the worker has none and would fail. `_` here translates when a request chose English and
otherwise gives the Chinese source text, formatted the same way. Stored texts (audit summaries,
notifications, outbox rows, document numbers) never go through it: they stay Chinese.
"""
from __future__ import annotations

from flask import has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _gettext


def _(text: str, /, **values: object) -> str:
    if has_request_context():
        return _gettext(text, **values)
    return text % values if values else text


def N_(text: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks a Chinese label for the catalogue; translated where it is shown, with `_`."""
    return text


def request_locale() -> str:
    """'en' when the current request chose English, else 'zh_CN' (also outside a request)."""
    if not has_request_context():
        return "zh_CN"
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"
