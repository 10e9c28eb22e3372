"""`make run` on a fresh clone, as a new user would: no test extras, no test tools, healthy within the
minute after the downloads, URL and every demo account printed. Needs the network for pip (its
cache makes a second run fast); bounded in time, and the server is stopped afterwards."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import IS_PG

ROOT = Path(__file__).resolve().parent.parent
BOUND_SECONDS = 900  # venv + pip install on a slow 2-core machine, then the start itself
START_TARGET_SECONDS = 60  # from the first migration to /healthz answering (downloads excluded)


def _clone(dest: Path) -> None:
    """The working tree as a clone of it would be: tracked and new files, nothing ignored (no .venv,
    no instance/, no node_modules)."""
    files = subprocess.run(["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.mark.skipif(IS_PG, reason="make run uses SQLite in instance/; the SQLite run of the suite covers it")
def test_make_run_from_a_fresh_clone(tmp_path):
    dest = tmp_path / "coord"
    _clone(dest)
    port = _free_port()
    # A user's environment: none of the suite's settings (database, mail, test flags).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_", "MAIL_", "COORD_", "FLASK_", "PYTEST", "REDIS_", "VIRTUAL_ENV"))}
    log_path = tmp_path / "make-run.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=dest, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        healthy_after = None
        while time.monotonic() - started < BOUND_SECONDS:
            if _healthy(f"http://127.0.0.1:{port}/healthz"):
                healthy_after = time.monotonic() - started
                break
            if proc.poll() is not None:
                break
            time.sleep(0.5)
        output = log_path.read_text(errors="replace")
        assert healthy_after is not None, f"make run did not become healthy:\n{output[-4000:]}"
        # The banner follows /healthz: wait for it.
        deadline = time.monotonic() + 60
        while "Ctrl+C" not in output and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.3)
            output = log_path.read_text(errors="replace")
        start = re.search(r"answered after (\d+) s", output)
        print(f"\nmake run from a fresh clone: /healthz after {healthy_after:.1f} s in all "
              f"(venv and pip install included); start itself {start.group(1) if start else '?'} s")
        assert start and int(start.group(1)) < START_TARGET_SECONDS, output[-3000:]
        assert f"http://127.0.0.1:{port}" in output
        from coord.demo import ACCOUNTS

        for username, *_ in ACCOUNTS:
            assert username in output, f"{username} missing from the banner:\n{output[-3000:]}"
        # Nothing for the tests was installed.
        site = list((dest / ".venv" / "lib").glob("python*/site-packages"))[0]
        for test_only in ("pytest", "playwright", "aiosmtpd", "radicale"):
            assert not (site / test_only).exists(), f"{test_only} was installed by make run"
        assert not (dest / ".venv" / ".installed-test").exists()
        assert not (dest / "tests" / "js" / "node_modules").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
