"""Choosing the verbatim evidence that answers a question, and whether there is any.

Retrieval ranks clauses; here each candidate clause is cut into segments
(sentences, or ';'-separated items) and scored on how much of the question it
covers. A candidate is eligible only if it satisfies what the question pins
down: the year asked about, a figure when a figure is asked for, and any
proper name the question uses.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from assistant.query import Question, has_number, years
from index.lexical import strip_accents

# Generic words of asking, not of topic (accent-free): they never decide relevance.
QUESTION_WORDS = frozenset("""
bao nhieu bn may la gi nao the sao thi con vay a nhi nhe oi cho minh hoi toi muon biet duoc dc co
khong ko chua nam muc tieu chi dat phan dau ke hoach nghi quyet tinh hung yen ra ve cua va cac nhung
trong theo o dau thuoc dieu khoan quy dinh noi dung phai se da dang bi tai voi nhu nao nay do kia
gom nhung duoc bao the nao hay khac nhau so sanh thay doi cao thap hon chenh lech ai viec nhiem vu
giai phap hien tren cu the mot so luong muc nhieu it tang giam con lai en ha ban oi vui long giup
""".split())
_SEGMENT_SPLIT = re.compile(r"(?<=[.;!?])\s+(?=\S)|(?<=:)\s+(?=[-–+])|\n")
_COMPARE = re.compile(
    r"so với|so voi|so sánh|so sanh|chênh|chenh|khác nhau|khac nhau|thay đổi|thay doi|cao hơn|cao hon|"
    r"thấp hơn|thap hon|\bvà (mục tiêu|chỉ tiêu|năm)|\bva (muc tieu|chi tieu|nam)|tăng hay giảm|cả hai|ca hai",
    re.I,
)
SHORT_CLAUSE_CHARS = 320


def syllables_plain(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:[.,][0-9]+)*", strip_accents(text.lower()))


def content_terms(question: Question) -> list[str]:
    """Topic syllables of the question (accent-free), years and asking words out."""
    return [t for t in syllables_plain(question.search_text)
            if t not in QUESTION_WORDS and not re.fullmatch(r"(19|20)\d\d", t)]


def proper_names(text: str) -> list[str]:
    """Capitalised words after the first word ('tỉnh Bắc Ninh' -> ['Bắc', 'Ninh']) and acronyms."""
    words = re.findall(r"[\wÀ-ỹĐđ]+", text)
    return [w for w in words[1:] if (w[:1].isupper() and not w.isupper() and len(w) > 1) or
            (w.isupper() and len(w) >= 3 and w.isalpha())]


@dataclass
class Segment:
    text: str
    terms: set[str]


@dataclass
class Candidate:
    doc: str
    clause_id: str
    label: str
    retrieval: float
    clause_text: str
    context: str  # clause text with its ancestors' headings: what the clause speaks about
    context_year: str | None
    segments: list[Segment]
    coverage: float = 0.0
    eligible: bool = True
    why_not: str = ""
    chosen: list[str] = field(default_factory=list)
    score: float = 0.0


def split_segments(text: str) -> list[str]:
    parts = [p.strip() for p in _SEGMENT_SPLIT.split(text)]
    return [p for p in parts if p]


def context_year(clause_id: str, by_id: dict[str, dict]) -> str | None:
    """The year an Điều speaks of, from its heading or lead sentence ('năm 2024')."""
    top = by_id.get(clause_id.split("/")[0])
    if not top:
        return None
    found = sorted(years(f"{top.get('title', '')} {top.get('text', '').split('.')[0]}"))
    return found[-1] if found else None


def clause_context(clause: dict, by_id: dict[str, dict]) -> str:
    parts = []
    cid = clause.get("parent")
    while cid:
        parent = by_id[cid]
        parts.append(f"{parent.get('title', '')} {parent.get('text', '') if parent['clause_id'].count('/') == 0 else ''}")
        cid = parent.get("parent")
    return " ".join([clause.get("title", ""), clause.get("text", "")] + parts)


class EvidenceSelector:
    """Holds document statistics (IDF over segments); ``select`` is pure per question."""

    def __init__(self, clauses: list[dict]):
        self.by_key = {(c["doc"], c["clause_id"]): c for c in clauses}
        self.by_doc: dict[str, dict[str, dict]] = {}
        for c in clauses:
            self.by_doc.setdefault(c["doc"], {})[c["clause_id"]] = c
        df: Counter = Counter()
        n = 0
        for c in clauses:
            for seg in split_segments(c.get("text", "")) or [""]:
                n += 1
                df.update(set(syllables_plain(seg)))
        self.n_segments = max(n, 1)
        self.df = df
        self.vocabulary = set(df)

    def idf(self, term: str) -> float:
        return math.log(1 + self.n_segments / (1 + self.df.get(term, 0)))

    def candidate(self, doc: str, clause_id: str, retrieval: float) -> Candidate | None:
        clause = self.by_key.get((doc, clause_id))
        if clause is None:
            return None
        by_id = self.by_doc[doc]
        text = clause.get("text", "")
        pieces = [text] if len(text) <= SHORT_CLAUSE_CHARS else split_segments(text)
        segments = [Segment(p, set(syllables_plain(p))) for p in pieces if p]
        return Candidate(doc, clause_id, clause["label"], retrieval, text, clause_context(clause, by_id),
                         context_year(clause_id, by_id), segments)

    def judge(self, question: Question, cand: Candidate) -> None:
        """Fill coverage, eligibility and the chosen segments of one candidate."""
        terms = content_terms(question)
        weights = {t: self.idf(t) for t in set(terms)}
        total = sum(weights.values()) or 1.0
        context_terms = set(syllables_plain(cand.context))
        cand.coverage = sum(w for t, w in weights.items() if t in context_terms) / total
        if not cand.segments:
            cand.eligible, cand.why_not = False, "no text"
            return
        if question.years:
            in_context = years(cand.context) | ({cand.context_year} if cand.context_year else set())
            if not question.years & in_context:
                cand.eligible, cand.why_not = False, "year"
        scored = []
        for seg in cand.segments:
            s = sum(w for t, w in weights.items() if t in seg.terms) / total
            if question.years and question.years & years(seg.text):
                s += 0.15
            if question.quantity and has_number(seg.text):
                s += 0.1
            scored.append((s, seg))
        scored.sort(key=lambda x: -x[0])
        best = scored[0][0]
        chosen = [seg for s, seg in scored if s >= max(best * 0.75, 0.05)][:2]
        if question.quantity:
            numeric = [seg for seg in chosen if has_number(seg.text)]
            if not numeric:
                numeric = [seg for s, seg in scored if has_number(seg.text) and s >= best * 0.5][:1]
            if not numeric:
                cand.eligible, cand.why_not = False, "no figure"
            chosen = numeric or chosen
        # keep document order for readability
        order = {id(seg): i for i, seg in enumerate(cand.segments)}
        cand.chosen = [seg.text for seg in sorted(chosen, key=lambda seg: order[id(seg)])]
        cand.score = 0.5 * cand.coverage + 0.5 * best

    def missing_names(self, question: Question) -> list[str]:
        """Proper names in the question that the documents never mention (another province…)."""
        return [w for w in proper_names(question.text)
                if strip_accents(w.lower()) not in self.vocabulary]


def wants_comparison(question: Question) -> bool:
    return bool(_COMPARE.search(question.text)) or len(question.years) > 1
