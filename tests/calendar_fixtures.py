"""Independent parsers (ical.js via node, vobject), a real CalDAV server (Radicale) and helpers
to make interviews through the interview services."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from coord.extensions import db
from tests.conftest import user_by_name
from tests.interview_fixtures import NOW, at, interview_data

JS_DIR = Path(__file__).parent / "js"


def ical_js(data: bytes) -> dict:
    """What Thunderbird's parser (ical.js) reads from these bytes."""
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "ical.js").exists():
        pytest.fail("ical.js is not installed: run `make test` (scripts/test-deps.sh runs npm install in tests/js)")
    out = subprocess.run([node, str(JS_DIR / "parse.mjs")], input=data, capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


def lines_of(data: bytes) -> list[bytes]:
    """Physical lines; asserts CRLF endings throughout."""
    assert data.endswith(b"\r\n")
    body = data[:-2]
    assert b"\n" not in body.replace(b"\r\n", b""), "bare LF in iCalendar data"
    assert b"\r" not in body.replace(b"\r\n", b""), "bare CR in iCalendar data"
    return body.split(b"\r\n")


def assert_folded_without_split_utf8(data: bytes) -> None:
    for line in lines_of(data):
        assert len(line) <= 75, line
        line.decode("utf-8")  # raises if a character was cut between two lines


def make_interview(start_day: str = "2026-09-24", hhmm: str = "09:00", **overrides):
    from coord.interviews import services as interviews

    data = interview_data(start=at(start_day, hhmm), **overrides)
    interview = interviews.create(user_by_name("scjg_coord"), data, now=NOW)
    return interview


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(name="radicale")
def radicale_fixture(tmp_path) -> Iterator[str]:
    """A Radicale CalDAV server on loopback; yields the URL of a new calendar collection."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
         "--storage-filesystem-folder", str(tmp_path / "radicale"), "--auth-type", "none",
         "--logging-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(base + "/", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("Radicale did not start") from None
                time.sleep(0.1)
        url = f"{base}/coord/interviews/"
        resp = requests.request("MKCALENDAR", url, auth=("coord", "x"), timeout=5)
        assert resp.status_code == 201, resp.text
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def reload(obj):
    db.session.rollback()
    return db.session.get(type(obj), obj.id)
