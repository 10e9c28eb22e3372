"""Backups that restore (issue 11, point 5): backup, wipe, restore, compare — on both databases."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from coord.audit import chain
from coord.audit import services as audit
from coord.backup import services as backups
from coord.extensions import db
from coord.interviews import services as interviews
from coord.minutes import services as minutes
from coord.referrals.storage import Upload
from tests.conftest import AUDIT_KEY, IS_PG, user_by_name
from tests.interview_fixtures import NOW, interview_data
from tests.minutes_fixtures import AFTER, START, content
from tests.referrals_fixtures import PDF, TXT, at, make_lead

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def instance(app, tmp_path) -> Path:
    """This test's own instance folder (files, PDF store, checkpoints), shared with the commands it runs."""
    path = tmp_path / "instance"
    path.mkdir()
    app.instance_path = str(path)
    app.config["PDF_CACHE_DIR"] = str(path / "pdf-cache")
    app.config["AUDIT_CHECKPOINT_FILE"] = str(path / "audit-checkpoints.jsonl")
    return path


def _env(app, instance: Path) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x",
            "COORD_AUDIT_KEY": AUDIT_KEY, "COORD_INSTANCE_PATH": str(instance),
            "COORD_AUDIT_CHECKPOINT_FILE": str(instance / "audit-checkpoints.jsonl"),
            "HUEY_SQLITE_PATH": str(instance / "huey.db")}


def _flask(app, instance: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], capture_output=True, text=True,
                          env=_env(app, instance), cwd=ROOT)


def _some_data() -> None:
    """Records of several features, uploaded files, a finalised minutes with its PDFs (in the
    database and in the PDF store), and login-log and session rows."""
    make_lead(uploads=[Upload("检查笔录.txt", TXT), Upload("现场照片说明.pdf", PDF)], now=at(2026, 9, 21))
    make_lead(to="cgj", sender="scjg_coord", uploads=[Upload("另一份.txt", "另一份材料".encode())],
              now=at(2026, 9, 22))
    interview = interviews.create(user_by_name("scjg_coord"), interview_data(start=START), now=NOW)
    m, _ = minutes.save(user_by_name("scjg_coord"), interview.id, content(), 0)
    minutes.finalize(user_by_name("scjg_coord"), interview.id, m.revision, now=AFTER)
    chain.write_checkpoint()


def _rows(url: str) -> dict[str, list[str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sorted(sa.inspect(conn).get_table_names())
            return {t: sorted(repr(tuple(r)) for r in conn.execute(sa.text(f'SELECT * FROM "{t}"'))) for t in tables}
    finally:
        engine.dispose()


def _files(instance: Path) -> dict[str, bytes]:
    return {p.relative_to(instance).as_posix(): p.read_bytes()
            for sub in ("files", "pdf-cache") for p in sorted((instance / sub).rglob("*")) if p.is_file()}


def _wipe(app, instance: Path) -> None:
    """Lose everything: the database and the storage."""
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    db.session.remove()
    db.engine.dispose()
    if IS_PG:
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
    for sub in ("files", "pdf-cache"):
        shutil.rmtree(instance / sub, ignore_errors=True)
    (instance / "audit-checkpoints.jsonl").unlink()


def test_backup_wipe_restore_compare(app, instance, tmp_path):
    _some_data()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    rows, files = _rows(url), _files(instance)
    assert any(name.startswith("files/") for name in files) and any(name.startswith("pdf-cache/") for name in files)
    assert rows["minutes_revision"] and rows["referral_file"] and rows["audit_entry"]

    target = tmp_path / "backup-1"
    out = _flask(app, instance, "backup", str(target))
    assert out.returncode == 0, out.stderr
    manifest = json.loads((target / "manifest.json").read_text())
    assert (target / backups.DB_FILE["postgresql" if IS_PG else "sqlite"]).exists()
    if IS_PG:  # a real pg_dump custom-format archive
        assert (target / "database.pgdump").read_bytes()[:5] == b"PGDMP"
    assert manifest["tables"]["audit_entry"] == len(rows["audit_entry"])
    assert len(manifest["stores"]["files"]) == 3

    _wipe(app, instance)
    out = _flask(app, instance, "restore", str(target))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "audit trail verified" in out.stdout

    assert _rows(url) == rows  # every record, byte for byte (the PDFs in the database too)
    assert _files(instance) == files
    verify = _flask(app, instance, "audit-verify")
    assert verify.returncode == 0 and "intact" in verify.stdout, verify.stdout
    # The restored system goes on: new entries chain on, sequences continue.
    make_lead(sender="sthj_coord", to="scjgj", now=at(2026, 9, 23))
    assert audit.verify().ok
    assert _flask(app, instance, "audit-verify").returncode == 0


def test_restore_refuses_a_non_empty_database_or_storage(app, instance, tmp_path):
    _some_data()
    target = tmp_path / "b"
    backups.backup(target)
    with pytest.raises(backups.BackupError, match="不是空的"):
        backups.restore(target)  # the database it came from is not empty
    out = _flask(app, instance, "restore", str(target))
    assert out.returncode == 1 and "不是空的" in out.stderr
    # An empty database but storage left over: refused too, and the database stays empty.
    _wipe(app, instance)
    (instance / "files").mkdir()
    (instance / "files" / "leftover").write_bytes(b"x")
    out = _flask(app, instance, "restore", str(target))
    assert out.returncode == 1 and "存储" in out.stderr
    with db.engine.connect() as conn:
        assert not sa.inspect(conn).get_table_names()


def test_restore_checks_the_manifest(app, instance, tmp_path):
    _some_data()
    target = tmp_path / "b"
    backups.backup(target)
    assert backups.check(target)["format"] == 1
    stored = next((target / "stores" / "files").iterdir())
    original = stored.read_bytes()
    stored.write_bytes(original + b"!")
    with pytest.raises(backups.BackupError, match="SHA-256"):
        backups.check(target)
    out = _flask(app, instance, "backup-check", str(target))
    assert out.returncode == 1 and "SHA-256" in out.stderr
    stored.write_bytes(original)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["tables"]["lead"] += 1
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(backups.BackupError, match="签名无效"):
        backups.check(target)
    (target / "manifest.json").unlink()
    with pytest.raises(backups.BackupError, match="不是完整的备份"):
        backups.check(target)


def test_restore_needs_the_audit_key_of_the_backup(app, instance, tmp_path):
    _some_data()
    target = tmp_path / "b"
    backups.backup(target)
    app.config["AUDIT_KEY"] = "another-audit-key-000000"
    with pytest.raises(backups.BackupError, match="COORD_AUDIT_KEY"):
        backups.check(target)
    app.config["AUDIT_KEY"] = AUDIT_KEY


def test_backup_directory_must_be_new_or_empty(app, instance, tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "old").write_text("x")
    with pytest.raises(backups.BackupError, match="不是空的"):
        backups.backup(tmp_path / "b")


def test_backup_checkpoint_matches_the_dump(app, instance, tmp_path):
    _some_data()
    target = tmp_path / "b"
    report = backups.backup(target)
    lines = [json.loads(line) for line in (target / "audit-checkpoints.jsonl").read_text().splitlines()]
    assert lines[-1]["kind"] == "backup" and lines[-1]["entries"] == report.manifest["audit"]["entries"]
    live = [json.loads(line) for line in (instance / "audit-checkpoints.jsonl").read_text().splitlines()]
    assert live[-1]["kind"] == "backup"
    assert audit.verify().ok
