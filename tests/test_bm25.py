"""The sparse BM25 gives rank_bm25's scores (the fitted calibration reads them) and its rankings."""
from __future__ import annotations

import numpy as np
from rank_bm25 import BM25Okapi

from assistant.bm25 import SparseBM25
from assistant.query import analyse
from eval.runner import load_questions
from index.chunks import make_chunks
from index.lexical import tokenize
from index.load import load_document
from index.parse import parse_clauses
from tests.conftest import CORPUS_DIR, SEED


def _corpus() -> list[list[str]]:
    texts = []
    for path in [SEED, *sorted(CORPUS_DIR.glob("*.txt"))[:3]]:
        texts += [c.embed_text for c in make_chunks(path.stem, parse_clauses(load_document(path)))]
    return [tokenize(t) for t in texts]


def test_scores_and_rankings_equal_rank_bm25_on_real_chunks_and_questions():
    corpus = _corpus()
    reference, sparse = BM25Okapi(corpus), SparseBM25(corpus)
    questions = [analyse(q["question"]).search_text for q in load_questions()[:120]]
    for text in questions + ["", "từ-không-có-trong-văn-bản", "năm năm năm và và"]:
        query = tokenize(text)
        want, got = reference.get_scores(query), sparse.get_scores(query)
        assert np.allclose(want, got, rtol=1e-12, atol=1e-12), text
        rank_want = sorted(range(len(want)), key=lambda i: -want[i])[:30]
        rank_got = sorted(range(len(got)), key=lambda i: -got[i])[:30]
        assert rank_want == rank_got, text


def test_an_empty_collection_scores_nothing():
    assert SparseBM25([]).get_scores(["a"]).shape == (0,)
    assert SparseBM25([[], ["a"]]).get_scores(["a"]).tolist()[0] == 0.0
