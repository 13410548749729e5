"""Fit the answer decision on the train split, choose its threshold on dev, write the calibration file.

    python -m eval.calibrate --index train=DIR --index dev=DIR

Each split's questions (eval/splits.json; blind sets resolved by ``python -m eval.blind_gold``)
are run through retrieval and evidence reading on an index holding the split's documents
(``python -m eval.calibrate --documents train`` prints them). Every (question, candidate clause)
pair becomes one row of ``Features``, labelled 1 when the clause is a gold one. A logistic
regression is fitted on train rows; on dev the procedure chooses the regularisation, which
failed predicates exclude a candidate outright, the sibling ratio and the answer threshold (the
highest one whose false refusal stays within ``--max-false-refusal``), prints the curve, and
writes ``assistant/data/calibration/<model>.json``. The test split is never read here.
Features are cached in var/calibration/ (``--refresh`` recomputes them).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant.calibration import ANSWER_EXTRA, CALIBRATION_DIR, Calibration, Linear, answer_inputs
from assistant.features import Features, Reason

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = REPO / "var" / "calibration"
HARD_VARIANTS = ((), (Reason.NAME,), (Reason.NAME, Reason.YEAR), (Reason.NAME, Reason.YEAR, Reason.FIGURE))
C_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
SIBLING_GRID = (0.7, 0.8, 0.9, 0.95, 1.01)  # 1.01: never cite a sibling
COMPARE_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.01)  # ranker probability relative to the best clause's


@dataclass
class Row:
    """One question with its candidates, as the decision sees them."""

    qid: str
    answerable: bool
    kind: str
    candidates: list[dict]  # {"clause_id", "features": [...], "reasons": [...], "years": [...], "label": 0/1}
    years: list[str]  # asked about
    compare: bool
    per_year: dict = field(default_factory=dict)  # year -> candidates read as if only that year were asked


def split_files(split: str) -> list[Path]:
    names = json.loads((HERE / "splits.json").read_text(encoding="utf-8"))[split]
    files = []
    for name in names:
        path = REPO / name
        resolved = path.parent / "resolved" / path.name
        files.append(resolved if path.parent.name == "blind" else path)
    return files


def split_questions(split: str) -> list[dict]:
    from eval.runner import load_questions

    missing = [p for p in split_files(split) if not p.exists()]
    if missing:
        raise SystemExit(f"missing {missing[0]}: run python -m eval.blind_gold first")
    return [q for path in split_files(split) for q in load_questions(path)]


def split_documents(split: str) -> list[Path]:
    """The documents a split's questions are asked of (questions without 'doc' ask the default one)."""
    from core.config import Settings
    from eval.blind_gold import _doc_path

    docs = list(Settings().documents)
    for q in split_questions(split):
        if q.get("doc"):
            path = _doc_path(q["doc"])
            if path not in docs:
                docs.append(path)
    return docs


def extract(assistant, questions: list[dict]) -> list[Row]:
    """Run retrieval and evidence reading once per question; the features of every candidate."""
    from core.errors import AssistantError
    from assistant.evidence import wants_comparison
    from assistant.features import features, reasons
    from eval.runner import question_doc

    keys = {d["key"] for d in assistant.index.documents}
    rows = []
    for n, q in enumerate(questions, 1):
        ok = set(q.get("gold") or []) | set(q.get("also_ok") or [])
        try:
            question, cands, names_missing = assistant.candidates(q["question"], q.get("history") or None,
                                                                  question_doc(q, keys))
        except AssistantError:
            question, cands, names_missing = None, [], False
        table = features(question, cands, names_missing) if cands else []
        per_year = {}
        for year, pool in (assistant.per_year(question, cands) if cands else {}).items():
            asked = replace(question, years={year})
            per_year[year] = [{"clause_id": c.clause_id, "features": f.vector(), "years": sorted(c.years),
                               "reasons": [r.value for r in reasons(asked, c, names_missing)],
                               "label": int(bool(q["answerable"]) and c.clause_id in ok)}
                              for c, f in zip(pool, features(asked, pool, names_missing))]
        rows.append(Row(q["id"], bool(q["answerable"]), q.get("kind", "?"), [
            {"clause_id": c.clause_id, "features": f.vector(),
             "reasons": [r.value for r in reasons(question, c, names_missing)], "years": sorted(c.years),
             "label": int(bool(q["answerable"]) and c.clause_id in ok)}
            for c, f in zip(cands, table)], sorted(question.years) if question else [],
            bool(question and wants_comparison(question)), per_year))
        if n % 50 == 0:
            print(f"  {n}/{len(questions)}", file=sys.stderr)
    return rows


def cached_rows(split: str, index_dir: Path, model: str | None, refresh: bool) -> tuple[list[Row], str]:
    """The split's rows, from the cache when the questions, the index and the code are unchanged."""
    from core.config import Settings
    from assistant.compose import make_assistant

    questions = split_questions(split)
    settings = Settings(index_dir=index_dir, documents=split_documents(split),
                        **({"embedding_model": model} if model else {}))
    assistant = make_assistant(settings)
    _cache_query_vectors(assistant.embedder, CACHE / f"queries-{assistant.index.embedding_model}.json")
    stamp = hashlib.sha256(json.dumps([questions, assistant.index.generation, Features.names(),
                                       _code_stamp()], ensure_ascii=False).encode()).hexdigest()[:16]
    path = CACHE / f"{split}-{assistant.index.embedding_model}.jsonl"
    if path.exists() and not refresh:
        head, *lines = path.read_text(encoding="utf-8").splitlines()
        if json.loads(head).get("stamp") == stamp:
            return [Row(**json.loads(line)) for line in lines], assistant.index.embedding_model
    rows = extract(assistant, questions)
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([json.dumps({"stamp": stamp})] + [json.dumps(r.__dict__, ensure_ascii=False)
                                                                  for r in rows]) + "\n", encoding="utf-8")
    return rows, assistant.index.embedding_model


_VECTORS: dict[Path, dict] = {}


def _cache_query_vectors(embedder, path: Path) -> None:
    """Query vectors kept across runs: a change to the features re-reads candidates in seconds
    instead of re-embedding every question (the vectors depend only on the text and the model)."""
    import atexit

    if path not in _VECTORS:
        _VECTORS[path] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

        def save() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(_VECTORS[path]), encoding="utf-8")

        atexit.register(save)
    store, original = _VECTORS[path], embedder.embed_query

    def embed_query(text: str) -> list[float]:
        if text not in store:
            store[text] = original(text)
        return store[text]

    embedder.embed_query = embed_query


def _code_stamp() -> str:
    """The feature code itself: a change to how features are computed invalidates the cache."""
    files = ["assistant/features.py", "assistant/evidence.py", "assistant/query.py", "assistant/retrieve.py",
             "assistant/service.py", "assistant/data/abbreviations.json", "assistant/data/sections.json"]
    return hashlib.sha256(b"".join((REPO / f).read_bytes() for f in files)).hexdigest()


# -- fitting and choosing ---------------------------------------------------------------------

def fit(x, y, c: float, names=tuple(Features.names())) -> Linear:
    """Logistic regression on standardised inputs named ``names``."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x, y = np.asarray(x, dtype=float), np.asarray(y)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y)
    return Linear(tuple(names), tuple(map(float, mean)), tuple(map(float, scale)),
                  tuple(map(float, model.coef_[0])), float(model.intercept_[0]))


def _eligible(cand: dict, hard) -> bool:
    return not any(Reason(x) in hard for x in cand["reasons"])


def best_of(row: Row, ranker: Linear, hard) -> tuple[dict, float, float] | None:
    """The best eligible candidate by the ranker, its probability and the runner-up's."""
    names = Features.names()
    scored = sorted(((ranker.probability(dict(zip(names, c["features"]))), c) for c in row.candidates
                     if _eligible(c, hard)), key=lambda s: -s[0])
    if not scored:
        return None
    return scored[0][1], scored[0][0], scored[1][0] if len(scored) > 1 else 0.0


def answer_rows(rows: list[Row], ranker: Linear, hard, label: str) -> tuple[list, list, list]:
    """Inputs of the answerability model per question with an eligible candidate; labels; the
    per-question (answerable, best is gold) pairs (None where nothing is eligible)."""
    x, y, outcome = [], [], []
    for r in rows:
        found = best_of(r, ranker, hard)
        if found is None:
            outcome.append(None)
            continue
        cand, p, runner = found
        inputs = answer_inputs(Features(**dict(zip(Features.names(), cand["features"]))), p, runner)
        x.append([inputs[n] for n in Features.names() + list(ANSWER_EXTRA)])
        ok = r.answerable and bool(cand["label"])
        y.append(int(ok if label == "right" else r.answerable))
        outcome.append(inputs)
    return x, y, outcome


def decisions(rows: list[Row], cal: Calibration) -> list[tuple[bool, float | None, bool]]:
    """Per question: (answerable, answerability or None when nothing is eligible, best is gold)."""
    out = []
    for r in rows:
        found = best_of(r, cal.ranker, cal.hard)
        if found is None:
            out.append((r.answerable, None, False))
            continue
        cand, p, runner = found
        best = Features(**dict(zip(Features.names(), cand["features"])))
        out.append((r.answerable, cal.answerable(best, p, runner), bool(cand["label"])))
    return out


def at_threshold(table, t: float) -> dict:
    answerable = [d for d in table if d[0]]
    unanswerable = [d for d in table if not d[0]]

    def answered(p):
        return p is not None and p >= t

    right = sum(1 for a, p, ok in answerable if answered(p) and ok)
    refused_right = sum(1 for a, p, ok in unanswerable if not answered(p))
    return {
        "threshold": round(t, 4),
        "false_refusal": round(sum(1 for a, p, ok in answerable if not answered(p)) / max(len(answerable), 1), 4),
        "refusal_acc": round(refused_right / max(len(unanswerable), 1), 4),
        "answered_right": round(right / max(len(answerable), 1), 4),
        "decisions_right": round((right + refused_right) / max(len(table), 1), 4),
    }


def pick_threshold(table, max_false_refusal: float) -> dict:
    """The highest threshold whose false refusal is within the bound (best refusal accuracy under it)."""
    best = at_threshold(table, 0.0)
    for t in sorted({round(p, 4) for _, p, _ in table if p is not None}):
        point = at_threshold(table, t)
        if point["false_refusal"] <= max_false_refusal:
            best = point
    return best


def extra_citation_gain(rows: list[Row], cal: Calibration, ratio: float, compare: bool = False) -> int:
    """Cited right minus cited wrong when siblings within ``ratio`` of the best are cited (dev);
    with ``compare``, the clause for each further year asked in a comparison."""
    names = Features.names()
    gain = 0
    for r, (_, p, _) in zip(rows, decisions(rows, cal)):
        if p is None or p < cal.threshold:
            continue
        scored = sorted(((cal.ranker.probability(dict(zip(names, c["features"]))), c) for c in r.candidates
                         if _eligible(c, cal.hard)), key=lambda s: -s[0])
        top_p, top = scored[0]
        if compare or r.compare:
            if compare and r.compare:
                covered, taken = set(top["years"]), {top["clause_id"]}
                for year in r.years:
                    if year in covered:
                        continue
                    options = [(cal.ranker.probability(dict(zip(names, c["features"]))), c)
                               for c in r.per_year.get(year, [])
                               if year in c["years"] and c["clause_id"] not in taken and _eligible(c, cal.hard)]
                    if options:
                        q, match = max(options, key=lambda o: o[0])
                        if q >= ratio * top_p:
                            covered |= set(match["years"])
                            taken.add(match["clause_id"])
                            gain += 1 if match["label"] else -1
            continue
        if "/" not in top["clause_id"]:
            continue
        parent = top["clause_id"].rsplit("/", 1)[0]
        for q, cand in scored[1:3]:
            if q >= ratio * top_p and cand["clause_id"].rsplit("/", 1)[0] == parent:
                gain += 1 if cand["label"] else -1
    return gain


def curve(table, points: int = 11) -> list[dict]:
    return [at_threshold(table, i / (points - 1)) for i in range(points)]


def top1(rows: list[Row], ranker: Linear, hard) -> float:
    """Share of answerable questions whose best eligible candidate is gold."""
    hits = [bool(found and found[0]["label"]) for r in rows if r.answerable
            for found in [best_of(r, ranker, hard)]]
    return sum(hits) / max(len(hits), 1)


def search(train: list[Row], dev: list[Row], model: str, max_false_refusal: float):
    """Every variant fitted on train and scored on dev; the best by right decisions on dev (ties: more
    refusals right, then more predicates hard)."""
    flat = [c for r in train for c in r.candidates]
    x, y = [c["features"] for c in flat], [c["label"] for c in flat]
    rankers = {c: fit(x, y, c) for c in C_GRID}
    for c, ranker in rankers.items():
        print(f"ranker C={c:<5} dev top-1 {top1(dev, ranker, ()):.3f}")
    c_rank = max(C_GRID, key=lambda c: (top1(dev, rankers[c], ()), -abs(c - 1)))
    ranker = rankers[c_rank]
    results = []
    for hard in HARD_VARIANTS:
        for label in ("answerable", "right"):
            ax, ay, _ = answer_rows(train, ranker, hard, label)
            for c in C_GRID:
                answerability = fit(ax, ay, c, tuple(Features.names()) + ANSWER_EXTRA)
                cal = Calibration(model, ranker, answerability, 0.5, 0.9, 0.5, frozenset(hard), {})
                point = pick_threshold(decisions(dev, cal), max_false_refusal)
                # At equal right decisions the variant that refuses more, then the stricter one, wins:
                # a wrong answer costs an official more than a refusal does.
                results.append(((point["decisions_right"], point["refusal_acc"], len(hard)), cal, point,
                                {"C_ranker": c_rank, "C_answerability": c, "label": label}))
                print(f"hard={','.join(h.name for h in hard) or '-':<18} label={label:<10} C={c:<5} {point}")
    return max(results, key=lambda r: r[0])[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--index", action="append", default=[], metavar="SPLIT=DIR",
                        help="index holding the split's documents (train and dev)")
    parser.add_argument("--documents", choices=("train", "dev"), help="print the split's documents as JSON and exit")
    parser.add_argument("--model", help="embedding model (default: the configured one)")
    parser.add_argument("--max-false-refusal", type=float, default=0.03)
    parser.add_argument("--refresh", action="store_true", help="recompute cached features")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the calibration file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.documents:
        print(json.dumps([str(p.relative_to(REPO)) for p in split_documents(args.documents)], ensure_ascii=False))
        return 0
    dirs = dict(item.split("=", 1) for item in args.index)
    if set(dirs) != {"train", "dev"}:
        parser.error("give --index train=DIR and --index dev=DIR")
    train, model = cached_rows("train", Path(dirs["train"]), args.model, args.refresh)
    dev, _ = cached_rows("dev", Path(dirs["dev"]), args.model, args.refresh)
    print(f"train: {len(train)} questions, {sum(len(r.candidates) for r in train)} candidates, "
          f"{sum(c['label'] for r in train for c in r.candidates)} gold; dev: {len(dev)} questions")

    cal, point, chosen = search(train, dev, model, args.max_false_refusal)
    cal = replace(cal, threshold=point["threshold"])
    gains = {ratio: extra_citation_gain(dev, cal, ratio) for ratio in SIBLING_GRID}
    sibling = max(SIBLING_GRID, key=lambda g: (gains[g], g))
    # Dev holds few comparisons: the ratio is tuned on train and dev together.
    compare_gains = {ratio: extra_citation_gain(train + dev, cal, ratio, compare=True) for ratio in COMPARE_GRID}
    compare = max(COMPARE_GRID, key=lambda g: (compare_gains[g], -g))  # a tie keeps every year asked
    cal = replace(cal, compare_ratio=compare)
    table = decisions(dev, cal)
    fitted = {
        "command": "python -m eval.calibrate --index train=DIR --index dev=DIR"
                   + (f" --max-false-refusal {args.max_false_refusal}" if args.max_false_refusal != 0.03 else ""),
        "train": {"files": [str(p.relative_to(REPO)) for p in split_files("train")], "questions": len(train),
                  "candidates": sum(len(r.candidates) for r in train)},
        "dev": {"files": [str(p.relative_to(REPO)) for p in split_files("dev")], "questions": len(dev),
                "at_threshold": point},
        "chosen_on_dev": chosen | {"hard": sorted(h.value for h in cal.hard), "sibling_ratio": sibling,
                                   "sibling_gain": gains,
                                   "compare_ratio": compare, "compare_gain": compare_gains, "max_false_refusal": args.max_false_refusal},
        "dev_curve": curve(table),
    }
    # The list budget is chosen on dev by whole eval runs (TLNQ_LIST_CHARS=N python -m eval …), not here:
    # a refit keeps it and its record.
    previous = CALIBRATION_DIR / f"{model}.json"
    kept = json.loads(previous.read_text(encoding="utf-8")) if previous.is_file() else {}
    if "list_chars" in kept.get("fitted", {}):
        fitted["list_chars"] = kept["fitted"]["list_chars"]
    cal = replace(cal, sibling_ratio=sibling, fitted=fitted, list_chars=int(kept.get("list_chars", 0)))
    print(f"\nchosen: {fitted['chosen_on_dev']} threshold={point['threshold']}")
    for title, linear in (("ranker", cal.ranker), ("answerability", cal.answerability)):
        print(f"{title} weights (standardised):")
        for name, w in sorted(zip(linear.names, linear.coef), key=lambda x: -abs(x[1])):
            print(f"  {name:<18} {w:+.3f}")
    print("dev curve (threshold: false refusal / refusal acc / answered right):")
    for p in fitted["dev_curve"]:
        print(f"  {p['threshold']:.1f}: {p['false_refusal']:.3f} / {p['refusal_acc']:.3f} / {p['answered_right']:.3f}")
    if not args.dry_run:
        CALIBRATION_DIR.mkdir(parents=True, exist_ok=True)
        out = CALIBRATION_DIR / f"{model}.json"
        out.write_text(json.dumps(cal.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
