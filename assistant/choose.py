"""The choice across candidates: which clauses answer, or why none does.

Each candidate gets the calibrated probability that it answers the question (the ranker); the
best eligible one answers when the question's answerability, read from that candidate, reaches
the calibrated threshold. Beside it are cited: sibling
clauses nearly as probable (who supervises: khoản 2 and khoản 3), and for a comparison one
clause per year asked. Nothing here is a hand-set weight: ratios and thresholds come from the
calibration file.
"""
from __future__ import annotations

from dataclasses import replace

from assistant.calibration import Calibration
from assistant.evidence import Candidate, wants_comparison
from assistant.features import Reason, features, reasons
from assistant.query import Question


def choose(question: Question, candidates: list[Candidate], calibration: Calibration,
           names_missing: bool, per_year: dict[str, list[Candidate]] | None = None
           ) -> tuple[list[Candidate], Reason, float]:
    """(evidence, reason, answerability); empty evidence means 'not in the resolution'.

    ``per_year``: for a comparison, the candidates read as if only that year were asked
    (Assistant.per_year); the best of them for each year not yet covered is cited too.
    """
    if question.unknown_clause:  # 'chỉ tiêu (25)' of a document with 21, quoted nowhere either
        return [], Reason.CLAUSE, 0.0
    named = [c for c in candidates if c.explicit or c.quoting]
    if not candidates:
        return [], Reason.NOTHING_RETRIEVED, 0.0
    rows = features(question, candidates, names_missing)
    for cand, row in zip(candidates, rows):
        cand.probability = calibration.rank(row)
        cand.eligible = not _hard(question, cand, calibration, names_missing)
    # A question that names a clause is answered from that clause or its parts (or, for a clause of the
    # document amended, from the clauses that quote its number), never from another.
    scope = [i for i, c in enumerate(candidates) if _within(c, named)] if named else range(len(candidates))
    order = sorted((i for i in scope if candidates[i].eligible), key=lambda i: -candidates[i].probability)
    if not order:
        return [], (_hard(question, candidates[0], calibration, names_missing) or [Reason.LOW_CONFIDENCE])[0], 0.0
    eligible = [candidates[i] for i in order]
    best = eligible[0]
    runner_up = eligible[1].probability if len(eligible) > 1 else 0.0
    answerability = calibration.answerable(rows[order[0]], best.probability, runner_up)
    # Named and failing no predicate (year, figure, name), the clause answers whatever its probability:
    # the question says which clause it is about.
    vouched = best.explicit and not [r for r in reasons(question, best, names_missing) if r is not Reason.NO_TEXT]
    if answerability < calibration.threshold and not vouched:
        return [], _refusal_reason(question, candidates, names_missing), answerability
    evidence = [best]
    if wants_comparison(question):
        for year in sorted(question.years):
            if len(evidence) < 3 and year not in set().union(*(e.years for e in evidence)):
                match = year_partner(replace(question, years={year}), (per_year or {}).get(year, []), evidence,
                                     calibration, names_missing)
                if match is not None and match.probability >= calibration.compare_ratio * best.probability:
                    evidence.append(match)
    elif "/" in best.clause_id:
        parent = best.clause_id.rsplit("/", 1)[0]
        for c in eligible[1:3]:
            if c.probability >= calibration.sibling_ratio * best.probability and c.doc == best.doc \
                    and c.clause_id.rsplit("/", 1)[0] == parent:
                evidence.append(c)
    return evidence, Reason.ANSWERED, answerability


def year_partner(asked: Question, pool: list[Candidate], evidence: list[Candidate], calibration: Calibration,
                 names_missing: bool) -> Candidate | None:
    """The most probable clause for one year of a comparison, not already cited."""
    year = next(iter(asked.years))
    taken = {(e.doc, e.clause_id) for e in evidence}
    for cand, row in zip(pool, features(asked, pool, names_missing)):
        cand.probability = calibration.rank(row)
    options = [c for c in pool if year in c.years and (c.doc, c.clause_id) not in taken
               and not _hard(asked, c, calibration, names_missing)]
    return max(options, key=lambda c: c.probability, default=None)


def _within(cand: Candidate, named: list[Candidate]) -> bool:
    """The candidate is a named clause or one of its parts."""
    return any(cand.doc == n.doc and (cand.clause_id == n.clause_id or cand.clause_id.startswith(n.clause_id + "/"))
               for n in named)


def _hard(question: Question, cand: Candidate, calibration: Calibration, names_missing: bool) -> list[Reason]:
    return [r for r in reasons(question, cand, names_missing) if r in calibration.hard]


def _refusal_reason(question: Question, candidates: list[Candidate], names_missing: bool) -> Reason:
    """The most telling predicate the top candidates fail; else low confidence."""
    for cand in candidates[:3]:
        for reason in reasons(question, cand, names_missing):
            if reason is not Reason.NO_TEXT:
                return reason
    return Reason.LOW_CONFIDENCE
