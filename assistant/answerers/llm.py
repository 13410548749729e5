"""LLM answerers through LangChain chat models: Ollama, OpenAI-compatible servers, local GGUF.

The model sees only the selected evidence, cites it as [clause_id], and is then held to
the same citation check and grounding guard as everything else. Small local models
echo the question, repeat themselves or forget the citation format; ``tidy`` and
``infer_citations`` repair what can be repaired honestly, and the guard removes the rest.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path
from typing import Iterable, Iterator

from core.errors import BackendUnavailableError
from assistant.answerers.base import Finished
from assistant.evidence import Candidate
from assistant.ground import grounded, numbers_in, strip_citations
from assistant.prompts import load_prompt, render
from assistant.query import Question
from assistant.types import Grounding
from index.lexical import strip_accents

log = logging.getLogger(__name__)
CITED_ID = re.compile(r"\[([A-Z][A-Za-z0-9./~]*(?:/[A-Za-z0-9.~]+)*)\]")
# The model continuing the prompt's pattern instead of stopping.
STOP = ["\nCâu hỏi:", "\nCác điều khoản liên quan:", "<|im_end|>"]
_LEAD_LABEL = re.compile(r"^\s*\**\s*(?:Trả lời|Câu trả lời|Answer|Mã điều khoản|Căn cứ)\s*\**\s*:\s*\**\s*",
                         re.IGNORECASE)
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)|\n+")
_ECHOED_HEADER = re.compile(r"^\[[^\]]+\]\s.*\s—\s")
REFUSAL_MARK = "không quy định nội dung này"
REPLACED = "Mô hình ngôn ngữ không đưa ra được câu trả lời có căn cứ; hiển thị câu trả lời trích dẫn nguyên văn."


def make_chat_model(name: str, settings):
    """Build the LangChain chat model; heavy imports happen only here."""
    try:
        if name == "ollama":
            from langchain_ollama import ChatOllama

            return ChatOllama(model=settings.llm_model, base_url=settings.llm_base_url or "http://localhost:11434",
                              temperature=settings.llm_temperature, num_predict=settings.llm_max_tokens, stop=STOP)
        if name == "openai":
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(model=settings.llm_model, base_url=settings.llm_base_url,
                              api_key=settings.llm_api_key or "not-needed", temperature=settings.llm_temperature,
                              max_tokens=settings.llm_max_tokens, timeout=120, stop=STOP)
        if name == "llamacpp":
            return _llamacpp(settings)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"backend {name!r} needs a package that is not installed: {exc}",
            "Mô hình ngôn ngữ chưa được cài đặt; đang dùng câu trả lời trích dẫn nguyên văn.",
        ) from exc
    raise ValueError(f"unknown LLM backend {name!r}")


def _gguf_file(settings) -> Path | None:
    from index.models import gguf_path

    return settings.llm_gguf_path or gguf_path(settings.models_dir)


def llamacpp_missing(settings) -> str:
    """Why the local model cannot run (a Vietnamese message), or '' when it can; loads nothing."""
    import importlib.util

    path = _gguf_file(settings)
    if not path or not Path(path).is_file():
        log.info("GGUF model not found (%s); run: python -m tools.fetch_models fetch qwen2.5-coder-1.5b-instruct-q4_k_m",
                 path)
        return "Chưa có mô hình Qwen cục bộ (chạy: python -m tools.fetch_models fetch qwen2.5-coder-1.5b-instruct-q4_k_m)."
    if importlib.util.find_spec("llama_cpp") is None:
        log.info("llama-cpp-python is not installed (bash scripts/setup.sh --tests builds it)")
        return "Chưa cài llama-cpp-python (bash scripts/setup.sh --tests cài đặt)."
    return ""


def _llamacpp(settings):
    missing = llamacpp_missing(settings)
    if missing:
        raise BackendUnavailableError(f"local llama.cpp backend unavailable: {missing}",
                                      missing + " Đang dùng câu trả lời trích dẫn nguyên văn.")
    path = _gguf_file(settings)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as for the embedder (index/embed.py)
    try:
        import llama_cpp  # noqa: F401  (optional, built from source)
    except ImportError as exc:
        raise BackendUnavailableError(
            f"llama-cpp-python does not import: {exc}",
            "Không nạp được llama-cpp-python; đang dùng câu trả lời trích dẫn nguyên văn.",
        ) from exc
    from langchain_community.chat_models import ChatLlamaCpp

    # n_batch: the LangChain default of 8 makes reading a 1,000-token prompt take tens of seconds.
    return ChatLlamaCpp(model_path=str(path), temperature=settings.llm_temperature, max_tokens=settings.llm_max_tokens,
                        n_ctx=settings.llm_context_tokens, n_batch=512, n_threads=settings.llm_threads,
                        repeat_penalty=1.1, stop=STOP, verbose=False, seed=0)


def shown_text(c: Candidate, limit: int) -> str:
    """What the model reads of a clause: all of it when short, else only the passages chosen for the question.

    A long clause (the 2023 review is 2,500 characters) invites the model to quote the wrong figure;
    the guard checks the answer against exactly this text.
    """
    if len(c.clause_text) <= limit or not c.chosen:
        return c.clause_text
    return " … ".join(c.chosen)


def headings_of(c: Candidate) -> str:
    """'Điều 2 | khoản 2' stored innermost first -> 'khoản 2 › Điều 2' read outward."""
    return " › ".join(reversed(c.headings.split(" | "))) if c.headings else ""


def sources_for(c: Candidate, limit: int) -> str:
    """What the guard lets the model draw on: the headings it read, the clause's year, the text it read."""
    year = f"Năm {c.context_year}. " if c.context_year else ""
    return f"{headings_of(c)}\n{year}{shown_text(c, limit)}"


def build_messages(question: Question, evidence: list[Candidate], limit: int = 900):
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    contexts = "\n\n".join(
        render("context_item", clause_id=c.clause_id, label=c.label, text=shown_text(c, limit), headings=headings_of(c))
        for c in evidence
    )
    # One worked exchange teaches a small model the format better than any rule in the system prompt.
    return [SystemMessage(load_prompt("answer_system")),
            HumanMessage(load_prompt("answer_example_question").strip()),
            AIMessage(load_prompt("answer_example_answer").strip()),
            HumanMessage(render("answer_user", contexts=contexts, question=question.text))]


def cited_ids(text: str) -> list[str]:
    return list(dict.fromkeys(CITED_ID.findall(text)))


def _key(sentence: str) -> str:
    return re.sub(r"\W+", " ", strip_citations(sentence, [])).strip().lower()


def _echoes(sentence: str, question: str) -> bool:
    """The question said back: no figure and at most one word that the question does not have."""
    asked = set(re.findall(r"\w+(?:[.,]\d+)*", strip_accents(question.lower())))
    new = set(re.findall(r"\w+(?:[.,]\d+)*", strip_accents(strip_citations(sentence, []).lower()))) - asked
    return len(new) < 2 and not any(w[:1].isdigit() for w in new)


def tidy(text: str, question: str = "") -> str:
    r"""Undo the habits of small models, keeping every claim they made for the guard to judge.

    'Q? [D1]]\n\nTrả lời: GRDP tăng 8% [D1]]. GRDP tăng 8% [D1]].' -> 'GRDP tăng 8% [D1].'
    """
    text = text.replace("]]", "]")
    kept: list[str] = []
    seen: set[str] = set()
    lines = (_LIST_MARK.sub("", _LEAD_LABEL.sub("", line)) for line in text.splitlines())
    for sentence in (s for line in lines for s in _SENTENCE.split(line)):
        sentence = _LEAD_LABEL.sub("", sentence).strip()
        key = _key(sentence)
        if not sentence or _ECHOED_HEADER.match(sentence) or sentence.endswith(":"):  # headers and preambles
            continue
        if not key:  # a bare citation: it belongs to the sentence before it
            if kept and not cited_ids(kept[-1]):
                kept[-1] += " " + sentence
            continue
        echoed = strip_citations(sentence, []).rstrip().endswith("?") or (question and _echoes(sentence, question))
        if key in seen or echoed:  # repeated, or the question said back without an answer
            continue
        seen.add(key)
        kept.append(sentence)
    answered = [s for s in kept if not declined(s)]
    return " ".join(answered or kept)  # 'X là 8%. Nghị quyết không quy định…' keeps the answer


def declined(text: str) -> bool:
    return REFUSAL_MARK in text.lower()


def drop_unknown_brackets(text: str, known: set[str]) -> str:
    """'[0,71%]', '[Tỉnh]': brackets that are not a clause id are not citations, and carry no claim."""
    return re.sub(r"\[([^\]\n]*)\]", lambda m: m.group(0) if m.group(1) in known else "", text)


def clean(raw: str, question: str, known: set[str]) -> str:
    """A model's raw text, tidied, with brackets that are not known clause ids removed."""
    return drop_unknown_brackets(tidy(raw, question), known)


def guard_generated(text: str, read: list[Candidate], question: str, limit: int) -> tuple[str, list[str]]:
    """The guard for generated text: figures, names and wording must come from what the model read
    of these clauses (or from the question)."""
    from assistant.ground import guard

    sources = " ".join(sources_for(c, limit) for c in read)
    return guard(text, sources, [c.label for c in read], names_from=f"{sources} {question}")


def infer_citations(text: str, evidence: list[Candidate], limit: int) -> list[Candidate]:
    """When the model forgot the [id] format: the clauses it read whose text holds its figures.

    It saw only ``evidence``, so with one clause that clause is the source; with several, a clause
    is cited when it contains one of the answer's numbers, and all are cited when there are none.
    """
    if len(evidence) <= 1:
        return list(evidence)
    numbers = numbers_in(strip_citations(text, []))
    holding = [c for c in evidence if any(grounded(n, sources_for(c, limit)) for n in numbers)]
    return holding or list(evidence)


def present(text: str, labels: dict[str, str], inferred: bool = False) -> str:
    """'tăng 8%. [D2/K2]' -> 'tăng 8% (khoản 2, Điều 2).': officials read labels, not ids.

    Citations the model left out (``inferred``) are put at the end, so every answer names its clauses.
    """
    def label(match: re.Match) -> str:
        name = labels.get(match.group(1))
        return f" ({name})" if name else ""

    if inferred and labels:
        text = re.sub(r"[\s.]*$", "", text) + " " + " ".join(f"[{i}]" for i in labels) + "."
    text = re.sub(r"([.!?])\s*((?:\[[^\]\n]+\]\s*)+)", r" \2\1 ", text)  # 'x. [D1]' -> 'x [D1].'
    text = re.sub(r"(\[[^\]\n]+\])(?:\s*\1)+", r"\1", text)  # '[D1] [D1]' -> '[D1]'
    text = CITED_ID.sub(label, text)
    text = re.sub(r"\s+([.,;:])", r"\1", text)
    text = re.sub(r"([.!?])(?:\s*\.)+", r"\1", text)
    return re.sub(r"\s{2,}", " ", text).strip()


def checked_preview(pieces: Iterator[str], question: str, evidence: list[Candidate], limit: int) -> Iterator[str]:
    """Stream a model's answer sentence by sentence, showing only sentences the final check would pass.

    Raw tokens are never shown: a figure the clauses lack must not flash on screen before the
    guard removes it. Sentences are checked against every clause the model read; the final
    answer (which may cite fewer) replaces this preview when the model is done.
    """
    known = {c.clause_id for c in evidence}
    labels = {c.clause_id: c.label for c in evidence}
    text, checked_to, shown = "", -1, 0
    for piece in pieces:
        text += piece
        end = max(text.rfind(". "), text.rfind("\n"), text.rfind("? "), text.rfind("! "))
        if end <= checked_to:  # no new sentence has ended since the last check
            continue
        checked_to = end
        kept, _ = guard_generated(clean(text[: end + 1], question, known), evidence, question, limit)
        sentences = [s for s in _SENTENCE.split(kept) if s.strip() and not declined(s)]
        for sentence in sentences[shown:]:
            yield present(sentence, labels) + " "
        shown = max(shown, len(sentences))


class LLMAnswerer:
    def __init__(self, name: str, model, context_chars: int = 900):
        self.name = name
        self.model = model
        self.context_chars = context_chars
        # One llama.cpp context serves one generation at a time; servers handle their own queues.
        self._lock = threading.Lock() if name == "llamacpp" else None

    def stream(self, question: Question, evidence: list[Candidate]) -> Iterator[str]:
        messages = build_messages(question, evidence, self.context_chars)
        try:
            if self._lock is None:
                yield from self._pieces(messages)
            else:
                with self._lock:
                    yield from self._pieces(messages)
        except BackendUnavailableError:
            raise
        except Exception as exc:  # connection refused, timeouts, server errors
            raise BackendUnavailableError(
                f"{self.name} backend failed: {exc!r}",
                "Không kết nối được mô hình ngôn ngữ; đang dùng câu trả lời trích dẫn nguyên văn.",
            ) from exc

    def preview(self, pieces: Iterable[str], question: Question, evidence: list[Candidate]) -> Iterator[str]:
        return checked_preview(pieces, question.text, evidence, self.context_chars)

    def finish(self, question: Question, evidence: list[Candidate], raw: str) -> Finished:
        """Check a model's answer: known clause ids only (or inferred), every figure in what it read.

        A model that declines or says nothing checkable although evidence was found is replaced by
        the verbatim answer rather than shown.
        """
        from assistant.answerers.extractive import ExtractiveAnswerer, compose

        by_id = {c.clause_id: c for c in evidence}
        text = clean(raw, question.text, set(by_id))
        cited = [by_id[i] for i in cited_ids(text) if i in by_id]  # unknown ids are dropped
        inferred = not cited
        if inferred:
            cited = infer_citations(text, evidence, self.context_chars)
        kept, removed = guard_generated(text, cited, question.text, self.context_chars)
        if declined(kept) or not re.search(r"\w", strip_citations(kept, [c.label for c in cited])):
            reason = "declined" if declined(kept) else "nothing grounded"
            log.warning("%s answer replaced by extractive: %s", self.name, reason)
            verbatim = ExtractiveAnswerer().finish(question, evidence, compose(question, evidence))
            verbatim.grounding.llm_removed, verbatim.grounding.llm_fallback = removed, reason
            verbatim.warnings.append(REPLACED)
            return verbatim
        shown = present(kept, {c.clause_id: c.label for c in cited}, inferred)
        return Finished(shown, cited, Grounding(removed=removed, citations_inferred=inferred), self.name)

    def _pieces(self, messages) -> Iterator[str]:
        for chunk in self.model.stream(messages):
            if chunk.content:
                yield chunk.content

    def sources(self, c: Candidate) -> str:
        return sources_for(c, self.context_chars)
