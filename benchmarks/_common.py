"""What every benchmark prints and needs: the machine, and a scratch database."""
from __future__ import annotations

import os
import platform
from pathlib import Path

import sqlalchemy as sa


def machine(extra: str = "") -> str:
    """CPU count and model, Python, load average: the figures mean little without them."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    text = f"{os.cpu_count()} CPU(s) (nproc), {model}; Python {platform.python_version()}, load average {load}"
    return f"{text}; {extra}" if extra else text


def database_url(tmp: Path, suffix: str) -> str:
    """SQLite file in `tmp`, or a fresh PostgreSQL database named after DATABASE_URL's plus `suffix`."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgresql"):
        return f"sqlite:///{tmp / 'bench.db'}"
    url = sa.engine.make_url(base)
    name = f"{url.database}_{suffix}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)
