"""Grounding guard: every number in an answer must occur in a clause the answer cites.

A sentence that states a figure no cited clause contains is removed, and counted.
"""
from __future__ import annotations

import re

_NUMBER = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[^\s])|\n+")
_BRACKET_CITE = re.compile(r"\[[^\]\n]{1,80}\]")


def numbers_in(text: str) -> list[str]:
    """Every number as written (a date is three numbers).

    >>> numbers_in("tăng 7,5-8%, ngày 07/12/2023")
    ['7,5', '8', '07', '12', '2023']
    """
    return _NUMBER.findall(text)


def label_forms(labels: list[str]) -> list[str]:
    """A label and the places it sits in, longest first: a cited clause's own address is no claim.

    >>> label_forms(["chỉ tiêu (11), mục 2.2, khoản 2, Điều 2"])[1:]
    ['mục 2.2, khoản 2, Điều 2', 'khoản 2, Điều 2', 'Điều 2']
    """
    forms = set()
    for label in labels:
        parts = label.split(", ")
        forms.update(", ".join(parts[i:]) for i in range(len(parts)))
    return sorted(forms, key=len, reverse=True)


def strip_citations(text: str, labels: list[str]) -> str:
    """Citation markers carry clause numbers, not claims: leave them out of the check."""
    text = _BRACKET_CITE.sub(" ", text)
    for form in label_forms(labels):
        text = re.sub(rf"(?<!\w){re.escape(form)}(?!\w)", " ", text, flags=re.IGNORECASE)
    return text


def grounded(number: str, sources: str) -> bool:
    return re.search(rf"(?<!\d)(?<!\d[.,]){re.escape(number)}(?!\d|[.,]\d)", sources) is not None


def unsupported_names(sentence: str, allowed: str) -> list[str]:
    """Proper names a generated sentence introduces that neither its sources nor the question contain.

    'trụ sở ở tỉnh Hà Nội' against a clause that never names Hà Nội -> ['Hà Nội'].
    """
    from assistant.evidence import proper_names
    from index.lexical import strip_accents

    def words(text: str) -> str:
        return " " + " ".join(re.findall(r"\w+", strip_accents(text.lower()))) + " "

    plain = words(allowed)
    parts = re.split(r"[,;:()\[\]“”\"]", sentence)  # 'Trần Quốc Toàn, Chủ tịch' holds one name, not three
    return [name for part in parts for name in proper_names(part) if words(name) not in plain]


def _pairs(text: str) -> list[tuple[str, str]]:
    from index.lexical import strip_accents

    words = re.findall(r"\w+(?:[.,]\d+)*", strip_accents(text.lower()))  # questions come unaccented too
    return list(zip(words, words[1:]))


def support(sentence: str, allowed: str) -> float:
    """Share of a sentence's adjacent word pairs found in the text it may draw on.

    A faithful restatement scores high; advice the model made up ('ăn đủ chất dinh dưỡng'
    for a clause on birth ratios) scores near zero, even with no figure to catch it by.
    """
    pairs = _pairs(sentence)
    if len(pairs) < 3:
        return 1.0
    known = set(_pairs(allowed))
    return sum(p in known for p in pairs) / len(pairs)


MIN_SUPPORT = 0.35


def guard(answer: str, sources: str, labels: list[str], names_from: str | None = None) -> tuple[str, list[str]]:
    """Return the answer without ungrounded sentences, and the sentences removed.

    ``names_from`` (for generated text: the sources and the question) also removes sentences that
    name people or places absent from it, or whose wording it mostly does not support.
    """
    kept, removed = [], []
    for sentence in _SENTENCE.split(answer):
        if not sentence.strip():
            continue
        claim = strip_citations(sentence, labels)
        claims = numbers_in(claim)
        names_ok = names_from is None or (not unsupported_names(claim, names_from)
                                          and support(claim, names_from) >= MIN_SUPPORT)
        if names_ok and all(grounded(n, sources) for n in claims):
            kept.append(sentence.strip())
        else:
            removed.append(sentence.strip())
    return " ".join(kept), removed
