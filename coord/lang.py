"""Interface text in the reader's language, for services and models (which may run without a request).

`_` translates when a request chose English, or inside `in_language(...)` (an e-mail to a user who chose
English, rendered by the worker or in another user's request), and otherwise gives the Chinese source
text, formatted the same way; it needs no application context either (a model's label read in a script
or at import). The locale selector (`coord._select_locale`) also answers Chinese outside a request, so
Flask-Babel's own `gettext` is safe in views and templates. Stored texts (audit summaries, notification
titles, outbox rows, document numbers) never go through either: they stay Chinese.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_app_context, has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _gettext

LANGUAGES: dict[str, str] = {"zh_CN": "简体中文", "en": "English"}  # a language's own name, not translated

_forced: ContextVar[str | None] = ContextVar("coord_forced_language", default=None)


def _(text: str, /, **values: object) -> str:
    if has_request_context() or (_forced.get() is not None and has_app_context()):
        return _gettext(text, **values)
    return text % values if values else text


def N_(text: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks a Chinese label for the catalogue; translated where it is shown, with `_`."""
    return text


def tr(label: str) -> str:
    """A Chinese label kept in code (a state, a kind) in the current language, if the catalogue knows it."""
    if not label:
        return label
    return _(label.replace("%", "%%")) if "%" in label else _(label)


def language(code: str | None) -> str:
    """A supported language code ('zh_CN' for anything else)."""
    return code if code in LANGUAGES else "zh_CN"


@contextmanager
def in_language(code: str | None) -> Iterator[str]:
    """Render in this language (an e-mail to a user who chose it), inside a request or outside one.

    Flask-Babel's `force_locale` covers templates and `gettext`; the flag covers `_` and the date
    patterns of `coord.timeutil`, which otherwise answer Chinese outside a request."""
    code = language(code)
    token = _forced.set(code)
    try:
        with force_locale(code):
            yield code
    finally:
        _forced.reset(token)


def forced_language() -> str | None:
    """The language of `in_language`, if one is in force."""
    return _forced.get()


def request_locale() -> str:
    """'en' when the current request chose English (or `in_language("en")` is in force), else 'zh_CN'."""
    forced = _forced.get()
    if forced is not None:
        return forced
    if not has_request_context():
        return "zh_CN"
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"
