"""Interface text in the reader's language, for services and models (which may run without a request).

`_` translates when a request chose English and otherwise gives the Chinese source text, formatted the
same way; it needs no application context either (a model's label read in a script or at import). The
locale selector (`coord._select_locale`) also answers Chinese outside a request, so Flask-Babel's own
`gettext` is safe in views and templates. Stored texts (audit summaries, notifications, outbox rows,
document numbers) never go through either: they stay Chinese.
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
