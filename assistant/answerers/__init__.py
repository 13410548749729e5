"""Answerers behind one interface, chosen by a string (settings.answerer)."""
from __future__ import annotations

from typing import Iterator, Protocol

from assistant.evidence import Candidate
from assistant.query import Question

ANSWERERS = ("extractive", "ollama", "openai", "llamacpp")


class Answerer(Protocol):
    name: str

    def stream(self, question: Question, evidence: list[Candidate]) -> Iterator[str]:
        """Yield the answer text in pieces; citations are clause ids in [brackets] or labels."""
        ...


def make_answerer(name: str, settings) -> Answerer:
    if name == "extractive":
        from assistant.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer()
    if name in ("ollama", "openai", "llamacpp"):
        from assistant.answerers.llm import LLMAnswerer, make_chat_model

        return LLMAnswerer(name, make_chat_model(name, settings), settings.llm_context_chars)
    raise ValueError(f"unknown answerer {name!r}; choose one of: {', '.join(ANSWERERS)}")
