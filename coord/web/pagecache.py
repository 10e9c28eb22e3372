"""Whole-page cache of logged-in list pages, exact to the last committed write.

Every transaction that writes through the ORM raises one counter (`page_generation`, a row in the
database, raised inside the transaction so it becomes visible with the change and every worker and
host sees it). A page marked `@cacheable` is kept per process, per request (address with its query,
the whole Cookie header, so per session and language, and the htmx headers), with the counter's value
read before it was rendered. The next identical request reads the counter (one primary-key row, on an
autocommit connection) and, if nothing has been written since, answers with the kept copy: no session
query, no page queries, no template.

The copy is also the proof of the session: logging out, a password change, a deactivation or an
administrator ending it are writes. It expires before the session would next need the database (the
idle check's once-a-minute refresh, the absolute limit), at local midnight (pages count days), and after
PAGE_CACHE_SECONDS (default 30) for what changes with the clock alone (a deadline passing). Pages that
show a flash message or set a cookie are not kept; a create form's one-time token is new in each answer.
COORD_PAGE_CACHE_SECONDS=0 turns it off.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_request_context, request, session
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from coord.dbtypes import utcnow
from coord.extensions import db
from coord.timeutil import local_datetime, local_today

HEADER = "X-Coord-Page-Cache"  # hit or miss: what a test or an operator may check
_WROTE = "coord_page_wrote"
_EXTENSION = "coord_page_cache"
_READER = "coord_page_cache_reader"


class PageGeneration(db.Model):
    """One row (id 1): raised by every committed write, read by every cacheable request."""

    __tablename__ = "page_generation"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


_READ = sa.select(PageGeneration.value).where(PageGeneration.id == 1)
_RAISE = sa.update(PageGeneration).where(PageGeneration.id == 1).values(value=PageGeneration.value + 1)


# --- the counter --------------------------------------------------------------------------------

@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: Any) -> None:
    if state.is_select:
        return
    stmt = state.statement
    if isinstance(stmt, sa.TextClause) and stmt.text.lstrip()[:6].lower() == "select":
        return
    if stmt is _RAISE:
        return
    state.session.info[_WROTE] = True


def _raise_on_commit(session: Session) -> None:
    # Registered after every feature's own before_commit (create_app loads them first), so the counter
    # is the transaction's last lock: a writer waits for it only while committing.
    if session.info.get(_WROTE) or session.new or session.dirty or session.deleted:
        session.flush()
        session.execute(_RAISE)
        session.info.pop(_WROTE, None)
        if has_request_context():
            g.page_wrote = True  # a page that wrote is not kept: answering it again would skip the write


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_WROTE, None)


def register_raise() -> None:
    """Called by create_app once every feature's listeners are loaded (and once per process)."""
    if not event.contains(Session, "before_commit", _raise_on_commit):
        event.listen(Session, "before_commit", _raise_on_commit)


def generation() -> int | None:
    """The counter now, outside the request's transaction (a GET's snapshot must not predate it)."""
    held = current_app.extensions.get(_READER)
    if held is None:
        held = current_app.extensions.setdefault(_READER, threading.local())
    try:
        return _read(held)
    except Exception:  # a connection the server closed (a restart): once more on a new one
        held.__dict__.clear()
        return _read(held)


_SQL = "SELECT value FROM page_generation WHERE id = 1"


def _read(held: threading.local) -> int | None:
    # A DBAPI connection of this thread's own, in autocommit, kept open, the statement prepared: the
    # read is one round trip and a few microseconds of Python (through a pooled SQLAlchemy connection and
    # its pre-ping it cost two round trips and 0.5 ms).
    conn = getattr(held, "conn", None)
    if conn is None:
        engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        held.fairy = engine.raw_connection()  # held, or the pool would close the connection
        conn = held.conn = held.fairy.driver_connection
    if held.__dict__.setdefault("postgresql", hasattr(conn, "pgconn")):
        row = conn.execute(_SQL, prepare=True).fetchone()
    else:
        row = conn.execute(_SQL).fetchone()
    return row[0] if row else None


# --- the kept pages -----------------------------------------------------------------------------

class _Store:
    """Pages by request key, least recently used dropped first beyond a byte budget."""

    def __init__(self, budget: int) -> None:
        self.lock = threading.Lock()
        self.budget = budget
        self.size = 0
        self.entries: OrderedDict[tuple, tuple[int, datetime, bytes, int, list]] = OrderedDict()

    def get(self, key: tuple, generation: int, now: datetime) -> tuple | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry[0] != generation or entry[1] <= now:
                self._drop(key)
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: tuple) -> None:
        with self.lock:
            if key in self.entries:
                self._drop(key)
            self.entries[key] = entry
            self.size += len(entry[2])
            while self.size > self.budget and self.entries:
                self._drop(next(iter(self.entries)))

    def _drop(self, key: tuple) -> None:
        self.size -= len(self.entries.pop(key)[2])


def _store() -> _Store:
    store = current_app.extensions.get(_EXTENSION)
    if store is None:
        budget = int(current_app.config.get("PAGE_CACHE_BYTES", 32 * 1024 * 1024))
        store = current_app.extensions.setdefault(_EXTENSION, _Store(budget))
    return store


def cacheable(view: Callable) -> Callable:
    """Mark a GET page that only reads (it writes nothing, not even a read receipt) as kept."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    wrapper.page_cacheable = True  # type: ignore[attr-defined]
    return wrapper


def one_time(token: str) -> str:
    """A random token (a create form's) the page shows: a kept page gets a new one in every answer,
    so two forms from one kept page never share a token."""
    g.setdefault("page_one_time", []).append(token)
    return token


_SLOT = b"\x00"  # where a one-time token stood (control characters never reach a page otherwise)


def _with_slots(body: bytes) -> bytes:
    for token in g.get("page_one_time", ()):
        body = body.replace(token.encode(), _SLOT)
    return body


def _fill(body: bytes) -> bytes:
    if _SLOT not in body:
        return body
    parts = body.split(_SLOT)
    return b"".join(part + (uuid.uuid4().hex.encode() if i < len(parts) - 1 else b"")
                    for i, part in enumerate(parts))


def _seconds() -> float:
    return float(current_app.config.get("PAGE_CACHE_SECONDS", 30))


def _key() -> tuple:
    hx = tuple(sorted((k, v) for k, v in request.headers.items() if k.lower().startswith("hx-")))
    return (request.full_path, request.headers.get("Cookie", ""), hx)


def _applies() -> bool:
    if request.method != "GET" or _seconds() <= 0:
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "page_cacheable", False))


def _answer() -> Response | None:
    """First of the request's hooks: the kept page, or nothing (and the counter noted for keeping)."""
    g.pop("page_generation", None)
    g.pop("page_hit", None)
    g.pop("session_valid_until", None)
    g.pop("page_wrote", None)
    g.pop("page_one_time", None)
    if not _applies():
        return None
    value = generation()
    g.page_generation = value
    if value is None or "Cookie" not in request.headers:
        return None
    entry = _store().get(_key(), value, utcnow())
    if entry is None:
        return None
    _, _, body, status, headers = entry
    resp = Response(_fill(body), status=status, headers=headers)
    resp.headers[HEADER] = "hit"
    g.page_hit = True
    return resp


def _keep(resp: Response) -> Response:
    """Last of the response hooks: keep what a cacheable page rendered, if it may be kept."""
    if g.pop("page_hit", False):
        return resp
    value = g.get("page_generation")
    until = g.get("session_valid_until")
    if value is None or until is None or not _applies():
        return resp
    resp.headers[HEADER] = "miss"
    if (resp.status_code != 200 or resp.mimetype != "text/html" or resp.is_streamed
            or g.get("page_wrote") or db.session.info.get(_WROTE) or "Set-Cookie" in resp.headers
            or session.modified):
        return resp
    now = utcnow()
    expires = min(until, now + timedelta(seconds=_seconds()), _next_local_midnight())
    if expires <= now:
        return resp
    headers = [(k, v) for k, v in resp.headers.items() if k not in (HEADER, "Content-Length")]
    _store().put(_key(), (value, expires, _with_slots(resp.get_data()), resp.status_code, headers))
    return resp


def _next_local_midnight() -> datetime:
    return local_datetime(local_today() + timedelta(days=1), time(0))


def init_app(app: Flask) -> None:
    app.config.setdefault("PAGE_CACHE_SECONDS", 30)
    # First before every other hook (the rate limiter's, the login's), last after every other.
    app.before_request_funcs.setdefault(None, []).insert(0, _answer)
    app.after_request_funcs.setdefault(None, []).insert(0, _keep)
