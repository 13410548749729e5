"""Hybrid retrieval: dense (Chroma through LangChain) + BM25 (one sparse matrix), fused by weighted RRF.

Results are clauses, not chunks: a clause's rank is its best chunk's.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.bm25 import SparseBM25
from index.lexical import tokenize

log = logging.getLogger(__name__)


@lru_cache(maxsize=None)
def _calibration(model_name: str) -> dict:
    """The measured retrieval settings for this embedder (assistant/data/fusion_weights.json)."""
    table = json.loads((Path(__file__).parent / "data" / "fusion_weights.json").read_text(encoding="utf-8"))
    return table.get(model_name, table["default"])


def fusion_weights(model_name: str, bm25: float | None = None, dense: float | None = None) -> tuple[float, float]:
    """Measured weights for this embedder unless the settings pin them."""
    measured = _calibration(model_name)
    return (measured["bm25"] if bm25 is None else bm25, measured["dense"] if dense is None else dense)


@dataclass
class Retrieved:
    doc: str
    clause_id: str
    label: str
    score: float  # fused RRF score
    dense: float = 0.0  # cosine similarity of the best chunk (0 when dense is off)
    bm25: float = 0.0  # BM25 score of the best chunk
    ranks: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.doc, self.clause_id


class HybridRetriever:
    """Built once per index; ``search`` is pure with respect to the index."""

    def __init__(self, open_index, embedder, *, rrf_k: int = 60, bm25_weight: float = 1.0,
                 dense_weight: float = 1.0):
        self.index = open_index
        self.embedder = embedder
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight
        self.dense_weight = dense_weight
        self.chunks = open_index.chunks
        stored = getattr(open_index, "tokens", None)  # tokenised at build time; else here (older indexes)
        self.bm25 = SparseBM25(stored or [tokenize(c["embed_text"]) for c in self.chunks])
        self.vectorstore = None
        if embedder is not None and dense_weight > 0:
            from langchain_chroma import Chroma

            self.vectorstore = Chroma(
                client=open_index.client,
                collection_name=open_index.manifest["collection"],
                embedding_function=embedder,
                create_collection_if_not_exists=False,
            )
        self.labels = {(c["doc"], c["clause_id"]): c["label"] for c in open_index.clauses}

    def bm25_ranking(self, text: str, doc: str | None = None) -> list[tuple[int, float]]:
        """(chunk index, score) of every chunk that shares a word with ``text``, best first (ties: chunk order)."""
        scores = self.bm25.get_scores(tokenize(text))
        hit = np.flatnonzero(scores > 0)
        order = hit[np.argsort(-scores[hit], kind="stable")]
        return [(int(i), float(scores[i])) for i in order if doc is None or self.chunks[i]["doc"] == doc]

    def dense_ranking(self, text: str, doc: str | None, k: int) -> list[tuple[str, float]]:
        if self.vectorstore is None:
            return []
        where = {"doc": doc} if doc else None
        search = lambda: self.vectorstore.similarity_search_with_score(text, k=k, filter=where)  # noqa: E731
        request = getattr(self.index, "request", None)
        hits = request(search, "dense search") if request else search()
        # Chroma returns cosine distance for this collection: similarity = 1 - distance.
        return [(h.id or _chunk_id(h.metadata), 1.0 - float(dist)) for h, dist in hits]

    def search(self, text: str, *, k: int = 6, doc: str | None = None, pool: int = 30) -> list[Retrieved]:
        fused: dict[tuple[str, str], Retrieved] = {}

        def add(doc_key: str, clause_id: str, signal: str, rank: int, weight: float, raw: float) -> None:
            key = (doc_key, clause_id)
            hit = fused.get(key)
            if hit is None:
                hit = fused[key] = Retrieved(doc_key, clause_id, self.labels.get(key, clause_id), 0.0)
            if signal in hit.ranks:  # a clause counts once per signal, at its best chunk
                return
            hit.ranks[signal] = rank
            hit.score += weight / (self.rrf_k + rank)
            setattr(hit, signal, raw)

        seen: set = set()
        rank = 0
        for i, score in self.bm25_ranking(text, doc)[: pool * 2]:
            chunk = self.chunks[i]
            key = (chunk["doc"], chunk["clause_id"])
            if key in seen:
                continue
            seen.add(key)
            rank += 1
            add(chunk["doc"], chunk["clause_id"], "bm25", rank, self.bm25_weight, score)
            if rank >= pool:
                break
        by_id = {c["chunk_id"]: c for c in self.chunks}
        seen, rank = set(), 0
        for chunk_id, similarity in self.dense_ranking(text, doc, pool):
            chunk = by_id.get(chunk_id)
            if chunk is None:
                continue
            key = (chunk["doc"], chunk["clause_id"])
            if key in seen:
                continue
            seen.add(key)
            rank += 1
            add(chunk["doc"], chunk["clause_id"], "dense", rank, self.dense_weight, similarity)
        ranked = sorted(fused.values(), key=lambda r: -r.score)
        return ranked[:k]


def _chunk_id(metadata: dict) -> str:
    return f"{metadata['doc']}::{metadata['clause_id']}#{metadata.get('part', 0)}"
