"""Clauses -> chunks: one per clause with text of its own, long ones split at sentence ends.

Embedding text is not display text: a chunk embeds with its heading path
("Điều 2 › khoản 2 › mục 2.1 Về kinh tế › …") but is quoted exactly as written.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

from index.parse import Clause

MAX_CHUNK_CHARS = 1200
_SENTENCE_SPLIT = re.compile(r"(?<=[.;!?])\s+(?=[A-ZĐÀ-Ỹ(“\"-])|\n")


@dataclass
class Chunk:
    chunk_id: str
    doc: str
    clause_id: str
    label: str
    part: int
    text: str
    embed_text: str
    path: str

    @property
    def text_hash(self) -> str:
        return hashlib.sha256(self.embed_text.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict:
        return asdict(self) | {"text_hash": self.text_hash}


def split_sentences(text: str, limit: int = MAX_CHUNK_CHARS) -> list[str]:
    """Greedy packing of whole sentences into pieces of at most ``limit`` characters."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_SPLIT.split(text):
        sentence = sentence.strip()
        if not sentence:
            continue
        if current and len(current) + 1 + len(sentence) > limit:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def heading_path(clause: Clause, by_id: dict[str, Clause]) -> str:
    """'Điều 2 Mục tiêu… › khoản 2 Các chỉ tiêu chủ yếu › mục 2.1 Về kinh tế'."""
    names = []
    for cid in clause.path[:-1]:
        node = by_id[cid]
        own = node.label.split(", ")[0]
        names.append(f"{own} {node.title}".strip())
    return " › ".join(names)


def make_chunks(doc: str, clauses: list[Clause]) -> list[Chunk]:
    by_id = {c.clause_id: c for c in clauses}
    chunks: list[Chunk] = []
    for clause in clauses:
        if not clause.text.strip():
            continue
        path = heading_path(clause, by_id)
        own = clause.label.split(", ")[0]
        head = " › ".join(p for p in (path, f"{own} {clause.title}".strip()) if p)
        for part, piece in enumerate(split_sentences(clause.text)):
            chunks.append(Chunk(
                chunk_id=f"{doc}::{clause.clause_id}#{part}",
                doc=doc, clause_id=clause.clause_id, label=clause.label, part=part,
                text=piece, embed_text=f"{head}\n{piece}", path=path,
            ))
    return chunks
