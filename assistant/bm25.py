"""Okapi BM25 as one sparse matrix: a question is scored against every chunk with one product.

Same formula and parameters as rank_bm25's ``BM25Okapi`` (k1 1.5, b 0.75, a negative idf raised to
0.25 × the mean idf), so the scores — which the fitted calibration reads — are unchanged; but
rank_bm25 loops in Python over every chunk for every query word (linear in the collection on every
question), while here the per-(chunk, word) weights are computed once at load.

>>> bm25 = SparseBM25([["ty", "le", "ho", "ngheo"], ["ty", "le", "do", "thi", "hoa"], ["grdp", "tang"]])
>>> [round(float(s), 3) for s in bm25.get_scores(["ho", "ngheo", "ngheo"])]
[1.472, 0.0, 0.0]
"""
from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import sparse


class SparseBM25:
    def __init__(self, corpus: list[list[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25):
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.vocabulary: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.zeros(len(corpus), dtype=np.float64)
        for d, tokens in enumerate(corpus):
            lengths[d] = len(tokens)
            for word, tf in Counter(tokens).items():
                rows.append(d)
                cols.append(self.vocabulary.setdefault(word, len(self.vocabulary)))
                tfs.append(tf)
        n_docs = max(len(corpus), 1)
        avgdl = lengths.sum() / n_docs if lengths.sum() else 1.0
        rows_a, cols_a, tf_a = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(tfs, float)
        df = np.bincount(cols_a, minlength=len(self.vocabulary)).astype(np.float64)
        idf = np.log(len(corpus) - df + 0.5) - np.log(df + 0.5)
        if len(idf):
            idf[idf < 0] = self.epsilon * idf.mean()  # rank_bm25: mean of the raw idfs, then the floor
        self.idf = {w: float(idf[i]) for w, i in self.vocabulary.items()}
        norm = k1 * (1 - b + b * lengths[rows_a] / avgdl)
        weights = idf[cols_a] * (tf_a * (k1 + 1) / (tf_a + norm))
        self.matrix = sparse.csr_matrix((weights, (rows_a, cols_a)), shape=(len(corpus), len(self.vocabulary)))

    def get_scores(self, query: list[str]) -> np.ndarray:
        """One score per chunk; a word repeated in the query counts each time (as in rank_bm25)."""
        counts = Counter(w for w in query if w in self.vocabulary)
        if not counts:
            return np.zeros(self.matrix.shape[0])
        q = np.zeros(self.matrix.shape[1])
        for word, n in counts.items():
            q[self.vocabulary[word]] = n
        return self.matrix @ q
