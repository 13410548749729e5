"""Scoring, as pure functions: one question's result -> a scored row; rows -> metrics.

A *result* is what any system (the assistant or a baseline) returned for one question:

    {"ranked": [clause ids, best first], "answer": str, "answered": bool,
     "cited": [clause ids], "contexts": [texts, best first], "removed_sentences": int,
     "cited_sources": [texts of the cited clauses], "cited_labels": [labels],
     "latency_ms": float, "retrieve_ms": float, "error": str | None}

Missing keys mean "does not apply" (a baseline has no grounding guard, for example).
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict

K_RANKING = 10
RETRIEVAL_KEYS = ("recall@1", "recall@3", "recall@5", "mrr@10", "all_gold@5")
ALIASES = {"mrr": "mrr@10", "r@1": "recall@1", "r@3": "recall@3", "r@5": "recall@5"}

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


# -- text ------------------------------------------------------------------
def squash(text: str) -> str:
    r"""NFC and whitespace folded: 'Số: 412/NQ-HĐND\nHưng  Yên' -> 'Số: 412/NQ-HĐND Hưng Yên'."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text or "")).strip()


def facts_found(text: str, facts: list[str]) -> list[bool]:
    """Which facts occur verbatim (after NFC and whitespace folding) in ``text``; case counts."""
    haystack = squash(text)
    return [squash(f) in haystack for f in facts]


def fact_figures(text: str, facts: list[str], labels: list[str] = ()) -> float | None:
    """1.0 when every figure of the expected facts is in the answer, worded as it may be; None without figures.

    Fair to generated answers, which say 'xây dựng năm 2024 tăng 10%' for the fact 'xây dựng tăng: 10%'.
    """
    from assistant.ground import grounded, numbers_in, strip_citations

    wanted = [n for fact in facts for n in numbers_in(fact)]
    if not wanted:
        return None
    text = strip_citations(text, list(labels))  # 'chỉ tiêu (2)' does not state 2%
    return 1.0 if all(grounded(n, text) for n in wanted) else 0.0


# -- ranking ---------------------------------------------------------------
def first_hit_rank(ranked: list[str], ok: set[str]) -> int | None:
    """1-based rank of the first acceptable clause: (['A', 'B'], {'B'}) -> 2."""
    for i, clause_id in enumerate(ranked, 1):
        if clause_id in ok:
            return i
    return None


def recall_at(ranked: list[str], ok: set[str], k: int) -> float:
    rank = first_hit_rank(ranked[:k], ok)
    return 1.0 if rank is not None else 0.0


def reciprocal_rank(ranked: list[str], ok: set[str], k: int = K_RANKING) -> float:
    rank = first_hit_rank(ranked[:k], ok)
    return 1.0 / rank if rank else 0.0


def all_gold_in(ranked: list[str], gold: list[str], k: int = 5) -> float:
    """Every gold clause (not just one) among the first ``k``: for questions needing several."""
    top = set(ranked[:k])
    return 1.0 if all(g in top for g in gold) else 0.0


# -- citations and grounding -----------------------------------------------
def citation_counts(cited: list[str], ok: set[str]) -> tuple[int, int]:
    """(cited ids that are acceptable, cited ids); each id counted once."""
    unique = list(dict.fromkeys(cited))
    return sum(1 for c in unique if c in ok), len(unique)


def numbers_in(text: str) -> list[str]:
    """'tăng 7,5-8%, ngày 07/12/2023' -> ['7,5', '8', '07', '12', '2023']."""
    return _NUMBER.findall(text)


def ungrounded_numbers(answer: str, labels: list[str], sources: list[str]) -> list[str]:
    """Numbers in the answer (citation labels taken out) that no cited source contains.

    >>> ungrounded_numbers('GRDP tăng 9% (chỉ tiêu (1))', ['chỉ tiêu (1)'], ['tăng 7,5-8%'])
    ['9']
    """
    text = squash(answer)
    for label in sorted({squash(l) for l in labels if l}, key=len, reverse=True):
        text = text.replace(label, " ")
    source = " ".join(squash(s) for s in sources)
    missing = []
    for number in numbers_in(text):
        # whole numbers only: '8' must not match inside '8,5' or '18'
        if not re.search(rf"(?<![\d])(?<!\d[.,]){re.escape(number)}(?![\d]|[.,]\d)", source):
            missing.append(number)
    return missing


# -- one question ----------------------------------------------------------
def score_question(question: dict, result: dict) -> dict:
    """The scores of one result; ``None`` where a score does not apply to this question."""
    gold = list(question.get("gold") or [])
    ok = set(gold) | set(question.get("also_ok") or [])
    facts = list(question.get("facts") or [])
    expected = bool(question.get("answerable", True))
    ranked = list(result.get("ranked") or [])[:K_RANKING]
    answered = bool(result.get("answered"))
    answer = result.get("answer") or ""
    cited = list(result.get("cited") or [])
    row: dict = {
        "id": question["id"], "kind": question.get("kind", "?"), "question": question["question"],
        "expected_answerable": expected, "gold": gold, "also_ok": sorted(set(question.get("also_ok") or [])),
        "facts": facts, "ranked": ranked, "answer": answer, "answered": answered, "cited": cited,
        "latency_ms": result.get("latency_ms"), "retrieve_ms": result.get("retrieve_ms"),
        "first_token_ms": result.get("first_token_ms"), "error": result.get("error"),
    }
    retrieval = expected and bool(ok)
    row["rank"] = first_hit_rank(ranked, ok) if retrieval else None
    for k in (1, 3, 5):
        row[f"recall@{k}"] = recall_at(ranked, ok, k) if retrieval else None
    row["mrr@10"] = reciprocal_rank(ranked, ok) if retrieval else None
    row["all_gold@5"] = all_gold_in(ranked, gold) if retrieval and len(gold) > 1 else None

    if expected and facts:
        found = facts_found(answer, facts)
        row["facts_found"] = found
        row["all_facts"] = 1.0 if all(found) else 0.0
        row["fact_coverage"] = sum(found) / len(found)
        contexts = result.get("contexts")
        row["facts_in_top5"] = (1.0 if all(facts_found(" ".join(contexts[:5]), facts)) else 0.0) \
            if contexts is not None else None
        row["fact_figures"] = fact_figures(answer, facts, result.get("cited_labels") or [])
    else:
        row["facts_found"] = row["all_facts"] = row["fact_coverage"] = row["facts_in_top5"] = None
        row["fact_figures"] = None

    if expected and answered and ok:
        good, total = citation_counts(cited, ok)
        row["citation_hit"] = 1.0 if good else 0.0
        row["cited_ok"], row["cited_total"] = good, total
    else:
        row["citation_hit"] = row["cited_ok"] = row["cited_total"] = None
    row["refusal_acc"] = (0.0 if answered else 1.0) if not expected else None
    row["false_refusal"] = (0.0 if answered else 1.0) if expected else None

    removed = result.get("removed_sentences")
    row["grounding_removed"] = removed
    if answered and "cited_sources" in result:
        row["ungrounded"] = ungrounded_numbers(answer, result.get("cited_labels") or [], result["cited_sources"])
        row["grounding_violations"] = 1 if row["ungrounded"] else 0
    else:
        row["ungrounded"], row["grounding_violations"] = None, None
    row["failed"] = is_failure(row)
    return row


def is_failure(row: dict) -> bool:
    """Wrong for a person reading the answer: refused, missed a fact, cited nothing right,
    stated an ungrounded number, or answered the unanswerable."""
    if row.get("error"):
        return True
    if not row["expected_answerable"]:
        return row["answered"]
    return (not row["answered"]) or row["all_facts"] == 0.0 or row["citation_hit"] == 0.0 \
        or bool(row.get("grounding_violations"))


# -- aggregation -----------------------------------------------------------
def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def percentile(values, p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default): ([1, 2, 3, 4], 50) -> 2.5."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    pos = (len(values) - 1) * p / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def summarise(rows: list[dict]) -> dict:
    """Metrics over ``rows``; each with the number of questions it is averaged over (``n_<key>``)."""
    out: dict = {"questions": len(rows)}
    for key in RETRIEVAL_KEYS + ("all_facts", "fact_coverage", "fact_figures", "facts_in_top5", "citation_hit",
                                 "refusal_acc", "false_refusal"):
        values = [r.get(key) for r in rows if r.get(key) is not None]
        out[key] = mean(values)
        out[f"n_{key}"] = len(values)
    cited_ok = sum(r["cited_ok"] for r in rows if r.get("cited_ok") is not None)
    cited_total = sum(r["cited_total"] for r in rows if r.get("cited_total") is not None)
    out["citation_precision"] = cited_ok / cited_total if cited_total else None
    out["n_citation_precision"] = cited_total
    removed = [r["grounding_removed"] for r in rows if r.get("grounding_removed") is not None]
    out["grounding_removed"] = sum(removed) if removed else None
    violations = [r["grounding_violations"] for r in rows if r.get("grounding_violations") is not None]
    out["grounding_violations"] = sum(violations) if violations else None
    out["n_grounding_violations"] = len(violations)
    latencies = [r.get("latency_ms") for r in rows]
    out["p50_ms"], out["p95_ms"] = percentile(latencies, 50), percentile(latencies, 95)
    retrieves = [r.get("retrieve_ms") for r in rows]
    out["retrieve_p50_ms"], out["retrieve_p95_ms"] = percentile(retrieves, 50), percentile(retrieves, 95)
    first = [r.get("first_token_ms") for r in rows]
    out["first_token_p50_ms"], out["first_token_p95_ms"] = percentile(first, 50), percentile(first, 95)
    out["errors"] = sum(1 for r in rows if r.get("error"))
    out["failed"] = sum(1 for r in rows if r.get("failed"))
    return out


def aggregate(rows: list[dict]) -> dict:
    """{'overall': summary, 'per_kind': {kind: summary}}."""
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_kind[row["kind"]].append(row)
    return {"overall": summarise(rows), "per_kind": {k: summarise(v) for k, v in sorted(by_kind.items())}}


HEADLINE_KEYS = ("recall@1", "recall@3", "recall@5", "mrr@10", "all_gold@5", "all_facts", "fact_coverage", "fact_figures",
                 "facts_in_top5", "citation_hit", "citation_precision", "refusal_acc", "false_refusal",
                 "grounding_removed", "grounding_violations", "p50_ms", "p95_ms", "first_token_p50_ms", "errors")


def headline(summary: dict) -> dict:
    return {k: summary.get(k) for k in HEADLINE_KEYS}


# -- thresholds ------------------------------------------------------------
def parse_bound(text: str) -> tuple[str, float]:
    """'all_facts=0.9' -> ('all_facts', 0.9); 'mrr=0.5' -> ('mrr@10', 0.5)."""
    key, sep, value = text.partition("=")
    key = ALIASES.get(key.strip(), key.strip())
    if not sep or key not in HEADLINE_KEYS:
        raise ValueError(f"expected KEY=VALUE with KEY one of: {', '.join(HEADLINE_KEYS)}; got {text!r}")
    try:
        return key, float(value)
    except ValueError:
        raise ValueError(f"not a number in {text!r}") from None


def check_bounds(values: dict, minima: dict[str, float], maxima: dict[str, float]) -> list[str]:
    """Messages for every bound broken; a metric that could not be computed breaks its bound."""
    broken = []
    for key, bound in minima.items():
        value = values.get(key)
        if value is None or value < bound:
            broken.append(f"{key} = {_fmt(value)} < min {bound:g}")
    for key, bound in maxima.items():
        value = values.get(key)
        if value is None or value > bound:
            broken.append(f"{key} = {_fmt(value)} > max {bound:g}")
    return broken


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"
