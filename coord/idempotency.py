"""Idempotent POSTs: the same request sent twice gives one record and the same answer.

- API: a client sends `Idempotency-Key: <any unique string>` on a POST. The first request claims the
  key; a repeat (a retry after a timeout, a double click in a client) gets the first answer replayed
  (`Idempotent-Replayed: true`) and nothing is done again. The same key with another body is refused
  (422). Keys are per user.
- Pages: every create form carries a hidden `form_token` (`{{ form_token() }}`); a second submission
  of the same form (double click, Back and submit again, a network retry) goes to what the first one
  created instead of creating it twice.

How: the claim is a row of `idempotency_key`, inserted (unique per user and key) in the request's own
transaction before the view runs, so it is committed together with whatever the service creates, or
rolled back with it when the request is refused (then the key may be used again). A concurrent
second request blocks on the unique index (PostgreSQL) or on the write lock (SQLite), then finds the
claim and waits for the first answer, which is stored once the first request has answered.
"""
from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, Response, current_app, flash, g, jsonify, redirect, request
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from coord.dbtypes import UTCDateTime, utcnow
from coord.extensions import db
from coord.web.pagecache import one_time

HEADER = "Idempotency-Key"
FORM_FIELD = "form_token"
MAX_KEY = 200
WAIT_SECONDS = 15.0  # how long a repeat waits for the first request's answer


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("scope", "owner", "key", name="uq_idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(10), nullable=False)  # "api" | "form"
    owner: Mapped[str] = mapped_column(sa.String(40), nullable=False)  # "user:12"
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY), nullable=False)
    method: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    path: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # The first answer; NULL while the first request is still running.
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    location: Mapped[str | None] = mapped_column(sa.String(500))
    body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


def form_token() -> Markup:
    """The hidden field of a create form (a new token per rendering; a re-shown form keeps its own)."""
    value = request.form.get(FORM_FIELD) if request.method == "POST" else None
    value = value if value and len(value) <= MAX_KEY else one_time(uuid.uuid4().hex)
    return Markup('<input type="hidden" name="{}" value="{}">').format(FORM_FIELD, value)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["form_token"] = form_token
    app.before_request(_begin_form)
    app.after_request(_finish)


# --- claiming ---------------------------------------------------------------------------------

def _owner() -> str | None:
    from flask_login import current_user

    user = g.get("api_user") if request.path.startswith("/api/") else current_user
    return f"user:{user.id}" if user is not None and getattr(user, "is_authenticated", False) else None


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _begin_form() -> Response | None:
    if request.method != "POST" or request.path.startswith("/api/"):
        return None
    key = request.form.get(FORM_FIELD, "")
    return begin("form", key) if key else None


def begin_api() -> Response | None:
    """Called by the API blueprints once the bearer token is checked."""
    if request.method != "POST" or HEADER not in request.headers:
        return None
    key = request.headers.get(HEADER, "").strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        return _api_error(400, _("%(header)s 应为 1–%(max)s 个可打印字符。", header=HEADER, max=MAX_KEY))
    return begin("api", key)


def begin(scope: str, key: str) -> Response | None:
    """Claim `key`, or answer with what its first request answered."""
    owner = _owner()
    if owner is None or len(key) > MAX_KEY:
        return None
    fingerprint = _fingerprint() if scope == "api" else ""
    found = _find(scope, owner, key)
    if found is None:
        row = IdempotencyKey(scope=scope, owner=owner, key=key, method=request.method, path=request.path[:300],
                             fingerprint=fingerprint, created_at=utcnow())
        db.session.add(row)
        try:
            db.session.flush()  # PostgreSQL: waits here while a concurrent request holds the same key
        except IntegrityError:
            db.session.rollback()
            found = _find(scope, owner, key)
        else:
            g.idempotency = {"id": row.id, "committed": False}
            return None
    if found is None:  # the other request was refused and rolled back meanwhile: run this one afresh
        return begin(scope, key)
    return _replay(found, scope, fingerprint)


def _find(scope: str, owner: str, key: str) -> IdempotencyKey | None:
    return db.session.execute(sa.select(IdempotencyKey).where(
        IdempotencyKey.scope == scope, IdempotencyKey.owner == owner, IdempotencyKey.key == key)).scalar_one_or_none()


def _replay(row: IdempotencyKey, scope: str, fingerprint: str) -> Response:
    if scope == "api" and row.fingerprint != fingerprint:
        return _api_error(422, _("该 %(header)s 已用于另一个请求（方法、地址或内容不同），请换一个新的键。",
                                 header=HEADER))
    row_id = row.id
    deadline = time.monotonic() + WAIT_SECONDS
    while row is not None and row.status_code is None and time.monotonic() < deadline:
        db.session.rollback()  # end the snapshot (and SQLite's write lock) so the first request can finish
        time.sleep(0.05)
        row = db.session.get(IdempotencyKey, row_id, populate_existing=True)
    db.session.rollback()
    if row is None or row.status_code is None:
        if scope == "api":
            return _api_error(409, _("使用同一 %(header)s 的请求仍在处理中，请稍后重试。", header=HEADER))
        flash(_("该表单正在提交中，请稍候刷新页面查看结果。"), "warning")
        return redirect(request.referrer or "/", 303)
    if scope == "form" and row.location:
        flash(_("该表单已提交过，没有重复保存。"), "warning")
        return redirect(row.location, 303)
    resp = Response(row.body or b"", status=row.status_code, content_type=row.content_type)
    if row.location:
        resp.headers["Location"] = row.location
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _api_error(status: int, message: str) -> Response:
    resp = jsonify({"code": status, "message": message, "field": HEADER})
    resp.status_code = status
    return resp


# --- remembering the first answer ---------------------------------------------------------------

@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    from flask import has_request_context

    if has_request_context() and g.get("idempotency"):
        g.idempotency["committed"] = True


def _finish(resp: Response) -> Response:
    claim = g.pop("idempotency", None)
    if claim is None:
        return resp
    if not claim["committed"]:
        # Nothing was saved (refused, re-shown form): drop the claim so the same key may try again.
        db.session.rollback()
        return resp
    body = None if resp.is_streamed or resp.direct_passthrough else resp.get_data()
    try:
        db.session.rollback()
        db.session.execute(sa.update(IdempotencyKey).where(IdempotencyKey.id == claim["id"]).values(
            status_code=resp.status_code, content_type=resp.content_type,
            location=(resp.headers.get("Location") or "")[:500] or None, body=body))
        db.session.commit()
    except Exception:  # the answer stands; a repeat will wait and then be told to try later
        current_app.logger.exception("could not store the answer of idempotency key %s", claim["id"])
        db.session.rollback()
    return resp
