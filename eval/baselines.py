"""Baselines scored beside the assistant on the same questions.

- ``bm25_only`` / ``dense_only``: the assistant's own hybrid retriever with one
  signal's weight at 0 (an ablation), queried with the same analysed search text
  (history and abbreviations resolved). The "answer" is the top clause's full
  text, the "citation" its id. They never refuse.
- ``naive_rag``: the tutorial pipeline. The cleaned document text is cut by
  LangChain's ``RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)``,
  embedded with the same embedding model into a throw-away in-memory Chroma
  collection, and searched with the raw question (no history, no abbreviation
  expansion), top 5. Its "answer" is the top chunk. Chunks are mapped to clauses by
  character overlap (see ``chunk_clauses``): a chunk stands for every clause that
  covers at least half as many of its characters as the clause covering most.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

NAIVE_CHUNK_SIZE = 1000
NAIVE_CHUNK_OVERLAP = 200
NAIVE_K = 5
OVERLAP_SHARE = 0.5  # a chunk cites clauses covering >= this share of the best clause's overlap


def _result(ranked: list[str], answer: str, cited: list[str], contexts: list[str], started: float) -> dict:
    ms = (time.perf_counter() - started) * 1000
    return {"ranked": ranked, "answer": answer, "answered": True, "cited": cited, "contexts": contexts,
            "latency_ms": ms, "retrieve_ms": ms}


class RetrieverBaseline:
    """One signal of the hybrid retriever alone."""

    def __init__(self, name: str, assistant, *, bm25_weight: float, dense_weight: float, doc: str | None = None):
        from assistant.retrieve import HybridRetriever

        self.name = name
        self.doc = doc
        self.retriever = HybridRetriever(
            assistant.index, assistant.embedder if dense_weight > 0 else None,
            rrf_k=assistant.settings.rrf_k, bm25_weight=bm25_weight, dense_weight=dense_weight,
        )
        self.texts = {(c["doc"], c["clause_id"]): c["text"] for c in assistant.index.clauses}

    def run(self, question: dict, search_text: str, k: int = 10) -> dict:
        started = time.perf_counter()
        # A signal at weight 0 still lists its clauses at score 0: they are not its results.
        hits = [h for h in self.retriever.search(search_text, k=k, doc=self.doc) if h.score > 0]
        texts = [self.texts.get(h.key, "") for h in hits]
        ids = [h.clause_id for h in hits]
        return _result(ids, texts[0] if texts else "", ids[:1], texts[:5], started)


def normalised_with_map(text: str) -> tuple[str, list[int]]:
    r"""Whitespace runs folded to one space, with each kept character's position in ``text``.

    >>> normalised_with_map("a \n b")
    ('a b', [0, 1, 4])
    """
    out, where = [], []
    for m in re.finditer(r"\s+|\S+", text):
        if m.group(0).isspace():
            if out:
                out.append(" ")
                where.append(m.start())
        else:
            out.extend(m.group(0))
            where.extend(range(m.start(), m.end()))
    while out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), where


def clause_spans(document: str, clauses: list[dict]) -> list[tuple[str, int, int]]:
    """(clause_id, start, end) of each clause's text in ``document``, whitespace-insensitive.

    Clause texts are verbatim but their paragraph breaks may differ; clauses are
    searched in document order, falling back to anywhere.
    """
    norm, where = normalised_with_map(document)
    spans, cursor = [], 0
    for clause in clauses:
        text, _ = normalised_with_map(clause.get("text") or "")
        if not text:
            continue
        at = norm.find(text, cursor)
        if at < 0:
            at = norm.find(text)
        if at < 0:
            log.debug("clause %s not found in the document text", clause.get("clause_id"))
            continue
        spans.append((clause["clause_id"], where[at], where[at + len(text) - 1] + 1))
        cursor = at
    return spans


def chunk_clauses(start: int, length: int, spans: list[tuple[str, int, int]],
                  share: float = OVERLAP_SHARE) -> list[str]:
    """Clause ids a chunk stands for, most overlapping first.

    >>> chunk_clauses(0, 100, [('A', 0, 30), ('B', 30, 100), ('C', 100, 200)])
    ['B']
    """
    end = start + length
    overlaps = {}
    for clause_id, s, e in spans:
        overlap = min(e, end) - max(s, start)
        if overlap > 0:
            overlaps[clause_id] = max(overlaps.get(clause_id, 0), overlap)
    if not overlaps:
        return []
    best = max(overlaps.values())
    ranked = sorted(overlaps, key=lambda c: -overlaps[c])
    return [c for c in ranked if overlaps[c] >= share * best]


class NaiveRag:
    """Fixed-size chunks, one dense similarity search, the top chunk as the answer."""

    name = "naive_rag"

    def __init__(self, assistant, *, doc: str | None = None, chunk_size: int = NAIVE_CHUNK_SIZE,
                 chunk_overlap: int = NAIVE_CHUNK_OVERLAP, k: int = NAIVE_K):
        import chromadb
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from index.load import load_document
        from index.store import chroma_settings

        self.k = k
        splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap,
                                                  add_start_index=True)
        pieces: list[Document] = []
        for entry in assistant.index.documents:
            if doc is not None and entry["key"] != doc:
                continue
            source = Path(entry["source"])
            if not source.is_file():
                log.warning("naive baseline: %s is gone, left out", source)
                continue
            text = load_document(source)
            clauses = [c for c in assistant.index.clauses if c["doc"] == entry["key"]]
            spans = clause_spans(text, clauses)
            for piece in splitter.create_documents([text], metadatas=[{"doc": entry["key"]}]):
                start = piece.metadata["start_index"]
                piece.metadata["clauses"] = ",".join(chunk_clauses(start, len(piece.page_content), spans))
                pieces.append(piece)
        if not pieces:
            raise ValueError("naive baseline: none of the indexed source files can be read")
        self.chunks = len(pieces)
        embedder = assistant.embedder  # the model already loaded for the assistant's index
        self._client = chromadb.EphemeralClient(settings=chroma_settings())
        self._collection = f"eval-naive-{uuid.uuid4().hex[:12]}"
        self.store = Chroma(client=self._client, collection_name=self._collection, embedding_function=embedder,
                            collection_configuration={"hnsw": {"space": "cosine"}})
        self.store.add_documents(pieces, ids=[f"n{i}" for i in range(len(pieces))])

    def run(self, question: dict, search_text: str | None = None, k: int | None = None) -> dict:
        started = time.perf_counter()
        hits = self.store.similarity_search(question["question"], k=self.k)
        groups = [[c for c in h.metadata.get("clauses", "").split(",") if c] for h in hits]
        ranked = list(dict.fromkeys(c for group in groups for c in group))
        answer = hits[0].page_content if hits else ""
        return _result(ranked, answer, groups[0] if groups else [], [h.page_content for h in hits], started)

    def close(self) -> None:
        try:
            self._client.delete_collection(self._collection)
        except Exception as exc:  # best effort: the collection lives in memory only
            log.debug("could not drop %s: %r", self._collection, exc)


def make_baselines(assistant, *, doc: str | None = None) -> dict:
    """name -> baseline with ``run(question, search_text)`` (and maybe ``close()``)."""
    return {
        "bm25_only": RetrieverBaseline("bm25_only", assistant, bm25_weight=1.0, dense_weight=0.0, doc=doc),
        "dense_only": RetrieverBaseline("dense_only", assistant, bm25_weight=0.0, dense_weight=1.0, doc=doc),
        "naive_rag": NaiveRag(assistant, doc=doc),
    }
