"""From an analysed question to the evidence: retrieve, read the candidates, choose.

``Reader`` holds what this step reads (the retriever, the clauses, the fitted calibration); each
function here is one step of the pipeline and returns a typed record.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import cached_property

from assistant.calibration import Calibration, load_calibration
from assistant.choose import choose
from assistant.evidence import Candidate, EvidenceSelector, wants_comparison
from assistant.features import Reason
from assistant.query import Question, mention_pattern, numbered_refs
from assistant.retrieve import HybridRetriever, Retrieved

# A clause number quoted by more clauses than this is not specific enough to scope the answer to them.
MAX_QUOTING_CLAUSES = 3
# Retrieval depth: at least this many clauses are read as candidates (twice top_k when larger).
MIN_CANDIDATES = 20


@dataclass
class Decision:
    question: Question
    hits: list[Retrieved]  # the retrieval ranking (the answer carries it)
    candidates: list[Candidate]
    evidence: list[Candidate]
    reason: Reason
    retrieve_ms: float
    answerability: float = 0.0  # calibrated probability that the question is answered by the evidence


@dataclass
class Gathered:
    """The candidates read for one question."""
    question: Question  # with ``unknown_clause`` set
    hits: list[Retrieved]
    candidates: list[Candidate]  # fused order; named clauses first
    names_missing: bool  # the question names something no document mentions


class Reader:
    def __init__(self, retriever: HybridRetriever, selector: EvidenceSelector, embedding_model: str, top_k: int,
                 list_chars: int | None = None):
        self.retriever = retriever
        self.selector = selector
        self.list_chars_override = list_chars  # None: the calibration's
        self.embedding_model = embedding_model
        self.top_k = top_k

    @cached_property
    def calibration(self) -> Calibration:
        """The fitted decision for this index's embedder (read on the first question)."""
        return load_calibration(self.embedding_model)

    def gather(self, q: Question, doc: str | None = None) -> Gathered:
        """Retrieve and read the candidate clauses of an analysed question."""
        hits = self.retriever.search(q.search_text, k=max(MIN_CANDIDATES, self.top_k * 2), doc=doc)
        explicit, quoting, unknown = explicit_refs(self.selector, q, doc)
        q = replace(q, unknown_clause=unknown)
        top = hits[0].score if hits else 1.0
        by_key = {(h.doc, h.clause_id): h for h in hits}
        keys = [(d, c, top * 1.2) for d, c in explicit]
        keys += [(h.doc, h.clause_id, h.score) for h in hits if (h.doc, h.clause_id) not in set(explicit)]
        floor = hits[-1].score if hits else 1.0  # a quoting clause retrieval missed joins at the bottom
        keys += [(d, c, floor) for d, c in quoting if (d, c) not in by_key and (d, c) not in set(explicit)]
        candidates = []
        for doc_key, clause_id, score in keys:
            cand = self.selector.candidate(doc_key, clause_id, score)
            if cand is not None:
                hit = by_key.get((doc_key, clause_id))
                if hit is not None:
                    cand.dense, cand.ranks = hit.dense, dict(hit.ranks)
                cand.explicit = (doc_key, clause_id) in explicit
                cand.quoting = (doc_key, clause_id) in quoting
                self.selector.judge(q, cand)
                candidates.append(cand)
        return Gathered(q, hits, candidates, bool(self.selector.missing_names(q)))

    @property
    def list_chars(self) -> int:
        return self.list_chars_override if self.list_chars_override is not None else self.calibration.list_chars

    def list_items(self, q: Question, evidence: list[Candidate], budget: int) -> list[Candidate]:
        """A quote that only introduces a list ('… được hưởng các quyền lợi sau:') answers with the list: the
        clause's items, each read for the question, in document order, while they fit in ``budget``
        characters (0: off). Items that fail a predicate (another year) are left out.

        'Tỉnh sẽ làm gì về X' answered with the sentence that announces the measures is no answer; the
        measures are.
        """
        if not evidence or budget <= 0 or q.which_clause:
            return evidence
        first = evidence[0]
        quote = " ".join(first.chosen).strip()
        if not quote.endswith(":"):
            return evidence
        items, used = [], len(quote)
        cited = {(e.doc, e.clause_id) for e in evidence}
        for clause_id, clause in self.selector.by_doc.get(first.doc, {}).items():
            if clause.get("parent") != first.clause_id or (first.doc, clause_id) in cited:
                continue
            item = self.selector.candidate(first.doc, clause_id, first.retrieval)
            if item is None:
                continue
            self.selector.judge(q, item)
            if item.why_not in ("year", "no text"):
                continue
            item.chosen = [seg.text for seg in item.segments] or item.chosen
            size = sum(len(t) for t in item.chosen)
            if used + size > budget and items:
                break
            items.append(item)
            used += size
        return [first, *items, *evidence[1:]] if items else evidence

    def per_year(self, q: Question, candidates: list[Candidate]) -> dict[str, list[Candidate]]:
        """For a comparison across years, the candidates read again as if each year alone were asked:
        each half of '2023 … so với 2024' is its own question for the ranker."""
        if not (wants_comparison(q) and len(q.years) > 1):
            return {}
        out = {}
        for year in sorted(q.years):
            asked = replace(q, years={year})
            fresh = []
            for c in candidates:
                again = self.selector.candidate(c.doc, c.clause_id, c.retrieval)
                again.dense, again.ranks, again.explicit = c.dense, dict(c.ranks), c.explicit
                again.quoting = c.quoting
                self.selector.judge(asked, again)
                fresh.append(again)
            out[year] = fresh
        return out

    def decide(self, q: Question, doc: str | None = None) -> Decision:
        """Retrieve and choose the evidence; an empty evidence list means 'not in the resolution'."""
        started = time.perf_counter()
        got = self.gather(q, doc)
        evidence, reason, answerability = choose(got.question, got.candidates, self.calibration, got.names_missing,
                                                 self.per_year(got.question, got.candidates))
        evidence = self.list_items(got.question, evidence, self.list_chars)
        return Decision(got.question, got.hits, got.candidates, evidence, reason,
                        (time.perf_counter() - started) * 1000, answerability)


def explicit_refs(selector: EvidenceSelector, q: Question, doc: str | None
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str]], bool]:
    """'chỉ tiêu (15)', 'mục 3.5', 'người ký' name a clause or part: look it up directly. A number the
    document does not have may name a clause of the document it amends: then the clauses that quote
    it ('sửa đổi khoản 2 Điều 10'), when few enough to be specific.

    Returns (named clauses, quoting clauses, whether every number asked is unknown to the documents).
    """
    found: list[tuple[str, str]] = []
    quoted: list[tuple[str, str]] = []
    for ref in q.clause_refs:
        for key in selector.by_key:
            if (doc is None or key[0] == doc) and (key[1] == ref or key[1].endswith("/" + ref)):
                found.append(key)
    numbered = numbered_refs(q)
    resolved = 0
    for ref in numbered:
        # Per document: its own clause of that number, else the clauses quoting it (one pass over all).
        has_own = {k[0] for k in found if k[1] == ref or k[1].endswith("/" + ref)}
        pattern = mention_pattern(ref)
        quoting: dict[str, list[tuple[str, str]]] = {}
        if pattern is not None:
            for key, clause in selector.by_key.items():
                if (doc is None or key[0] == doc) and key[0] not in has_own and pattern.search(clause.get("text", "")):
                    quoting.setdefault(key[0], []).append(key)
        resolved += bool(has_own or quoting)
        quoted += [key for keys in quoting.values() if len(keys) <= MAX_QUOTING_CLAUSES for key in keys]
    return list(dict.fromkeys(found)), list(dict.fromkeys(quoted)), bool(numbered) and not resolved
