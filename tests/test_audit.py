"""The audit chain: append-only, tamper-evident, checked by `audit-verify`."""
from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from coord.agencies import services as agencies
from coord.audit import services as audit
from coord.audit.models import AuditEntry
from coord.extensions import db
from tests.conftest import IS_PG, user_by_name


def _make_changes(n: int = 3) -> None:
    admin = user_by_name("admin")
    agency = agencies.by_name("区体育局")
    for i in range(n):
        data = {**agency.snapshot(), "phone": f"023-6500{i}"}
        agencies.update(admin, agency.id, data)


def _tamper(sql: str) -> None:
    if IS_PG:  # an attacker with superuser rights bypasses the append-only trigger
        db.session.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_change"))
    db.session.execute(sa.text(sql))
    db.session.commit()


def test_chain_intact_then_edit_detected(app, fresh_db_url):
    _make_changes()
    assert audit.verify().ok
    target = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).offset(1).limit(1)).scalar_one()
    _tamper(f"UPDATE audit_entry SET summary = '篡改' WHERE id = {target.id}")
    result = audit.verify()
    assert not result.ok and result.bad_id == target.id
    env = {"DATABASE_URL": fresh_db_url, "SECRET_KEY": "x", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "audit-verify"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 1 and f"id={target.id}" in out.stdout


def test_deleted_row_detected(app):
    _make_changes()
    first = db.session.scalar(sa.select(sa.func.min(AuditEntry.id)))
    _tamper(f"DELETE FROM audit_entry WHERE id = {first}")
    result = audit.verify()
    assert not result.ok and result.bad_id > first


def test_postgres_refuses_updates_to_audit_rows(app):
    if not IS_PG:
        return  # SQLite has no triggers installed; covered by the hash chain above
    _make_changes(1)
    try:
        db.session.execute(sa.text("UPDATE audit_entry SET summary = 'x'"))
        db.session.commit()
        raise AssertionError("update was allowed")
    except sa.exc.DBAPIError as err:
        db.session.rollback()
        assert "append-only" in str(err)


def test_failed_change_leaves_no_audit_row(app):
    from coord.errors import DomainError

    before = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    admin = user_by_name("admin")
    agency = agencies.by_name("区体育局")
    try:
        agencies.update(admin, agency.id, {**agency.snapshot(), "kind": "nonsense"})
    except DomainError:
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == before
