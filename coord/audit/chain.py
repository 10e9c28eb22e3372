"""The audit chain's hashes, its verification and its checkpoints outside the database.

Each entry's hash covers its content and its predecessor's hash. Since revision 0010 the hash is
an HMAC keyed by `COORD_AUDIT_KEY`, a secret held outside the database: whoever can write the
database can still delete or edit rows but cannot recompute a chain that verifies. The algorithm
is stored per entry (`alg`), so a change of `COORD_AUDIT_HASH` (sha256 → sm3) keeps older entries
verifiable; rows written before the revision keep `sha256` (unkeyed) and are accepted only as the
chain's beginning.

A keyed chain still cannot show that rows were removed from its *end*, or that the whole table
was emptied (or replaced). Checkpoints do: every few minutes the worker appends the entry count,
the head's id and hash and the first entry's hash to a file outside the database (and, when
asked, to the log), each line itself keyed. `verify` compares the table with every checkpoint.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from flask import current_app

from coord.audit.models import AuditEntry
from coord.extensions import db

GENESIS = "0" * 64
LEGACY = "sha256"  # unkeyed SHA-256: entries written before revision 0010
KEYED = {"sha256": "hmac-sha256", "sm3": "hmac-sm3"}  # COORD_AUDIT_HASH -> stored alg

log = logging.getLogger("coord.audit.checkpoint")


# --- keys ------------------------------------------------------------------------------------

def _master_key() -> bytes:
    key = current_app.config.get("AUDIT_KEY")
    if not key:
        raise RuntimeError("AUDIT_KEY (COORD_AUDIT_KEY) is not configured.")
    return key.encode()


def _subkey(purpose: str) -> bytes:
    """Separate keys for entries and checkpoints, derived from the one secret."""
    return hmac.new(_master_key(), f"coord-audit/{purpose}".encode(), hashlib.sha256).digest()


def key_id() -> str:
    """A fingerprint of the key (not the key): names which key a backup or checkpoint needs."""
    return _subkey("key-id").hex()[:16]


def current_alg() -> str:
    return KEYED[current_app.config.get("AUDIT_HASH", "sha256")]


# --- entry hashes ----------------------------------------------------------------------------

def _content(entry: AuditEntry) -> bytes:
    fields = [
        entry.prev_hash,
        entry.at.isoformat(timespec="microseconds"),
        str(entry.actor_id or ""),
        entry.actor_name,
        entry.action,
        entry.entity_type,
        entry.entity_id,
        entry.agency_scope,
        entry.summary,
        entry.before or "",
        entry.after or "",
    ]
    return "\x1f".join(fields).encode()


def digest(entry: AuditEntry, key: bytes | None = None) -> str:
    """The hash an entry must carry, by its own algorithm."""
    content = _content(entry)
    if entry.alg == LEGACY:
        return hashlib.sha256(content).hexdigest()
    key = key if key is not None else _subkey("entry")
    message = entry.alg.encode() + b"\x1e" + content  # the algorithm is signed too
    if entry.alg == "hmac-sha256":
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    if entry.alg == "hmac-sm3":
        mac = crypto_hmac.HMAC(key, hashes.SM3())
        mac.update(message)
        return mac.finalize().hex()
    raise ValueError(f"unknown audit hash algorithm {entry.alg!r}")


def seal(entry: AuditEntry) -> None:
    """Give a new entry the configured algorithm and its keyed hash."""
    entry.alg = current_alg()
    entry.hash = digest(entry)


# --- checkpoints -----------------------------------------------------------------------------

@dataclass
class Checkpoint:
    at: str
    entries: int
    head_id: int | None
    head: str
    first: str
    kind: str = "checkpoint"
    line: int = 0
    valid: bool = True


def _checkpoint_path() -> Path:
    return Path(current_app.config["AUDIT_CHECKPOINT_FILE"])


def _mac(data: dict[str, Any]) -> str:
    return mac_for("checkpoint", data)


def head_state(executor: Any = None) -> tuple[int, int | None, str, str]:
    """(entry count, head id, head hash, first hash) as of one consistent point.

    Appends are serialised until commit (advisory lock / SQLite writer), so ids grow in commit
    order: counting the rows up to the head's id gives the head's position even while new
    entries are being committed. `executor`: a connection (e.g. a backup's snapshot), else the session.
    """
    run = executor if executor is not None else db.session
    head = run.execute(sa.select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    if head is None:
        return 0, None, GENESIS, GENESIS
    count = run.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.id <= head.id))
    first = run.scalar(sa.select(AuditEntry.hash).order_by(AuditEntry.id).limit(1))
    return int(count or 0), head.id, head.hash, first or GENESIS


def mac_for(purpose: str, data: dict[str, Any]) -> str:
    """HMAC of a JSON document under a key derived from COORD_AUDIT_KEY (e.g. a backup manifest)."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(_subkey(purpose), body, hashlib.sha256).hexdigest()


def read_checkpoints(path: Path | None = None) -> list[Checkpoint]:
    path = path or _checkpoint_path()
    if not path.exists():
        return []
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
            mac = data.pop("mac", "")
            point = Checkpoint(at=str(data["at"]), entries=int(data["entries"]), head_id=data.get("head_id"),
                               head=str(data["head"]), first=str(data["first"]), kind=str(data.get("kind", "")),
                               line=number)
            point.valid = hmac.compare_digest(str(mac), _mac(data))
        except (ValueError, KeyError, TypeError):
            point = Checkpoint(at="", entries=0, head_id=None, head="", first="", line=number, valid=False)
        found.append(point)
    return found


def write_checkpoint(*, force: bool = False, kind: str = "checkpoint", path: Path | None = None,
                     state: tuple[int, int | None, str, str] | None = None) -> Checkpoint | None:
    """Append the chain's head (or `state`, read elsewhere) to the checkpoint file, and to the
    log when configured. Skipped when nothing changed since the last line, unless `force`."""
    path = path or _checkpoint_path()
    if state is None:
        state = head_state()
        db.session.rollback()  # end the read transaction; nothing to keep
    entries, head_id, head, first = state
    existing = read_checkpoints(path)
    last = next((p for p in reversed(existing) if p.valid), None)
    if not force and last is not None and (last.entries, last.head) == (entries, head):
        return None
    data = {
        "v": 1, "kind": kind, "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "entries": entries, "head_id": head_id, "head": head, "first": first, "key_id": key_id(),
    }
    line = json.dumps({**data, "mac": _mac(data)}, sort_keys=True, ensure_ascii=False)
    append_line(path, line)
    if current_app.config.get("AUDIT_CHECKPOINT_LOG"):
        log.info("audit checkpoint %s", line)
    return Checkpoint(at=data["at"], entries=entries, head_id=head_id, head=head, first=first, kind=kind)


def append_line(path: Path, line: str) -> None:
    """One whole line, appended and flushed to disk (O_APPEND: concurrent writers do not interleave)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


# --- verification ----------------------------------------------------------------------------

@dataclass
class Problem:
    kind: str  # edited | recomputed | link | restarted | missing_tail | wiped | rewritten | checkpoint
    entry_id: int | None
    message: str


@dataclass
class VerifyResult:
    checked: int = 0
    legacy: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_id(self) -> int | None:
        return self.problems[0].entry_id if self.problems else None

    @property
    def reason(self) -> str:
        return self.problems[0].message if self.problems else ""

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}


MAX_PROBLEMS = 50


def _rows() -> Iterator[Any]:
    """Plain rows (attribute access like an entry), not ORM objects: ten times cheaper to walk."""
    stmt = sa.select(*AuditEntry.__table__.columns).order_by(AuditEntry.id).execution_options(yield_per=1000)
    yield from db.session.execute(stmt)


def verify(*, checkpoints: bool = True) -> VerifyResult:
    """Walk the chain in order, then hold it against every checkpoint outside the database."""
    result = VerifyResult()
    key = _subkey("entry")
    points = read_checkpoints() if checkpoints else []
    wanted = {p.head_id for p in points if p.valid and p.head_id is not None}
    seen: dict[int, tuple[int, str]] = {}  # head ids named by checkpoints -> (position, hash)
    prev, first_hash, keyed_seen = GENESIS, None, False
    run: list[int] = []  # consecutive entries whose hash does not match, links intact

    def close_run() -> None:
        if not run:
            return
        if len(run) == 1:
            result.problems.append(Problem("edited", run[0], f"记录 id={run[0]} 的内容与其哈希不符（记录被修改）"))
        else:
            result.problems.append(Problem(
                "recomputed", run[0],
                f"自记录 id={run[0]} 起连续 {len(run)} 条记录的哈希不是用审计密钥计算的（哈希链被重新计算）"))
        run.clear()

    position = 0
    for entry in _rows():
        position += 1
        if first_hash is None:
            first_hash = entry.hash
        if entry.id in wanted:
            seen[entry.id] = (position, entry.hash)
        if entry.prev_hash != prev:
            close_run()
            if entry.prev_hash == GENESIS:
                result.problems.append(Problem("restarted", entry.id,
                                               f"哈希链在记录 id={entry.id} 处从头重新开始（之前的记录被清除）"))
            else:
                result.problems.append(Problem("link", entry.id,
                                               f"记录 id={entry.id} 与上一条记录的链接不符（记录被删除或插入）"))
        if entry.alg == LEGACY:
            result.legacy += 1
            if keyed_seen:  # unkeyed after keyed: someone recomputed without the key
                close_run()
                result.problems.append(Problem(
                    "recomputed", entry.id,
                    f"记录 id={entry.id} 使用无密钥哈希，而之前已有带密钥的记录（哈希链被无密钥重算）"))
        else:
            keyed_seen = True
        try:
            good = hmac.compare_digest(digest(entry, key), entry.hash)
        except ValueError:
            good = False
        if good:
            close_run()
        else:
            run.append(entry.id)
        prev = entry.hash
        result.checked += 1
    close_run()
    if checkpoints:
        _against_checkpoints(result, points, seen, first_hash, position)
    del result.problems[MAX_PROBLEMS:]
    if result.legacy:
        result.warnings.append(f"{result.legacy} 条早期记录（0010 迁移之前）使用无密钥 SHA-256。")
    return result


def _against_checkpoints(result: VerifyResult, points: list[Checkpoint], seen: dict[int, tuple[int, str]],
                         first_hash: str | None, count: int) -> None:
    if not points:
        if count:
            result.warnings.append("没有检查点文件：无法发现末尾记录被删除或整表被清空。")
        return
    reported: set[str] = set()

    def report(kind: str, entry_id: int | None, message: str) -> None:
        if kind not in reported:  # one line per kind: the oldest checkpoint that shows it
            reported.add(kind)
            result.problems.append(Problem(kind, entry_id, message))

    for point in points:
        if not point.valid:
            report("checkpoint", None, f"检查点文件第 {point.line} 行的签名无效（检查点被伪造或改动）")
            continue
        result.checkpoints += 1
        if point.entries == 0:
            continue
        if first_hash is None:
            report("wiped", None, f"审计表为空，但检查点（{point.at}）记录了 {point.entries} 条：记录被清空")
            continue
        if first_hash != point.first:
            report("restarted", None,
                   f"哈希链的第一条记录与检查点（{point.at}）不符：审计表被清空或替换后重新开始")
            continue
        if point.head_id not in seen:
            if count < point.entries:
                report("missing_tail", point.head_id,
                       f"检查点（{point.at}）记录了 {point.entries} 条、末条 id={point.head_id}，"
                       f"现仅有 {count} 条：末尾记录被删除")
            else:
                report("rewritten", point.head_id,
                       f"检查点（{point.at}）的末条记录 id={point.head_id} 已不存在：记录被删除或重写")
            continue
        at, stored = seen[point.head_id]
        if stored != point.head:
            report("rewritten", point.head_id,
                   f"记录 id={point.head_id} 的哈希与检查点（{point.at}）不符：哈希链被重写")
        elif at != point.entries:
            report("link", point.head_id,
                   f"检查点（{point.at}）时共 {point.entries} 条，现在该记录之前只剩 {at} 条：记录被删除")
