"""Answerers behind one interface, chosen by a string (settings.answerer).

An answerer writes the text (``stream``), says what may be shown while it writes (``preview``) and
holds its own text to the guard (``finish``): the pipeline never branches on which answerer it has.
"""
from __future__ import annotations

from assistant.answerers.base import Answerer, Finished

__all__ = ["ANSWERERS", "Answerer", "Finished", "make_answerer"]

ANSWERERS = ("extractive", "ollama", "openai", "llamacpp")


def make_answerer(name: str, settings) -> Answerer:
    if name == "extractive":
        from assistant.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer()
    if name in ("ollama", "openai", "llamacpp"):
        from assistant.answerers.llm import LLMAnswerer, make_chat_model

        return LLMAnswerer(name, make_chat_model(name, settings), settings.llm_context_chars)
    raise ValueError(f"unknown answerer {name!r}; choose one of: {', '.join(ANSWERERS)}")
