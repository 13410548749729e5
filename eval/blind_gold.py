"""Resolve the blind question sets (eval/blind/*.jsonl) to gold clause ids.

The writers never saw the code: each question names its document and quotes the passage that
answers it (``evidence``, an exact substring of the document). The gold clause is the unit whose
own text holds that passage; a passage that crosses units gets every unit it touches.

    python -m eval.blind_gold            # writes eval/blind/resolved/<writer>.jsonl, prints a summary

A passage found in no unit would mean the parser split or glued text wrongly: it is listed.
"""
from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

from index.load import clean_text, load_document
from index.parse import parse_clauses

HERE = Path(__file__).resolve().parent
BLIND = HERE / "blind"
REPO = HERE.parent
DOC_DIRS = (REPO / "data", REPO / "tests" / "corpus", REPO / "tests" / "corpus_heldout", REPO / "tests" / "corpus_test")


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _doc_path(name: str) -> Path:
    for folder in DOC_DIRS:
        if (folder / name).exists():
            return folder / name
    raise FileNotFoundError(name)


def gold_ids(evidence: str, clauses) -> list[str]:
    """Ids of the units that hold ``evidence``: one when it lies inside a unit, several when it crosses."""
    want = _norm(clean_text(evidence))  # the same cleaning as the document (OCR scraps, markup)
    inside = [c.clause_id for c in clauses if want in _norm(f"{c.title} {c.text}")]
    if inside:
        return inside[:1] if len(inside) == 1 else inside
    # Crossing units: the shortest run of consecutive units whose joined text holds it.
    texts = [_norm(f"{c.marker} {c.title} {c.text}") for c in clauses]
    for size in range(2, 6):
        for i in range(len(clauses) - size + 1):
            if want in " ".join(texts[i:i + size]):
                return [c.clause_id for c in clauses[i:i + size]]
    return []


def main() -> int:
    out_dir = BLIND / "resolved"
    out_dir.mkdir(exist_ok=True)
    cache: dict[str, list] = {}
    for path in sorted(BLIND.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        single = crossing = missing = 0
        for row in rows:
            if row["doc"] not in cache:
                cache[row["doc"]] = parse_clauses(load_document(_doc_path(row["doc"])))
            ids = gold_ids(row["evidence"], cache[row["doc"]]) if row.get("evidence") else []
            row["gold"] = ids
            if row.get("answerable"):
                single += len(ids) == 1
                crossing += len(ids) > 1
                if not ids:
                    missing += 1
                    print(f"  not found: {row['id']} {row['evidence'][:60]!r}")
        (out_dir / path.name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                         encoding="utf-8")
        print(f"{path.name}: {len(rows)} questions; answerable evidence in one unit {single}, "
              f"across units {crossing}, not found {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
