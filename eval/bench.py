"""python -m eval.bench: how fast, how big, and how retrieval time grows with the collection.

Measures, on the configured embedding model and a fresh temporary index:
- embedding model load time, index build time (parse + embed + store), assistant open time;
- query embedding p50/p95 for a new text and for the same text again (the embedder's query cache);
- warm p50/p95 per eval question of retrieval only (``Assistant.decide``) and of the full answer (``ask``);
- retrieval p50/p95 (fused ``retriever.search`` with both signals on, BM25 alone — the sparse matrix now
  and rank_bm25 before, in the same run — and Chroma alone)
  with the collection at 1×, 10× and 100× the chunks:
  copies of the bundled resolution under other file names (so other document keys). Copies
  have the same texts, so their vectors are computed once and reused (``CachingEmbedder``);
  the build times at 10×/100× therefore measure parsing and storing, not embedding;
- peak resident memory of the process.
"""
from __future__ import annotations

import argparse
import logging
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from eval.metrics import percentile


class CachingEmbedder:
    """The real embedder, remembering document vectors by text: copies cost nothing to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.cache: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            self.cache.update(zip(todo, self.inner.embed_documents(todo)))
        return [self.cache[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def timed(fn, *args, **kwargs) -> tuple[object, float]:
    started = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, (time.perf_counter() - started) * 1000


def latencies(fn, items) -> dict:
    times = [timed(fn, item)[1] for item in items]
    return {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95), "n": len(times)}


def copies(source: Path, n: int, folder: Path) -> list[Path]:
    """``source`` and n-1 copies of it under other names (other document keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [source]
    for i in range(1, n):
        target = folder / f"{source.stem}-ban-sao-{i:03d}{source.suffix}"
        shutil.copyfile(source, target)
        files.append(target)
    return files


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run_bench(scales: tuple[int, ...] = (1, 10, 100), scale_queries: int = 60, workdir: Path | None = None,
              out=print) -> dict:
    from core.config import Settings
    from assistant.query import analyse
    from assistant.retrieve import HybridRetriever
    from assistant.compose import make_assistant
    from eval.runner import load_questions
    from index.build import build_for
    from index.embed import choose_model, embedder_for
    from index.store import open_index

    base = Settings()
    questions = load_questions()
    tmp = Path(workdir or tempfile.mkdtemp(prefix="tlnq-bench-"))
    results: dict = {"scales": {}}
    try:
        name, _ = choose_model(base)
        results["embedding_model"] = name
        embedder, ms = timed(embedder_for, base, name)
        results["model_load_s"] = ms / 1000
        out(f"model {name} loaded in {ms / 1000:.1f} s")

        settings = base.model_copy(update={"index_dir": tmp / "index-1x", "log_file": tmp / "questions.log"})
        report, ms = timed(build_for, settings, embedder=embedder)
        results["build_s"] = ms / 1000
        results["chunks"] = report.chunks
        out(f"index built in {ms / 1000:.1f} s ({report.chunks} chunks)")
        assistant, ms = timed(make_assistant, settings, embedder=embedder)
        results["assistant_load_s"] = ms / 1000
        results["weights"] = (assistant.retriever.bm25_weight, assistant.retriever.dense_weight)

        asked = [(q["question"], q.get("history") or None) for q in questions]
        fresh = [f"{q} (lần {i})" for i, (q, _) in enumerate(asked[:scale_queries])]  # never embedded before
        results["query_embed"] = latencies(embedder.embed_query, fresh)
        results["query_embed_cached"] = latencies(embedder.embed_query, fresh)  # the same texts again
        assistant.ask(*asked[0])  # warm-up, untimed
        forget = getattr(embedder, "forget_queries", lambda: None)
        forget()
        results["retrieve"] = latencies(lambda qa: assistant.decide(*qa), asked)
        forget()  # each question new to the embedder: the answer's time includes its query embedding
        results["answer"] = latencies(lambda qa: assistant.ask(*qa), asked)
        results["answer_cached"] = latencies(lambda qa: assistant.ask(*qa), asked)  # the same questions again
        out(f"per question: retrieval p50 {results['retrieve']['p50_ms']:.0f} ms,"
            f" answer p50 {results['answer']['p50_ms']:.0f} ms")

        search_texts = [analyse(q, h).search_text for q, h in asked[:scale_queries]]
        source = Path(base.documents[0])
        caching = CachingEmbedder(embedder)
        for n in scales:
            scaled = settings.model_copy(update={"index_dir": tmp / f"scale-{n}x"})
            files = copies(source, n, tmp / f"docs-{n}x")
            report, build_ms = timed(build_for, scaled, files, embedder=caching)
            opened = open_index(scaled.index_dir, scaled, name)
            # Both signals on, whatever the assistant's weights, so each one's cost shows.
            retriever, open_ms = timed(HybridRetriever, opened, embedder, rrf_k=scaled.rrf_k,
                                       bm25_weight=1.0, dense_weight=1.0)
            retriever.search(search_texts[0])
            stats = _search_latencies(retriever, search_texts)
            stats["bm25_old"] = _rank_bm25_latencies(opened.chunks, search_texts)
            results["scales"][n] = {"chunks": report.chunks, "build_s": build_ms / 1000,
                                    "retriever_open_s": open_ms / 1000, **stats}
            out(f"{n}x: {report.chunks} chunks, search p50 {stats['search']['p50_ms']:.1f} ms")
            retriever = opened = None  # release this scale's index before the next one
        results["peak_rss_mb"] = peak_rss_mb()
    finally:
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def _rank_bm25_latencies(chunks: list[dict], texts: list[str]) -> dict:
    """The previous way, for the ratio: rank_bm25's BM25Okapi (a Python loop over chunks per query word)."""
    from rank_bm25 import BM25Okapi

    from index.lexical import tokenize

    reference = BM25Okapi([tokenize(c["embed_text"]) for c in chunks])

    def rank(text: str):
        scores = reference.get_scores(tokenize(text))
        return sorted((i for i in range(len(scores)) if scores[i] > 0), key=lambda i: -scores[i])

    return latencies(rank, texts)


def _search_latencies(retriever, texts: list[str]) -> dict:
    """Fused search, then each signal alone, so each one's cost shows."""
    return {
        "search": latencies(lambda text: retriever.search(text, k=10), texts),
        "bm25": latencies(retriever.bm25_ranking, texts),
        "dense": latencies(lambda text: retriever.dense_ranking(text, None, 30), texts),
    }


def table(results: dict) -> str:
    rows = [
        ("embedding model", results["embedding_model"]),
        ("model load", f"{results['model_load_s']:.2f} s"),
        ("index build (1x, embedding included)", f"{results['build_s']:.2f} s ({results['chunks']} chunks)"),
        ("assistant open", f"{results['assistant_load_s']:.2f} s"),
        ("fusion weights (bm25, dense)", f"{results['weights'][0]:g}, {results['weights'][1]:g}"),
        ("query embedding, new text",
         f"p50 {results['query_embed']['p50_ms']:.1f} ms, p95 {results['query_embed']['p95_ms']:.1f} ms"),
        ("query embedding, asked again (cache)",
         f"p50 {results['query_embed_cached']['p50_ms']:.3f} ms, p95 {results['query_embed_cached']['p95_ms']:.3f} ms"),
        ("retrieval per question (decide), warm",
         f"p50 {results['retrieve']['p50_ms']:.1f} ms, p95 {results['retrieve']['p95_ms']:.1f} ms"
         f" (n={results['retrieve']['n']})"),
        ("full answer per question (ask), new question",
         f"p50 {results['answer']['p50_ms']:.1f} ms, p95 {results['answer']['p95_ms']:.1f} ms"),
        ("full answer, the same question again (cache)",
         f"p50 {results['answer_cached']['p50_ms']:.1f} ms, p95 {results['answer_cached']['p95_ms']:.1f} ms"),
    ]
    for n, s in results["scales"].items():
        rows.append((f"{n}x: {s['chunks']} chunks", f"build {s['build_s']:.1f} s (each distinct text embedded once),"
                     f" retriever open (BM25) {s['retriever_open_s']:.1f} s"))
        for key, label in (("search", "fused search (both signals)"), ("bm25", "BM25 alone (sparse matrix)"),
                           ("bm25_old", "BM25 alone, before (rank_bm25)"), ("dense", "dense alone (Chroma, k=30)")):
            rows.append((f"  {label}", f"p50 {s[key]['p50_ms']:.1f} ms, p95 {s[key]['p95_ms']:.1f} ms"))
        rows.append(("  BM25 speed-up (p50, before / now)", f"{s['bm25_old']['p50_ms'] / max(s['bm25']['p50_ms'], 1e-3):.0f}x"))
    rows.append(("peak RSS", f"{results['peak_rss_mb']:.0f} MB"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.bench",
                                     description=__doc__.splitlines()[0].partition(": ")[2])
    parser.add_argument("--scales", default="1,10,100", help="collection sizes as multiples (default 1,10,100)")
    parser.add_argument("--scale-queries", type=int, default=60, help="questions timed at each scale")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    scales = tuple(int(s) for s in args.scales.split(",") if s.strip())
    results = run_bench(scales, args.scale_queries, out=lambda m: print(m, file=sys.stderr))
    print(table(results))
    if args.json:
        import json

        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

