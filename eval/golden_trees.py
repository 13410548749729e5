"""Compare the parser with the golden trees in tests/golden/corpus (written blind from the documents).

    python -m eval.golden_trees [--show N] [NAME …]

Prints, for the development corpus and the held-out documents, per document: golden units,
the share whose id exists with the same first words,
missing and extra ids, warnings, words lost, the longest clause against the longest paragraph.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from index.load import load_document
from index.parse import parse_document
from index.report import longest_paragraph, words_lost

TESTS = Path(__file__).resolve().parent.parent / "tests"
GOLDEN_DIR = TESTS / "golden" / "corpus"  # the 18 documents the parser was developed on
HELDOUT_DIR = TESTS / "golden" / "heldout"  # documents the parser was never tuned on
TEST_DIR = TESTS / "golden" / "test"  # run only to report: never looked at to fix the parser
SETS = {"corpus": (GOLDEN_DIR, TESTS / "corpus"), "heldout": (HELDOUT_DIR, TESTS / "corpus_heldout"),
        "test": (TEST_DIR, TESTS / "corpus_test")}
_EDGE = "“”\"'()[],.;:…"


def norm_words(text: str, n: int = 5) -> list[str]:
    """First ``n`` words (tokens with a letter or digit), NFC, quotes and edge punctuation off.

    >>> norm_words("“Điều 6. Quy trình - thực hiện”", 4)
    ['Điều', '6', 'Quy', 'trình']
    """
    out = []
    for tok in unicodedata.normalize("NFC", text).split():
        if any(ch.isalnum() for ch in tok):
            out.append(tok.strip(_EDGE))
        if len(out) == n:
            break
    return out


@dataclass
class DocScore:
    name: str
    golden: int
    right: int
    missing: list[str]
    extra: list[str]
    wrong_words: list[tuple[str, str, str]]
    warnings: int
    lost: int
    longest_clause: int
    longest_paragraph: int

    @property
    def share(self) -> float:
        return self.right / self.golden if self.golden else 1.0


def score(source: Path, golden_file: Path) -> DocScore:
    golden = json.loads(golden_file.read_text(encoding="utf-8"))
    text = load_document(source)
    result = parse_document(text)
    by_id = {c.clause_id: c for c in result.clauses}
    right, missing, wrong = 0, [], []
    for g in golden:
        c = by_id.get(g["clause_id"])
        if c is None:
            missing.append(g["clause_id"])
            continue
        want = norm_words(g["first_words"])
        got = norm_words(f"{c.title} {c.text}")[: len(want)] if want else norm_words(f"{c.title} {c.text}")
        if got == want or (not want and not got):
            right += 1
        else:
            wrong.append((g["clause_id"], " ".join(want), " ".join(got)))
    gold_ids = {g["clause_id"] for g in golden}
    extra = [c.clause_id for c in result.clauses if c.clause_id not in gold_ids]
    longest = max((len(c.text) for c in result.clauses), default=0)
    return DocScore(source.name, len(golden), right, missing, extra, wrong, len(result.warnings),
                    words_lost(text, result.clauses), longest, longest_paragraph(text))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--show", type=int, default=0, help="print up to N differences per document")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args(argv)
    for set_name, (golden_dir, corpus_dir) in SETS.items():
        files = sorted(golden_dir.glob("*.json"))
        if not files:
            continue
        total_g = total_r = 0
        print(f"\n[{set_name}] {'document':<50} {'units':>5} {'right':>6} {'miss':>4} {'extra':>5} {'warn':>4} "
              f"{'lost':>4} {'longest':>8} {'para':>6} {'ms':>5}")
        for gf in files:
            if args.names and not any(n in gf.stem for n in args.names):
                continue
            started = time.perf_counter()
            s = score(corpus_dir / f"{gf.stem}.txt", gf)
            ms = (time.perf_counter() - started) * 1000
            total_g += s.golden
            total_r += s.right
            print(f"{gf.stem[:60]:<60} {s.golden:>5} {s.share:>6.3f} {len(s.missing):>4} {len(s.extra):>5} "
                  f"{s.warnings:>4} {s.lost:>4} {s.longest_clause:>8} {s.longest_paragraph:>6} {ms:>5.0f}")
            if args.show:
                for cid in s.missing[: args.show]:
                    print(f"    missing {cid}")
                for cid in s.extra[: args.show]:
                    print(f"    extra   {cid}")
                for cid, want, got in s.wrong_words[: args.show]:
                    print(f"    words   {cid}: want {want!r} got {got!r}")
        print(f"overall [{set_name}] {total_r}/{total_g} = {total_r / max(total_g, 1):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
