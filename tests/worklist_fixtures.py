"""Helpers for the worklist and notification tests: whose worklist holds what, counting SQL statements."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from coord.extensions import db
from coord.notifications.models import Notification
from coord.worklist import queries
from tests.conftest import user_by_name


def tasks_of(username: str, now: datetime | None = None, limit: int = 50) -> dict[str, set]:
    """kind -> record ids on the user's worklist (straight from the queries, no cache)."""
    db.session.rollback()
    user = user_by_name(username)
    with current_app.test_request_context():
        worklist = queries.compute(user, now=now, limit=limit)
    return {r.section.kind: {t.record_id for t in r.tasks} for r in worklist.sections if r.count}


def has(username: str, kind: str, record_id, now: datetime | None = None) -> bool:
    return record_id in tasks_of(username, now).get(kind, set())


def notes(username: str, kind: str | None = None, record_id=None) -> list[Notification]:
    """The user's notifications (of a kind, about a record), oldest first."""
    db.session.rollback()
    stmt = sa.select(Notification).where(Notification.user_id == user_by_name(username).id).order_by(Notification.id)
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    if record_id is not None:
        stmt = stmt.where(Notification.record_id == str(record_id))
    return list(db.session.execute(stmt).scalars())


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    seen: list[str] = []

    def keep(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
