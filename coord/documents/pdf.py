"""Official PDFs: Jinja templates under `coord/templates/documents/` rendered by WeasyPrint.

Rules (DESIGN.md, "PDFs"): GB/T 9704-2012 page, `<html lang="zh-CN">`, explicit font stacks,
fonts embedded as subsets (HarfBuzz, never `full_fonts`), one `FontConfiguration` per process,
a character no font covers is an error (WeasyPrint only logs a warning and draws a box), the
renderer fetches nothing from the network, and identical input gives identical bytes, so the
output is cached on disk by a hash of its input.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import mimetypes
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from coord.errors import DomainError

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DOCUMENTS_DIR = PACKAGE_DIR / "templates" / "documents"
STATIC_DIR = PACKAGE_DIR / "static"
# The only places a document may load files from (its own templates' folder and our static files).
ALLOWED_ROOTS = (DOCUMENTS_DIR, STATIC_DIR)
PDFA_VARIANT = "pdf/a-2b"
# Raise when a change to this module changes the bytes produced for the same HTML.
RENDERER_VERSION = "1"

log = logging.getLogger(__name__)


class DocumentError(DomainError):
    """The document cannot be produced as asked (missing glyph, forbidden resource, ...)."""

    status = 422


class _RefusedURL(Exception):
    def __init__(self, url: str):
        super().__init__(url)
        self.url = url


# --- templates ---------------------------------------------------------------------------------

def cn_date_text(value: dt.date | dt.datetime | None) -> str:
    """2026年3月5日 (no leading zeros, as official documents write dates)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value)
    return f"{value.year}年{value.month}月{value.day}日"


def cn_time_text(value: dt.datetime | None) -> str:
    """9时05分."""
    if value is None:
        return ""
    value = _local(value)
    return f"{value.hour}时{value.minute:02d}分"


def _unbroken(text: str) -> Markup:
    """Chinese text may break between any two characters; a date in a document must not
    (2026年3月 | 5日 reads badly and invites alteration), so it is kept on one line."""
    return Markup('<span class="nobr">{}</span>').format(escape(text)) if text else Markup("")


def _cn_date(value: dt.date | dt.datetime | None) -> Markup:
    return _unbroken(cn_date_text(value))


def _cn_time(value: dt.datetime | None) -> Markup:
    return _unbroken(cn_time_text(value))


def _cn_datetime(value: dt.datetime | None) -> Markup:
    return _unbroken(f"{cn_date_text(value)}{cn_time_text(value)}" if value else "")


def _local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    from coord.timeutil import to_local

    return to_local(value)


_CN_DIGITS = "〇一二三四五六七八九"


def _cn_number(value: int) -> str:
    """1..99 as Chinese numerals (一、二、…、十一) for list headings."""
    if value < 10:
        return _CN_DIGITS[value]
    tens, units = divmod(value, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[units] if units else "")


# --- English: a reading copy ----------------------------------------------------------------------
# The official format is Chinese and stays the default (and the only one stored or mailed). A user who
# chose English gets the same document with English headings, labels and wording from
# `templates/documents/en/` (a template without an English version falls back to the Chinese one);
# the data (names, matters, 文号) stays as entered.

def en_date_text(value: dt.date | dt.datetime | None) -> str:
    """5 March 2026."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value)
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def en_time_text(value: dt.datetime | None) -> str:
    """9:05."""
    return f"{_local(value):%H:%M}" if value is not None else ""


def _en_date(value: dt.date | dt.datetime | None) -> Markup:
    return _unbroken(en_date_text(value))


def _en_time(value: dt.datetime | None) -> Markup:
    return _unbroken(en_time_text(value))


def _en_datetime(value: dt.datetime | None) -> Markup:
    return _unbroken(f"{en_date_text(value)}, {en_time_text(value)}" if value else "")


def attendance_en(text: str) -> str:
    """The notice's attendance line (written in Chinese by the interviews feature) in English: the names
    stay, the sentence around them is translated."""
    import re

    if text == "请你单位法定代表人或主要负责人参加，可委托相关负责人（须持授权委托书）。":
        return ("Your legal representative or principal person in charge should attend; another person in charge "
                "may attend in their place with a letter of authorisation.")
    found = re.fullmatch(r"请(.+)准时参加。", text)
    if found is None:
        return text
    names = re.sub(r"（([^（）]*)）", r" (\1)", found.group(1)).replace("、", ", ")
    return f"{names}: please attend on time."


def _environment(loader: Any) -> Environment:
    return Environment(
        loader=loader,
        autoescape=select_autoescape(("html",), default_for_string=True),
        undefined=StrictUndefined,  # a field missing from an official document is a bug, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )


_env = _environment(FileSystemLoader(str(DOCUMENTS_DIR)))
_env.filters.update(cn_date=_cn_date, cn_time=_cn_time, cn_datetime=_cn_datetime, cn_number=_cn_number)
_env.install_null_translations(newstyle=True)
_env_en = _environment(ChoiceLoader([FileSystemLoader(str(DOCUMENTS_DIR / "en")),
                                     FileSystemLoader(str(DOCUMENTS_DIR))]))
# The English copy writes dates and list numbers the English way under the same filter names.
_en_catalogue: Any = None


def _tr_known(value: Any) -> Any:
    """A table cell of labels kept in Chinese in code (measure names, "劝导、告知建议") in English when the
    catalogue knows every part; anything else (what an agency entered) as it is."""
    if not isinstance(value, str) or not value or _en_catalogue is None:
        return value
    parts = value.split("、")
    english = [_en_catalogue.gettext(p) for p in parts]
    return ", ".join(english) if all(e != p for e, p in zip(english, parts, strict=True)) else value


_env_en.filters.update(cn_date=_en_date, cn_time=_en_time, cn_datetime=_en_datetime, cn_number=str,
                       attendance_en=attendance_en, tr_known=_tr_known)

LOCALES = ("zh_CN", "en")
# The language of documents produced in this context: Chinese unless a view that answers a user who chose
# English says otherwise (`with document_locale("en"): ...`). Stored, signed or mailed documents are
# produced outside such a block and so stay Chinese.
_locale: ContextVar[str] = ContextVar("document_locale", default="zh_CN")


@contextmanager
def document_locale(locale: str) -> Iterator[None]:
    token = _locale.set(locale if locale in LOCALES else "zh_CN")
    try:
        yield
    finally:
        _locale.reset(token)


def document_language() -> str:
    """The language of the documents produced in this context ("zh_CN" or "en")."""
    return _locale.get()


def _english() -> Environment:
    global _en_catalogue
    if _en_catalogue is None:
        from babel.support import Translations

        _en_catalogue = Translations.load(str(PACKAGE_DIR / "translations"), ["en"], domain="messages")
        _env_en.install_gettext_translations(_en_catalogue, newstyle=True)
    return _env_en


def render_html(template: str, context: dict[str, Any], locale: str | None = None) -> str:
    """The HTML of a document template (name relative to `templates/documents/`), in `locale`
    (default: the context's document locale, Chinese)."""
    env = _english() if (locale or _locale.get()) == "en" else _env
    return env.get_template(template).render(**context)


# --- fonts, fetching, warnings -----------------------------------------------------------------

_render_lock = threading.Lock()  # WeasyPrint/Pango state is shared; one render at a time per process
_font_config: Any = None
_font_config_pid: int | None = None


def font_configuration() -> Any:
    """The process's single FontConfiguration (made again after a fork)."""
    global _font_config, _font_config_pid
    if _font_config is None or _font_config_pid != os.getpid():
        from weasyprint.text.fonts import FontConfiguration

        _font_config = FontConfiguration()
        _font_config_pid = os.getpid()
    return _font_config


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalOnlyFetcher(URLFetcher):
        """Serves our own template and static files; refuses every other URL, network or not."""

        def __init__(self) -> None:
            super().__init__(fail_on_errors=True)

        def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
            if url.startswith("data:"):  # an image inside the document itself (QR code, drawn signature)
                mime, data = _data_image(url)
                return URLFetcherResponse(url[:64], data, {"Content-Type": mime})
            path = _allowed_path(url)
            if path is None:
                raise _RefusedURL(url)
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})

    return LocalOnlyFetcher()


DATA_IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


def _data_image(url: str) -> tuple[str, bytes]:
    """The bytes of a `data:` URL of an image (nothing is fetched); other data URLs are refused."""
    import base64
    from urllib.parse import unquote_to_bytes

    header, _, payload = url[5:].partition(",")
    mime, *params = header.split(";")
    if mime.lower() not in DATA_IMAGE_TYPES:
        raise _RefusedURL(url[:64])
    try:
        data = base64.b64decode(payload, validate=True) if "base64" in params else unquote_to_bytes(payload)
    except ValueError as err:
        raise _RefusedURL(url[:64]) from err
    return mime.lower(), data


def _allowed_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path)).resolve()
    if not path.is_file():
        return None
    return path if any(path.is_relative_to(root) for root in ALLOWED_ROOTS) else None


class _Problems(logging.Handler):
    """Collects WeasyPrint's warnings during one render: missing glyphs and failed resources."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.missing: list[str] = []
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and record.msg.startswith(".notdef glyph"):
            char = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            if char not in self.missing:
                self.missing.append(str(char))
        elif record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())
        else:
            log.info("WeasyPrint: %s", record.getMessage())


@contextmanager
def _collect_problems() -> Iterator[_Problems]:
    """Listen to WeasyPrint's logger for one render, even if logging was configured to silence
    it (Alembic's fileConfig disables existing loggers; a WARNING-muting level would hide boxes)."""
    logger = logging.getLogger("weasyprint")
    handler = _Problems()
    disabled, level = logger.disabled, logger.level
    logger.disabled = False
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.disabled, logger.level = disabled, level


def _missing_glyph_message(chars: list[str]) -> str:
    shown = "、".join(f"“{c}”（U+{ord(c):04X}）" for c in chars)
    return f"文书中的字符 {shown} 没有可用的字体，无法生成 PDF。请改用规范汉字，或请管理员安装覆盖该字符的字体。"


# --- rendering and the cache -------------------------------------------------------------------

def cache_key(html: str, variant: str | None, locale: str = "zh_CN") -> str:
    """SHA-256 of everything that decides the bytes: the HTML (template, styles and context
    are all in it), the variant, the language, the WeasyPrint version and this renderer's version.
    (Chinese adds nothing, so the keys of documents cached before English existed still hold.)"""
    import weasyprint

    digest = hashlib.sha256()
    parts = (RENDERER_VERSION, weasyprint.__version__, variant or "pdf", html)
    for part in parts if locale == "zh_CN" else (*parts, f"locale={locale}"):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def html_to_pdf(html: str, *, pdfa: bool = False, cache_dir: Path | None = None, key: str | None = None) -> bytes:
    """Render HTML to PDF bytes; with `cache_dir`, reuse an earlier identical render."""
    variant = PDFA_VARIANT if pdfa else None
    key = key or cache_key(html, variant)
    path = cache_dir / key[:2] / f"{key}.pdf" if cache_dir else None
    if path is not None and path.is_file():
        return path.read_bytes()
    data = _render(html, variant, key)
    if path is not None:
        _write_atomically(path, data)
    return data


def _render(html: str, variant: str | None, key: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    with _render_lock, _collect_problems() as problems:
        try:
            document = HTML(string=html, base_url=DOCUMENTS_DIR.as_uri() + "/", url_fetcher=_fetcher())
            data = document.write_pdf(
                font_config=font_configuration(),
                pdf_variant=variant,
                # A fixed file identifier (the input's hash) instead of one that varies.
                pdf_identifier=key[:32].encode("ascii"),
                full_fonts=False,
            )
        except FatalURLFetchingError as exc:
            cause = exc.__cause__
            url = cause.url if isinstance(cause, _RefusedURL) else str(exc)
            raise DocumentError(
                f"文书引用了不允许的资源：{url}。生成 PDF 时不访问网络，只使用本系统自带的文件。"
            ) from exc
    if problems.missing:
        raise DocumentError(_missing_glyph_message(problems.missing))
    if problems.errors:
        raise DocumentError("生成 PDF 失败：" + "；".join(problems.errors))
    return data


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_cache_dir() -> Path | None:
    """`PDF_CACHE_DIR` or `instance/pdf-cache` of the current app; no cache outside an app."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    configured = current_app.config.get("PDF_CACHE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "pdf-cache"


def render_pdf(template: str, context: dict[str, Any], *, pdfa: bool = False, use_cache: bool = True,
               locale: str | None = None) -> bytes:
    """Render `templates/documents/<template>` with `context` to PDF (PDF/A-2b when `pdfa`), in `locale`
    (default: the document locale of the context, Chinese unless `document_locale` says otherwise).

    Raises `DocumentError` (Chinese message) for a character no font covers or a resource
    outside our own files. Cached under instance/pdf-cache by the hash of the input and the locale,
    so a Chinese document is never served for an English request or the other way round.
    """
    locale = locale or _locale.get()
    html = render_html(template, context, locale)
    key = cache_key(html, PDFA_VARIANT if pdfa else None, locale)
    return html_to_pdf(html, pdfa=pdfa, cache_dir=default_cache_dir() if use_cache else None, key=key)
