"""Lockout across two web processes on one database (issue 11: the limit was counted per worker,
so 14 wrong passwords in a row got no 429 and then the right one was accepted)."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import AUDIT_KEY, DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_servers(app, fresh_db_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": fresh_db_url, "SECRET_KEY": "shared-secret", "COORD_AUDIT_KEY": AUDIT_KEY,
           "COORD_AUDIT_CHECKPOINT_FILE": str(tmp_path / "cp.jsonl"), "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
           "COORD_LOGIN_RATE_LIMIT": "100 per minute"}
    env.pop("REDIS_URL", None)
    procs, urls = [], []
    for _ in range(2):
        port = _free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if requests.get(url + "/healthz", timeout=10).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError("server did not start: " + procs[0].stderr.read1().decode())
                time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _post_login(http: requests.Session, base: str, password: str) -> requests.Response:
    page = http.get(base + "/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    return http.post(base + "/login", data={"username": "scjg_officer", "password": password, "csrf_token": token},
                     allow_redirects=False)


def test_lock_and_logout_hold_across_two_processes(two_servers):
    """One test for both (starting two servers is the slow part)."""
    a, b = two_servers
    _lock_holds(a, b)
    _logout_on_one_ends_the_session_on_the_other(a, b)


def _lock_holds(a: str, b: str) -> None:
    http = {a: requests.Session(), b: requests.Session()}
    answers = []
    for i in range(14):
        base = (a, b)[i % 2]
        resp = _post_login(http[base], base, "Wrong-pass-0")
        answers.append(resp.status_code)
        if i == 4:
            assert "已被锁定 15 分钟" in resp.text, resp.text[:500]
    assert answers == [400] * 14
    for base in (a, b):
        resp = _post_login(http[base], base, DEMO_PASSWORD)
        assert resp.status_code == 400 and "已被锁定" in resp.text


def _logout_on_one_ends_the_session_on_the_other(a: str, b: str) -> None:
    http = requests.Session()
    page = http.get(a + "/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    resp = http.post(a + "/login", data={"username": "cgj_officer", "password": DEMO_PASSWORD, "csrf_token": token},
                     allow_redirects=False)
    assert resp.status_code == 302
    copied = dict(http.cookies)
    assert requests.get(b + "/leads/", cookies=copied, allow_redirects=False).status_code == 200
    home = http.get(b + "/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    assert http.post(b + "/logout", data={"csrf_token": token}, allow_redirects=False).status_code == 302
    assert requests.get(a + "/leads/", cookies=copied, allow_redirects=False).status_code == 302
