"""The default answerer: no model, instant, every figure quoted verbatim from the cited clause."""
from __future__ import annotations

import re
from typing import Iterable, Iterator

from assistant.answerers.base import Finished
from assistant.evidence import Candidate
from assistant.ground import guard
from assistant.query import Question, years
from assistant.types import Grounding


def _quote(cand: Candidate) -> str:
    """The chosen text, under the lead that introduces it when the clause is an item of a list
    ('Sở Y tế:' / 'Sửa đổi điểm b khoản 3 Điều 10 như sau:' … the item): the lead says who or what."""
    quote = " ".join(cand.chosen) if cand.chosen else cand.clause_text
    if cand.lead and cand.lead.rstrip(":") not in quote:
        quote = f"{cand.lead} {quote}"
    return quote


def _sentence(cand: Candidate, with_year: bool) -> str:
    quote = re.sub(r"[\s.;,:]+$", "", _quote(cand))
    prefix = ""
    if with_year and cand.context_year and not years(quote):  # a quote that names its own year keeps it alone
        prefix = f"Năm {cand.context_year}: "
    return f"{prefix}{quote} ({cand.label})."


def compose(question: Question, evidence: list[Candidate]) -> str:
    """'Tỷ lệ hộ nghèo giảm còn 0,71% (chỉ tiêu (15), mục 2.2, khoản 2, Điều 2).'"""
    if not evidence:
        return ""
    if question.which_clause:
        first, rest = evidence[0], evidence[1:]
        quote = re.sub(r"\s+", " ", _quote(first)).strip()
        title = f" ({first.title})" if first.title else ""
        lines = [f"Nội dung này thuộc {first.label}{title}: “{quote}”"]
        lines += [f"Xem thêm {c.label}: “{_quote(c)}”" for c in rest]
        return "\n".join(lines)
    distinct_years = {c.context_year for c in evidence if c.context_year}
    with_year = bool(question.years) or len(distinct_years) > 1
    return "\n".join(_sentence(c, with_year) for c in evidence)


class ExtractiveAnswerer:
    name = "extractive"

    def stream(self, question: Question, evidence: list[Candidate]) -> Iterator[str]:
        yield compose(question, evidence)

    def preview(self, pieces: Iterable[str], question: Question, evidence: list[Candidate]) -> Iterator[str]:
        for _ in pieces:  # instant: the finished answer is the first thing shown
            pass
        yield from ()

    def finish(self, question: Question, evidence: list[Candidate], raw: str) -> Finished:
        """The verbatim answer cites every evidence clause and passes the guard by construction."""
        kept, removed = guard(raw, " ".join(c.context for c in evidence), [c.label for c in evidence])
        return Finished(kept, list(evidence), Grounding(removed=removed), self.name)
