"""Shared fixtures: hand-written fakes for unit tests, one real index per test session.

No test reaches a network; every path a test writes is under a temporary folder.
"""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "data" / "nq-412-2023-hung-yen.txt"
CORPUS_DIR = REPO / "tests" / "corpus"  # vendored copy of ../shared/corpus (see its README)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def app_env_vars(index_dir: Path, home: Path) -> dict[str, str]:
    """The TLNQ_* variables the app reads: this index, feedback and question log under ``home``."""
    return {"TLNQ_INDEX_DIR": str(index_dir), "TLNQ_FEEDBACK_FILE": str(home / "feedback.jsonl"),
            "TLNQ_LOG_FILE": str(home / "questions.log")}


@contextlib.contextmanager
def app_settings_env(env: dict[str, str], patch: pytest.MonkeyPatch | None = None) -> Iterator:
    """Set ``env`` and yield the app's settings, then restore the environment.

    get_settings() is cached, so the cache is cleared on the way in and out: no test sees
    another's settings. Pass a test's ``monkeypatch`` to undo its other patches here too.
    """
    from core.config import get_settings

    if patch is None:
        patch = pytest.MonkeyPatch()
    try:
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        yield get_settings()
    finally:
        patch.undo()
        get_settings.cache_clear()


def started_app(path: str, timeout: float):
    """app.py under streamlit.testing, after its first run (which loads the model), checked error-free."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(path, default_timeout=timeout)
    app.run()
    assert not app.exception, app.exception
    return app


class FakeEmbeddings(Embeddings):
    """Deterministic bag-of-syllables vectors: similar texts get similar vectors, no model needed."""

    name = "fake-embeddings"
    dimension = 256

    def __init__(self) -> None:
        self.calls = 0

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dimension
        for word in text.lower().split():
            vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


@pytest.fixture
def fake_embedder() -> FakeEmbeddings:
    return FakeEmbeddings()


@pytest.fixture(scope="session")
def fake_seed_index(tmp_path_factory) -> Path:
    """The seed indexed once with fake vectors; tests copy the folder before changing anything."""
    from core.config import Settings
    from index.build import build_index

    settings = Settings(index_dir=tmp_path_factory.mktemp("fake-seed") / "index", embedding_model=FakeEmbeddings.name)
    embedder = FakeEmbeddings()
    build_index([SEED], settings, embedder.name, lambda: embedder)
    return settings.index_dir


@pytest.fixture
def tmp_settings(tmp_path):
    """Settings whose every data path is under tmp_path."""
    from core.config import Settings

    return Settings(index_dir=tmp_path / "index", feedback_file=tmp_path / "feedback.jsonl",
                    log_file=tmp_path / "logs" / "q.log")


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory):
    """Default settings (real default embedder) with the index in a session temp folder."""
    from core.config import Settings

    base = tmp_path_factory.mktemp("real")
    return Settings(index_dir=base / "index", feedback_file=base / "feedback.jsonl", log_file=base / "logs" / "q.log")


@pytest.fixture(scope="session")
def real_assistant(real_settings):
    """The real pipeline over the bundled resolution, built once per test run."""
    from assistant.compose import make_assistant

    return make_assistant(real_settings, build=True)


# -- test tiers -------------------------------------------------------------------------------
# Default loop for a developer: pytest -m "not (model or browser or llm or server)" (fakes, parser,
# units: seconds). .ci/run runs every tier through scripts/test.sh.
_MODEL_FIXTURES = {"real_settings", "real_assistant", "index_copy", "app_settings", "app_env", "eval_assistant"}
_MODULE_TIERS = {"test_llm_real": "llm", "test_chroma_server": "server",
                 "test_browser": "browser", "test_quality_gate": "model"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        tier = _MODULE_TIERS.get(module)
        if tier:
            item.add_marker(getattr(pytest.mark, tier))
        if _MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
