"""Uploaded files: checked by their content (not only the name), kept once per SHA-256 under instance/files/."""
from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext

from coord.errors import DomainError

# type -> (extensions, MIME type)
TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "pdf": ((".pdf",), "application/pdf"),
    "jpg": ((".jpg", ".jpeg"), "image/jpeg"),
    "png": ((".png",), "image/png"),
    "docx": ((".docx",), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ((".xlsx",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "txt": ((".txt",), "text/plain; charset=utf-8"),
}
TYPE_LABELS = "PDF、JPG、PNG、DOCX、XLSX、TXT"


@dataclass
class Upload:
    """A file as the services take it: no request objects below the views."""

    filename: str
    data: bytes
    category: str = ""


def max_bytes() -> int:
    mb = current_app.config.get("REFERRAL_MAX_FILE_MB") or int(os.environ.get("COORD_REFERRAL_MAX_FILE_MB", "10"))
    return int(float(mb) * 1024 * 1024)


def allowed_types() -> set[str]:
    value = current_app.config.get("REFERRAL_ALLOWED_TYPES") or os.environ.get(
        "COORD_REFERRAL_FILE_TYPES", "pdf,jpg,png,docx,xlsx,txt")
    if isinstance(value, str):
        value = value.split(",")
    return {v.strip().lower() for v in value if v.strip()}


def sniff(data: bytes) -> str | None:
    """The type the bytes really are, or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"PK\x03\x04"):
        try:
            names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
        except (zipfile.BadZipFile, ValueError):
            return None
        if "[Content_Types].xml" in names:
            if "word/document.xml" in names:
                return "docx"
            if "xl/workbook.xml" in names:
                return "xlsx"
        return None
    if b"\x00" in data:
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "txt"


def _clean_name(filename: str) -> str:
    name = Path((filename or "").replace("\\", "/")).name.strip()
    return name[-200:]


def check(upload: Upload) -> tuple[str, str, str]:
    """(clean filename, MIME type, sha256) or a DomainError with the reason; writes nothing."""
    name = _clean_name(upload.filename)
    if not name:
        raise DomainError("上传的文件缺少文件名。", field="files")
    if not upload.data:
        raise DomainError(gettext("文件“%(name)s”是空文件。", name=name), field="files")
    limit = max_bytes()
    if len(upload.data) > limit:
        raise DomainError(gettext("文件“%(name)s”超过 %(limit)s MB 的大小限制。",
                                  name=name, limit=limit // (1024 * 1024)), field="files")
    kind = sniff(upload.data)
    allowed = allowed_types()
    if kind is None or kind not in allowed:
        raise DomainError(gettext("文件“%(name)s”的类型不允许上传（仅限 %(TYPE_LABELS)s，按文件内容识别）。",
                                  name=name, TYPE_LABELS=TYPE_LABELS), field="files")
    extensions, mime = TYPES[kind]
    if not name.lower().endswith(extensions):
        raise DomainError(gettext("文件“%(name)s”的扩展名与其内容（%(kind)s）不符。",
                                  name=name, kind=kind.upper()), field="files")
    return name, mime, hashlib.sha256(upload.data).hexdigest()


def folder() -> Path:
    path = Path(current_app.instance_path) / "files"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(data: bytes, sha256: str) -> None:
    """Write the bytes once; content-addressed, so an orphan after a rollback is harmless."""
    target = folder() / sha256
    if target.exists():
        return
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def path_for(sha256: str) -> Path:
    return folder() / sha256


def download(row):
    """A stored file as an attachment, scoped by the caller. The stored type may carry a charset
    (`text/plain; charset=utf-8`); werkzeug adds the charset of text types itself, so it is given the
    bare media type (else the header reads `charset=utf-8; charset=utf-8`)."""
    from flask import abort, send_file

    path = path_for(row.sha256)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=row.content_type.split(";")[0].strip(), as_attachment=True,
                     download_name=row.filename, etag=row.sha256, max_age=0)
