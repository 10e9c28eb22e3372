#!/usr/bin/env bash
# Start the web server (and, when the feature is present, the background worker) for development.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-5000}"
BIN=.venv/bin
if $BIN/flask --help 2>/dev/null | grep -q "^  worker"; then
  $BIN/flask worker > instance/worker.log 2>&1 &
  WORKER=$!
  trap 'kill $WORKER 2>/dev/null || true' EXIT INT TERM
  echo "后台任务进程已启动 / worker started (log: instance/worker.log)"
fi
echo
echo "  打开 / open:  http://127.0.0.1:${PORT}"
echo "  登录 / log in: admin（管理员）, scjg_coord, scjg_officer, cgj_coord, gafj_officer"
echo "  密码 / password: ${COORD_DEMO_PASSWORD:-coord-demo-2026}"
echo
exec $BIN/flask run --host 127.0.0.1 --port "$PORT"
