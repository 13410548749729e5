"""A build killed half-way never harms the index in use; of two builders one wins, the other is told.

The builds are real `python -m index build` processes over a copy of the session's
real index. Rebuilding 60 copies of the seed under new names reuses every vector
(same chunk texts, same model), so no model is loaded and the build spends its time
writing Chroma — long enough to be stopped or killed in the middle of it.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SEED

COPIES = 60
Q_GRDP = "Mục tiêu tăng trưởng GRDP năm 2024 là bao nhiêu?"
GRDP_CLAUSE = "D2/K2/M2.1/CT1"
# The Vietnamese message is what users must see; index/__main__.py prints the English log text for now
# (see test_hostile_inputs.py::test_index_cli_messages_are_vietnamese).
BUSY = re.compile(r"Một tiến trình khác đang xây chỉ mục|another process is building the index")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")


class Build:
    """A `python -m index build` process whose stderr progress lines ('store: 256/3540') are watched."""

    def __init__(self, index_dir: Path, *args: str):
        env = dict(os.environ)
        env.update({"TLNQ_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        self.proc = subprocess.Popen([sys.executable, "-m", "index", "build", *args], cwd=REPO, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        pending = b""
        while chunk := self.proc.stderr.read1(4096):
            pending += chunk
            *done, pending = re.split(rb"[\r\n]", pending)
            with self._seen:
                self.lines += [line.decode("utf-8", "replace") for line in done if line.strip()]
                self._seen.notify_all()
        with self._seen:
            if pending.strip():
                self.lines.append(pending.decode("utf-8", "replace"))
            self._seen.notify_all()

    def wait_for(self, prefix: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                hit = next((line for line in self.lines if line.startswith(prefix)), None)
                if hit is not None:
                    return hit
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"build ended ({self.proc.returncode}) before {prefix!r}: {self.lines}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {prefix!r} within {timeout} s: {self.lines[-5:]}")
                self._seen.wait(0.2)

    def finish(self, timeout: float = 300) -> tuple[int, str, str]:
        out = self.proc.stdout.read().decode()
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code, out, "\n".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._reader.join(timeout=10)


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("copies")
    paths = [folder / f"nghi-quyet-ban-sao-{i:03d}.txt" for i in range(COPIES)]
    for path in paths:
        shutil.copy(SEED, path)
    return paths


@pytest.fixture
def index_dir(real_assistant, real_settings, tmp_path) -> Path:
    """A copy of the session's real index (its current generation), built with the configured model."""
    from index.store import CURRENT_FILE, current_generation

    src = Path(real_settings.index_dir)
    generation = current_generation(src)
    dst = tmp_path / "index"
    dst.mkdir()
    shutil.copytree(src / generation, dst / generation)
    shutil.copy(src / CURRENT_FILE, dst / CURRENT_FILE)
    return dst


@pytest.fixture
def settings(real_settings, index_dir, tmp_path):
    return real_settings.model_copy(update={"index_dir": index_dir, "log_file": tmp_path / "q.log"})


def _generations(index_dir: Path) -> set[str]:
    return {p.name for p in index_dir.iterdir() if p.is_dir() and p.name.startswith("gen-")}


def _manifest_model(settings) -> str:
    from index.store import read_manifest

    return read_manifest(settings.index_dir)["embedding_model"]


def _assert_answers(settings, generation: str) -> None:
    from assistant.compose import make_assistant

    assistant = make_assistant(settings)
    assert assistant.index.generation == generation
    assert GRDP_CLAUSE in [c.clause_id for c in assistant.ask(Q_GRDP).citations]


def test_build_killed_while_writing_keeps_the_previous_index(index_dir, settings, copies):
    from index.store import current_generation, open_index

    before = current_generation(index_dir)
    build = Build(index_dir, *map(str, copies))
    try:
        build.wait_for("store: ")  # the new generation folder exists and Chroma is being written
        os.kill(build.proc.pid, signal.SIGKILL)
    finally:
        build.kill()
    assert build.proc.returncode == -signal.SIGKILL
    partial = _generations(index_dir) - {before}
    assert len(partial) == 1, "killed after the new generation folder appeared, before the swap"
    assert current_generation(index_dir) == before
    _assert_answers(settings, before)

    code, out, err = Build(index_dir, *map(str, copies)).finish()  # the lock died with the process
    assert code == 0, err
    assert out.startswith("built: ") and f"{COPIES} document(s)" in out
    after = current_generation(index_dir)
    assert after not in (before, *partial)
    assert _generations(index_dir) == {before, after}, "the half-written generation is pruned"
    opened = open_index(index_dir, settings, _manifest_model(settings))
    assert opened.collection.count() == len(opened.chunks) == COPIES * 59


def test_forced_build_killed_while_embedding_keeps_the_previous_index(index_dir, settings, copies):
    """`build --force` re-embeds everything (the model is loaded): killed in the middle of embedding.

    Five copies make ten batches of 32, so even a fast model is still embedding when stopped.
    """
    from index.store import current_generation

    before = current_generation(index_dir)
    build = Build(index_dir, "--force", *map(str, copies[:5]))
    try:
        build.wait_for("embed: ", timeout=600)
        build.proc.send_signal(signal.SIGSTOP)  # at once: a fast model must not race on to the swap
        stopped_in = build.lines[-1]
        os.kill(build.proc.pid, signal.SIGKILL)
    finally:
        build.kill()
    done, total = map(int, re.fullmatch(r"embed: (\d+)/(\d+)", stopped_in).groups())
    assert done < total, build.lines
    assert current_generation(index_dir) == before
    assert _generations(index_dir) == {before}  # the new folder is made only once every vector is there
    _assert_answers(settings, before)


def test_second_builder_is_refused_while_the_first_writes(index_dir, settings, copies):
    from index.store import current_generation

    before = current_generation(index_dir)
    first = Build(index_dir, *map(str, copies))
    try:
        first.wait_for("store: ")
        first.proc.send_signal(signal.SIGSTOP)  # frozen mid-write, holding the lock: no race left to luck
        try:
            code, out, err = Build(index_dir, "--force", str(SEED)).finish()
        finally:
            first.proc.send_signal(signal.SIGCONT)
        assert code == 2 and out == ""
        assert BUSY.search(err) and not TRACEBACK.search(err), err
        assert current_generation(index_dir) == before
        _assert_answers(settings, before)  # readers are never blocked by a build
        code, out, err = first.finish()
    finally:
        first.kill()
    assert code == 0 and out.startswith("built: "), err
    after = current_generation(index_dir)
    assert after != before and _generations(index_dir) == {before, after}


def test_two_builders_started_together(index_dir, settings, copies):
    """No freezing: whatever the timing, one builds, the other is refused or finds it up to date."""
    from index.store import current_generation

    before = current_generation(index_dir)
    builds = [Build(index_dir, *map(str, copies)) for _ in range(2)]
    try:
        results = [b.finish() for b in builds]
    finally:
        for b in builds:
            b.kill()
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, out, err in results:
        assert not TRACEBACK.search(err)
        if code == 2:
            assert BUSY.search(err), err
        else:
            assert out.startswith(("built: ", "up to date: ")), out
    assert sum(out.startswith("built: ") for _, out, _ in results) == 1
    after = current_generation(index_dir)
    assert after != before and _generations(index_dir) == {before, after}
    _assert_answers(settings, after)
