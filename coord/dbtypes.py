"""Shared column types and database helpers."""
from __future__ import annotations

from contextvars import ContextVar
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Instants stored as UTC and always returned timezone-aware (SQLite drops the offset)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware instants")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


_immediate_next: ContextVar[bool] = ContextVar("sqlite_immediate_next", default=False)


def configure_sqlite(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, busy timeout, and serialised writers.

    Writers must never read a state that another writer changes before they write (the audit
    chain and bookings rely on it), so a writing transaction takes SQLite's write lock at BEGIN
    (BEGIN IMMEDIATE): every state-changing request does, and code outside a request asks for
    it with `write_lock()`. Reads begin deferred and never wait (WAL gives them a snapshot).
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=15000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        immediate = _immediate_next.get() or _writing_request()
        _immediate_next.set(False)
        conn.info["immediate"] = immediate
        conn.info["wrote"] = False
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @event.listens_for(engine, "before_cursor_execute")
    def _mark_write(conn, _cursor, statement, *_args):
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            conn.info["wrote"] = True


def _writing_request() -> bool:
    from flask import has_request_context, request

    return has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")


def write_lock(session) -> None:
    """Make the current transaction a serialised writer before reading what it will change.

    PostgreSQL: nothing to do here (callers lock rows or use constraints). SQLite: if this
    transaction began as a plain reader and has not written yet, end it and begin anew with
    BEGIN IMMEDIATE, so no other writer can slip in between our reads and our writes.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    conn = session.connection()
    if conn.info.get("immediate") or conn.info.get("wrote"):
        return
    session.commit()  # a read-only transaction: nothing to lose
    _immediate_next.set(True)
    session.connection()
