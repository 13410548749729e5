#!/usr/bin/env bash
# Set up (first run only), build the index when there is none, and open the app on localhost.
# No file watcher: the app is not being edited, and watching the checkout (.venv included) floods inotify.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m index build
exec .venv/bin/python -m ui.serve --server.address "${TLNQ_HOST:-127.0.0.1}" \
    --server.port "${TLNQ_PORT:-8501}" --server.headless true --browser.gatherUsageStats false \
    --server.fileWatcherType none
