"""What every answerer is: the interface and the record it hands back to the pipeline."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Protocol

from assistant.evidence import Candidate
from assistant.query import Question
from assistant.types import Grounding


@dataclass
class Finished:
    """An answerer's checked text, the clauses it rests on and what the guard removed."""
    text: str
    cited: list[Candidate]
    grounding: Grounding
    backend: str
    warnings: list[str] = field(default_factory=list)


class Answerer(Protocol):
    name: str

    def stream(self, question: Question, evidence: list[Candidate]) -> Iterator[str]:
        """Yield the raw answer text in pieces; citations are clause ids in [brackets] or labels."""
        ...

    def preview(self, pieces: Iterable[str], question: Question, evidence: list[Candidate]) -> Iterator[str]:
        """Consume ``pieces`` and yield only text the final check would pass (nothing, for an instant answer)."""
        ...

    def finish(self, question: Question, evidence: list[Candidate], raw: str) -> Finished:
        """The raw text checked: known citations only, every figure in the clauses read."""
        ...
