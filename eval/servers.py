"""Local servers for the load script and the tests: start on a free loopback port, wait, stop.

eval/load.py (product code) and the tests that run `streamlit run app.py` or `chroma run`
all need the same few steps (and the same headless Chromium); they live here so that tests
may import them without the product code importing from tests/. Everything binds to
127.0.0.1 only.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

LOOPBACK = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
# Debian's Chromium, driven by Playwright (never downloaded); headless and quiet: no calls out of the machine.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class NotUp(RuntimeError):
    """The server exited or did not answer in time; the message says which."""


def free_port() -> int:
    """A port nothing listens on now (the OS picks it), so parallel runs never collide."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def http_ok(url: str, contains: str | None = None) -> bool:
    """True when ``url`` answers 200 (and its body holds ``contains``); any connection error is False."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and (contains is None or contains in response.read().decode())
    except OSError:
        return False


def streamlit_healthy(url: str) -> bool:
    """Streamlit's own health check: the app is served, not merely the port open."""
    return http_ok(f"{url}/_stcore/health")


def wait_until_up(proc: subprocess.Popen, is_up: Callable[[], bool], timeout: float, interval: float) -> None:
    """Poll ``is_up`` until it holds; raise NotUp as soon as ``proc`` exits or ``timeout`` s pass.

    Watching the process too means a crash at start fails at once instead of after the timeout.
    """
    deadline = time.monotonic() + timeout
    while not is_up():
        if proc.poll() is not None:
            raise NotUp(f"exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise NotUp(f"not up after {timeout} s")
        time.sleep(interval)


def start_streamlit(port: int, env: dict[str, str], log_path: Path, cwd: Path = REPO) -> subprocess.Popen:
    """The app as scripts/run_app.sh serves it (``python -m ui.serve``: `streamlit run app.py` with the models
    loading from the start), headless on 127.0.0.1:port, output to ``log_path``; does not wait.

    No file watcher and no usage statistics: the app must not reload or call out while measured.
    """
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "ui.serve", "--server.headless", "true",
             "--server.port", str(port), "--server.address", LOOPBACK, "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen, grace: float = 20, kill_wait: float = 10) -> None:
    """Terminate, wait ``grace`` s, then kill: no server outlives its run (harmless if it already exited)."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=kill_wait)
