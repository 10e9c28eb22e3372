"""Schemathesis over the whole OpenAPI document, `--checks all`, against a real server on loopback.

The server is werkzeug's threaded server on 127.0.0.1 (the `live_server` fixture) over a fresh copy of
the migrated, seeded database, with a few real records (interviews, a lead with a file) whose ids
Schemathesis draws half of the time, so the operations reach their services and not only their 404s.
It must find no server error, no undocumented status code, no body that breaks its schema, no 405
without `Allow`, … (every check; `tests/schemathesis.toml` explains the one setting). The budget is
bounded: `SCHEMATHESIS_MAX_EXAMPLES` cases per operation (default 12) in each phase, fixed seed.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from coord.accounts.services import create_token
from coord.extensions import db
from coord.timeutil import local_today
from tests.conftest import user_by_name
from tests.interview_fixtures import ensure_calendar, interview_data
from tests.referrals_fixtures import PDF, make_lead

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261128"))
BASE_CONFIG = Path(__file__).with_name("schemathesis.toml")


def _records(client, token: str) -> dict[str, list[int]]:
    """Real records for the operations' path ids, made through the API like a client would."""
    auth = {"Authorization": f"Bearer {token}"}
    ensure_calendar(local_today(), 120)
    draft = client.post("/api/v1/interviews", json=interview_data(), headers=auth)
    assert draft.status_code == 201, draft.json
    data = interview_data(title="第二次联合约谈")
    other = client.post("/api/v1/interviews", json=data, headers=auth).json
    window = {"participant_ids": data["participant_ids"], "room_id": data["room_id"], "duration_minutes": 90,
              "window_start": local_today().isoformat() + "T00:00:00+08:00",
              "window_end": (local_today() + timedelta(days=90)).isoformat() + "T00:00:00+08:00", "limit": 1}
    slots = client.post("/api/v1/slots/search", json=window, headers=auth).json["slots"]
    assert slots, "no free slot for the scheduled interview"
    scheduled = client.post(f"/api/v1/interviews/{other['id']}/schedule", json={"start": slots[0]["start"]},
                            headers=auth)
    assert scheduled.status_code == 200, scheduled.json
    lead = make_lead()
    upload = client.post(f"/api/v1/leads/{lead.id}/files", data={"files": [(io.BytesIO(PDF), "笔录.pdf")]},
                         headers={"Authorization": f"Bearer {create_token(None, user_by_name('cgj_coord'), 't')[1]}"})
    assert upload.status_code in (200, 201), upload.json
    return {"interview": [draft.json["id"], other["id"]], "lead": [lead.id],
            "file": [upload.json["files"][0]["id"]], "user": [user_by_name("scjg_coord").id]}


def _config(tmp_path: Path, records: dict[str, list[int]]) -> Path:
    lines = [BASE_CONFIG.read_text(), ""]
    for name, ids in records.items():
        lines += [f"[dictionaries.{name}]", f"values = {ids}", ""]
    lines.append("[parameters]")
    for param, name in (("interview_id", "interview"), ("lead_id", "lead"), ("file_id", "file"),
                        ("user_id", "user")):
        lines.append(f'"path.{param}" = {{ dictionary = "{name}", probability = 0.5 }}')
    path = tmp_path / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_schemathesis_finds_nothing(app, client, live_server, tmp_path):
    _, token = create_token(None, user_by_name("admin"), "schemathesis")
    config = _config(tmp_path, _records(client, token))
    db.session.remove()  # end this thread's transaction: the server's writers must not wait for it
    cli = Path(sys.executable).with_name("schemathesis")
    if not cli.exists():
        pytest.fail("schemathesis is not installed: run `make test` (it installs the test extras)")
    cmd = [str(cli), "--config-file", str(config), "--no-color", "run", f"{live_server}/api/v1/openapi.json",
           "--checks", "all", "-H", f"Authorization: Bearer {token}", "--max-examples", str(MAX_EXAMPLES),
           "--seed", str(SEED), "--phases", "examples,coverage,fuzzing", "--workers", "1",
           "--request-timeout", "60", "--suppress-health-check", "all"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path,
                         env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    summary = run.stdout[run.stdout.find("SUMMARY"):] if "SUMMARY" in run.stdout else run.stdout[-4000:]
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-3000:]
    assert "generated" in summary and "passed" in summary, summary
