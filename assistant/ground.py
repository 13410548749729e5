"""Grounding guard: every number in an answer must occur in a clause the answer cites.

A sentence that states a figure no cited clause contains is removed, and counted.
"""
from __future__ import annotations

import re

_NUMBER = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[^\s])|\n+")
_BRACKET_CITE = re.compile(r"\[[^\]\n]{1,80}\]")


def numbers_in(text: str) -> list[str]:
    """'tăng 7,5-8%, ngày 07/12/2023' -> ['7,5', '8', '07/12/2023']."""
    return _NUMBER.findall(text)


def strip_citations(text: str, labels: list[str]) -> str:
    """Citation markers carry clause numbers, not claims: leave them out of the check."""
    text = _BRACKET_CITE.sub(" ", text)
    for label in sorted(set(labels), key=len, reverse=True):
        text = text.replace(label, " ")
    return text


def grounded(number: str, sources: str) -> bool:
    return re.search(rf"(?<!\d)(?<!\d[.,]){re.escape(number)}(?!\d|[.,]\d)", sources) is not None


def guard(answer: str, sources: str, labels: list[str]) -> tuple[str, list[str]]:
    """Return the answer without ungrounded sentences, and the sentences removed."""
    kept, removed = [], []
    for sentence in _SENTENCE.split(answer):
        if not sentence.strip():
            continue
        claims = numbers_in(strip_citations(sentence, labels))
        if all(grounded(n, sources) for n in claims):
            kept.append(sentence.strip())
        else:
            removed.append(sentence.strip())
    return " ".join(kept), removed
