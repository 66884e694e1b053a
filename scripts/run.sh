#!/usr/bin/env bash
# Starts the ASGI server and a Celery worker together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"

echo "reviewer: starting the background worker"
# Reviews run on threads, REVIEW_SLOTS of them at once; see README: The worker.
$PY -m celery -A reviewer worker --loglevel "${CELERY_LOG_LEVEL:-INFO}" &
worker=$!
trap 'kill -TERM "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM

echo "reviewer: starting the web server; open http://127.0.0.1:${PORT}/ once it says it is running"
echo "reviewer: Ctrl-C stops the server and the worker"
$PY -m uvicorn reviewer.asgi:application --host 127.0.0.1 --port "$PORT" \
  --timeout-graceful-shutdown 3 --no-server-header
