"""The parse report: counts per level, warnings, the longest clause, the words lost (must be 0).

``python -m index tree FILE --report`` prints it; the app shows its warnings after an upload.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

from index.parse import Clause, ParseResult, ParseWarning

LEVEL_NAMES = {
    "HEADER": "tiêu đề", "PREAMBLE": "căn cứ", "BODY": "mở đầu", "CLOSING": "phần kết", "A": "văn bản kèm theo",
    "G": "đoạn", "C": "chương", "D": "điều", "S": "phần", "K": "khoản", "M": "mục", "P": "điểm",
    "CT": "chỉ tiêu", "B": "gạch đầu dòng",
}


def _words(text: str) -> list[str]:
    return unicodedata.normalize("NFC", text).split()


def words_lost(text: str, clauses: list[Clause]) -> int:
    """Words of the cleaned source that no clause holds, in order (a glued 'IQUY' split into
    'I' + 'QUY' loses nothing).

    >>> words_lost("Điều 1. Một hai ba", [Clause("D1", "D", "1", "Điều 1.", "", "Một hai")])
    1
    >>> words_lost("Chương IQUY ĐỊNH", [Clause("CI", "C", "I", "Chương I", "", "QUY ĐỊNH")])
    0
    """
    import difflib

    source = _words(text)
    got = [w for c in clauses for w in _words(f"{c.marker} {c.title} {c.text}")]
    lost = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, source, got, autojunk=False).get_opcodes():
        if op in ("delete", "replace") and "".join(source[i1:i2]) != "".join(got[j1:j2]):
            lost += i2 - i1
    return lost


def longest_paragraph(text: str) -> int:
    """Characters of the longest blank-line-separated paragraph of the cleaned source."""
    return max((len(" ".join(p.split("\n"))) for p in text.split("\n\n")), default=0)


@dataclass
class ParseReport:
    counts: dict[str, int]
    warnings: list[ParseWarning]
    longest_id: str
    longest_chars: int
    longest_paragraph: int
    words: int
    lost: int

    def lines(self) -> list[str]:
        out = ["Số đơn vị theo cấp: " + ", ".join(f"{LEVEL_NAMES.get(k, k)} {n}" for k, n in self.counts.items())]
        out.append(f"Đơn vị dài nhất: {self.longest_id} ({self.longest_chars} ký tự; đoạn dài nhất của văn bản "
                   f"{self.longest_paragraph} ký tự)")
        out.append(f"Số từ: {self.words}; số từ bị mất: {self.lost}")
        out.append(f"Cảnh báo: {len(self.warnings)}")
        out += [f"  - {w.message_vi()}" for w in self.warnings]
        return out


def make_report(text: str, result: ParseResult) -> ParseReport:
    counts = Counter(c.kind for c in result.clauses)
    longest = max(result.clauses, key=lambda c: len(c.text), default=None)
    return ParseReport(
        counts=dict(counts), warnings=list(result.warnings),
        longest_id=longest.clause_id if longest else "", longest_chars=len(longest.text) if longest else 0,
        longest_paragraph=longest_paragraph(text), words=len(_words(text)), lost=words_lost(text, result.clauses),
    )
