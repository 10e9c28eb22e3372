"""Document numbers (文号) per agency, kind of document and year: 沙市监约〔2026〕3号.

`number_for` gives a document its number once: the same record (kind, entity) asking again gets
the same number, so a re-downloaded notice keeps its 文号. Numbers are gapless and never given
twice, also when two requests ask at the same moment:

- the counter row is raised with one `UPDATE ... RETURNING` (PostgreSQL holds the row lock until
  the transaction ends, so the next caller waits and reads the raised value; SQLite has one writer);
- the issued number is unique per (kind, entity): of two concurrent first requests for the same
  document, the second hits the unique constraint, its savepoint (with its counter increment) rolls
  back, and it reads the number the first one gave;
- it runs in the caller's transaction: if the document then fails (or the change that issues it is
  refused), the number is rolled back with it and the next document gets it.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from coord.agencies.models import Agency
from coord.dbtypes import write_lock
from coord.documents.models import DocumentCounter, DocumentNumber
from coord.extensions import db
from coord.lang import N_

# kind -> (the character(s) for the kind in the number, the document's name)
KINDS: dict[str, tuple[str, str]] = {
    "notice": ("约通", N_("约谈通知书")),
    "minutes": ("约", N_("约谈笔录")),
    "undertaking": ("诺", N_("保证承诺书")),
    "police_referral": ("移", N_("涉嫌犯罪案件移送书")),
    "prompt_letter": ("提", N_("提示函")),
    "mediation_agreement": ("调", N_("调解协议书")),
    "correction_order": ("责改", N_("责令改正通知书")),
    "report": ("通", N_("柔性执法工作情况通报")),
}


def format_number(agency: Agency, kind: str, year: int, seq: int) -> str:
    """沙市监约〔2026〕3号. Without a prefix in the directory the short name stands in for it."""
    prefix = agency.doc_prefix or agency.name
    return f"{prefix}{KINDS[kind][0]}〔{year}〕{seq}号"


def _existing(kind: str, entity_type: str, entity_id: str) -> DocumentNumber | None:
    return db.session.execute(sa.select(DocumentNumber).where(
        DocumentNumber.kind == kind, DocumentNumber.entity_type == entity_type,
        DocumentNumber.entity_id == entity_id)).scalar_one_or_none()


def issued(kind: str, entity_type: str, entity_id: Any) -> str | None:
    """The number already given to this document, if any (reads only)."""
    row = _existing(kind, entity_type, str(entity_id))
    return row.number if row else None


def _insert_counter(agency_id: int, kind: str, year: int) -> sa.Insert:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(DocumentCounter).values(agency_id=agency_id, kind=kind, year=year, last=0).on_conflict_do_nothing()


def number_for(agency: Agency, kind: str, entity_type: str, entity_id: Any, year: int, *,
               actor: Any = None) -> str:
    """The 文号 of one document, given now if it has none. In the caller's transaction (flushed, not
    committed): the caller commits with the change that issues the document."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    entity_id = str(entity_id)
    found = _existing(kind, entity_type, entity_id)
    if found is not None:
        return found.number
    write_lock(db.session)  # SQLite: read the counter and write it as one writer
    found = _existing(kind, entity_type, entity_id)
    if found is not None:
        return found.number
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(_insert_counter(agency.id, kind, year))
        seq = db.session.execute(
            sa.update(DocumentCounter)
            .where(DocumentCounter.agency_id == agency.id, DocumentCounter.kind == kind, DocumentCounter.year == year)
            .values(last=DocumentCounter.last + 1)
            .returning(DocumentCounter.last)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        number = format_number(agency, kind, year, seq)
        db.session.add(DocumentNumber(agency_id=agency.id, kind=kind, year=year, seq=seq, number=number,
                                      entity_type=entity_type, entity_id=entity_id,
                                      issued_by_id=getattr(actor, "id", None)))
        db.session.flush()
        savepoint.commit()
    except IntegrityError:
        # Another transaction numbered this very document first: use its number (ours is undone).
        savepoint.rollback()
        found = _existing(kind, entity_type, entity_id)
        if found is None:
            raise
        return found.number
    return number


def numbers_of(entity_type: str, entity_ids: list[str]) -> dict[tuple[str, str], str]:
    """{(kind, entity_id): number} for several records (one query), for lists that show 文号."""
    if not entity_ids:
        return {}
    rows = db.session.execute(sa.select(DocumentNumber.kind, DocumentNumber.entity_id, DocumentNumber.number).where(
        DocumentNumber.entity_type == entity_type, DocumentNumber.entity_id.in_(entity_ids)))
    return {(kind, eid): number for kind, eid, number in rows}
