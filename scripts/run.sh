#!/usr/bin/env bash
# `make run`: migrate, load the demo data, start the background worker and the web server, and say
# where to go and how to log in once the server answers /healthz.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-5000}"
BIN=.venv/bin
export FLASK_APP=wsgi
t0=$SECONDS
mkdir -p instance
# Migrations and demo data in one process; its list of accounts is printed once the server answers.
# Exit 3: only the demo district could not be made (it says why); the app starts all the same.
status=0
banner=$($BIN/flask seed-demo --upgrade 2>&1) || status=$?
banner=$(printf '%s\n' "$banner" | grep -v "alembic.runtime" || true)
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then echo "$banner" >&2; exit 1; fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
$BIN/flask worker > instance/worker.log 2>&1 &
pids+=($!)
$BIN/flask run --host 127.0.0.1 --port "$PORT" &
pids+=($!)
web=$!
url="http://127.0.0.1:${PORT}"
for _ in $(seq 1 300); do
  if ! kill -0 "$web" 2>/dev/null; then echo "网页服务未能启动 / the web server did not start." >&2; exit 1; fi
  if $BIN/python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url/healthz" \
       2>/dev/null; then break; fi
  sleep 0.2
done
echo
echo "  coord 已启动（用时 $((SECONDS - t0)) 秒）/ coord is up (${url}/healthz answered after $((SECONDS - t0)) s)"
echo "  打开 / open:  ${url}"
echo "$banner"
echo "  后台任务进程日志 / worker log: instance/worker.log"
echo "  按 Ctrl+C 停止 / press Ctrl+C to stop"
echo
wait "$web"
