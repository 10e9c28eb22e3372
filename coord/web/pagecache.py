"""Whole-page cache of logged-in list pages, exact to the last committed write.

Every transaction that writes through the ORM raises one counter (`page_generation`, a row in the
database, raised inside the transaction so it becomes visible with the change and every worker and
host sees it). A page marked `@cacheable` is kept per process, per request (address with its query,
the whole Cookie header, so per session and language, the host and the htmx headers), with the
counter's value read before it was rendered. The next identical request is answered by a WSGI
middleware in front of Flask: it reads the counter (one primary-key row, on an autocommit connection)
and, if nothing has been written since, answers with the kept copy: no request context, session
query, hooks, page queries or template.

The copy is also the proof of the session: logging out, a password change, a deactivation or an
administrator ending it are writes. It expires before the session would next need the database (the
idle check's once-a-minute refresh, the absolute limit), at local midnight (pages count days), and after
PAGE_CACHE_SECONDS (default 30) for what changes with the clock alone (a deadline passing). Pages that
show a flash message or set a cookie are not kept; a create form's one-time token is new in each answer.
The copy was made under every response hook (security headers included), so it is answered as it was.
COORD_PAGE_CACHE_SECONDS=0 turns it off.
"""
from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any, NamedTuple

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
_KEY = "coord.page_key"  # the request's key, in the WSGI environ


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
def _executed(state: Any) -> Any:
    if state.is_select:
        return None
    stmt = state.statement
    if isinstance(stmt, sa.TextClause) and stmt.text.lstrip()[:6].lower() == "select":
        return None
    if stmt is _RAISE:
        return None
    result = state.invoke_statement()
    # An UPDATE or DELETE that matched no row changed no page: the worker's minute sweep of stuck mail
    # must not make every kept page stale.
    if getattr(result, "rowcount", 1) != 0:
        state.session.info[_WROTE] = True
    return result


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


class _Counter:
    """Reads the counter outside any request's transaction (a GET's snapshot must not predate it), on a
    DBAPI connection of each thread's own: in autocommit, kept open, the statement prepared, so a read is
    one round trip and a few microseconds of Python (a pooled SQLAlchemy connection with its pre-ping cost
    two round trips and 0.5 ms)."""

    def __init__(self) -> None:
        self.url: sa.URL | None = None  # the app's database, known once a request has run in its context
        self.local = threading.local()

    def read(self) -> int | None:
        try:
            return self._read()
        except Exception:  # a connection the server closed (a restart): once more on a new one
            self.local.__dict__.clear()
            return self._read()

    def _read(self) -> int | None:
        held = self.local
        conn = getattr(held, "conn", None)
        if conn is None:
            engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
            held.fairy = engine.raw_connection()  # held, or the pool would close the connection
            conn = held.conn = held.fairy.driver_connection
            held.postgresql = hasattr(conn, "pgconn")
        if held.postgresql:
            row = conn.execute(_SQL, prepare=True).fetchone()
        else:
            row = conn.execute(_SQL).fetchone()
        return row[0] if row else None


_SQL = "SELECT value FROM page_generation WHERE id = 1"


# Read by the session's query (accounts.sessions), the first of a logged-in request, so a rendered page
# costs no query of its own for it: under READ COMMITTED every later read of the page sees at least what
# that value stands for.
GENERATION = _READ.scalar_subquery().label("page_generation")


def note(value: int | None) -> None:
    """The counter as the request's first query read it: a page rendered now is kept under this value."""
    g.page_generation = value


# --- the kept pages -----------------------------------------------------------------------------

class _Entry(NamedTuple):
    generation: int
    expires: datetime
    body: bytes  # with a NUL byte where each one-time token stood
    status: str
    headers: list[tuple[str, str]]


class _Store:
    """Pages by request key, least recently used dropped first beyond a byte budget."""

    def __init__(self, budget: int) -> None:
        self.lock = threading.Lock()
        self.budget = budget
        self.size = 0
        self.entries: OrderedDict[tuple, _Entry] = OrderedDict()

    def get(self, key: tuple, generation: int | None, now: datetime) -> _Entry | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry.generation != generation or entry.expires <= now:
                self._drop(key)
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: _Entry) -> None:
        with self.lock:
            if key in self.entries:
                self._drop(key)
            self.entries[key] = entry
            self.size += len(entry.body)
            while self.size > self.budget and self.entries:
                self._drop(next(iter(self.entries)))

    def _drop(self, key: tuple) -> None:
        self.size -= len(self.entries.pop(key).body)


def _parts(app: Flask) -> tuple[_Store, _Counter]:
    return app.extensions[_EXTENSION]


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


def _seconds(app: Flask) -> float:
    return float(app.config.get("PAGE_CACHE_SECONDS", 30))


def _key(environ: dict) -> tuple:
    """What a kept answer depends on besides the counter: the address, the whole Cookie header (the session
    and the language), the host and scheme links are made for, and the htmx headers (page or fragment)."""
    hx = tuple(sorted((k, v) for k, v in environ.items() if k.startswith("HTTP_HX_")))
    return (environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
            environ.get("HTTP_COOKIE", ""), environ.get("HTTP_HOST", ""), environ.get("wsgi.url_scheme"),
            environ.get("HTTP_X_FORWARDED_PROTO", ""), environ.get("HTTP_X_FORWARDED_HOST", ""), hx)


class _KeptPages:
    """WSGI middleware, outside Flask: a kept page is answered before a request is even built (no request
    context, session, hooks or URL matching), with only the counter read. Everything else goes to Flask,
    which keeps a marked page under the counter value the request's session query read (`note`)."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("HTTP_COOKIE"):
            store, counter = _parts(self.app)
            if store.entries and counter.url is not None and _seconds(self.app) > 0:
                key = environ[_KEY] = _key(environ)
                if key in store.entries:
                    answer = self._kept(store, counter, key)
                    if answer is not None:
                        start_response(answer.status, answer.headers)
                        return [answer.body]
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _kept(store: _Store, counter: _Counter, key: tuple) -> _Entry | None:
        try:
            value = counter.read()
        except Exception:  # the database is away: Flask answers (with its error page)
            return None
        entry = store.get(key, value, utcnow())
        if entry is None:
            return None
        body = _fill(entry.body)
        return entry._replace(body=body, headers=[*entry.headers, ("Content-Length", str(len(body))),
                                                  (HEADER, "hit")])


def _applies() -> bool:
    if request.method != "GET" or _seconds(current_app) <= 0:
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "page_cacheable", False))


def _start() -> None:
    """First of the request's hooks: nothing of the previous request on `g` (the test client reuses it)."""
    for name in ("page_generation", "session_valid_until", "page_wrote", "page_one_time"):
        g.pop(name, None)


def _keep(resp: Response) -> Response:
    """Last of the response hooks: keep what a cacheable page rendered, if it may be kept."""
    value = g.get("page_generation")
    until = g.get("session_valid_until")
    if value is None or until is None or not _applies():
        return resp
    resp.headers[HEADER] = "miss"
    if (resp.status_code != 200 or resp.mimetype != "text/html" or resp.is_streamed
            or g.get("page_wrote") or db.session.info.get(_WROTE) or "Set-Cookie" in resp.headers
            or session.modified or not request.cookies):
        return resp
    now = utcnow()
    expires = min(until, now + timedelta(seconds=_seconds(current_app)), _next_local_midnight())
    if expires <= now:
        return resp
    headers = [(k, v) for k, v in resp.headers.items() if k not in (HEADER, "Content-Length")]
    key = request.environ.get(_KEY) or _key(request.environ)
    store, counter = _parts(current_app)
    if counter.url is None:
        counter.url = db.engine.url  # from now on the middleware may answer
    store.put(key, _Entry(value, expires, _with_slots(resp.get_data()), resp.status, headers))
    return resp


def _next_local_midnight() -> datetime:
    return local_datetime(local_today() + timedelta(days=1), time(0))


def init_app(app: Flask) -> None:
    app.config.setdefault("PAGE_CACHE_SECONDS", 30)
    budget = int(app.config.get("PAGE_CACHE_BYTES", 32 * 1024 * 1024))
    app.extensions[_EXTENSION] = (_Store(budget), _Counter())
    app.wsgi_app = _KeptPages(app, app.wsgi_app)  # type: ignore[method-assign]
    # First before every other hook (the session's load notes the counter), last after every other.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _keep)
