"""Follow-up questions offered under an answer, built from the document's structure, never invented.

Each suggestion points at something the document holds: the earlier year's result of the target just
cited (only when one sentence of the document clearly names that indicator, see assistant.targets), the
target behind a result just cited, and the clause that contains the cited one. A pure function over the
clause list: no model, no retrieval.

>>> clauses = [
...     {"doc": "d", "clause_id": "D2/K2", "kind": "K", "label": "khoản 2, Điều 2", "title": "Các chỉ tiêu chủ yếu",
...      "parent": "D2"},
...     {"doc": "d", "clause_id": "D2/K2/CT1", "kind": "CT", "label": "chỉ tiêu (1), khoản 2, Điều 2",
...      "parent": "D2/K2", "title": ""}]
>>> rows = [Target(1, "D2/K2/CT1", "chỉ tiêu (1)", "d", "", "Tỷ lệ đô thị hóa", "đạt 46%",
...                result_2023="tỷ lệ đô thị hóa đạt 45%", result_clause_id="D1/K1")]
>>> follow_ups([{"doc": "d", "clause_id": "D2/K2/CT1"}], clauses, rows, {"d": 2024})
['Tỷ lệ đô thị hóa năm 2023 đạt bao nhiêu?', 'Khoản 2, Điều 2 (Các chỉ tiêu chủ yếu) quy định những gì?']
"""
from __future__ import annotations

from assistant.targets import Target

MAX_SUGGESTIONS = 3
MAX_TITLE_CHARS = 60  # a long heading is cut at a word in the suggestion


def follow_ups(citations: list[dict], clauses: list[dict], targets: list[Target], years: dict[str, int | None],
               *, asked: str = "", limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``limit`` questions about the cited clauses' neighbours in the document.

    ``targets``: the numbered targets of the index (assistant.targets.parse_targets); ``years``: the plan
    year of each document (None when its title names none); ``asked``: the question just answered, never
    offered again.
    """
    by_key = {(c.get("doc", ""), c["clause_id"]): c for c in clauses}
    target_of = {(t.doc, t.clause_id): t for t in targets}
    out: list[str] = []

    def offer(text: str) -> None:
        if text and text.casefold() != asked.strip().casefold() and text not in out:
            out.append(text)

    for cit in citations[:2]:
        doc, cid = cit.get("doc", ""), cit["clause_id"]
        year = years.get(doc)
        target = target_of.get((doc, cid))
        if target is not None and target.result_2023:
            offer(f"{target.indicator} năm {year - 1 if year else 'trước'} đạt bao nhiêu?")
        for other in targets:  # a result clause cited: the target that names the same indicator
            if (other.doc == doc and other.result_clause_id == cid and other.result_2023
                    and other.result_2023 in (cit.get("quote") or other.result_2023)):
                offer(f"Chỉ tiêu {_lower_first(other.indicator)} năm {year or 'tới'} là bao nhiêu?")
                break
    for cit in citations[:2]:
        parent = by_key.get((cit.get("doc", ""), by_key.get((cit.get("doc", ""), cit["clause_id"]), {}).get("parent")))
        if parent and parent.get("label"):
            title = _short(parent.get("title") or "")
            offer(_upper_first(parent["label"]) + (f" ({title})" if title else "") + " quy định những gì?")
    return out[:limit]


def _short(text: str, limit: int = MAX_TITLE_CHARS) -> str:
    """'Về phát triển công nghiệp, xây dựng và đô thị' stays; a longer heading is cut at a word.

    >>> _short("một hai ba bốn", 9)
    'một hai…'
    """
    text = " ".join(text.split()).rstrip(" .:;")
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + "…"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    """'Tỷ lệ hộ nghèo' -> 'tỷ lệ hộ nghèo'; an abbreviation ('GRDP …') is left as it is."""
    return text if text[:2].isupper() else text[:1].lower() + text[1:]
