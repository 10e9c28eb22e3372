"""Backups that restore: the database, the stored files, the PDF store and the audit checkpoints.

Where coord keeps data (all of it is in a backup):
- the database: every record, the audit trail, the minutes' issued PDFs (`minutes_revision.pdf`),
  sessions and the login log;
- `instance/files/`: uploaded lead files, content-addressed (`referrals.storage`);
- `instance/pdf-cache/` (or PDF_CACHE_DIR): rendered documents, cached by the hash of their input;
- the audit checkpoint file (COORD_AUDIT_CHECKPOINT_FILE), the chain's anchor outside the database.
Not in a backup, on purpose: SECRET_KEY and COORD_AUDIT_KEY (keep them in the secret store: a
backup that held the audit key would let its reader recompute the chain), and the task queue
(Huey; the outbox rows in the database are the truth).

A backup is consistent: PostgreSQL is dumped by `pg_dump --format=custom` from an exported
snapshot in which the row counts and the audit head are read too; SQLite is copied with its
online backup API. Files are copied after the database, so every file a dumped row names is
there (files are written before their row commits and never deleted). The manifest lists the
SHA-256 of every file and is itself keyed, so a changed or truncated backup is refused.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from coord.audit import chain
from coord.documents.pdf import default_cache_dir
from coord.errors import DomainError
from coord.extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
CHECKPOINTS = "audit-checkpoints.jsonl"
DB_FILE = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
CHUNK = 1 << 20


class BackupError(DomainError):
    status = 409


# --- where files live ------------------------------------------------------------------------
# name -> folder. A feature that stores files elsewhere registers its folder here.
_stores: dict[str, Callable[[], Path]] = {}


def register_store(name: str, folder: Callable[[], Path]) -> None:
    _stores[name] = folder


register_store("files", lambda: Path(current_app.instance_path) / "files")
register_store("pdf-cache", lambda: default_cache_dir() or Path(current_app.instance_path) / "pdf-cache")


def stores() -> dict[str, Path]:
    return {name: folder() for name, folder in _stores.items()}


def _checkpoint_path() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_FILE"])


def _walk(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.endswith(".part"):  # half-written files are not data
            yield path


def _copy_hashed(src: Path, dst: Path, expect: str | None = None) -> tuple[str, int]:
    """Copy through a temporary name, hashing on the way; refuse a content that is not `expect`."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    tmp = dst.with_name(dst.name + ".part")
    with src.open("rb") as inp, tmp.open("wb") as out:
        while block := inp.read(CHUNK):
            digest.update(block)
            size += len(block)
            out.write(block)
        out.flush()
        os.fsync(out.fileno())
    if expect is not None and digest.hexdigest() != expect:
        tmp.unlink()
        raise BackupError(f"备份中的文件 {src.name} 与清单中的 SHA-256 不符：备份已损坏或被改动。")
    os.replace(tmp, dst)
    return digest.hexdigest(), size


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as inp:
        while block := inp.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


# --- the database --------------------------------------------------------------------------

def _dialect() -> str:
    return db.engine.dialect.name


def _libpq() -> tuple[str, dict[str, str]]:
    """The URL for pg_dump/pg_restore (no password on the command line) and their environment."""
    url = db.engine.url
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} 失败：{done.stderr.strip()[-800:]}")


def _tables(conn: Any) -> list[str]:
    return sorted(sa.inspect(conn).get_table_names())


def _counts(conn: Any) -> dict[str, int]:
    return {t: int(conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar()) for t in _tables(conn)}


def _sqlite_path() -> Path:
    return Path(db.engine.url.database)


def _dump(target: Path) -> tuple[dict[str, int], tuple[int, int | None, str, str]]:
    """Write the database into `target`; returns the row counts and the audit head it holds."""
    db.session.remove()
    if _dialect() == "postgresql":
        with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
            counts, head = _counts(conn), chain.head_state(conn)
            url, env = _libpq()
            _run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                  f"--dbname={url}"], env)
        return counts, head
    src = sqlite3.connect(_sqlite_path())
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # one step: a consistent copy while others keep writing (WAL)
    finally:
        dst.close()
        src.close()
    copy = sa.create_engine(f"sqlite:///{target}")
    try:
        with copy.connect() as conn:
            return _counts(conn), chain.head_state(conn)
    finally:
        copy.dispose()


def _database_is_empty() -> bool:
    with db.engine.connect() as conn:
        if _dialect() == "postgresql":
            found = conn.execute(sa.text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
                "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' "
                "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')")).scalar()
            return not found
        return not conn.execute(sa.text("SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') "
                                        "AND name NOT LIKE 'sqlite_%'")).scalar()


def _load(dump: Path) -> None:
    db.session.remove()
    if _dialect() == "postgresql":
        url, env = _libpq()
        listing = subprocess.run(["pg_restore", "--list", str(dump)], env=env, capture_output=True, text=True)
        if listing.returncode != 0:
            raise BackupError(f"pg_restore 无法读取备份：{listing.stderr.strip()[-800:]}")
        # Only the extension's owner may comment on it: skip that line, it carries no data.
        keep = [line for line in listing.stdout.splitlines() if " COMMENT - EXTENSION " not in line]
        with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as toc:
            toc.write("\n".join(keep) + "\n")
        try:
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                  f"--use-list={toc.name}", f"--dbname={url}", str(dump)], env)
        finally:
            os.unlink(toc.name)
    else:
        db.engine.dispose()
        src = sqlite3.connect(dump)
        dst = sqlite3.connect(_sqlite_path())
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    db.engine.dispose()


# --- backup ----------------------------------------------------------------------------------

@dataclass
class Report:
    directory: Path
    manifest: dict[str, Any]
    problems: list[str] = field(default_factory=list)

    @property
    def files(self) -> int:
        return sum(len(v) for v in self.manifest["stores"].values())

    @property
    def rows(self) -> int:
        return sum(self.manifest["tables"].values())


def _revision(conn: Any) -> str:
    try:
        return str(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() or "")
    except sa.exc.DBAPIError:
        return ""


def backup(directory: Path) -> Report:
    """Write a backup into `directory` (new or empty). The manifest is written last."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"备份目录 {directory} 不是空的：请指定一个新目录。")
    directory.mkdir(parents=True, exist_ok=True)
    # 1. The checkpoints so far: every line describes entries committed before the dump begins.
    checkpoints = _checkpoint_path()
    if checkpoints.exists():
        shutil.copyfile(checkpoints, directory / CHECKPOINTS)
    # 2. The database, with its counts and audit head read in the same snapshot.
    dialect = _dialect()
    dump = directory / DB_FILE[dialect]
    counts, head = _dump(dump)
    # The backup's own checkpoint, in the live file and in the copy: restored, it still verifies.
    chain.write_checkpoint(force=True, kind="backup", state=head)
    chain.write_checkpoint(force=True, kind="backup", state=head, path=directory / CHECKPOINTS)
    # 3. Files, after the database: each row's file was written before the row committed.
    listed: dict[str, list[dict[str, Any]]] = {}
    for name, folder in stores().items():
        listed[name] = []
        for path in _walk(folder):
            rel = path.relative_to(folder).as_posix()
            sha, size = _copy_hashed(path, directory / "stores" / name / rel)
            listed[name].append({"path": rel, "sha256": sha, "size": size})
    with db.engine.connect() as conn:
        revision = _revision(conn)
    files = {}
    for rel in (DB_FILE[dialect], CHECKPOINTS):
        sha, size = _sha256(directory / rel)
        files[rel] = {"sha256": sha, "size": size}
    entries, head_id, head_hash, first = head
    manifest: dict[str, Any] = {
        "format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "dialect": dialect,
        "revision": revision, "database": DB_FILE[dialect], "files": files, "tables": counts,
        "audit": {"entries": entries, "head_id": head_id, "head": head_hash, "first": first,
                  "key_id": chain.key_id()},
        "stores": listed,
    }
    manifest["mac"] = chain.mac_for("backup", manifest)
    tmp = directory / (MANIFEST + ".part")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
    os.replace(tmp, directory / MANIFEST)
    return Report(directory, manifest)


# --- restore ---------------------------------------------------------------------------------

def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise BackupError(f"{directory} 中没有 {MANIFEST}：不是完整的备份（备份中断时不会写清单）。")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise BackupError(f"{MANIFEST} 无法解析：备份已损坏。") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"不支持的备份格式 {manifest.get('format')!r}。")
    if manifest.get("audit", {}).get("key_id") != chain.key_id():
        raise BackupError("当前的审计密钥（COORD_AUDIT_KEY）与备份时不同：请使用备份时的密钥恢复，"
                          "否则恢复后的审计链无法校验。")
    body = {k: v for k, v in manifest.items() if k != "mac"}
    if not isinstance(manifest.get("mac"), str) or manifest["mac"] != chain.mac_for("backup", body):
        raise BackupError(f"{MANIFEST} 的签名无效：清单被改动。")
    return manifest


def check(directory: Path) -> dict[str, Any]:
    """The manifest, once every file it lists has its size and SHA-256 (nothing is written)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    for rel, meta in manifest["files"].items():
        _expect(directory / rel, meta)
    for name, entries in manifest["stores"].items():
        for meta in entries:
            _expect(directory / "stores" / name / meta["path"], meta)
    return manifest


def _expect(path: Path, meta: dict[str, Any]) -> None:
    if not path.is_file():
        raise BackupError(f"备份缺少文件 {path.name}。")
    if _sha256(path) != (meta["sha256"], meta["size"]):
        raise BackupError(f"备份中的文件 {path.name} 与清单中的 SHA-256 不符：备份已损坏或被改动。")


def _refuse_unless_empty(manifest: dict[str, Any]) -> None:
    if manifest["dialect"] != _dialect():
        raise BackupError(f"备份来自 {manifest['dialect']} 数据库，当前为 {_dialect()}。")
    if not _database_is_empty():
        raise BackupError("目标数据库不是空的：只能恢复到空数据库（请新建数据库后再恢复）。")
    for name, folder in stores().items():
        if any(_walk(folder)):
            raise BackupError(f"存储目录 {folder}（{name}）不是空的：只能恢复到空的存储。")
    checkpoints = _checkpoint_path()
    if checkpoints.exists() and checkpoints.stat().st_size:
        raise BackupError(f"审计检查点文件 {checkpoints} 已存在：只能恢复到空的存储。")


def restore(directory: Path) -> Report:
    """Restore into an empty database and empty storage; check the manifest first and the result after."""
    directory = Path(directory)
    manifest = check(directory)
    _refuse_unless_empty(manifest)
    _load(directory / manifest["database"])
    folders = stores()
    for name, entries in manifest["stores"].items():
        if name not in folders:
            raise BackupError(f"备份含有未知的存储 {name}。")
        for meta in entries:
            _copy_hashed(directory / "stores" / name / meta["path"], folders[name] / meta["path"], meta["sha256"])
    checkpoints = _checkpoint_path()
    checkpoints.parent.mkdir(parents=True, exist_ok=True)
    _copy_hashed(directory / CHECKPOINTS, checkpoints, manifest["files"][CHECKPOINTS]["sha256"])
    report = Report(directory, manifest)
    with db.engine.connect() as conn:
        counts = _counts(conn)
    for table, rows in manifest["tables"].items():
        if counts.get(table) != rows:
            report.problems.append(f"表 {table}：恢复后 {counts.get(table)} 行，备份时 {rows} 行")
    result = chain.verify()
    report.problems.extend(p.message for p in result.problems)
    if not report.problems:
        chain.write_checkpoint(force=True, kind="restore")
    return report
