"""Test fixtures: every test gets a fresh database built by the migrations (never create_all).

SQLite (default): the migrated and seeded database is built once, then copied per test.
PostgreSQL (DATABASE_URL=postgresql+psycopg://...): a template database is built once, then
each test gets `CREATE DATABASE ... TEMPLATE ...`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from coord import create_app
from coord.extensions import db

DEMO_PASSWORD = "Test-pass-2026"
AUDIT_KEY = "test-audit-key-0123456789abcdef"
BASE_URL = os.environ.get("DATABASE_URL", "")
IS_PG = BASE_URL.startswith("postgresql")


def _overrides(url: str, instance: Path) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "SECRET_KEY": "test-secret",
        "AUDIT_KEY": AUDIT_KEY,
        "AUDIT_CHECKPOINT_FILE": str(instance / "audit-checkpoints.jsonl"),
        "RATELIMIT_STORAGE_URI": "memory://",
        "HUEY_SQLITE_PATH": str(instance / "huey.db"),
        "SERVER_NAME": None,
        # Personal links are issued when an interview is scheduled, but sent only when a test asks for
        # it (tests/test_party*.py turn this on): other tests count the mail a schedule produces.
        "PARTY_LINKS_AUTO_SEND": False,
    }


def _build(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    from coord.demo import seed_all

    app = create_app(_overrides(url, instance))
    with app.app_context():
        upgrade(revision="heads")
        seed_all(DEMO_PASSWORD)
        db.session.remove()
        db.engine.dispose()


class _PG:
    def __init__(self, base_url: str, worker: str):
        self.url = make_url(base_url)
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        # One set of databases per checkout and xdist worker: suites of two checkouts can run at once.
        tag = hashlib.sha1(str(Path(__file__).resolve()).encode()).hexdigest()[:6]
        self.template = f"{self.url.database}_tmpl_{tag}{worker}"
        self.run = f"{self.url.database}_run_{tag}{worker}"

    def recreate(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            tmpl = f' TEMPLATE "{template}"' if template else ""
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{tmpl}'))
        return self.url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> Iterator[dict]:
    instance = tmp_path_factory.mktemp("instance")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if IS_PG:
        pg = _PG(BASE_URL, worker)
        url = pg.recreate(pg.template)
        _build(url, instance)
        yield {"pg": pg, "instance": instance}
        pg.admin.dispose()
    else:
        path = instance / "template.db"
        _build(f"sqlite:///{path}", instance)
        yield {"path": path, "instance": instance}


@pytest.fixture
def fresh_db_url(_template, tmp_path) -> str:
    """A URL to a new copy of the migrated, seeded database."""
    if IS_PG:
        pg: _PG = _template["pg"]
        return pg.recreate(pg.run, template=pg.template)
    target = tmp_path / "coord.db"
    shutil.copy(_template["path"], target)
    return f"sqlite:///{target}"


@pytest.fixture
def app(fresh_db_url, tmp_path):
    app = create_app(_overrides(fresh_db_url, tmp_path))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def user_by_name(username: str):
    from coord.accounts.models import User

    return db.session.execute(sa.select(User).where(User.username == username)).scalar_one()


def login(client, username: str, password: str = DEMO_PASSWORD):
    """Log in through the real form (CSRF token and all)."""
    page = client.get("/login")
    token = _csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def _csrf_from(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'"X-CSRFToken": "([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf_token(client, path: str = "/") -> str:
    return _csrf_from(client.get(path).get_data(as_text=True))


class ApiClient:
    """A test client that sends a bearer token, as an external system would."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        def call(path, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return getattr(self.client, method)(path, headers=headers, **kwargs)

        return call


@pytest.fixture
def api(app, client):
    """api("admin") -> ApiClient for that user."""
    from coord.accounts.services import create_token

    def make(username: str) -> ApiClient:
        _, clear = create_token(None, user_by_name(username), "test")
        return ApiClient(client, clear)

    return make


# --- a live server and headless Chromium for browser tests ------------------------------------

@pytest.fixture
def district(app, tmp_path):
    """The app with the living demo district (`seed-demo`) made for today, a calendar around today first:
    for the tests that walk every page (the English walk, axe-core)."""
    from datetime import timedelta

    from coord.timeutil import local_today
    from tests.interview_fixtures import ensure_calendar  # it imports this module

    app.config["PDF_CACHE_DIR"] = str(tmp_path / "pdf-cache")
    ensure_calendar(local_today() - timedelta(days=70), 100)
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["seed-demo", "--quiet"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    return app


@pytest.fixture
def live_server(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # a loaded 2-core CI machine is slow; waits end as soon as true
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs it.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def browser_login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/")
