"""Benchmark: logged-in pages at framework speed (issue 11, point 4).

Starts coord with gunicorn (`-w 2`) on a scratch database holding a realistic amount of data (the demo
directory and accounts, 2,000 interviews, 20,000 leads), logs in as a coordinator (session cookie), and
starts a bare Flask app rendering a 25-row Jinja table (benchmarks/bare_app.py) with the same gunicorn.
Then, per page, it drives the two alternately with wrk (`-t2 -c16`, BENCH_SECONDS each, BENCH_ROUNDS
rounds) and prints req/s, p50 and p95 of both and the ratio, with the machine. Target: every page at
least 50% of the bare app's req/s. Exits 1 on a miss (BENCH_NO_FAIL=1 to only report).

coord answers a list page asked again by the same session from its page cache (coord/web/pagecache.py)
while nothing has been written; a second coord server with the cache off (COORD_PAGE_CACHE_SECONDS=0) is
driven too, so the table also shows what a page costs when it is rendered (after any write, or a user's
first view), against the same bare app. BENCH_RENDERED=0 skips that column.

Run on PostgreSQL, as the target is stated for it:
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/coord .venv/bin/python -m benchmarks.pages
(a database `<name>_bench_pages` is created next to the one named and dropped afterwards; without
DATABASE_URL it runs on a temporary SQLite file). Needs `wrk` (Debian package `wrk`; `make bench`
installs it through scripts/system-deps.sh). BENCH_PAGES="/,/leads/" picks pages.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks._common import database_url, machine

os.environ.setdefault("BENCH_LEADS", "20000")
os.environ.setdefault("BENCH_INTERVIEWS", "2000")

ROOT = Path(__file__).resolve().parent.parent
# Another checkout's coord to serve (e.g. `git archive main | tar -x -C /tmp/base`), to compare before/after.
COORD_ROOT = Path(os.environ.get("BENCH_COORD_ROOT") or ROOT)
PASSWORD = "Bench-pass-2026"
# One browser: the login and wrk send the same User-Agent. With another one, Flask-Login's session protection
# marks the session not fresh on every request (wrk resends the original cookie), so every answer sets a
# cookie and no page could be kept, which is not what a browser sees.
AGENT = "coord-bench/1"
USER = os.environ.get("BENCH_USER", "scjg_coord")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
RENDERED = os.environ.get("BENCH_RENDERED", "1") != "0"
TARGET = 0.5
PAGES = [p for p in os.environ.get("BENCH_PAGES", "").split(",") if p] or [
    "/", "/interviews/", "/interviews/follow-ups", "/minutes/", "/leads/", "/leads/?box=outbox", "/leads/police/",
    "/lists/", "/measures/", "/agencies/", "/audit/", "/scheduling/busy",
]
# wrk prints one line the script below can read: requests, duration (µs), p50 and p95 (µs), non-2xx.
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build(url: str) -> None:
    from flask_migrate import upgrade

    from benchmarks import feeds, referrals
    from coord import create_app
    from coord.demo import seed_all
    from coord.extensions import db
    from coord.timeutil import local_today

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade(revision="heads")
        seed_all(PASSWORD)
        started = time.perf_counter()
        feeds.load(db)
        referrals.load(db, local_today())
        referrals.analyze(db)
        if db.engine.dialect.name == "postgresql":  # every table's statistics, as autovacuum would have them
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        n_leads = db.session.execute(sa.text("SELECT count(*) FROM lead")).scalar()
        n_interviews = db.session.execute(sa.text("SELECT count(*) FROM interview")).scalar()
        print(f"loaded {n_interviews:,} interviews and {n_leads:,} leads in {time.perf_counter() - started:.1f} s "
              f"({db.engine.dialect.name})", flush=True)
        db.session.remove()
        db.engine.dispose()


def start(app_spec: str, port: int, env: dict, root: Path = ROOT) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
                             app_spec], cwd=root, env={**env, "PYTHONPATH": str(root)}, start_new_session=True)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError(f"{app_spec} did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def login(base: str) -> str:
    import re

    import requests

    s = requests.Session()
    s.headers["User-Agent"] = AGENT
    page = s.get(f"{base}/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    resp = s.post(f"{base}/login", data={"username": USER, "password": PASSWORD, "csrf_token": token},
                  allow_redirects=False)
    assert resp.status_code == 302, f"login failed: {resp.status_code}"
    # The welcome message is flashed on the next page and then gone: a browser takes the cookie without it
    # (wrk would otherwise send the flash-holding cookie forever, and every page would show the flash).
    s.get(f"{base}/account")
    return "; ".join(f"{k}={v}" for k, v in s.cookies.items())


def landing(base: str, page: str, cookie: str) -> str:
    """The page a redirecting entry leads to (a coordinator's /lists/ is their agency's lists): wrk would
    otherwise measure the redirect."""
    import requests

    resp = requests.get(base + page, headers={"Cookie": cookie, "User-Agent": AGENT}, allow_redirects=False)
    if resp.is_redirect:
        target = requests.compat.urlsplit(resp.headers["Location"])
        return target.path + (f"?{target.query}" if target.query else "")
    return page


def kept(base: str, page: str, cookie: str) -> bool:
    """Whether the page is answered from the page cache when asked again (what the coord column measures)."""
    import requests

    headers = {"Cookie": cookie, "User-Agent": AGENT}
    requests.get(base + page, headers=headers)
    return requests.get(base + page, headers=headers).headers.get("X-Coord-Page-Cache") == "hit"


def wrk(url: str, script: Path, cookie: str | None) -> tuple[float, float, float]:
    cmd = ["wrk", "-t2", "-c16", f"-d{SECONDS}s", "--timeout", "30s", "-H", f"User-Agent: {AGENT}", "-s", str(script),
           url]
    if cookie:
        cmd[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    requests, duration, p50, p95, errors = (int(x) for x in line.split()[1:])
    if errors:
        raise RuntimeError(f"{url}: {errors} failed or non-2xx responses (logged out?)\n{out}")
    return requests / (duration / 1e6), p50 / 1000, p95 / 1000


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed: `apt-get install wrk` (scripts/system-deps.sh does it for `make bench`).")
        return 1
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        url = database_url(tmp, "bench_pages")
        build(url)
        script = tmp / "report.lua"
        script.write_text(WRK_SCRIPT)
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "COORD_DEMO_PASSWORD": PASSWORD,
               "RATELIMIT_STORAGE_URI": "memory://"}
        env.pop("REDIS_URL", None)
        coord_port, bare_port, render_port = free_port(), free_port(), free_port()
        coord = start("wsgi:app", coord_port, env, COORD_ROOT)
        bare = start("benchmarks.bare_app:app", bare_port, env)
        rendered = start("wsgi:app", render_port, {**env, "COORD_PAGE_CACHE_SECONDS": "0"}, COORD_ROOT) \
            if RENDERED else None
        try:
            coord_base, bare_base = f"http://127.0.0.1:{coord_port}", f"http://127.0.0.1:{bare_port}"
            render_base = f"http://127.0.0.1:{render_port}"
            cookie = login(coord_base)
            render_cookie = login(render_base) if rendered else None
            print(machine(f"gunicorn -w 2 each, wrk -t2 -c16, {SECONDS} s per run, {ROUNDS} rounds, "
                          f"user {USER}, coord from {COORD_ROOT}"), flush=True)
            print(f"{'page':<24} {'coord req/s':>11} {'p50 ms':>7} {'p95 ms':>7} │ {'bare req/s':>10} "
                  f"{'p50 ms':>7} {'p95 ms':>7} │ {'ratio':>6}" + (f" │ {'rendered':>8} {'p50 ms':>7} {'ratio':>6}"
                                                                   if rendered else ""))
            missed = []
            for page in (landing(coord_base, p, cookie) for p in PAGES):
                wrk(coord_base + page, script, cookie)  # warm: templates compiled, connections open
                if not kept(coord_base, page, cookie):
                    print(f"{page}: not answered from the page cache (a cookie set? a write?)", flush=True)
                if rendered:
                    wrk(render_base + page, script, render_cookie)
                mine, theirs, drawn = [], [], []
                for _ in range(ROUNDS):  # alternately, so all see the same machine
                    theirs.append(wrk(bare_base + "/", script, None))
                    mine.append(wrk(coord_base + page, script, cookie))
                    if rendered:
                        drawn.append(wrk(render_base + page, script, render_cookie))
                c = [statistics.median(x[i] for x in mine) for i in range(3)]
                b = [statistics.median(x[i] for x in theirs) for i in range(3)]
                ratio = c[0] / b[0]
                if ratio < TARGET:
                    missed.append(page)
                extra = ""
                if rendered:
                    r = [statistics.median(x[i] for x in drawn) for i in range(2)]
                    extra = f" │ {r[0]:8.0f} {r[1]:7.1f} {r[0] / b[0]:6.0%}"
                print(f"{page:<24} {c[0]:11.0f} {c[1]:7.1f} {c[2]:7.1f} │ {b[0]:10.0f} {b[1]:7.1f} {b[2]:7.1f} │ "
                      f"{ratio:6.0%}{extra}{'' if ratio >= TARGET else '  < 50%'}", flush=True)
            print(machine("after the run"))
        finally:
            stop(coord)
            stop(bare)
            if rendered:
                stop(rendered)
        if url.startswith("postgresql"):
            base = sa.engine.make_url(url)
            admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))
            admin.dispose()
    if missed:
        print(f"below {TARGET:.0%} of the bare app: {', '.join(missed)}")
        return 0 if os.environ.get("BENCH_NO_FAIL") else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
