"""Answering a question: validate -> analyse -> retrieve -> select evidence -> answer -> guard.

``Assistant`` holds what is loaded once (index, embedder, retriever, answerer);
``ask`` and ``stream`` are safe to call from several threads.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Iterator

from assistant.answerers import Answerer, make_answerer
from assistant.answerers.extractive import ExtractiveAnswerer, compose
from assistant.answerers.llm import cited_ids
from core.config import Settings, get_settings
from core.errors import BackendUnavailableError, EmptyQuestionError, QuestionTooLongError
from assistant.calibration import load_calibration
from assistant.choose import choose
from assistant.evidence import Candidate, EvidenceSelector, wants_comparison
from assistant.features import Reason
from assistant.ground import guard, strip_citations
from assistant.query import Question, analyse, mention_pattern, normalise, numbered_refs, trim_history
from assistant.retrieve import HybridRetriever, fusion_weights
from assistant.types import Answer, Citation
from core.errors import IndexMismatchError, IndexMissingError, ModelMissingError

log = logging.getLogger(__name__)
REFUSAL = "Nghị quyết không quy định nội dung này"
# A clause number quoted by more clauses than this is not specific enough to scope the answer to them.
MAX_QUOTING_CLAUSES = 3


@dataclass
class Decision:
    question: Question
    candidates: list[Candidate]
    evidence: list[Candidate]
    reason: Reason
    retrieve_ms: float
    answerability: float = 0.0  # calibrated probability that the question is answered by the evidence


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
        self._fuller: Answerer | None = None
        self._fuller_lock = threading.Lock()

    @cached_property
    def calibration(self):
        """The fitted decision for this index's embedder (read on the first question)."""
        return load_calibration(self.index.embedding_model)

    # -- construction ---------------------------------------------------
    @classmethod
    def load(cls, settings: Settings | None = None, *, build: bool = False, progress=None) -> "Assistant":
        """Open the index read-only and the configured answerer.

        Answering never writes the index: a missing, mismatched or damaged index is an error that says
        how to rebuild (``python -m index build``, or the app's button). ``build=True`` is for tools that
        own their index folder (eval, bench, test fixtures): build first when it cannot be opened.
        """
        from index.build import build_index
        from index.embed import make_embedder, resolve_model_name
        from index.store import open_index, read_manifest

        settings = settings or get_settings()
        warnings: list[str] = []
        model_name, warning = resolve_model_name(settings.embedding_model, settings.models_dir,
                                                 settings.fallback_embedding_model)
        if warning:
            warnings.append("Đang dùng mô hình nhúng dự phòng MiniLM (tiếng Anh) vì chưa có EmbeddingGemma.")
        get_embedder = lambda: make_embedder(model_name, str(settings.models_dir))  # noqa: E731
        try:
            opened = open_index(settings.index_dir, settings, model_name)
        except (IndexMissingError, IndexMismatchError) as exc:
            if not build:
                built_with = (read_manifest(settings.index_dir) or {}).get("embedding_model")
                if warning and isinstance(exc, IndexMismatchError) and built_with and built_with != model_name:
                    raise ModelMissingError(built_with, model_name, settings.models_dir) from exc
                raise
            log.info("building index: %s", exc)
            sources = list(settings.documents) if isinstance(exc, IndexMissingError) else indexed_sources(settings)
            build_index(sources, settings, model_name, get_embedder, progress=progress)
            opened = open_index(settings.index_dir, settings, model_name)
        answerer: Answerer = ExtractiveAnswerer()
        if settings.answerer != "extractive":
            try:
                answerer = make_answerer(settings.answerer, settings)
            except BackendUnavailableError as exc:
                log.warning("answerer %s unavailable, using extractive: %s", settings.answerer, exc)
                warnings.append(exc.user_message)
        return cls(settings, opened, get_embedder(), answerer, warnings)

    # -- the pipeline ---------------------------------------------------
    def validate(self, question: str) -> str:
        text = normalise(question or "")
        if not any(ch.isalnum() for ch in text):
            raise EmptyQuestionError()
        if len(text) > self.settings.max_question_chars:
            raise QuestionTooLongError(len(text), self.settings.max_question_chars)
        return text

    def candidates(self, question: str, history: list[dict] | None = None,
                   doc: str | None = None) -> tuple[Question, list[Candidate], bool]:
        """Retrieve and read the candidate clauses: (the analysed question, candidates in fused order,
        whether the question names something no document mentions)."""
        history = trim_history(history, self.settings.max_history_turns, self.settings.max_history_chars)
        q = analyse(self.validate(question), history)
        hits = self.retriever.search(q.search_text, k=max(20, self.settings.top_k * 2), doc=doc)
        explicit, quoting, unknown = self._explicit_refs(q, doc)
        q = replace(q, unknown_clause=unknown)
        top = hits[0].score if hits else 1.0
        by_key = {(h.doc, h.clause_id): h for h in hits}
        keys = [(d, c, top * 1.2) for d, c in explicit]
        keys += [(h.doc, h.clause_id, h.score) for h in hits if (h.doc, h.clause_id) not in set(explicit)]
        floor = hits[-1].score if hits else 1.0  # a quoting clause retrieval missed joins at the bottom
        keys += [(d, c, floor) for d, c in quoting if (d, c) not in by_key and (d, c) not in set(explicit)]
        candidates = []
        for doc_key, clause_id, score in keys:
            cand = self.selector.candidate(doc_key, clause_id, score)
            if cand is not None:
                hit = by_key.get((doc_key, clause_id))
                if hit is not None:
                    cand.dense, cand.ranks = hit.dense, dict(hit.ranks)
                cand.explicit = (doc_key, clause_id) in explicit
                cand.quoting = (doc_key, clause_id) in quoting
                self.selector.judge(q, cand)
                candidates.append(cand)
        return q, candidates, bool(self.selector.missing_names(q))

    def per_year(self, q: Question, candidates: list[Candidate]) -> dict[str, list[Candidate]]:
        """For a comparison across years, the candidates read again as if each year alone were asked:
        each half of '2023 … so với 2024' is its own question for the ranker."""
        if not (wants_comparison(q) and len(q.years) > 1):
            return {}
        out = {}
        for year in sorted(q.years):
            asked = replace(q, years={year})
            fresh = []
            for c in candidates:
                again = self.selector.candidate(c.doc, c.clause_id, c.retrieval)
                again.dense, again.ranks, again.explicit = c.dense, dict(c.ranks), c.explicit
                again.quoting = c.quoting
                self.selector.judge(asked, again)
                fresh.append(again)
            out[year] = fresh
        return out

    def decide(self, question: str, history: list[dict] | None = None, doc: str | None = None) -> Decision:
        """Retrieve and choose the evidence; an empty evidence list means 'not in the resolution'."""
        started = time.perf_counter()
        q, candidates, names_missing = self.candidates(question, history, doc)
        evidence, reason, answerability = choose(q, candidates, self.calibration, names_missing,
                                                 self.per_year(q, candidates))
        return Decision(q, candidates, evidence, reason, (time.perf_counter() - started) * 1000, answerability)

    def _explicit_refs(self, q: Question, doc: str | None
                       ) -> tuple[list[tuple[str, str]], list[tuple[str, str]], bool]:
        """'chỉ tiêu (15)', 'mục 3.5', 'người ký' name a clause or part: look it up directly. A number the
        document does not have may name a clause of the document it amends: then the clauses that quote
        it ('sửa đổi khoản 2 Điều 10'), when few enough to be specific.

        Returns (named clauses, quoting clauses, whether every number asked is unknown to the documents).
        """
        found: list[tuple[str, str]] = []
        quoted: list[tuple[str, str]] = []
        for ref in q.clause_refs:
            for key in self.selector.by_key:
                if (doc is None or key[0] == doc) and (key[1] == ref or key[1].endswith("/" + ref)):
                    found.append(key)
        numbered = numbered_refs(q)
        resolved = 0
        for ref in numbered:
            # Per document: its own clause of that number, else the clauses quoting it (one pass over all).
            has_own = {k[0] for k in found if k[1] == ref or k[1].endswith("/" + ref)}
            pattern = mention_pattern(ref)
            quoting: dict[str, list[tuple[str, str]]] = {}
            if pattern is not None:
                for key, clause in self.selector.by_key.items():
                    if (doc is None or key[0] == doc) and key[0] not in has_own and pattern.search(clause.get("text", "")):
                        quoting.setdefault(key[0], []).append(key)
            resolved += bool(has_own or quoting)
            quoted += [key for keys in quoting.values() if len(keys) <= MAX_QUOTING_CLAUSES for key in keys]
        return list(dict.fromkeys(found)), list(dict.fromkeys(quoted)), bool(numbered) and not resolved

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
        contexts = [c.clause_text for c in decision.candidates[: self.settings.top_k]]
        base = dict(contexts=contexts, embedding_model=self.index.embedding_model, warnings=list(self.warnings))
        if not decision.evidence:
            answer = self._refusal(decision, base)
            yield answer.answer
            answer.timings_ms = _timings(decision, started)
            self._log(decision, answer)
            yield answer
            return
        raw: list[str] = []
        first_token_ms: float | None = None
        backend = answerer.name
        previewed = False

        def timed() -> Iterator[str]:
            nonlocal first_token_ms
            for piece in answerer.stream(decision.question, decision.evidence):
                if first_token_ms is None:
                    first_token_ms = (time.perf_counter() - started) * 1000
                raw.append(piece)
                yield piece

        try:
            if backend == "extractive":
                for _ in timed():
                    pass
            else:
                from assistant.answerers.llm import checked_preview

                for sentence in checked_preview(timed(), decision.question.text, decision.evidence,
                                                answerer.context_chars):
                    previewed = True
                    yield sentence
            text = "".join(raw)
        except BackendUnavailableError as exc:
            log.warning("%s", exc)
            base["warnings"].append(exc.user_message)
            text, backend = compose(decision.question, decision.evidence), "extractive"
        if backend == "extractive":
            answer = self._extractive(decision, text, base)
        else:
            answer = self._generated(decision, text, answerer, base)
        if not previewed:
            yield answer.answer
        answer.timings_ms = _timings(decision, started, first_token_ms)
        self._log(decision, answer)
        yield answer

    def _extractive(self, decision: Decision, text: str, base: dict, note: dict | None = None) -> Answer:
        """The verbatim answer cites every evidence clause and passes the guard by construction."""
        evidence = decision.evidence
        kept, removed = guard(text, " ".join(c.context for c in evidence), [c.label for c in evidence])
        return Answer(answer=kept, answerable=True, citations=_citations(evidence), backend="extractive",
                      grounding={"removed_sentences": len(removed), "removed": removed} | (note or {}), **base)

    def _generated(self, decision: Decision, raw: str, answerer, base: dict) -> Answer:
        """Check a model's answer: known clause ids only (or inferred), every figure in what it read."""
        from assistant.answerers.llm import clean, declined, guard_generated, infer_citations, present

        evidence, question = decision.evidence, decision.question.text
        by_id = {c.clause_id: c for c in evidence}
        text = clean(raw, question, set(by_id))
        cited = [by_id[i] for i in cited_ids(text) if i in by_id]  # unknown ids are dropped
        inferred = not cited
        if inferred:
            cited = infer_citations(text, evidence, answerer.context_chars)
        kept, removed = guard_generated(text, cited, question, answerer.context_chars)
        if declined(kept) or not re.search(r"\w", strip_citations(kept, [c.label for c in cited])):
            # The retrieval step found evidence; a model that declines or says nothing checkable
            # is replaced by the verbatim answer rather than shown.
            reason = "declined" if declined(kept) else "nothing grounded"
            log.warning("%s answer replaced by extractive: %s", answerer.name, reason)
            base["warnings"].append("Mô hình ngôn ngữ không đưa ra được câu trả lời có căn cứ; "
                                    "hiển thị câu trả lời trích dẫn nguyên văn.")
            note = {"llm_removed": removed, "llm_fallback": reason}
            return self._extractive(decision, compose(decision.question, evidence), base, note)
        shown = present(kept, {c.clause_id: c.label for c in cited}, inferred)
        return Answer(answer=shown, answerable=True, citations=_citations(cited), backend=answerer.name,
                      grounding={"removed_sentences": len(removed), "removed": removed,
                                 "citations_inferred": inferred}, **base)

    # -- the fuller answer -----------------------------------------------
    def fuller_answerer(self) -> Answerer:
        """The generated answer offered beside the instant one, loaded on first use (about 1 GB)."""
        with self._fuller_lock:
            if self._fuller is None:
                name = self.settings.fuller_answerer
                if name in ("none", "extractive"):
                    raise BackendUnavailableError(f"fuller answers are disabled ({name})",
                                                  "Câu trả lời đầy đủ hơn đã bị tắt trong cấu hình.")
                self._fuller = make_answerer("llamacpp" if name == "auto" else name, self.settings)
            return self._fuller

    def fuller_available(self) -> tuple[bool, str]:
        """Whether to offer the fuller answer, without loading the model; the reason when not."""
        if self.answerer.name != "extractive":
            return False, "Câu trả lời đã do mô hình ngôn ngữ tạo."
        name = self.settings.fuller_answerer
        if name in ("none", "extractive"):
            return False, "Câu trả lời đầy đủ hơn đã bị tắt trong cấu hình."
        if name in ("auto", "llamacpp"):
            from assistant.answerers.llm import llamacpp_missing

            missing = llamacpp_missing(self.settings)
            if missing:
                return False, missing
        return True, ""

    def _refusal(self, decision: Decision, base: dict) -> Answer:
        q = decision.question
        year_part = f" cho năm {', '.join(sorted(q.years))}" if q.years and decision.reason is Reason.YEAR else ""
        related = [Citation(c.clause_id, c.label, c.clause_text[:300], round(c.retrieval, 4), c.doc)
                   for c in decision.candidates[:3]]
        text = f"{REFUSAL}{year_part}."
        if related:
            text += " Các điều khoản gần nhất có thể liên quan: " + "; ".join(r.label for r in related) + "."
        return Answer(answer=text, answerable=False, citations=[], related=related, backend="extractive", **base)

    def _log(self, decision: Decision, answer: Answer) -> None:
        from assistant.logs import log_question

        log_question(self.settings, decision.question.text, answer)


def _citations(cited: list[Candidate]) -> list[Citation]:
    return [Citation(c.clause_id, c.label, " ".join(c.chosen) or c.clause_text, round(c.probability, 4), c.doc)
            for c in cited]


def _timings(decision: Decision, started: float, first_token_ms: float | None = None) -> dict:
    total = (time.perf_counter() - started) * 1000
    timings = {"retrieve": round(decision.retrieve_ms, 1), "total": round(total, 1)}
    if first_token_ms is not None:
        timings["first_token"] = round(first_token_ms, 1)
    return timings


def indexed_sources(settings: Settings) -> list:
    """On a mismatch, rebuild what the old index held (uploaded documents included)."""
    from pathlib import Path

    from index.store import read_manifest

    try:
        manifest = read_manifest(settings.index_dir)
    except Exception:
        manifest = None
    sources = [Path(d["source"]) for d in (manifest or {}).get("documents", []) if Path(d["source"]).is_file()]
    return sources or list(settings.documents)
