"""Answering a question: validate -> analyse -> decide (retrieve, read, choose) -> answer -> guard -> log.

``Assistant`` holds what is loaded once (index, embedder, retriever, answerer) and runs the steps;
each step lives in its own module (query, decide, answerers, ground). ``ask`` and ``stream`` are safe
to call from several threads. Build one with ``assistant.compose.make_assistant``.
"""
from __future__ import annotations

import logging
import time
from typing import Iterator

from assistant.answerers import Answerer, Finished
from assistant.answerers.extractive import ExtractiveAnswerer, compose
from assistant.decide import Decision, Reader
from assistant.evidence import Candidate, EvidenceSelector
from assistant.features import Reason
from assistant.fuller import FullerAnswers
from assistant.query import Question, analyse, normalise, trim_history
from assistant.retrieve import HybridRetriever, fusion_weights
from assistant.types import Answer, Citation, Ranked, Timings
from core.config import Settings
from core.errors import BackendUnavailableError, EmptyQuestionError, QuestionTooLongError

log = logging.getLogger(__name__)
REFUSAL = "Nghị quyết không quy định nội dung này"
RELATED = 3  # nearest clauses offered with a refusal …
RELATED_CHARS = 300  # … each quoted this far


class Assistant:
    def __init__(self, settings: Settings, open_index, embedder, answerer: Answerer | None = None,
                 warnings: list[str] | None = None):
        self.settings = settings
        self.index = open_index
        self.embedder = embedder
        self.answerer = answerer or ExtractiveAnswerer()
        self.warnings = list(warnings or []) + ([open_index.note] if getattr(open_index, "note", None) else [])
        bm25_weight, dense_weight = fusion_weights(open_index.embedding_model, settings.bm25_weight,
                                                   settings.dense_weight)
        self.retriever = HybridRetriever(open_index, embedder, rrf_k=settings.rrf_k,
                                         bm25_weight=bm25_weight, dense_weight=dense_weight)
        self.selector = EvidenceSelector(open_index.clauses)
        self.reader = Reader(self.retriever, self.selector, open_index.embedding_model, settings.top_k,
                             list_chars=settings.list_chars)
        self.fuller = FullerAnswers(settings, self.answerer.name)

    @property
    def calibration(self):
        return self.reader.calibration

    # -- the steps ------------------------------------------------------
    def validate(self, question: str) -> str:
        text = normalise(question or "")
        if not any(ch.isalnum() for ch in text):
            raise EmptyQuestionError()
        if len(text) > self.settings.max_question_chars:
            raise QuestionTooLongError(len(text), self.settings.max_question_chars)
        return text

    def analyse(self, question: str, history: list[dict] | None = None) -> Question:
        history = trim_history(history, self.settings.max_history_turns, self.settings.max_history_chars)
        return analyse(self.validate(question), history)

    def candidates(self, question: str, history: list[dict] | None = None,
                   doc: str | None = None) -> tuple[Question, list[Candidate], bool]:
        """The candidate clauses as read for the question (eval.calibrate fits on these):
        (the analysed question, candidates in fused order, whether it names something no document has)."""
        got = self.reader.gather(self.analyse(question, history), doc)
        return got.question, got.candidates, got.names_missing

    def per_year(self, q: Question, candidates: list[Candidate]) -> dict[str, list[Candidate]]:
        return self.reader.per_year(q, candidates)

    def decide(self, question: str, history: list[dict] | None = None, doc: str | None = None) -> Decision:
        """Retrieve and choose the evidence; an empty evidence list means 'not in the resolution'."""
        started = time.perf_counter()
        decision = self.reader.decide(self.analyse(question, history), doc)
        decision.retrieve_ms = (time.perf_counter() - started) * 1000
        return decision

    def ask(self, question: str, history: list[dict] | None = None, doc: str | None = None,
            answerer: Answerer | None = None) -> Answer:
        answer = None
        for item in self.stream(question, history, doc, answerer):
            if isinstance(item, Answer):
                answer = item
        return answer

    def stream(self, question: str, history: list[dict] | None = None, doc: str | None = None,
               answerer: Answerer | None = None) -> Iterator[str | Answer]:
        """Yield text as it comes (already checked), then the final, guarded Answer.

        The text pieces are a preview: when the Answer arrives its ``answer`` is the text to keep
        (a generated answer may be tidied or replaced by the verbatim one). ``answerer`` overrides
        the configured one for this question (the app's fuller answer).
        """
        started = time.perf_counter()
        answerer = answerer or self.answerer
        decision = self.decide(question, history, doc)
        if not decision.evidence:
            answer = self._refusal(decision)
            yield answer.answer
            answer.timings_ms = Timings(round(decision.retrieve_ms, 1), _ms_since(started))
            self._log(decision, answer)
            yield answer
            return
        q, evidence = decision.question, decision.evidence
        raw: list[str] = []
        first_token_ms: float | None = None
        previewed = False

        def timed() -> Iterator[str]:
            nonlocal first_token_ms
            for piece in answerer.stream(q, evidence):
                if first_token_ms is None:
                    first_token_ms = _ms_since(started)
                raw.append(piece)
                yield piece

        try:
            for sentence in answerer.preview(timed(), q, evidence):
                previewed = True
                yield sentence
            finished = answerer.finish(q, evidence, "".join(raw))
        except BackendUnavailableError as exc:
            log.warning("%s", exc)
            finished = ExtractiveAnswerer().finish(q, evidence, compose(q, evidence))
            finished.warnings.insert(0, exc.user_message)
        answer = self._answered(decision, finished)
        if not previewed:
            yield answer.answer
        answer.timings_ms = Timings(round(decision.retrieve_ms, 1), _ms_since(started),
                                    None if first_token_ms is None else round(first_token_ms, 1))
        self._log(decision, answer)
        yield answer

    # -- the Answer -----------------------------------------------------
    def _base(self, decision: Decision) -> dict:
        return dict(contexts=[c.clause_text for c in decision.candidates[: self.settings.top_k]],
                    embedding_model=self.index.embedding_model, warnings=list(self.warnings),
                    search_text=decision.question.search_text,
                    ranking=[Ranked(h.doc, h.clause_id, h.score) for h in decision.hits])

    def _answered(self, decision: Decision, finished: Finished) -> Answer:
        answer = Answer(answer=finished.text, answerable=True, citations=_citations(finished.cited),
                        backend=finished.backend, grounding=finished.grounding, **self._base(decision))
        answer.warnings += finished.warnings
        return answer

    def _refusal(self, decision: Decision) -> Answer:
        q = decision.question
        year_part = f" cho năm {', '.join(sorted(q.years))}" if q.years and decision.reason is Reason.YEAR else ""
        # Only clauses that share words with the question: for junk input, nothing is 'nearest'.
        near = [c for c in decision.candidates if "bm25" in c.ranks][:RELATED]
        related = [Citation(c.clause_id, c.label, clip(c.clause_text, RELATED_CHARS), round(c.retrieval, 4), c.doc)
                   for c in near]
        text = f"{REFUSAL}{year_part}."
        if related:
            text += " Các điều khoản gần nhất có thể liên quan: " + "; ".join(r.label for r in related) + "."
        return Answer(answer=text, answerable=False, citations=[], related=related, backend="extractive",
                      **self._base(decision))

    def _log(self, decision: Decision, answer: Answer) -> None:
        from assistant.logs import log_question

        log_question(self.settings, decision.question.text, answer)


def _citations(cited: list[Candidate]) -> list[Citation]:
    return [Citation(c.clause_id, c.label, " ".join(c.chosen) or c.clause_text, round(c.probability, 4), c.doc)
            for c in cited]


def clip(text: str, limit: int) -> str:
    """Cut at the last space before ``limit``, marked with an ellipsis (never mid-word).

    >>> clip("Tỷ lệ hộ nghèo giảm còn 0,71%", 18), clip("ngắn", 18)
    ('Tỷ lệ hộ nghèo…', 'ngắn')
    """
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(" ,;:") + "…"


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
