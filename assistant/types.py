"""The Answer shape shared by the CLI, the app and the eval runner (see DESIGN.md)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Citation:
    clause_id: str
    label: str
    quote: str
    score: float
    doc: str = ""


@dataclass
class Answer:
    answer: str
    answerable: bool
    citations: list[Citation] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    timings_ms: dict = field(default_factory=dict)
    related: list[Citation] = field(default_factory=list)  # nearest clauses when refused
    grounding: dict = field(default_factory=lambda: {"removed_sentences": 0, "removed": []})
    backend: str = "extractive"
    embedding_model: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
