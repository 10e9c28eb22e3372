"""A small per-process cache of each user's worklist and unread count, invalidated by domain events.

The key is the user's `attention_stamp` (a column of `user_account`, loaded with the user on every
request anyway), their agency and role, and the local day. Listeners raise the stamp of every user
an event may concern (`touch`), in the database, so every web worker and host sees the change on
the user's next request; the TTL (`COORD_WORKLIST_CACHE_SECONDS`, default 60) is only a safety net
for what changes without an event (time passing an interview's start, a clock turning on a timer).
In steady state a page therefore reads no more than the user row for its badges and bell.

Which events concern which agencies: `watch(signal, agencies_of)`; `agencies_of(record_id, data)`
returns agency ids, or None for "everybody" (a calendar change). The office's users are always
included, since their sections span agencies.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from blinker import NamedSignal
from flask import current_app

from coord.accounts.models import User
from coord.dbtypes import write_lock
from coord.extensions import db
from coord.timeutil import english, local_today

MAX_USERS = 5000  # entries kept per process (oldest dropped first)
_EXTENSION = "coord_worklist_cache"


class _Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[tuple[int, str], tuple[tuple, float, Any]] = {}

    def get(self, slot: tuple[int, str], key: tuple) -> Any:
        entry = self.entries.get(slot)
        if entry is None or entry[0] != key or entry[1] < time.monotonic():
            return _MISSING
        return entry[2]

    def put(self, slot: tuple[int, str], key: tuple, value: Any, ttl: float) -> None:
        with self.lock:
            if len(self.entries) >= MAX_USERS and slot not in self.entries:
                oldest = min(self.entries, key=lambda s: self.entries[s][1])
                self.entries.pop(oldest, None)
            self.entries[slot] = (key, time.monotonic() + ttl, value)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


_MISSING = object()


def _store() -> _Store:
    """One store per app (tests make an app per test; two apps never share cached rows)."""
    store = current_app.extensions.get(_EXTENSION)
    if store is None:
        store = current_app.extensions.setdefault(_EXTENSION, _Store())
    return store


def ttl() -> float:
    return float(current_app.config.get("WORKLIST_CACHE_SECONDS", 60))


def key_of(user: Any) -> tuple:
    # The locale too: task titles are written in the user's language.
    return (user.attention_stamp, user.agency_id, user.role, local_today(), "en" if english() else "zh_CN")


def cached(user: Any, name: str, compute: Callable[[], Any]) -> Any:
    """`compute()` once per user, name and stamp (and at most every TTL seconds)."""
    seconds = ttl()
    if seconds <= 0:
        return compute()
    store, key, slot = _store(), key_of(user), (user.id, name)
    value = store.get(slot, key)
    if value is _MISSING:
        value = compute()
        store.put(slot, key, value, seconds)
    return value


def clear() -> None:
    """Drop this process's cached entries (tests, benchmarks)."""
    _store().clear()


# --- invalidation: raise the stamps in the database --------------------------------------------------

def touch(*, agency_ids: Iterable[int | None] = (), user_ids: Iterable[int | None] = (),
          everyone: bool = False, commit: bool = True) -> None:
    """Raise the stamp of the users of these agencies, of these users and of the office (or of everyone).

    One UPDATE; the caller's transaction (a listener's own) commits it unless `commit` is False."""
    agencies = sorted({a for a in agency_ids if a is not None})
    users = sorted({u for u in user_ids if u is not None})
    write_lock(db.session)
    stmt = sa.update(User).values(attention_stamp=User.attention_stamp + 1)
    if not everyone:
        stmt = stmt.where(sa.or_(User.role == "admin", User.agency_id.in_(agencies), User.id.in_(users)))
    db.session.execute(stmt.execution_options(synchronize_session=False))
    if commit:
        db.session.commit()


Resolver = Callable[[Any, dict[str, Any]], Iterable[int | None] | None]
_WATCHED: dict[str, tuple[NamedSignal, Resolver]] = {}


def watch(signal: NamedSignal, agencies_of: Resolver) -> None:
    """After `signal`, raise the stamps of the users of `agencies_of(record_id, data)` (None: everyone)."""
    if signal.name in _WATCHED:
        signal.disconnect(_WATCHED[signal.name][1])
    def receiver(record_id: Any, **data: Any) -> None:
        agencies = agencies_of(record_id, data)
        touch(agency_ids=agencies or (), everyone=agencies is None)

    _WATCHED[signal.name] = (signal, receiver)
    signal.connect(receiver, weak=False)
