"""The composition root: how settings become an embedder, an index, an answerer and an Assistant.

Every entry point (``python -m assistant``, the app, eval, bench, load, tests) builds through
``make_assistant``; the index side (``python -m index build``, the app's build button) through
``index.build.build_for``. So which model, which index, which backend and what to warn about is
decided in one place, and a test passes fakes in instead of patching.
"""
from __future__ import annotations

import logging
from typing import Callable

from assistant.answerers import Answerer
from assistant.answerers.extractive import ExtractiveAnswerer
from assistant.service import Assistant
from core.config import Settings, get_settings
from core.errors import BackendUnavailableError, IndexMismatchError, IndexMissingError, ModelMissingError

log = logging.getLogger(__name__)


def make_embedder(settings: Settings):
    """The configured embedder and, when it is the fallback, the warning users see."""
    from index.embed import choose_model, embedder_for

    name, warning = choose_model(settings)
    return embedder_for(settings, name), warning


def open_or_build_index(settings: Settings, model_name: str, get_embedder: Callable[[], object], *,
                        build: bool = False, fallback: bool = False, progress=None):
    """Open the index read-only; with ``build=True`` (tools that own their folder) build it first when
    it is missing or of another model.

    Answering never writes the index: a missing, mismatched or damaged index is an error that says how to
    rebuild (``python -m index build``, or the app's button). ``fallback``: the model is the fallback
    embedder, so an index of the preferred model means that model is missing, not that the index is stale.
    """
    from index.build import build_for, indexed_sources
    from index.store import open_index, read_manifest

    try:
        return open_index(settings.index_dir, settings, model_name)
    except (IndexMissingError, IndexMismatchError) as exc:
        if not build:
            built_with = (read_manifest(settings.index_dir) or {}).get("embedding_model")
            if fallback and isinstance(exc, IndexMismatchError) and built_with and built_with != model_name:
                raise ModelMissingError(built_with, model_name, settings.models_dir) from exc
            raise
        log.info("building index: %s", exc)
        sources = list(settings.documents) if isinstance(exc, IndexMissingError) else indexed_sources(settings)
        build_for(settings, sources, model_name=model_name, get_embedder=get_embedder, progress=progress)
        return open_index(settings.index_dir, settings, model_name)


def make_answerer(settings: Settings, name: str | None = None) -> tuple[Answerer, list[str]]:
    """The configured answerer; an unavailable model backend falls back to the verbatim answer, with a warning."""
    from assistant.answerers import make_answerer as by_name

    name = name or settings.answerer
    if name == "extractive":
        return ExtractiveAnswerer(), []
    try:
        return by_name(name, settings), []
    except BackendUnavailableError as exc:
        log.warning("answerer %s unavailable, using extractive: %s", name, exc)
        return ExtractiveAnswerer(), [exc.user_message]


def make_assistant(settings: Settings | None = None, *, embedder=None, answerer: Answerer | None = None,
                   build: bool = False, progress=None) -> Assistant:
    """Settings -> a ready Assistant. ``embedder`` / ``answerer`` replace the configured ones (tests, tools
    that already loaded the model); ``build=True`` builds a missing index (see ``open_or_build_index``)."""
    settings = settings or get_settings()
    warnings: list[str] = []
    fallback = False
    if embedder is None:
        from index.embed import choose_model, embedder_for

        model_name, warning = choose_model(settings)
        fallback = warning is not None
        warnings += [warning] if warning else []
        get_embedder = lambda: embedder_for(settings, model_name)  # noqa: E731
    else:
        model_name, get_embedder = embedder.name, lambda: embedder
    opened = open_or_build_index(settings, model_name, get_embedder, build=build, fallback=fallback,
                                 progress=progress)
    if answerer is None:
        answerer, notes = make_answerer(settings)
        warnings += notes
    return Assistant(settings, opened, get_embedder(), answerer, warnings)

