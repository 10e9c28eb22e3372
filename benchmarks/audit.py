"""Audit chain: `audit-verify` over 100,000 keyed entries, a checkpoint, and one append.

    python -m benchmarks.audit                      # SQLite (temporary file)
    DATABASE_URL=postgresql+psycopg://... python -m benchmarks.audit

Builds a scratch database through the migrations, writes a valid HMAC-SHA256 chain of 100,000
entries (half of them HMAC-SM3, to exercise a change of algorithm), then prints the medians.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from benchmarks._common import database_url, machine

N = 100_000


def main() -> int:
    from flask_migrate import upgrade

    from coord import create_app
    from coord.audit import chain
    from coord.audit import services as audit
    from coord.audit.models import AuditEntry
    from coord.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        url = database_url(Path(tmp), "bench_audit")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "AUDIT_KEY": "bench-audit-key-0000",
                          "AUDIT_CHECKPOINT_FILE": str(Path(tmp) / "cp.jsonl"), "TESTING": True})
        with app.app_context():
            upgrade(revision="heads")
            prev, rows, start = chain.GENESIS, [], datetime(2026, 1, 1, tzinfo=UTC)
            for i in range(N):
                app.config["AUDIT_HASH"] = "sha256" if i < N // 2 else "sm3"
                entry = AuditEntry(at=start + timedelta(seconds=i), actor_id=1, actor_name="基准", action="bench.edit",
                                   entity_type="lead", entity_id=str(i), agency_scope=",1,2,",
                                   summary=f"基准记录 {i}", before='{"a":1}', after='{"a":2}', prev_hash=prev)
                chain.seal(entry)
                rows.append({c: getattr(entry, c) for c in (
                    "at", "actor_id", "actor_name", "action", "entity_type", "entity_id", "agency_scope", "summary",
                    "before", "after", "prev_hash", "hash", "alg")})
                prev = entry.hash
            for chunk in range(0, N, 5000):
                db.session.execute(sa.insert(AuditEntry), rows[chunk:chunk + 5000])
            db.session.commit()

            def timed(fn, repeat: int) -> list[float]:
                out = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    fn()
                    out.append(time.perf_counter() - t0)
                    db.session.rollback()
                return out

            verify = timed(lambda: audit.verify(), 3)
            result = audit.verify()
            assert result.ok and result.checked == N, result.problems
            point = timed(lambda: chain.write_checkpoint(force=True), 5)

            def append():
                audit.record(None, "bench.append", "lead", 1, summary="追加")
                db.session.commit()

            appends = timed(append, 20)
            print(f"{N:,} entries ({db.engine.dialect.name}), half HMAC-SHA256, half HMAC-SM3")
            print(f"  audit-verify (whole chain, checkpoints): median {statistics.median(verify):.2f} s, "
                  f"min {min(verify):.2f} s")
            print(f"  checkpoint (count + head, append a line): median {statistics.median(point) * 1000:.1f} ms")
            print(f"  record() one entry + commit: median {statistics.median(appends) * 1000:.1f} ms")
            print(f"  {machine()}")
            db.session.remove()
            db.engine.dispose()
        if url.startswith("postgresql"):  # drop the scratch database
            parsed = sa.engine.make_url(url)
            admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
