"""Per-document parse and build figures for the real-document corpus (the table of issue #11).

    python -m eval.corpus_build [--fake] [--sets corpus,heldout,test] [NAME …]

For each document of tests/corpus (and tests/corpus_heldout): units, warnings, words lost, parse
time, and the time to build a fresh index of that document alone with the configured embedder
(loaded once; ``--fake`` uses a hashing embedder to time everything but the model).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from eval.golden_trees import SETS
from index.load import load_document
from index.parse import parse_document
from index.report import words_lost


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fake", action="store_true", help="hashing embedder instead of the real model")
    ap.add_argument("--sets", default="corpus", help="comma-separated: corpus, heldout, test")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args(argv)
    from core.config import Settings
    from index.build import build_for

    settings = Settings()
    if args.fake:
        from tests.conftest import FakeEmbeddings

        embedder, model_name = FakeEmbeddings(), FakeEmbeddings.name
    else:
        from index.embed import embedder_for

        embedder = embedder_for(settings)
        model_name = embedder.name
        embedder.embed_query("khởi động")  # the first call pays one-off costs
    print(f"embedder: {model_name}")
    print("| document | KB | units | warnings | words lost | parse ms | chunks | build s |")
    print("|---|---|---|---|---|---|---|---|")
    for set_name, (_golden, corpus_dir) in SETS.items():
        if set_name not in args.sets.split(","):
            continue
        for path in sorted(corpus_dir.glob("*.txt")):
            if args.names and not any(n in path.stem for n in args.names):
                continue
            started = time.perf_counter()
            text = load_document(path)
            result = parse_document(text)
            parse_ms = (time.perf_counter() - started) * 1000
            lost = words_lost(text, result.clauses)
            with tempfile.TemporaryDirectory() as tmp:
                local = settings.model_copy(update={"index_dir": Path(tmp) / "index"})
                started = time.perf_counter()
                report = build_for(local, [path], embedder=embedder)
                build_s = time.perf_counter() - started
            mark = "" if set_name == "corpus" else " (held out)"
            print(f"| {path.stem}{mark} | {path.stat().st_size / 1024:.0f} | {len(result.clauses)} | "
                  f"{len(result.warnings)} | {lost} | {parse_ms:.0f} | {report.chunks} | {build_s:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
