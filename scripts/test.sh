#!/usr/bin/env bash
# Set up (first run only) and run the whole test suite, quality gate included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
exec .venv/bin/python -m pytest -q -p no:cacheprovider --durations=15 "$@"
