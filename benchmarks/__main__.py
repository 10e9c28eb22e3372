"""`make bench` / `python -m benchmarks`: run every benchmark, each in its own process.

Each prints its medians and the machine. DATABASE_URL chooses the database (SQLite when unset).
Pass names to run some: `python -m benchmarks scheduling feeds`.
"""
from __future__ import annotations

import subprocess
import sys

ALL = ["scheduling", "referrals", "feeds", "documents", "lists_import", "party", "mailin", "audit", "oversight",
       "calendar", "worklist", "pages"]


def main(argv: list[str]) -> int:
    names = argv or ALL
    failed = []
    for name in names:
        print(f"\n=== benchmarks.{name} ===", flush=True)
        if subprocess.run([sys.executable, "-m", f"benchmarks.{name}"]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
