"""Choosing the verbatim evidence that answers a question, and whether there is any.

Retrieval ranks clauses; here each candidate clause is cut into segments
(sentences, or ';'-separated items) and scored on how much of the question it
covers, and what the question pins down is checked (the year asked about, a
figure when a figure is asked for). Whether that makes it ineligible or only
less likely is the calibrated decision's business (assistant/choose.py).
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from assistant.query import (QUESTION_WORDS, QUESTION_WORDS_ACCENTED, Question, abbreviations, expand_abbreviations,
                             has_number, years)
from index.lexical import fold_iy, strip_accents


_SEGMENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[^\s\d])|(?<=:)\s+(?=[-–+])|\n")
SHORT_CLAUSE_CHARS = 320
PAIR_WEIGHT = 1.5


def syllables_plain(text: str) -> list[str]:
    return [fold_iy(s) for s in re.findall(r"[a-z0-9]+(?:[.,][0-9]+)*", strip_accents(text.lower()))]


def has_diacritics(text: str) -> bool:
    return strip_accents(text) != text


def syllables_for(text: str, accented: bool) -> list[str]:
    """Lower-case syllables; accent-free unless the question itself was typed with accents."""
    lowered = text.lower()
    if not accented:
        lowered = strip_accents(lowered)
    return [fold_iy(m.group(0)) if m.group(1) is None else "|"
            for m in re.finditer(r"[^\W_]+(?:[.,][0-9]+)*|([,.;:()!?\-–“”\"])", lowered)]


def terms_of(syllables: list[str]) -> set[str]:
    """Syllables and adjacent pairs: 'thất nghiệp' must match as a phrase, not as two common syllables.

    Pairs never span punctuation: syllables_for marks breaks with '|'.
    """
    words = [s for s in syllables if s != "|"]
    pairs = {f"{a} {b}" for a, b in zip(syllables, syllables[1:]) if "|" not in (a, b)}
    return set(words) | pairs


# Asking words in the spelling syllables_for gives them ('quy định' -> 'qui định').
_FOLDED_STOP = {True: frozenset(fold_iy(w) for w in QUESTION_WORDS_ACCENTED),
                False: frozenset(fold_iy(w) for w in QUESTION_WORDS)}


def with_plain(terms: set[str]) -> set[str]:
    """Accented terms plus '~'-marked accent-free ones, for question words typed with a wrong tone."""
    return terms | {"~" + strip_accents(t) for t in terms}


def content_terms(question: Question, accented: bool, own: bool = False) -> list[str]:
    """Topic terms of the question: syllables and adjacent pairs, asking words, years and
    expanded abbreviations out. ``own``: of the question alone, without what a follow-up borrowed
    from the history."""
    text = expand_abbreviations(question.text) if own else question.search_text
    expanded = {strip_accents(k) for k in abbreviations()}
    stop = _FOLDED_STOP[accented]
    runs: list[list[str]] = [[]]
    for syl in syllables_for(text, accented):
        plain = strip_accents(syl)
        if syl == "|" or syl in stop or plain in expanded or re.fullmatch(r"(19|20)\d\d", plain):
            runs.append([])
        else:
            runs[-1].append(syl)
    terms: list[str] = []
    for run in runs:
        terms += run + [f"{a} {b}" for a, b in zip(run, run[1:])]
    return terms


def proper_names(text: str, acronyms: bool = True) -> list[str]:
    """Runs of capitalised words after the first word ('tỉnh Bắc Ninh' -> ['Bắc Ninh']) and acronyms.

    A question typed (mostly) in capitals says nothing about names: it has none. Without
    ``acronyms`` an all-capital word is not part of a name: officials shorten freely (KCN, CBCCVC,
    NN&MT), so an acronym the document never prints says nothing about what it covers.

    >>> proper_names("Cụm CN của tỉnh Bắc Ninh có TP.HCM"), proper_names("Cụm CN của tỉnh Bắc Ninh", acronyms=False)
    (['CN', 'Bắc Ninh', 'HCM'], ['Bắc Ninh'])
    """
    names: list[str] = []
    run: list[str] = []
    words = re.findall(r"[\wÀ-ỹĐđ]+(?:-[\wÀ-ỹĐđ]+)*", text)
    lettered = [w for w in words if any(ch.isalpha() for ch in w)]
    if len(lettered) >= 3 and 2 * sum(w.isupper() for w in lettered) > len(lettered):
        return []
    for i, word in enumerate(words):
        capital = i > 0 and word[:1].isupper() and len(word) > 1 and not word.isdigit()
        if capital and not (word.isupper() and (not acronyms or word.lower() in abbreviations())):
            run.append(word)
            continue
        if run:
            names.append(" ".join(run))
        run = []
    if run:
        names.append(" ".join(run))
    return names


@dataclass
class Segment:
    text: str
    plain: set[str]
    accented: set[str]

    def terms(self, accented: bool) -> set[str]:
        return self.accented if accented else self.plain


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
    headings: str = ""
    title: str = ""
    lead: str = ""  # the sentence its parent introduces it with ('Sửa đổi điểm b khoản 3 Điều 10 như sau:')
    explicit: bool = False  # the question named this clause or part
    quoting: bool = False  # the clause quotes the number the question names (an amendment of it)
    dense: float = 0.0  # cosine similarity to the question (0 when dense retrieval is off)
    ranks: dict = field(default_factory=dict)  # {"bm25": 3, "dense": 1}: its rank in each signal

    @property
    def years(self) -> set[str]:
        """Years the quoted text speaks of: its own and its Điều's ('… tăng so với năm 2022' in the
        review of 2023 speaks of 2023 too)."""
        return years(" ".join(self.chosen)) | ({self.context_year} if self.context_year else set())
    coverage: float = 0.0  # of the quoted text and headings
    context_coverage: float = 0.0  # of the whole clause with its ancestors
    focus: float = 0.0  # the best segment's score
    own_coverage: float = 0.0  # coverage by the follow-up's own words (= coverage for a new question)
    missing: float = 0.0  # weight of the heaviest question term the quote lacks, relative to the heaviest
    absent: float = 0.0  # share of the question's topic weight its document never uses
    names_absent: bool = False  # the question names a place or person this candidate's document never mentions
    probability: float = 0.0  # that this clause answers the question (assistant/calibration.py)
    eligible: bool = True  # set by assistant/choose.py from the calibrated hard predicates
    why_not: str = ""  # the predicate judge() found failed: "year", "no figure", "no text"
    chosen: list[str] = field(default_factory=list)


def has_figure_in(text: str, unit: str) -> bool:
    """'… đạt 93,8%' holds a figure in '%'; '… 121 triệu đồng' does not."""
    unit_pattern = re.escape(unit).replace("\\ ", r"\s+")
    return re.search(rf"\d[\d.,/]*\s*(?:[^\W\d_]+\s+)?{unit_pattern}(?![^\W\d_])", text, re.I) is not None


def split_segments(text: str) -> list[str]:
    """Sentences; a long list-like sentence is cut further at its ';' items."""
    segments: list[str] = []
    for part in _SEGMENT_SPLIT.split(text):
        part = part.strip()
        if len(part) > 250 and ";" in part:
            segments.extend(p.strip() for p in re.split(r"(?<=;)\s+", part) if p.strip())
        elif part:
            segments.append(part)
    return segments


def context_year(clause_id: str, by_id: dict[str, dict]) -> str | None:
    """The year an Điều speaks of, from its heading or lead sentence ('năm 2024'); none when the
    heading names several ('đến năm 2020 và định hướng đến năm 2030', a plan for 2026 - 2028)."""
    top = by_id.get(clause_id.split("/")[0])
    if not top:
        return None
    found = set(years(f"{top.get('title', '')} {top.get('text', '').split('.')[0]}"))
    return next(iter(found)) if len(found) == 1 else None


def heading_titles(clause: dict, by_id: dict[str, dict]) -> str:
    """'Về xã hội | Các chỉ tiêu chủ yếu | Mục tiêu, nhiệm vụ và giải pháp năm 2024'."""
    titles = [clause.get("title", "")]
    cid = clause.get("parent")
    while cid:
        titles.append(by_id[cid].get("title", ""))
        cid = by_id[cid].get("parent")
    return " | ".join(t for t in titles if t)


def lead(text: str, limit: int = 200) -> str:
    """The sentence that introduces a list: 'Mục tiêu cụ thể đến năm 2030: a) …' -> 'Mục tiêu cụ thể đến năm 2030:'.

    >>> lead("Mục tiêu cụ thể đến năm 2030: giảm 5%. Khác.")
    'Mục tiêu cụ thể đến năm 2030:'
    """
    m = re.match(r"[^:.;\n]*[:.;]?", text)
    return (m.group(0) if m else "")[:limit].strip()


def list_lead(clause: dict, by_id: dict[str, dict]) -> str:
    """The parent's text when it is a short lead ending in ':' that introduces this clause's list.

    >>> list_lead({"parent": "K8"}, {"K8": {"text": "Sửa đổi điểm b khoản 3 Điều 10 như sau:"}})
    'Sửa đổi điểm b khoản 3 Điều 10 như sau:'
    """
    parent = by_id.get(clause.get("parent") or "")
    text = " ".join((parent or {}).get("text", "").split())
    return text if text.endswith(":") and len(text) <= 200 else ""


def clause_context(clause: dict, by_id: dict[str, dict]) -> str:
    """The clause with what its ancestors say about it: their titles, the Điều's text, and each
    lower ancestor's lead sentence (where 'đến năm 2030' or the subject of a list is stated)."""
    parts = []
    cid = clause.get("parent")
    while cid:
        parent = by_id[cid]
        text = parent.get("text", "")
        parts.append(f"{parent.get('title', '')} {text if parent['clause_id'].count('/') == 0 else lead(text)}")
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
                df.update(terms_of(syllables_plain(seg)))
        self.n_segments = max(n, 1)
        self.df = df
        self.accented_vocabulary = set().union(*(
            terms_of(syllables_for(f"{c.get('title', '')} {c.get('text', '')}", True)) for c in clauses))
        self.doc_terms: dict[str, set[str]] = {}  # accent-free syllables and pairs each document uses
        words: dict[str, list[str]] = {}  # each document's accent-free syllables, in order
        # Each document's header (issuer, place, number): a name found there identifies the document.
        self.header_text: dict[str, str] = {}
        for c in clauses:
            plain = syllables_plain(f"{c.get('title', '')} {c.get('text', '')}")
            self.doc_terms.setdefault(c["doc"], set()).update(terms_of(plain))
            words.setdefault(c["doc"], []).append(" ".join(plain))
            if c["clause_id"] == "HEADER":
                self.header_text[c["doc"]] = f" {' '.join(plain)} "
        self.doc_text = {doc: f" {' '.join(parts)} " for doc, parts in words.items()}
        self.plain_text = " ".join(self.doc_text.values())

    def label(self, doc: str, clause: dict) -> str:
        """The clause's legal label; with several documents indexed it names its document too:
        'khoản 2, Điều 1 Nghị quyết 412/NQ-HĐND'."""
        label = clause["label"]
        if len(self.by_doc) > 1:
            name = clause.get("doc_name") or doc
            if name not in label:
                label = f"{label} {name}"
        return label

    def idf(self, term: str) -> float:
        return math.log(1 + self.n_segments / (1 + self.df.get(term, 0)))

    def candidate(self, doc: str, clause_id: str, retrieval: float) -> Candidate | None:
        clause = self.by_key.get((doc, clause_id))
        if clause is None:
            return None
        by_id = self.by_doc[doc]
        text = clause.get("text", "")
        pieces = [text] if len(text) <= SHORT_CLAUSE_CHARS else split_segments(text)
        segments = [Segment(p, terms_of(syllables_for(p, False)), with_plain(terms_of(syllables_for(p, True))))
                    for p in pieces if p]
        return Candidate(doc, clause_id, self.label(doc, clause), retrieval, text, clause_context(clause, by_id),
                         context_year(clause_id, by_id), segments, heading_titles(clause, by_id),
                         clause.get("title", ""), list_lead(clause, by_id))

    def judge(self, question: Question, cand: Candidate) -> None:
        """Fill coverage, eligibility and the chosen segments of one candidate."""
        accented = has_diacritics(question.text)
        terms = content_terms(question, accented)
        if accented:  # 'đô thi hóa', 'việc lam': a word the documents never write this way is matched without tones
            terms = [t if t in self.accented_vocabulary else "~" + strip_accents(t) for t in terms]
        # A pair of syllables names the concept ("dân số", "thất nghiệp"): it weighs more than its parts.
        weights = {t: self.idf(strip_accents(t.lstrip("~"))) * (PAIR_WEIGHT if " " in t else 1.0) for t in set(terms)}
        # 'Nhiệm vụ của tỉnh X năm 2024' of X's own resolution: X names the document, not a topic its clauses
        # must repeat (a name the document does not know is missing_names' business).
        identity = self.identity_terms(question, cand.doc)
        if identity:
            weights = {t: w for t, w in weights.items()
                       if " ".join(syllables_plain(t.lstrip("~"))) not in identity} or weights
        total = sum(weights.values()) or 1.0
        context_terms = terms_of(syllables_for(cand.context, accented))
        if accented:
            context_terms = with_plain(context_terms)
        cand.coverage = cand.context_coverage = sum(w for t, w in weights.items() if t in context_terms) / total
        if not cand.segments:
            cand.why_not = "no text"
            return
        if question.years and not cand.explicit:
            in_context = years(cand.context) | ({cand.context_year} if cand.context_year else set())
            if not question.years & in_context:
                cand.why_not = "year"
        scored = []
        for seg in cand.segments:
            seg_terms = seg.terms(accented)
            matched = sum(w for t, w in weights.items() if t in seg_terms)
            s = matched / total
            # Focus: prefer the segment that is about the question (an indicator stated on its
            # own) over a long one that mentions it in passing.
            own = [t for t in seg_terms if " " not in t and not t.startswith("~")]
            s += 0.2 * min(1.0, len([t for t in weights if t in seg_terms and " " not in t]) / max(len(own), 1) * 2)
            seg_years = years(seg.text)
            if question.years and question.years & (seg_years or {cand.context_year}):
                s += 0.15
            if question.quantity and has_number(seg.text):
                s += 0.1
            scored.append((s, seg))
        by_position = list(scored)
        scored.sort(key=lambda x: -x[0])
        best = cand.focus = scored[0][0]
        chosen = [seg for s, seg in scored if s >= max(best * 0.75, 0.05)][:2]
        top_at = next(i for i, (_, seg) in enumerate(by_position) if seg is scored[0][1])
        for j in (top_at - 1, top_at + 1):  # a figure often continues in the next item
            if 0 <= j < len(by_position) and by_position[j][0] >= 0.5 * best and len(chosen) < 3:
                if by_position[j][1] not in chosen:
                    chosen.append(by_position[j][1])
        if question.quantity:
            def holds_figure(text: str) -> bool:
                return has_figure_in(text, question.unit) if question.unit else has_number(text)

            numeric = [seg for seg in chosen if holds_figure(seg.text)]
            if not numeric:
                numeric = [seg for s, seg in scored if holds_figure(seg.text) and s >= best * 0.5][:1]
            if not numeric:
                cand.why_not = "no figure"
            chosen = numeric or chosen
        rule = question.section_quote.get(cand.clause_id) if cand.explicit else None
        if rule:  # 'ai ký' -> the signature lines, 'hiệu lực' -> the adoption sentence
            where, _, n = rule.partition(":")
            chosen = (cand.segments if where == "all" else
                      cand.segments[-int(n):] if where == "last" else cand.segments[: int(n)])
        # keep document order for readability
        order = {id(seg): i for i, seg in enumerate(cand.segments)}
        cand.chosen = [seg.text for seg in sorted(chosen, key=lambda seg: order[id(seg)])]
        if question.years and not cand.explicit and not cand.why_not:
            # The year asked must be the year of the quoted text, not one named elsewhere in the
            # clause: 2023's review says 'so với năm 2022' about investment, not about revenue.
            quoted_years = years(" ".join(cand.chosen)) | ({cand.context_year} if cand.context_year else set())
            if not question.years & quoted_years:
                cand.why_not = "year"
        # What must answer the question is the quoted text (under its headings), not the whole clause.
        quoted = terms_of(syllables_for(" ".join(cand.chosen) + " | " + cand.headings, accented))
        if accented:
            quoted = with_plain(quoted)
        cand.coverage = sum(w for t, w in weights.items() if t in quoted) / total
        cand.own_coverage = cand.coverage
        if question.followup:  # 'Còn về y tế thì sao?': does the quote speak of the new topic?
            own = set(content_terms(question, accented, own=True))
            if accented:
                own = {t if t in self.accented_vocabulary else "~" + strip_accents(t) for t in own}
            own_weight = sum(weights.get(t, 0.0) for t in own)
            cand.own_coverage = sum(weights.get(t, 0.0) for t in own if t in quoted) / own_weight if own_weight else 0.0
        # The heaviest topic term the quote lacks, and the topic the document never speaks of:
        # a near miss ('the reserve within the budget') differs from its answer by one such term.
        lacking = [w for t, w in weights.items() if t not in quoted]
        cand.missing = max(lacking) / max(weights.values()) if lacking else 0.0
        cand.names_absent = bool(self.missing_names(question, cand.doc))
        vocabulary = self.doc_terms.get(cand.doc, set())
        cand.absent = sum(w for t, w in weights.items() if strip_accents(t.lstrip("~")) not in vocabulary) / total

    def identity_terms(self, question: Question, doc: str) -> set[str]:
        """Accent-free syllables (and pairs) of the question's proper names that the document's header
        holds: the issuer's place or body names the document itself.

        >>> from assistant.query import analyse
        >>> sel = EvidenceSelector([{"doc": "d", "clause_id": "HEADER", "text": "ỦY BAN NHÂN DÂN TỈNH BẮC NINH"},
        ...                         {"doc": "d", "clause_id": "D1", "text": "Phát triển Khu công nghiệp Quế Võ."}])
        >>> sorted(sel.identity_terms(analyse("Tỉnh Bắc Ninh phát triển khu công nghiệp Quế Võ thế nào?"), "d"))
        ['bac', 'bac ninh', 'ninh']
        """
        header = self.header_text.get(doc, " ")
        found: set[str] = set()
        for name in proper_names(question.text, acronyms=False):
            syllables = syllables_plain(name)
            if syllables and f" {' '.join(syllables)} " in header:
                found |= terms_of(syllables)
        return found

    def missing_names(self, question: Question, doc: str | None = None) -> list[str]:
        """Proper names in the question that the documents (or document ``doc``) never mention: another
        province, a person not in the text. Of one document: a resolution of Hà Nội does not answer what
        'TP Hồ Chí Minh quy định', even when another indexed document speaks of Hồ Chí Minh."""
        text = self.doc_text.get(doc, " ") if doc is not None else self.plain_text
        return [name for name in proper_names(question.text, acronyms=False)
                if f" {' '.join(syllables_plain(name))} " not in text]


def wants_comparison(question: Question) -> bool:
    return question.compare or len(question.years) > 1
