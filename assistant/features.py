"""What the answer decision knows about each candidate clause, as one typed record.

Retrieval ranks clauses and the evidence selector reads them (coverage, the chosen segments,
year and figure checks); every signal either produces is gathered here into ``Features``, the
only input of the fitted scoring function (assistant/calibration.py). Eligibility is a set of
named predicates, each returning a ``Reason`` so a refusal can say why without parsing strings.
"""
from __future__ import annotations

import math
from dataclasses import astuple, dataclass, fields
from enum import Enum

from assistant.evidence import Candidate
from assistant.query import Question
from index.parse import SECTION_KINDS


class Reason(str, Enum):
    """Why a candidate cannot answer, or why the question was refused."""

    ANSWERED = "answered"
    NOTHING_RETRIEVED = "nothing retrieved"
    NAME = "name not in document"  # a proper name the documents never mention
    YEAR = "year"  # the year asked is not the year of the text
    FIGURE = "no figure"  # a figure is asked for and the text has none
    NO_TEXT = "no text"
    CLAUSE = "clause not in document"  # the question names a clause number the document does not have
    LOW_CONFIDENCE = "low confidence"  # eligible, but the fitted probability is below the threshold


@dataclass(frozen=True)
class Features:
    """Numeric signals of one (question, candidate) pair; names are the calibration file's keys."""

    fused: float  # RRF score relative to the best candidate's
    fused_rank: float  # 1 / position in the fused ranking
    bm25_rank: float  # 1 / BM25 rank (0: not in the BM25 pool)
    dense_rank: float  # 1 / dense rank (0: not in the dense pool)
    dense: float  # cosine of the best chunk
    dense_gap: float  # best candidate's cosine minus this one's
    coverage: float  # share of the question's topic weight in the quoted text and headings
    context_coverage: float  # … in the whole clause with its ancestors
    own_coverage: float  # coverage by a follow-up's own words, without the borrowed topic
    borrowed: float  # how much of the coverage comes only from the borrowed topic (0 for a new question)
    focus: float  # the best segment's score (coverage + focus + year/figure bonuses)
    coverage_gap: float  # the best coverage among the candidates minus this one's: standing, not level
    own_gap: float  # … of the follow-up's own words
    focus_gap: float  # … of the best segment's score
    missing: float  # the heaviest topic term the quote lacks, relative to the heaviest term
    absent: float  # share of the topic weight the candidate's document never uses
    explicit: float  # the question names this clause ('chỉ tiêu (15)', 'người ký')
    section: float  # header, preamble or closing
    section_unasked: float  # … that the question does not ask about (no cue names it)
    year_asked: float
    year_mismatch: float
    figure_asked: float
    figure_missing: float
    name_missing: float  # the question names a place or person no document mentions
    which_clause: float
    followup: float
    length: float  # log10 of the clause's characters
    depth: float  # 0 for a Điều, 1 for its khoản, …

    def vector(self) -> list[float]:
        return list(astuple(self))

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


def reasons(question: Question, cand: Candidate, names_missing: bool) -> list[Reason]:
    """The named predicates a candidate fails (empty: it can answer)."""
    found = []
    if names_missing or cand.names_absent:
        found.append(Reason.NAME)
    if not cand.segments:
        found.append(Reason.NO_TEXT)
    if cand.why_not == "year":
        found.append(Reason.YEAR)
    if cand.why_not == "no figure":
        found.append(Reason.FIGURE)
    return found


def features(question: Question, candidates: list[Candidate], names_missing: bool) -> list[Features]:
    """One record per candidate, in the candidates' order."""
    top = max((c.retrieval for c in candidates), default=0.0) or 1.0
    best_dense = max((c.dense for c in candidates), default=0.0)
    best_coverage = max((c.coverage for c in candidates), default=0.0)
    best_own = max((c.own_coverage for c in candidates), default=0.0)
    best_focus = max((c.focus for c in candidates), default=0.0)
    rows = []
    for position, c in enumerate(candidates, 1):
        why = reasons(question, c, names_missing)
        rows.append(Features(
            fused=c.retrieval / top,
            fused_rank=1.0 / position,
            bm25_rank=1.0 / c.ranks["bm25"] if "bm25" in c.ranks else 0.0,
            dense_rank=1.0 / c.ranks["dense"] if "dense" in c.ranks else 0.0,
            dense=c.dense,
            dense_gap=best_dense - c.dense,
            coverage=c.coverage,
            context_coverage=c.context_coverage,
            own_coverage=c.own_coverage,
            borrowed=max(0.0, c.coverage - c.own_coverage),
            focus=c.focus,
            coverage_gap=best_coverage - c.coverage,
            own_gap=best_own - c.own_coverage,
            focus_gap=best_focus - c.focus,
            missing=c.missing,
            absent=c.absent,
            explicit=float(c.explicit),
            section=float(c.clause_id in SECTION_KINDS),
            section_unasked=float(c.clause_id in SECTION_KINDS and not c.explicit),
            year_asked=float(bool(question.years)),
            year_mismatch=float(Reason.YEAR in why),
            figure_asked=float(question.quantity),
            figure_missing=float(Reason.FIGURE in why),
            name_missing=float(names_missing),
            which_clause=float(question.which_clause),
            followup=float(question.followup),
            length=math.log10(1 + len(c.clause_text)),
            depth=float(c.clause_id.count("/")),
        ))
    return rows
