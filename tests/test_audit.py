"""The audit chain: append-only, keyed, anchored by checkpoints outside the database.

Tamper scenarios (issue 11): edit, delete in the middle, delete the tail, truncate / wipe,
recompute without the key — each detected, on PostgreSQL and on SQLite.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from coord.agencies import services as agencies
from coord.audit import chain
from coord.audit import services as audit
from coord.audit.models import AuditEntry
from coord.extensions import db
from tests.conftest import AUDIT_KEY, IS_PG, user_by_name


def _make_changes(n: int = 3) -> None:
    admin = user_by_name("admin")
    agency = agencies.by_name("区体育局")
    for i in range(n):
        data = {**agency.snapshot(), "phone": f"023-6500{i}"}
        agencies.update(admin, agency.id, data)


def _unguard() -> None:
    """What an attacker with the database owner's rights does first: switch the guards off."""
    if IS_PG:
        db.session.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER USER"))
    else:
        for name in ("audit_entry_no_update", "audit_entry_no_delete"):
            db.session.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
    db.session.commit()


def _tamper(sql: str, **params) -> None:
    _unguard()
    db.session.execute(sa.text(sql), params)
    db.session.commit()


def _ids() -> list[int]:
    return list(db.session.execute(sa.select(AuditEntry.id).order_by(AuditEntry.id)).scalars())


def _cli(app, *args: str) -> subprocess.CompletedProcess:
    env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x", "PATH": os.environ["PATH"],
           "COORD_AUDIT_KEY": app.config["AUDIT_KEY"],
           "COORD_AUDIT_CHECKPOINT_FILE": app.config["AUDIT_CHECKPOINT_FILE"]}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parent.parent)


def test_new_entries_are_keyed_and_verify(app):
    _make_changes()
    entry = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
    assert entry.alg == "hmac-sha256"
    # Not the unkeyed SHA-256 of its content: without the key it cannot be recomputed.
    assert entry.hash != hashlib.sha256(chain._content(entry)).hexdigest()
    result = audit.verify()
    assert result.ok, result.problems
    assert result.checked == len(_ids())


def test_edit_detected_and_named_by_the_command(app):
    _make_changes()
    chain.write_checkpoint()
    target = _ids()[-2]
    _tamper("UPDATE audit_entry SET summary = '篡改' WHERE id = :id", id=target)
    result = audit.verify()
    assert not result.ok and result.bad_id == target and "edited" in result.kinds()
    out = _cli(app, "audit-verify")
    assert out.returncode == 1 and f"id={target}" in out.stdout and "[edited]" in out.stdout


def test_delete_in_the_middle_detected(app):
    _make_changes(4)
    chain.write_checkpoint()
    ids = _ids()
    _tamper("DELETE FROM audit_entry WHERE id = :id", id=ids[-3])
    result = audit.verify()
    assert not result.ok
    assert result.problems[0].kind == "link" and result.bad_id == ids[-2]


def test_delete_first_row_detected(app):
    _make_changes()
    first = _ids()[0]
    _tamper("DELETE FROM audit_entry WHERE id = :id", id=first)
    result = audit.verify()
    assert not result.ok and result.bad_id > first


def test_deleted_tail_detected_by_the_checkpoint(app):
    """Issue 11: deleting the newest row went unnoticed."""
    _make_changes(3)
    point = chain.write_checkpoint()
    assert point is not None and point.entries == len(_ids())
    _tamper("DELETE FROM audit_entry WHERE id = :id", id=_ids()[-1])
    assert audit.verify(checkpoints=False).ok  # the chain alone cannot see its own end
    result = audit.verify()
    assert not result.ok and result.kinds() == {"missing_tail"}
    out = _cli(app, "audit-verify")
    assert out.returncode == 1 and "[missing_tail]" in out.stdout and "末尾记录被删除" in out.stdout


def test_wiped_table_detected_then_restarted_chain(app):
    """Issue 11: after TRUNCATE, audit-verify said "intact: 0 entries" and the chain restarted."""
    _make_changes(2)
    chain.write_checkpoint()
    if IS_PG:
        _tamper("TRUNCATE audit_entry")
    else:
        _tamper("DELETE FROM audit_entry")
    result = audit.verify()
    assert not result.ok and result.kinds() == {"wiped"}
    out = _cli(app, "audit-verify")
    assert out.returncode == 1 and "[wiped]" in out.stdout and "intact" not in out.stdout
    _make_changes(2)  # new entries start again from genesis
    result = audit.verify()
    assert not result.ok and "restarted" in result.kinds()


def test_recomputed_chain_without_the_key_detected(app):
    """Issue 11: with an unkeyed chain anyone with database access could edit and recompute."""
    _make_changes(4)
    ids = _ids()
    target = ids[-3]
    _unguard()
    rows = db.session.execute(sa.select(AuditEntry).where(AuditEntry.id >= target).order_by(AuditEntry.id)).scalars()
    prev = db.session.scalar(sa.select(AuditEntry.hash).where(AuditEntry.id < target).order_by(AuditEntry.id.desc())
                             .limit(1))
    forged = []
    for entry in rows:
        if entry.id == target:
            entry.summary = "篡改后重新计算"
        entry.prev_hash = prev
        # The attacker knows the algorithm and the layout, not the key.
        entry.hash = chain.digest(entry, key=b"guessed-key")
        forged.append((entry.id, entry.summary, entry.prev_hash, entry.hash))
        prev = entry.hash
    db.session.rollback()
    for entry_id, summary, prev_hash, digest in forged:
        db.session.execute(sa.text("UPDATE audit_entry SET summary = :s, prev_hash = :p, hash = :h WHERE id = :id"),
                           {"s": summary, "p": prev_hash, "h": digest, "id": entry_id})
    db.session.commit()
    result = audit.verify()
    assert not result.ok
    assert result.problems[0].kind == "recomputed" and result.bad_id == target
    assert "link" not in result.kinds()  # the links are consistent: only the key gives it away


def test_recomputed_as_unkeyed_is_detected(app):
    """Downgrade: rewriting entries as old-style unkeyed SHA-256 after keyed ones."""
    _make_changes(3)
    ids = _ids()
    target = ids[-2]
    _unguard()
    entry = db.session.get(AuditEntry, target)
    nxt = db.session.get(AuditEntry, ids[-1])
    entry.summary, entry.alg = "改为无密钥", "sha256"
    new_hash = chain.digest(entry)
    nxt.prev_hash = new_hash
    next_alg_hash = chain.digest(nxt, key=b"guessed")
    db.session.rollback()
    db.session.execute(sa.text("UPDATE audit_entry SET summary='改为无密钥', alg='sha256', hash=:h WHERE id=:id"),
                       {"h": new_hash, "id": target})
    db.session.execute(sa.text("UPDATE audit_entry SET prev_hash=:p, hash=:h WHERE id=:id"),
                       {"p": new_hash, "h": next_alg_hash, "id": ids[-1]})
    db.session.commit()
    result = audit.verify()
    assert not result.ok and "recomputed" in result.kinds() and result.bad_id == target


def test_whole_table_replaced_is_caught_by_the_checkpoint(app):
    """Every row rewritten consistently (unkeyed, as before 0010): only the outside anchor shows it."""
    _make_changes(2)
    chain.write_checkpoint()
    _unguard()
    prev = chain.GENESIS
    updates = []
    for entry in db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id)).scalars():
        entry.alg, entry.prev_hash = "sha256", prev
        entry.hash = chain.digest(entry)
        updates.append({"id": entry.id, "p": entry.prev_hash, "h": entry.hash})
        prev = entry.hash
    db.session.rollback()
    for row in updates:
        db.session.execute(sa.text("UPDATE audit_entry SET alg='sha256', prev_hash=:p, hash=:h WHERE id=:id"), row)
    db.session.commit()
    assert audit.verify(checkpoints=False).ok  # a consistent legacy chain
    result = audit.verify()
    assert not result.ok and result.kinds() & {"restarted", "rewritten"}


def test_forged_checkpoint_line_detected(app):
    _make_changes(1)
    chain.write_checkpoint()
    path = Path(app.config["AUDIT_CHECKPOINT_FILE"])
    data = json.loads(path.read_text().splitlines()[-1])
    data["entries"] = 1
    with path.open("a") as out:
        out.write(json.dumps(data) + "\n")
    result = audit.verify()
    assert not result.ok and result.kinds() == {"checkpoint"}


def test_checkpoint_written_only_when_the_head_moved(app):
    _make_changes(1)
    assert chain.write_checkpoint() is not None
    assert chain.write_checkpoint() is None
    _make_changes(1)
    point = chain.write_checkpoint()
    assert point is not None and point.entries == len(_ids())
    lines = Path(app.config["AUDIT_CHECKPOINT_FILE"]).read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["mac"] for line in lines)
    out = _cli(app, "audit-checkpoint", "--force")
    assert out.returncode == 0, out.stderr
    assert len(Path(app.config["AUDIT_CHECKPOINT_FILE"]).read_text().splitlines()) == 3
    assert _cli(app, "audit-verify").returncode == 0


def test_checkpoint_also_goes_to_the_log(app, caplog):
    app.config["AUDIT_CHECKPOINT_LOG"] = True
    _make_changes(1)
    with caplog.at_level("INFO", logger="coord.audit.checkpoint"):
        chain.write_checkpoint(force=True)
    assert any('"entries"' in r.getMessage() for r in caplog.records)


def test_periodic_task_writes_a_checkpoint(app):
    from coord.audit import tasks
    from coord.notify import tasks as queue

    _make_changes(1)
    queue.configure(app)
    tasks.audit_checkpoint.call_local()
    assert Path(app.config["AUDIT_CHECKPOINT_FILE"]).exists()
    assert audit.verify().checkpoints == 1


def test_sm3_option_and_a_change_of_algorithm(app):
    """COORD_AUDIT_HASH=sm3: HMAC-SM3 (GB/T 32905); entries of both algorithms verify together."""
    # GB/T 32905-2016 appendix A, example 1.
    from cryptography.hazmat.primitives import hashes

    h = hashes.Hash(hashes.SM3())
    h.update(b"abc")
    assert h.finalize().hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    _make_changes(2)
    app.config["AUDIT_HASH"] = "sm3"
    _make_changes(2)
    app.config["AUDIT_HASH"] = "sha256"
    _make_changes(1)
    algs = list(db.session.execute(sa.select(AuditEntry.alg).order_by(AuditEntry.id)).scalars())
    assert "hmac-sm3" in algs and algs[-1] == "hmac-sha256"
    assert audit.verify().ok
    sm3_entry = db.session.execute(sa.select(AuditEntry).where(AuditEntry.alg == "hmac-sm3").limit(1)).scalar_one()
    _tamper("UPDATE audit_entry SET summary = 'x' WHERE id = :id", id=sm3_entry.id)
    assert audit.verify().bad_id == sm3_entry.id


def test_wrong_key_fails_everything(app):
    _make_changes(1)
    app.config["AUDIT_KEY"] = "another-key-entirely-0000"
    result = audit.verify()
    assert not result.ok and result.kinds() & {"edited", "recomputed"}
    app.config["AUDIT_KEY"] = AUDIT_KEY


def test_rows_from_before_the_migration_still_verify(tmp_path):
    """A database with unkeyed SHA-256 rows (written by the code before 0010) is upgraded."""
    from flask_migrate import upgrade

    from coord import create_app
    from tests.conftest import _PG, BASE_URL, _overrides

    if IS_PG:
        url = _PG(BASE_URL, "_legacy").recreate(f"{sa.engine.make_url(BASE_URL).database}_legacy")
    else:
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
    app = create_app(_overrides(url, tmp_path))
    with app.app_context():
        upgrade(revision="0008_integration")
        prev = chain.GENESIS
        with db.engine.begin() as conn:
            for i in range(3):
                at = f"2026-11-0{i + 1}T08:00:00.000000+00:00"
                fields = [prev, at, "", "system", "legacy.test", "agency", str(i), "", f"旧记录 {i}", "", ""]
                digest = hashlib.sha256("\x1f".join(fields).encode()).hexdigest()  # the pre-0010 _digest
                conn.execute(sa.text(
                    "INSERT INTO audit_entry (at, actor_id, actor_name, action, entity_type, entity_id, agency_scope,"
                    " summary, before, after, prev_hash, hash) VALUES (:at, NULL, 'system', 'legacy.test', 'agency',"
                    " :eid, '', :summary, NULL, NULL, :prev, :hash)"),
                    {"at": f"2026-11-0{i + 1} 08:00:00.000000" if not IS_PG else at, "eid": str(i),
                     "summary": f"旧记录 {i}", "prev": prev, "hash": digest})
                prev = digest
        upgrade(revision="heads")
        db.session.remove()
        result = audit.verify()
        assert result.ok and result.legacy == 3, result.problems
        audit.record(None, "after.upgrade", "agency", 1, summary="新记录")
        db.session.commit()
        result = audit.verify()
        assert result.ok and result.legacy == 3 and result.checked == 4
        assert db.session.scalar(sa.select(AuditEntry.alg).order_by(AuditEntry.id.desc()).limit(1)) == "hmac-sha256"
        # Editing a legacy row is still found: the first keyed entry signed its predecessor's hash.
        _tamper("UPDATE audit_entry SET summary = '改' WHERE action = 'legacy.test' AND entity_id = '1'")
        assert not audit.verify().ok
        db.session.remove()
        db.engine.dispose()


def test_append_only_guard_on_both_databases(app):
    """PostgreSQL refuses UPDATE, DELETE and TRUNCATE (statement-level trigger); SQLite UPDATE and DELETE."""
    _make_changes(1)
    statements = ["UPDATE audit_entry SET summary = 'x'", "DELETE FROM audit_entry"]
    if IS_PG:
        statements.append("TRUNCATE audit_entry")
    for sql in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(sa.text(sql))
            db.session.commit()
        db.session.rollback()
    assert audit.verify().ok


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
