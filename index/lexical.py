"""Vietnamese tokens for BM25: pyvi word segmentation plus accent-free forms.

Both forms go into one bag, so "ty le ho ngheo" and "tỷ lệ hộ nghèo" meet.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"[\w%]+(?:[.,]\d+)*%?", re.UNICODE)
_STOP = frozenset(
    "và của các là có được cho với trong theo về những này đó thì mà để từ một"
    " đã đang sẽ bị tại nào gì bao nhiêu không ko sao hả nhé ạ ơi thế vậy".split()
)


def strip_accents(text: str) -> str:
    """'Tỷ lệ hộ nghèo' -> 'Ty le ho ngheo' (đ -> d)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


_Y_TO_I = str.maketrans("yýỳỷỹỵ", "iíìỉĩị")
_CONSONANT_IY = re.compile(r"(?:b|c|ch|d|đ|g|gh|h|k|kh|l|m|n|ng|nh|p|ph|qu|r|s|t|th|tr|v|x)[iíìỉĩịyýỳỷỹỵ]")


def fold_iy(word: str) -> str:
    """Both spellings are correct Vietnamese: 'tỉ lệ' / 'tỷ lệ', 'kì họp' / 'kỳ họp' -> the i form.

    Only a syllable made of a consonant and a final i/y is folded ('y tế', 'tuyến' stay).
    """
    return "_".join(p.translate(_Y_TO_I) if _CONSONANT_IY.fullmatch(p) else p for p in word.split("_"))


@lru_cache(maxsize=1)
def _pyvi():
    from pyvi import ViTokenizer  # ships its own model; imported lazily (slow import)

    return ViTokenizer


def syllables(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFC", text).lower())


def tokenize(text: str) -> list[str]:
    """Syllables, pyvi compound words ("tỷ_lệ") and their accent-free forms, stopwords out."""
    sylls = [s for s in syllables(text) if s not in _STOP]
    words = [w for w in _pyvi().tokenize(" ".join(sylls)).split() if "_" in w]
    tokens = [fold_iy(t) for t in sylls + words]
    return tokens + [strip_accents(t) for t in tokens if strip_accents(t) != t]


@lru_cache(maxsize=1)
def tokenizer_id() -> str:
    """What the tokens depend on: this module's code and pyvi's version. Tokens stored with an index
    (index.build) are reused only under the same id, so a changed tokenizer never meets stale tokens."""
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    digest = hashlib.sha256(Path(__file__).read_bytes() + version("pyvi").encode()).hexdigest()
    return digest[:16]


def fold(text: str) -> str:
    """Accents and case away, one character for one (positions in the folded text are positions in the text).

    >>> fold("Tỷ lệ Hộ nghèo ĐẠT")
    'ty le ho ngheo dat'
    """
    out = []
    for ch in unicodedata.normalize("NFC", text):
        base = "d" if ch in "đĐ" else "".join(
            c for c in unicodedata.normalize("NFD", ch) if unicodedata.category(c) != "Mn"
        )
        out.append(base.lower() if len(base) == 1 else ch.lower())
    return "".join(out)
