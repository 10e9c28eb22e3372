"""Writing and verifying the audit chain. Every service that changes state calls `record`."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from coord.audit import chain
from coord.audit.chain import GENESIS, VerifyResult, verify  # noqa: F401 - the feature's public API
from coord.audit.models import AuditEntry
from coord.dbtypes import utcnow, write_lock
from coord.extensions import db


def _canonical(data: Any) -> str | None:
    if data is None:
        return None
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def _lock_chain() -> None:
    """Serialise appends so two transactions never chain onto the same predecessor."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(7701)"))
    else:
        write_lock(db.session)


def record(
    actor: Any,
    action: str,
    entity_type: str,
    entity_id: Any,
    *,
    agencies: Iterable[int | None] = (),
    summary: str = "",
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    """Append an entry in the caller's transaction (committed with the change it describes)."""
    _lock_chain()
    last = db.session.execute(
        sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none()
    ids = sorted({int(a) for a in agencies if a is not None})
    entry = AuditEntry(
        at=utcnow(),
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "display_name", None) or getattr(actor, "username", "") or "system",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        agency_scope="," + ",".join(str(i) for i in ids) + "," if ids else "",
        summary=summary,
        before=_canonical(before),
        after=_canonical(after),
        prev_hash=last or GENESIS,
    )
    chain.seal(entry)  # keyed hash (COORD_AUDIT_KEY), algorithm from COORD_AUDIT_HASH
    db.session.add(entry)
    db.session.flush()
    return entry


@dataclass(frozen=True)
class Pending:
    """One entry for `record_many` (the same fields as `record` takes)."""

    action: str
    entity_type: str
    entity_id: Any
    agencies: tuple[int | None, ...] = ()
    summary: str = ""
    before: Any = None
    after: Any = None


def record_many(actor: Any, items: Iterable[Pending]) -> int:
    """Append many entries in the caller's transaction, chained in order, with one look-up of the
    chain's end and one multi-row INSERT (a calendar change can move thousands of deadlines)."""
    items = list(items)
    if not items:
        return 0
    _lock_chain()
    db.session.flush()
    prev = db.session.execute(
        sa.select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar_one_or_none() or GENESIS
    at = utcnow()
    actor_id = getattr(actor, "id", None)
    actor_name = getattr(actor, "display_name", None) or getattr(actor, "username", "") or "system"
    rows = []
    for item in items:
        ids = sorted({int(a) for a in item.agencies if a is not None})
        row = {"at": at, "actor_id": actor_id, "actor_name": actor_name, "action": item.action,
               "entity_type": item.entity_type, "entity_id": str(item.entity_id),
               "agency_scope": "," + ",".join(str(i) for i in ids) + "," if ids else "", "summary": item.summary,
               "before": _canonical(item.before), "after": _canonical(item.after), "prev_hash": prev}
        row["alg"] = chain.current_alg()
        row["hash"] = prev = chain.digest(SimpleNamespace(**row))  # the same keyed digest `record` seals
        rows.append(row)
    db.session.execute(AuditEntry.__table__.insert(), rows)  # executemany, in order: ids follow the chain
    return len(rows)


# --- who may read which entries -------------------------------------------------------------
# A feature registers how to decide whether a user may see one of its records; the audit pages
# ask it, so the trail is never wider than the record itself.
_visibility: dict[str, Callable[[Any, str], bool]] = {}
_labels: dict[str, str] = {}


def register_entity(entity_type: str, label: str, can_see: Callable[[Any, str], bool]) -> None:
    _visibility[entity_type] = can_see
    _labels[entity_type] = label


def entity_label(entity_type: str) -> str:
    return _labels.get(entity_type, entity_type)


def can_see(user: Any, entity_type: str, entity_id: str) -> bool:
    check = _visibility.get(entity_type)
    return bool(check and check(user, entity_id))


def history(entity_type: str, entity_id: Any) -> list[AuditEntry]:
    stmt = (
        sa.select(AuditEntry)
        .where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.id)
    )
    return list(db.session.execute(stmt).scalars())


def recent_for(user: Any, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
    """Entries a user may see: all for the office (and the audit administrator under 三员分立);
    else those scoped to the user's agency."""
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    if not (user.is_office or user.sees_nav("audit.all")):
        stmt = stmt.where(AuditEntry.agency_scope.like(f"%,{user.agency_id},%"))
    return list(db.session.execute(stmt).scalars())


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
