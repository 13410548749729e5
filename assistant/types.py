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
class Ranked:
    """One clause of the retrieval ranking an answer started from (fused score, best first)."""
    doc: str
    clause_id: str
    score: float


@dataclass
class Grounding:
    """What the guard did to the answer text.

    ``removed``: sentences dropped because a figure or name was in no cited clause; for a generated
    answer replaced by the verbatim one, ``llm_removed`` and ``llm_fallback`` say what the model lost and why.
    """
    removed: list[str] = field(default_factory=list)
    citations_inferred: bool = False  # a model that forgot the [id] format: citations found from its figures
    llm_removed: list[str] = field(default_factory=list)
    llm_fallback: str = ""  # "declined" | "nothing grounded" | ""
    removed_sentences: int = field(init=False)

    def __post_init__(self) -> None:
        self.removed_sentences = len(self.removed)


@dataclass
class Timings:
    """Milliseconds: retrieval and choice, the whole answer, the first generated token (models only)."""
    retrieve: float = 0.0
    total: float = 0.0
    first_token: float | None = None


@dataclass
class Answer:
    answer: str
    answerable: bool
    citations: list[Citation] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    timings_ms: Timings = field(default_factory=Timings)
    related: list[Citation] = field(default_factory=list)  # nearest clauses when refused
    grounding: Grounding = field(default_factory=Grounding)
    backend: str = "extractive"
    embedding_model: str = ""
    warnings: list[str] = field(default_factory=list)
    search_text: str = ""  # what was retrieved with (a follow-up carries its topic)
    ranking: list[Ranked] = field(default_factory=list)  # the retrieval ranking the answer was chosen from

    def to_dict(self) -> dict:
        return asdict(self)
